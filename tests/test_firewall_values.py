"""Intervals and the constants of rulesets (addresses, ports), on tables of inputs."""

from __future__ import annotations

import ipaddress
import random

import pytest

from pytest_backupnet.firewall import intervals as iv
from pytest_backupnet.firewall import values

# intervals


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([], ()),
        ([(5, 9), (1, 3)], ((1, 3), (5, 9))),
        ([(1, 3), (4, 9)], ((1, 9),)),  # adjacent merge
        ([(1, 10), (3, 4)], ((1, 10),)),
        ([(5, 1)], ()),  # inverted: dropped
    ],
)
def test_normalize(pairs: list[tuple[int, int]], expected: iv.Intervals) -> None:
    assert iv.normalize(pairs) == expected


def _naive(intervals: iv.Intervals) -> set[int]:
    return {v for low, high in intervals for v in range(low, high + 1)}


@pytest.mark.parametrize("seed", range(40))
def test_interval_operations_agree_with_sets(seed: int) -> None:
    """Both the merge and the bisection (few against many) paths, against plain sets."""
    generator = random.Random(seed)

    def random_intervals(count: int) -> iv.Intervals:
        return iv.normalize((a, a + generator.randrange(0, 6)) for a in generator.sample(range(300), count))

    left = random_intervals(generator.choice((0, 1, 3, 20, 40)))
    right = random_intervals(generator.choice((0, 1, 2, 5, 30)))
    assert _naive(iv.intersect(left, right)) == _naive(left) & _naive(right)
    assert _naive(iv.subtract(left, right)) == _naive(left) - _naive(right)
    assert _naive(iv.union(left, right)) == _naive(left) | _naive(right)
    assert iv.covers(left, iv.intersect(left, right))
    for value in range(0, 310, 7):
        assert iv.contains(left, value) == (value in _naive(left))
    assert iv.subtract(left, left) == () and iv.intersect(left, left) == left


# constants


@pytest.mark.parametrize(
    "text", ["10.0.0.0/8", "198.19.1.7", "198.19.1.7/24", "0.0.0.0/0", "255.255.255.255/32", "1.2.3.4/30"]
)
def test_the_quick_ipv4_reader_agrees_with_ipaddress(text: str) -> None:
    network = ipaddress.ip_network(text, strict=False)
    assert values.address_interval(text) == ((int(network[0]), int(network[-1])), 4)


@pytest.mark.parametrize("text", ["300.1.1.1", "1.2.3", "1.2.3.4/33", "fe80::/64x", "", "a.b.c.d"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(values.BadValue):
        values.address_interval(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22", ((22, 22),)),
        ("1024:65535", ((1024, 65535),)),
        (":1023", ((0, 1023),)),
        ("80,443,8000:8100", ((80, 80), (443, 443), (8000, 8100))),
        ("ssh,https", ((22, 22), (443, 443))),
    ],
)
def test_port_lists(text: str, expected: iv.Intervals) -> None:
    assert values.port_intervals(text) == expected


@pytest.mark.parametrize("text", ["70000", "x", "1:2:3"])
def test_bad_ports_are_refused(text: str) -> None:
    with pytest.raises(values.BadValue):
        values.port_intervals(text)
