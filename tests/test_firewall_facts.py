"""Host facts (addresses, links, routes, policy rules, processes, /proc) and the route contexts."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from pytest_backupnet.firewall.facts import read_facts
from pytest_backupnet.firewall.routing import route_contexts

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
