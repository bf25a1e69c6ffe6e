"""Intervals and the constants of rulesets (addresses, ports), on tables of inputs."""

from __future__ import annotations

import ipaddress
import random

import pytest

from pytest_backupnet.firewall import intervals as iv
from pytest_backupnet.firewall import values
from pytest_backupnet.firewall.model import KeyTest, Values

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


def _normal(members: set[int]) -> iv.Intervals:
    return iv.normalize((v, v) for v in members)


@pytest.mark.parametrize(
    ("pairs", "normal"),
    [((), True), (((1, 3), (5, 9)), True), (((1, 3), (4, 9)), False), (((5, 9), (1, 3)), False),
     (((5, 1),), False), (((1, 10), (3, 4)), False)],
)  # fmt: skip
def test_is_normal(pairs: iv.Intervals, normal: bool) -> None:
    assert iv.is_normal(pairs) == normal == (iv.normalize(pairs) == pairs)


def test_values_hold_normal_intervals_and_a_reversed_range_nothing() -> None:
    """iptables-nft loads `-m iprange --src-range 10.0.0.9-10.0.0.1` ("will never match")."""
    assert Values(ints=((9, 1),)).ints == ()
    assert not Values(ints=((9, 1),)).has(5)
    assert Values(ints=((5, 9), (1, 4))).ints == ((1, 9),)
    reversed_range = values.address_range("10.0.0.9", "10.0.0.1")[0]
    assert KeyTest("saddr", Values(ints=(reversed_range,))).values.ints == ()


@pytest.mark.parametrize("seed", range(40))
def test_interval_operations_agree_with_sets(seed: int) -> None:
    """Both the merge and the bisection (few against many) paths, against plain sets."""
    generator = random.Random(seed)

    def random_intervals(count: int) -> iv.Intervals:
        return iv.normalize((a, a + generator.randrange(0, 6)) for a in generator.sample(range(300), count))

    left = random_intervals(generator.choice((0, 1, 3, 20, 40)))
    right = random_intervals(generator.choice((0, 1, 2, 5, 30)))
    wide = ((generator.randrange(0, 60), generator.randrange(240, 320)),)  # one interval around many
    for one, other in ((left, right), (left, wide), (wide, right)):
        # exactly the normal form of the set: the results are normal as the inputs
        assert iv.intersect(one, other) == _normal(_naive(one) & _naive(other))
        assert iv.subtract(one, other) == _normal(_naive(one) - _naive(other))
        assert iv.union(one, other) == _normal(_naive(one) | _naive(other))
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


@pytest.mark.parametrize("seed", range(4))
def test_the_quick_ipv4_pattern_reads_as_the_plain_reader(seed: int) -> None:
    """The pattern takes the common texts; what it leaves (odd digits, `/032`) the plain reader reads."""
    generator = random.Random(seed)
    alphabet = [*"0123456789./", "²", "٣", " ", "a"]
    for _ in range(3000):
        if generator.random() < 0.5:
            text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(1, 20)))
        else:
            text = ".".join(str(generator.randrange(0, 300)) for _ in range(4))
            text += generator.choice(["", f"/{generator.randrange(0, 40)}", "/", "/032", "/1x"])
        try:
            quick: object = values._ipv4_quick(text)
        except ValueError as exc:
            quick = type(exc)
        try:
            plain: object = values._ipv4_unusual(text)
        except ValueError as exc:
            plain = type(exc)
        assert quick == plain, text


def _plain_range(first: str, last: str, family: int) -> object:
    """address_range as the ipaddress module alone reads it."""
    try:
        low, high = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    except ValueError:
        return values.BadValue
    if low.version != high.version or (family and low.version != family):
        return values.BadValue
    return (int(low), int(high)), low.version


@pytest.mark.parametrize("seed", range(3))
def test_address_ranges_read_as_ipaddress_reads_them(seed: int) -> None:
    """The quick path of `-m iprange` ranges: leading zeros, spaces and IPv6 as ipaddress says."""
    generator = random.Random(seed)
    octets = ["0", "00", "01", "7", "10", "255", "256", "999", "1000", "²"]
    for _ in range(2000):
        texts = []
        for _ in range(2):
            text = ".".join(generator.choice(octets) for _ in range(generator.choice((3, 4, 4, 4, 5))))
            texts.append(generator.choice([text, text, f" {text}", "::1", "fe80::2"]))
        family = generator.choice((0, 4, 6))
        try:
            found: object = values.address_range(texts[0], texts[1], family)
        except values.BadValue:
            found = values.BadValue
        assert found == _plain_range(texts[0], texts[1], family), (texts, family)
