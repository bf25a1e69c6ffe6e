"""The firewall parsers and their building blocks, on tables of inputs: intervals, constants,
`nft -j` and `nft -a` listings, iptables-save lines, ipset, host facts, routes."""

from __future__ import annotations

import ipaddress
import json
import random
from typing import Any

import pytest

from pytest_backupnet.firewall import intervals as iv
from pytest_backupnet.firewall import values
from pytest_backupnet.firewall.facts import read_facts
from pytest_backupnet.firewall.ipt_save import parse_ipsets, parse_save
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
from pytest_backupnet.firewall.routing import route_contexts

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


# iptables-save


def _rule(line: str, family: int = 4, ipsets: Any = None) -> tuple[Any, ...]:
    saved = parse_save(f"*filter\n:INPUT ACCEPT [0:0]\n{line}\nCOMMIT\n", family, ipsets)
    return saved.tables["filter"].rules[0].steps


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-A INPUT -s 10.0.0.0/8 -j DROP", [("saddr", ((0x0A000000, 0x0AFFFFFF),), False), Verdict("drop")]),
        (
            "-A INPUT ! -d 10.1.2.3/32 -j ACCEPT",
            [("daddr", ((0x0A010203, 0x0A010203),), True), Verdict("accept")],
        ),
        ("-A INPUT -i eth+ -j RETURN", [("iifname", (), False), Verdict("return")]),
        (
            "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
            [("l4proto", ((6, 6),), False), ("tcp.dport", ((22, 22),), False), Verdict("accept")],
        ),
        (
            "-A INPUT -p udp -m multiport --dports 53,67:68 -j ACCEPT",
            [("l4proto", ((17, 17),), False), ("udp.dport", ((53, 53), (67, 68)), False), Verdict("accept")],
        ),
        (
            "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT",
            [("ctstate.xt", ((6 | 512, 6 | 512),), False), Verdict("accept")],
        ),
        ("-A INPUT -m state ! --state NEW -j DROP", [("ctstate.xt", ((8, 8),), True), Verdict("drop")]),
        ('-A INPUT -m comment --comment "ssh \\"in\\"" -j ACCEPT', [Verdict("accept")]),
        (
            "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP",
            [("saddr", ((0x0A000001, 0x0A000009),), False), Verdict("drop")],
        ),
        (
            "-A INPUT -m addrtype --dst-type LOCAL,BROADCAST -j ACCEPT",
            [("fib.daddr.type", ((2, 3),), False), Verdict("accept")],
        ),
        ("-A INPUT -m mark --mark 0x10/0xf0 -j DROP", [("mark", ((0x10, 0x10),), False), Verdict("drop")]),
        ("-A INPUT -m connmark ! --mark 0x5 -j DROP", [("ctmark", ((5, 5),), True), Verdict("drop")]),
        (
            "-A INPUT -p tcp --syn -j DROP",
            [("l4proto", ((6, 6),), False), ("tcp.flags", ((2, 2),), False), Verdict("drop")],
        ),
        ("-A INPUT -j REJECT --reject-with tcp-reset", [Verdict("reject", "tcp-reset")]),
        ("-A INPUT -j REJECT", [Verdict("reject", "icmp-port-unreachable")]),
        ("-A INPUT -j CT --notrack", [NoTrack()]),
        ("-A INPUT -j NOTRACK", [NoTrack()]),
        ('-A INPUT -j LOG --log-prefix "x "', []),
        ("-A INPUT -j MARK --set-xmark 0x10/0xff", [SetMark("mark", keep=0xFFFFFF00, xor=0x10)]),
        ("-A INPUT -j MARK --or-mark 0x4", [SetMark("mark", keep=0xFFFFFFFB, xor=4)]),
        (
            "-A INPUT -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
            [SetMark("ctmark", keep=0, source="mark")],
        ),
        (
            "-A INPUT -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xffffffff",
            [SetMark("mark", keep=0xFFFFFF00, source="ctmark")],
        ),
        ("-A INPUT -g OTHER", [Jump("OTHER", goto=True)]),
        ("-A INPUT -j SOMETHING", [Jump("SOMETHING")]),
        ("-A INPUT -j TPROXY --on-port 1", [Taint]),
        ("-A INPUT -j NFQUEUE --queue-num 1", [Verdict("queue")]),
        ("-A INPUT -m limit --limit 5/min -j LOG", [Opaque]),
        ("-A INPUT -m recent --set --name x", []),
        ("-A INPUT -m recent --rcheck --seconds 60 --name x -j DROP", [Opaque, Verdict("drop")]),
        (
            "-A INPUT -m policy --dir in --pol none -j ACCEPT",
            [("ipsec", ((0, 0),), False), Verdict("accept")],
        ),
        ("-A INPUT -m rpfilter --invert -j DROP", [("fib.saddr.oif", (), False), Verdict("drop")]),
        ("-A INPUT -m physdev --physdev-in eth0 -j DROP", [Opaque, Verdict("drop")]),
        ("-A INPUT -m frobnicate --x 1 -j DROP", [Opaque, Verdict("drop")]),
        ('-A INPUT -m comment --comment "unterminated -j DROP', [Opaque, Taint]),
        ("-A INPUT --bogus -j DROP", [Opaque, Taint]),
    ],
)
def test_iptables_lines(line: str, expected: list[Any]) -> None:
    steps = _rule(line)
    assert len(steps) == len(expected), steps
    for step, want in zip(steps, expected, strict=True):
        if isinstance(want, tuple):
            assert isinstance(step, KeyTest) and (step.key, step.values.ints, step.negate) == want
        elif isinstance(want, type):
            assert isinstance(step, want)
        else:
            assert step == want


@pytest.mark.parametrize(
    ("option", "absent_matches"),
    [("--uid-owner 0", False), ("! --uid-owner 0", True), ("--gid-owner 10-20", False)],
)
def test_owner_without_a_socket_matches_only_negated_tests(option: str, absent_matches: bool) -> None:
    (test, _) = _rule(f"-A OUTPUT -m owner {option} -j ACCEPT")
    assert test.absent is absent_matches


def test_conntrack_without_an_entry_is_true_only_with_a_state_test() -> None:
    alone = _rule("-A INPUT -m conntrack --ctstatus DNAT -j ACCEPT")[0]
    with_state = _rule("-A INPUT -m conntrack --ctstate NEW --ctdir ORIGINAL -j ACCEPT")[1]
    assert (alone.absent, with_state.absent) == (False, True)


def test_ipsets_known_and_unknown() -> None:
    ipsets = parse_ipsets(
        "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\n"
        "add f2b-sshd 198.19.5.5 timeout 500\ncreate nets hash:net family inet\nadd nets 10.0.0.0/8\n"
        "create ports hash:ip,port family inet\nadd ports 1.2.3.4,tcp:80\n"
    )
    banned = _rule("-A INPUT -m set --match-set f2b-sshd src -j REJECT", ipsets=ipsets)[0]
    assert isinstance(banned, KeyTest) and banned.values.ints == ((0xC6130505, 0xC6130505),)
    assert _rule("-A INPUT -m set --match-set nets dst -j DROP", ipsets=ipsets)[0].key == "daddr"
    assert isinstance(_rule("-A INPUT -m set --match-set ports src,dst -j DROP", ipsets=ipsets)[0], Opaque)
    assert isinstance(_rule("-A INPUT -m set --match-set nowhere src -j DROP", ipsets=ipsets)[0], Opaque)


def test_save_files_tell_the_backend_and_policies() -> None:
    text = (
        "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Mon\n"
        "# Table `filter' is incompatible, use 'nft' tool.\n*filter\n:INPUT DROP [5:6]\n:MINE - [0:0]\n"
        "[3:4] -A INPUT -j MINE\nCOMMIT\n"
    )
    saved = parse_save(text, 4)
    assert (
        saved.backend == "nf_tables" and saved.notes and saved.tables["filter"].policies == {"INPUT": "DROP"}
    )
    assert saved.tables["filter"].rules[0].steps == (Jump("MINE"),)
    assert parse_save("# Generated by iptables-save v1.4.21 on Mon\n", 4).backend == "legacy"
    assert parse_save("", 4).backend == ""


# host facts

IP_ADDR = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 198.18.0.2/24 brd 198.18.0.255 scope global eth0\\       valid_lft forever
2: eth0    inet 198.18.0.9/24 scope global secondary eth0:1\\       valid_lft forever
3: eth1@if9    inet 198.18.1.2/24 scope global eth1
2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
"""
IP_LINK = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback 00:00:00:00:00:00
2: eth0@if5: <BROADCAST,UP> mtu 1500 qdisc noqueue master br0\\    link/ether aa:bb:cc:dd:ee:ff brd ff:ff
4: tun0: <POINTOPOINT,UP> mtu 1500\\    link/none
"""
IP_ROUTE = """\
default via 198.18.0.1 dev eth0 proto dhcp metric 100
198.18.0.0/24 dev eth0 proto kernel scope link src 198.18.0.2
198.19.128.0/17 via 198.18.1.1 dev eth1
198.19.200.0/24 proto static
\tnexthop via 198.18.0.1 dev eth0 weight 1
\tnexthop via 198.18.1.1 dev eth1 weight 1
blackhole 198.19.66.0/24
unreachable 198.19.67.0/24 metric 5
throw 198.19.68.0/24 table 100
198.19.68.0/24 dev eth1 table 101
local 198.18.0.2 dev eth0 table local proto kernel scope host src 198.18.0.2
broadcast 198.18.0.255 dev eth0 table local proto kernel scope link src 198.18.0.2
"""
IP_RULE = """\
0:\tfrom all lookup local
100:\tfrom all fwmark 0x10/0xff lookup 200
110:\tnot from all fwmark 0xca6c lookup 100
120:\tfrom all lookup 101
32766:\tfrom all lookup main
32767:\tfrom all lookup default
"""


def _facts(**texts: str | None) -> Any:
    return read_facts(
        {
            "ip-addr": IP_ADDR,
            "ip-link": IP_LINK,
            "ip-route4": IP_ROUTE,
            "ip-rule4": IP_RULE,
            **{k.replace("_", "-"): v for k, v in texts.items()},
        }
    )


def test_addresses_links_routes_and_rules_are_read() -> None:
    facts = _facts()
    assert [(a.interface, a.secondary) for a in facts.addresses if a.family == 4] == [
        ("lo", False),
        ("eth0", False),
        ("eth0", True),
        ("eth1", False),
    ]
    assert facts.interfaces == {"lo": 772, "eth0": 1, "tun0": 65534}
    routes = facts.routes[4]
    assert routes is not None
    kinds = {(r.kind, r.table, r.interface) for r in routes}
    assert {("blackhole", 254, None), ("local", 255, "eth0"), ("throw", 100, None)} <= kinds
    assert (
        next(r for r in routes if r.prefix == 24 and r.network[0] == 0xC613C800).interface is None
    )  # multipath
    rules = facts.rules[4]
    assert rules is not None and [r.priority for r in rules] == [0, 100, 110, 120, 32766, 32767]
    assert rules[1].fwmark == (0x10, 0xFF) and rules[2].negate and rules[2].table == 100


def test_routes_cut_the_peer_range_by_interface_and_type() -> None:
    facts = _facts()
    peers = ((0xC6120000, 0xC613FFFF),)  # 198.18.0.0/15
    contexts = route_contexts(facts, 4, peers, 0)
    by_start = {ipaddress.IPv4Address(part[0][0]).exploded: context for part, context in contexts}
    assert by_start["198.19.128.0"].interface == "eth1"  # the longest prefix
    assert by_start["198.18.0.2"].interface == "lo" and by_start["198.18.0.2"].peer_type == 2  # local
    assert by_start["198.18.0.255"].peer_type == 3  # broadcast
    assert by_start["198.19.66.0"].interface is None and "blackhole" in by_start["198.19.66.0"].note
    assert by_start["198.19.68.0"].interface == "eth1"  # the rule "not fwmark 0xca6c" sends it to table 100,
    # which throws it on to table 101
    assert by_start["198.19.200.0"].interface is None  # multipath: either interface
    assert by_start["198.18.0.0"].host_address == 0xC6120002  # the route's src


def test_without_ip_the_proc_files_give_routes_and_addresses() -> None:
    facts = read_facts(
        {
            "/proc/net/route": "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
            "eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\n"
            "eth0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\n",
            "/proc/net/fib_trie": "Main:\n  +-- 0.0.0.0/0 3 0 5\n"
            "     |-- 198.18.0.2\n        /32 host LOCAL\n"
            "Local:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 198.18.0.2\n        /32 host LOCAL\n",
        }
    )
    contexts = route_contexts(facts, 4, ((0xC6130000, 0xC613FFFF),), 0)
    assert [c.interface for _, c in contexts] == ["eth0"]
    assert [a.value for a in facts.addresses] == [0xC6120002]


@pytest.mark.parametrize(
    ("texts", "uid", "gid", "note"),
    [
        ({"processes": "    0     0 systemd\n 1000  1000 VVAgent\n 1000  1000 buagent\n"}, 1000, 1000, ""),
        ({"processes": "    0     0 VVAgent\n   42    42 VVAgent\n"}, None, None, "different users"),
        ({"processes": "    0     0 sshd\n"}, None, None, "no agent process"),
        (
            {
                "processes-busybox": "USER GROUP COMMAND\nbackup backup VVAgent\n",
                "/etc/passwd": "backup:x:34:34::/:/bin/sh\n",
                "/etc/group": "backup:x:34:\n",
            },
            34,
            34,
            "",
        ),
        ({}, None, None, "could not be listed"),
    ],
)
def test_the_agents_user(texts: dict[str, str], uid: int | None, gid: int | None, note: str) -> None:
    facts = read_facts(texts)
    assert (facts.agent_uid, facts.agent_gid) == (uid, gid) and note in facts.agent_note


@pytest.mark.parametrize(
    ("text", "expected"), [("32768\t60999\n", (32768, 60999)), ("1 2 3", None), ("9 5", None), (None, None)]
)
def test_the_local_port_range(text: str | None, expected: tuple[int, int] | None) -> None:
    assert read_facts({"/proc/sys/net/ipv4/ip_local_port_range": text}).port_range == expected


def test_unknown_policy_rules_make_routes_unknown() -> None:
    facts = _facts(
        ip_rule4="0:\tfrom all lookup local\n50:\tfrom all ipproto tcp lookup 7\n"
        "32766:\tfrom all lookup main\n"
    )
    contexts = route_contexts(facts, 4, ((0xC6130000, 0xC613FFFF),), 0)
    assert {c.interface for _, c in contexts} == {None} and "ipproto" in contexts[0][1].note
