"""iptables-save lines (both backends, any version) and ipset -> the common model."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_backupnet.firewall.ipt_save import parse_ipsets, parse_save
from pytest_backupnet.firewall.model import (
    Jump,
    KeyTest,
    NoTrack,
    Opaque,
    SetMark,
    Taint,
    Verdict,
)

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
