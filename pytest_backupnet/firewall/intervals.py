"""Sets of integers (addresses, ports, marks) as sorted tuples of disjoint closed intervals.

Nothing is ever expanded into its members: a /8 is one pair, a port range is one pair.
"""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]

EMPTY: Intervals = ()


def normalize(pairs: Iterable[Interval]) -> Intervals:
    """Sort and merge overlapping or adjacent intervals; drop inverted ones."""
    merged: list[Interval] = []
    for low, high in sorted(p for p in pairs if p[0] <= p[1]):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


def union(left: Intervals, right: Intervals) -> Intervals:
    if not left:
        return right
    if not right:
        return left
    return normalize((*left, *right))


def intersect(left: Intervals, right: Intervals) -> Intervals:
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        low = max(left[i][0], right[j][0])
        high = min(left[i][1], right[j][1])
        if low <= high:
            result.append((low, high))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(result)


def subtract(left: Intervals, right: Intervals) -> Intervals:
    if not left or not right:
        return left
    result: list[Interval] = []
    j = 0
    for low, high in left:
        while j < len(right) and right[j][1] < low:
            j += 1
        k = j
        current = low
        while k < len(right) and right[k][0] <= high:
            if right[k][0] > current:
                result.append((current, right[k][0] - 1))
            current = max(current, right[k][1] + 1)
            k += 1
        if current <= high:
            result.append((current, high))
    return tuple(result)


def contains(intervals: Intervals, value: int) -> bool:
    low, high = 0, len(intervals)
    while low < high:
        middle = (low + high) // 2
        first, last = intervals[middle]
        if value < first:
            high = middle
        elif value > last:
            low = middle + 1
        else:
            return True
    return False


def covers(outer: Intervals, inner: Intervals) -> bool:
    """Whether every member of `inner` is in `outer`."""
    return not subtract(inner, outer)


def size(intervals: Intervals) -> int:
    return sum(high - low + 1 for low, high in intervals)
