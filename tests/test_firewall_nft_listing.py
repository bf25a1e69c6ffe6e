"""`nft -a list ruleset` and `nft -j list ruleset` -> the common model, on tables of inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_backupnet.firewall import intervals as iv
from pytest_backupnet.firewall.model import (
    CT_STATE,
    Concat,
    Jump,
    KeyTest,
    NoTrack,
    Opaque,
    SetMark,
    Taint,
    Verdict,
    VerdictMap,
)
from pytest_backupnet.firewall.nft_json import JsonError, load_json, load_table_documents, parse_nft
from pytest_backupnet.firewall.nft_text import parse_text, table_names

# nft -a list ruleset


NFT_TEXT = """\
# Warning: table ip filter is managed by iptables-nft, do not touch!
table ip filter { # handle 3
\tchain INPUT { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tcounter packets 10 bytes 600 drop # handle 4
\t}
}
table inet asleep { # handle 5
\tflags dormant

\tset blocked { # handle 2
\t\ttype ipv4_addr
\t\telements = { 1.2.3.4,
\t\t\t     5.6.7.8 }
\t}
\tchain c { # handle 1
\t\ttype filter hook input priority 0; policy drop;
\t\tip saddr @blocked comment "a } brace" drop # handle 3
\t}
}
table netdev edge { # handle 6
\tchain in0 { # handle 1
\t\ttype filter hook ingress devices = { eth0, eth1 } priority -500; policy accept;
\t}
\tchain out0 { # handle 2
\t\ttype filter hook egress device "eth0" priority 0; policy accept;
\t}
}
"""


def test_the_text_listing_gives_flags_devices_rule_texts_and_owners() -> None:
    parsed = parse_text(NFT_TEXT)
    assert parsed.tables[("inet", "asleep")].flags == ("dormant",)
    assert parsed.tables[("ip", "filter")].iptables_nft and not parsed.tables[("inet", "asleep")].iptables_nft
    assert parsed.tables[("netdev", "edge")].chain_devices == {"in0": ("eth0", "eth1"), "out0": ("eth0",)}
    assert parsed.tables[("ip", "filter")].rule_text[("INPUT", 4)] == "drop"  # counters dropped
    assert (
        parsed.tables[("inet", "asleep")].rule_text[("c", 3)] == 'ip saddr @blocked comment "a } brace" drop'
    )
    assert table_names(NFT_TEXT) == [("ip", "filter"), ("inet", "asleep"), ("netdev", "edge")]
    assert parse_text("garbage {{{ }\n table").tables == {}


# nft -j list ruleset


def _ruleset(
    *exprs: list[dict[str, Any]], family: str = "inet", sets: tuple[dict[str, Any], ...] = ()
) -> Any:
    items: list[dict[str, Any]] = [{"table": {"family": family, "name": "t", "handle": 1}}]
    items += [{"set": {"family": family, "table": "t", **s}} for s in sets]
    items.append(
        {
            "chain": {
                "family": family,
                "table": "t",
                "name": "c",
                "handle": 1,
                "type": "filter",
                "hook": "input",
                "prio": 0,
                "policy": "accept",
            }
        }
    )
    items += [
        {"rule": {"family": family, "table": "t", "chain": "c", "handle": 10 + n, "expr": e}}
        for n, e in enumerate(exprs)
    ]
    items.append({"chain": {"family": family, "table": "t", "name": "other", "handle": 2}})
    return parse_nft(load_json(json.dumps({"nftables": items})), None)


def _steps(expr: list[dict[str, Any]], **kwargs: Any) -> tuple[Any, ...]:
    return (
        _ruleset(expr, **kwargs)
        .chains["nft inet t c" if "family" not in kwargs else f"nft {kwargs['family']} t c"]
        .rules[0]
        .steps
    )


def _match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _payload(protocol: str, field: str) -> dict[str, Any]:
    return {"payload": {"protocol": protocol, "field": field}}


SADDR = _payload("ip", "saddr")


@pytest.mark.parametrize(
    ("expr", "key", "ints", "names", "negate", "family"),
    [
        (
            _match(SADDR, {"prefix": {"addr": "198.19.0.0", "len": 16}}),
            "saddr",
            ((0xC6130000, 0xC613FFFF),),
            set(),
            False,
            4,
        ),
        (
            _match(SADDR, {"range": ["198.19.0.1", "198.19.0.9"]}, "!="),
            "saddr",
            ((0xC6130001, 0xC6130009),),
            set(),
            True,
            4,
        ),
        (
            _match(_payload("ip6", "daddr"), {"prefix": {"addr": "fe80::", "len": 64}}),
            "daddr",
            ((0xFE80 << 112, (0xFE80 << 112) + (1 << 64) - 1),),
            set(),
            False,
            6,
        ),
        (
            _match(_payload("tcp", "dport"), {"set": [22, {"range": [8000, 8100]}]}),
            "tcp.dport",
            ((22, 22), (8000, 8100)),
            set(),
            False,
            0,
        ),
        (_match(_payload("th", "dport"), "ssh"), "th.dport", ((22, 22),), set(), False, 0),
        (_match({"meta": {"key": "iifname"}}, "eth*"), "iifname", (), set(), False, 0),
        (
            _match({"meta": {"key": "oif"}}, {"set": ["lo", "eth0"]}, "!="),
            "oifname",
            (),
            {"lo", "eth0"},
            True,
            0,
        ),
        (
            _match({"meta": {"key": "l4proto"}}, {"set": ["tcp", "udp"]}),
            "l4proto",
            ((6, 6), (17, 17)),
            set(),
            False,
            0,
        ),
        (_match({"meta": {"key": "nfproto"}}, "ipv6"), "nfproto", ((6, 6),), set(), False, 0),
        (_match({"ct": {"key": "mark"}}, 5), "ctmark", ((5, 5),), set(), False, 0),
        (
            _match({"meta": {"key": "skuid"}}, {"set": [0, {"range": [1000, 2000]}]}),
            "skuid",
            ((0, 0), (1000, 2000)),
            set(),
            False,
            0,
        ),
        (
            _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"),
            "fib.daddr.type",
            ((2, 2),),
            set(),
            False,
            0,
        ),
        (
            _match({"fib": {"result": "oif", "flags": ["saddr", "iif", "mark"]}}, False),
            "fib.saddr.oif",
            (),
            {""},
            False,
            0,
        ),
        (
            _match({"ct": {"key": "ip saddr", "dir": "original"}}, "1.2.3.4"),
            "ct.orig.saddr",
            ((0x01020304, 0x01020304),),
            set(),
            False,
            4,
        ),
        (_match({"meta": {"key": "skuid"}}, 100, "<"), "skuid", ((0, 99),), set(), False, 0),
        (_match(_payload("arp", "operation"), "reply"), "arp.operation", ((2, 2),), set(), False, 0),
    ],
)
def test_nft_matches(
    expr: dict[str, Any], key: str, ints: iv.Intervals, names: set[str], negate: bool, family: int
) -> None:
    (test, _) = _steps([expr, {"accept": None}])
    assert isinstance(test, KeyTest)
    assert (test.key, test.values.ints, negate, test.family) == (key, ints, test.negate, family)
    assert test.values.names == frozenset(names)


def test_nft_bitmask_and_masked_matches() -> None:
    state = _steps([_match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}])[0]
    assert state.any_bits and state.values.ints == ((CT_STATE["established"] | CT_STATE["related"],) * 2,)
    flags = _steps(
        [_match({"&": [_payload("tcp", "flags"), ["fin", "syn", "rst", "ack"]]}, "syn"), {"accept": None}]
    )[0]
    assert (flags.key, flags.mask, flags.values.ints, flags.any_bits) == ("tcp.flags", 0x17, ((2, 2),), False)
    mark = _steps([_match({"&": [{"meta": {"key": "mark"}}, 0xF0]}, 0x10), {"drop": None}])[0]
    assert (mark.key, mark.mask, mark.values.ints) == ("mark", 0xF0, ((0x10, 0x10),))


def test_named_sets_concatenations_and_dynamic_sets() -> None:
    sets = (
        {
            "name": "s",
            "type": "ipv4_addr",
            "flags": ["interval"],
            "elem": [
                "10.0.0.1",
                {"elem": {"val": {"prefix": {"addr": "10.1.0.0", "len": 16}}, "timeout": 60}},
            ],
        },
        {
            "name": "pairs",
            "type": ["ipv4_addr", "inet_service"],
            "elem": [{"concat": ["10.0.0.1", {"range": [8086, 8087]}]}],
        },
        {"name": "seen", "type": "ipv4_addr", "flags": ["timeout"]},
    )
    chains = _ruleset(
        [_match(SADDR, "@s"), {"drop": None}],
        [_match({"concat": [SADDR, _payload("tcp", "dport")]}, "@pairs"), {"accept": None}],
        [_match(SADDR, "@seen"), {"drop": None}],
        [{"set": {"op": "update", "elem": SADDR, "set": "@seen"}}, {"accept": None}],
        [_match(SADDR, "@missing"), {"drop": None}],
        sets=sets,
    ).chains["nft inet t c"]
    first, concat, dynamic, update, missing = (r.steps for r in chains.rules)
    assert first[0].values.ints == ((0x0A000001, 0x0A000001), (0x0A010000, 0x0A01FFFF))
    assert isinstance(concat[0], Concat) and concat[0].keys == ("saddr", "tcp.dport")
    assert concat[0].elements[0][1].ints == ((8086, 8087),)
    assert isinstance(dynamic[0], Opaque) and "change with traffic" in dynamic[0].text
    assert update == (Verdict("accept"),)
    assert isinstance(missing[0], Opaque) and "not in the ruleset" in missing[0].text


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"mangle": {"key": {"meta": {"key": "mark"}}, "value": 16}}, SetMark("mark", keep=0, xor=16)),
        (
            {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"meta": {"key": "mark"}}, 16]}}},
            SetMark("mark", keep=0xFFFFFFEF, xor=16),
        ),
        (
            {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"&": [{"meta": {"key": "mark"}}, 255]}}},
            SetMark("mark", keep=255),
        ),
        (
            {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"ct": {"key": "mark"}}}},
            SetMark("mark", keep=0, source="ctmark", strict=True),
        ),
        (
            {"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"meta": {"key": "mark"}}}},
            SetMark("ctmark", keep=0, source="mark"),
        ),
        (
            {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"map": {}}}},
            SetMark("mark", keep=0, source="unknown"),
        ),
        ({"notrack": None}, NoTrack()),
        ({"counter": {"packets": 1, "bytes": 2}}, None),
        ({"log": {"prefix": "x"}}, None),
        ({"mangle": {"key": _payload("ip", "dscp"), "value": 1}}, None),
        ({"mangle": {"key": _payload("ip", "daddr"), "value": "1.2.3.4"}}, Taint),
        ({"queue": {"num": 3}}, Verdict("queue")),
        ({"goto": {"target": "other"}}, Jump("nft inet t other", goto=True)),
        ({"limit": {"rate": 10, "per": "second"}}, Opaque),
        ({"xt": {"type": "match", "name": "recent"}}, Opaque),
        ({"xt": {"type": "target", "name": "TPROXY"}}, Taint),
        ({"synproxy": {}}, Taint),
        ("garbage", Taint),
    ],
)
def test_nft_statements(statement: Any, expected: Any) -> None:
    steps = _steps([statement])
    if expected is None:
        assert steps == ()
    elif isinstance(expected, type):
        assert len(steps) == 1 and isinstance(steps[0], expected)
    else:
        assert steps == (expected,)


def test_nft_reject_carries_its_dependency() -> None:
    assert _steps([{"reject": {"type": "tcp reset"}}]) == (
        KeyTest(
            "l4proto",
            _steps([_match({"meta": {"key": "l4proto"}}, "tcp")])[0].values,
            text="meta l4proto tcp",
        ),
        Verdict("reject", "tcp reset"),
    )
    icmp = _steps([{"reject": {"type": "icmp", "expr": "port-unreachable"}}])
    assert icmp[0].key == "nfproto" and icmp[-1] == Verdict("reject", "icmp")
    assert _steps([{"reject": {"type": "icmp"}}], family="ip") == (Verdict("reject", "icmp"),)


def test_nft_verdict_maps_and_nat_maps() -> None:
    vmap = _steps(
        [
            {
                "vmap": {
                    "key": SADDR,
                    "data": {
                        "set": [
                            [{"prefix": {"addr": "10.0.0.0", "len": 8}}, {"drop": None}],
                            ["1.2.3.4", {"jump": {"target": "other"}}],
                        ]
                    },
                }
            }
        ]
    )
    assert isinstance(vmap[0], VerdictMap)
    assert [d for _, d in vmap[0].entries] == [Verdict("drop"), Jump("nft inet t other")]
    nat = _steps([{"snat": {"addr": {"map": {"key": SADDR, "data": {"set": [["192.168.1.1", "1.1.1.1"]]}}}}}])
    assert nat[0].by_map is not None and nat[0].by_map[0][1] == "1.1.1.1"


def test_nft_parsing_never_raises_on_garbage() -> None:
    for garbage in (
        ["x"],
        [{"match": "x"}],
        [{"match": {"left": {"payload": 5}, "right": [], "op": "~"}}],
        [{"vmap": {}}],
        [{"jump": {}}],
        [{"match": {"left": {"&": [SADDR]}, "right": 1}}],
    ):
        steps = _steps(garbage)
        assert all(isinstance(s, Opaque | Taint | KeyTest | Verdict) for s in steps)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"nftables": 5}', "x" * 100, "[" * 100_000])
def test_bad_json_is_a_reason(text: str) -> None:
    with pytest.raises(JsonError):
        load_json(text)


def test_tables_listed_one_by_one_survive_one_broken_listing() -> None:
    good = json.dumps({"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "a", "handle": 1}}]})
    text = f'# table ip a\n{good}\n# table inet b\n{{"nftables": [{{"table": {{"flags": \n'
    items, broken = load_table_documents(text)
    assert items == [{"table": {"family": "ip", "name": "a", "handle": 1}}] and broken == [("inet", "b")]
