"""The nftables evaluator on rulesets in `nft -j` form: verdict per address, or Unevaluable."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from pytest_backupnet.firewall.nft import Flow, Unevaluable, evaluate

NET = ipaddress.ip_network("198.19.0.0/16")


def daddr(right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": right}}


def dport(right: Any) -> dict[str, Any]:
    return {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": right}}


def ruleset(
    *chains: tuple[str, dict[str, Any], list[list[dict[str, Any]]]], sets: Any = ()
) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"metainfo": {"json_schema_version": 1}}]
    items += [{"set": {"family": "inet", "table": "t", **s}} for s in sets]
    handle = 100
    for name, attrs, rules in chains:
        items.append({"chain": {"family": "inet", "table": "t", "name": name, **attrs}})
        for expr in rules:
            handle += 1
            items.append(
                {"rule": {"family": "inet", "table": "t", "chain": name, "handle": handle, "expr": expr}}
            )
    return {"nftables": items}


OUTPUT = {"type": "filter", "hook": "output", "prio": 0, "policy": "accept"}


def verdicts(rules: dict[str, Any], port: int = 8087, net: Any = NET) -> list[tuple[str, str, str]]:
    return [(s.first, s.last, s.verdict) for s in evaluate(rules, Flow("output", port), net)]


def test_no_ruleset_accepts_everything() -> None:
    assert verdicts({"nftables": []}) == [("198.19.0.0", "198.19.255.255", "accept")]


def test_drop_of_one_address_and_a_port_range() -> None:
    drop_one = [daddr("198.19.2.13"), dport(8087), {"drop": None}]
    reject_range = [dport({"range": [8000, 8086]}), {"reject": {"type": "tcp reset"}}]
    rules = ruleset(("out", OUTPUT, [drop_one, reject_range]))
    assert verdicts(rules, 8087) == [
        ("198.19.0.0", "198.19.2.12", "accept"),
        ("198.19.2.13", "198.19.2.13", "drop"),
        ("198.19.2.14", "198.19.255.255", "accept"),
    ]
    assert verdicts(rules, 8086) == [("198.19.0.0", "198.19.255.255", "reject")]


def test_named_set_negation_and_policy_drop() -> None:
    allowed = {"name": "ok", "type": "ipv4_addr", "elem": [{"prefix": {"addr": "198.19.1.0", "len": 24}}]}
    rules = ruleset(
        ("out", {**OUTPUT, "policy": "drop"}, [
            [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
             {"accept": None}],
            [daddr("@ok", "!="), {"counter": None}],
            [daddr("@ok"), dport({"set": [8086, 8087]}), {"accept": None}],
        ]),
        sets=[allowed],
    )  # fmt: skip
    assert verdicts(rules) == [
        ("198.19.0.0", "198.19.0.255", "drop"),
        ("198.19.1.0", "198.19.1.255", "accept"),
        ("198.19.2.0", "198.19.255.255", "drop"),
    ]


def test_accept_in_one_base_chain_meets_the_next_in_priority_order() -> None:
    rules = ruleset(
        (
            "late",
            {**OUTPUT, "prio": 10},
            [[daddr({"prefix": {"addr": "198.19.2.0", "len": 24}}), {"drop": None}]],
        ),
        ("early", {**OUTPUT, "prio": -10}, [[{"accept": None}]]),
    )
    assert ("198.19.2.0", "198.19.2.255", "drop") in verdicts(rules)


def test_jump_returns_but_goto_leaves_the_caller() -> None:
    sub = ("sub", {}, [[daddr("198.19.0.0/24"), {"accept": None}], [{"return": None}]])
    jumped = ruleset(("out", OUTPUT, [[{"jump": {"target": "sub"}}], [{"drop": None}]]), sub)
    assert verdicts(jumped)[0] == ("198.19.0.0", "198.19.0.255", "accept")
    assert verdicts(jumped)[1][2] == "drop"
    gone = ruleset(("out", OUTPUT, [[{"goto": {"target": "sub"}}], [{"drop": None}]]), sub)
    assert [v[2] for v in verdicts(gone)] == ["accept", "accept"], "after goto, the caller's policy decides"


def test_loopback_interface_rules_do_not_apply_to_network_peers() -> None:
    lo = {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "lo"}}
    rules = ruleset(("out", {**OUTPUT, "policy": "drop"}, [[lo, {"accept": None}]]))
    assert verdicts(rules) == [("198.19.0.0", "198.19.255.255", "drop")]


@pytest.mark.parametrize(
    "expr",
    [
        {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}},
        {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}},
        {"xt": {"type": "match", "name": "owner"}},
        {"limit": {"rate": 10, "per": "second"}},
    ],
)
def test_what_depends_on_more_than_the_ruleset_is_unevaluable(expr: dict[str, Any]) -> None:
    rules = ruleset(("out", OUTPUT, [[expr, {"drop": None}]]))
    with pytest.raises(Unevaluable, match="rule handle 101"):
        evaluate(rules, Flow("output", 8087), NET)


def test_ipv4_rules_do_not_match_ipv6_flows() -> None:
    rules = ruleset(("out", OUTPUT, [[daddr("198.19.0.0/16"), {"drop": None}]]))
    v6 = ipaddress.ip_network("2001:db8::/64")
    segments = evaluate(rules, Flow("output", 8087, version=6), v6)
    assert [s.verdict for s in segments] == ["accept"]


def test_inbound_uses_the_source_address() -> None:
    saddr = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "198.18.0.0", "len": 15}}}}  # fmt: skip
    rules = ruleset(
        (
            "in",
            {"type": "filter", "hook": "input", "prio": 0, "policy": "drop"},
            [[saddr, dport(2548), {"accept": None}]],
        )
    )
    assert [
        s.verdict for s in evaluate(rules, Flow("input", 2548), ipaddress.ip_network("198.18.0.0/15"))
    ] == ["accept"]
    assert [
        s.verdict for s in evaluate(rules, Flow("input", 2548), ipaddress.ip_network("192.0.2.0/24"))
    ] == ["drop"]
