"""Sets of integers (addresses, ports, marks) as sorted tuples of disjoint closed intervals.

Nothing is ever expanded into its members: a /8 is one pair, a port range is one pair.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]

EMPTY: Intervals = ()
_FEW = 8  # below this many intervals, the small side of an operation is looked up by bisection


def normalize(pairs: Iterable[Interval]) -> Intervals:
    """Sort and merge overlapping or adjacent intervals; drop inverted ones."""
    merged: list[Interval] = []
    last_low = last_high = -2
    for low, high in sorted(pairs):
        if low > high:
            continue
        if merged and low <= last_high + 1:
            if high > last_high:
                last_high = high
                merged[-1] = (last_low, high)
        else:
            last_low, last_high = low, high
            merged.append((low, high))
    return tuple(merged)


def union(left: Intervals, right: Intervals) -> Intervals:
    if not left:
        return right
    if not right:
        return left
    return normalize((*left, *right))


def intersect(left: Intervals, right: Intervals) -> Intervals:
    if left is right:
        return left
    if len(left) < len(right):
        left, right = right, left
    if not right:
        return ()
    if len(right) <= _FEW < len(left):  # a few intervals against many: look them up
        found: list[Interval] = []
        for low, high in right:
            index = bisect.bisect_left(left, low, key=_high)
            while index < len(left) and left[index][0] <= high:
                found.append((max(low, left[index][0]), min(high, left[index][1])))
                index += 1
        return tuple(found)
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
    if left is right:
        return ()
    if len(right) <= _FEW < len(left):  # cut a few holes: copy the untouched runs whole
        current = left
        for low, high in right:
            first = bisect.bisect_left(current, low, key=_high)
            last = first
            pieces: list[Interval] = []
            while last < len(current) and current[last][0] <= high:
                piece_low, piece_high = current[last]
                if piece_low < low:
                    pieces.append((piece_low, low - 1))
                if piece_high > high:
                    pieces.append((high + 1, piece_high))
                last += 1
            if last > first:
                current = (*current[:first], *pieces, *current[last:])
        return current
    result: list[Interval] = []
    j = 0
    for low, high in left:
        while j < len(right) and right[j][1] < low:
            j += 1
        k = j
        current_low = low
        while k < len(right) and right[k][0] <= high:
            if right[k][0] > current_low:
                result.append((current_low, right[k][0] - 1))
            current_low = max(current_low, right[k][1] + 1)
            k += 1
        if current_low <= high:
            result.append((current_low, high))
    return tuple(result)


def _high(interval: Interval) -> int:
    return interval[1]


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
