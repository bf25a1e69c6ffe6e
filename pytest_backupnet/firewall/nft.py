"""The verdict an nftables ruleset (`nft -j list ruleset`) gives a new TCP connection, per address.

A flow is a hook (output or input), a port and a subnet of peer addresses. The answer is
the subnet cut into segments, each with its verdict and the rule or policy that gave it.
Anything the evaluator does not understand (an interface match, a mark, an iptables
compatibility expression, ...) raises `Unevaluable`, naming the rule: no guessed verdicts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..profile import IPNetwork

Interval = tuple[int, int]
_NAMED_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
_TERMINAL = ("accept", "drop", "reject")


class Unevaluable(Exception):
    """The ruleset uses something whose effect on the flow cannot be known from the ruleset alone."""


@dataclass(frozen=True)
class Flow:
    """A new TCP connection: outbound to (hook "output") or inbound from (hook "input") a peer."""

    hook: str
    port: int
    version: int = 4

    @property
    def peer_field(self) -> str:
        return "daddr" if self.hook == "output" else "saddr"


@dataclass(frozen=True)
class Segment:
    first: str
    last: str
    verdict: str  # accept | drop | reject
    source: str  # the rule or policy that decided

    def __str__(self) -> str:
        span = self.first if self.first == self.last else f"{self.first}-{self.last}"
        return f"{span} {self.verdict} by {self.source}"


def evaluate(ruleset: dict[str, Any], flow: Flow, subnet: IPNetwork) -> list[Segment]:
    """Cut `subnet` into segments by the verdict the ruleset gives `flow` to each address."""
    return _Evaluator(ruleset, flow).run(subnet)


class _Evaluator:
    def __init__(self, ruleset: dict[str, Any], flow: Flow) -> None:
        self.flow = flow
        self.chains: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.sets: dict[tuple[str, str, str], dict[str, Any]] = {}
        families = ("ip", "inet") if flow.version == 4 else ("ip6", "inet")
        for item in ruleset.get("nftables", []):
            for kind in ("chain", "rule", "set"):
                body = item.get(kind)
                if body is None or body.get("family") not in families:
                    continue
                key = (body["family"], body["table"], body.get("chain", body.get("name", "")))
                if kind == "chain":
                    self.chains[key] = body
                    self.rules.setdefault(key, [])
                elif kind == "rule":
                    self.rules.setdefault(key, []).append(body)
                else:
                    self.sets[(body["family"], body["table"], body["name"])] = body

    def run(self, subnet: IPNetwork) -> list[Segment]:
        if subnet.version != self.flow.version:
            raise Unevaluable(f"{subnet} is not an IPv{self.flow.version} subnet")
        pending: list[tuple[Interval, str]] = [
            ((int(subnet[0]), int(subnet[-1])), "no rule (nothing filters)")
        ]
        decided: list[tuple[Interval, str, str]] = []
        base = [
            key
            for key, chain in self.chains.items()
            if chain.get("hook") == self.flow.hook and chain.get("type", "filter") != "nat"
        ]
        base.sort(key=lambda key: _priority(self.chains[key].get("prio", 0)))
        for key in base:
            accepted: list[tuple[Interval, str]] = []
            for interval, _ in pending:
                for part, verdict, source in self._chain(key, [interval], base_chain=True, depth=0):
                    if verdict == "accept":
                        accepted.append((part, source))
                    else:
                        decided.append((part, verdict, source))
            pending = accepted  # accepted by one base chain, the packet meets the next one
        decided += [(interval, "accept", source) for interval, source in pending]
        return [
            Segment(self._address(lo), self._address(hi), verdict, source)
            for (lo, hi), verdict, source in sorted(decided)
        ]

    def _chain(
        self, key: tuple[str, str, str], intervals: list[Interval], base_chain: bool, depth: int
    ) -> list[tuple[Interval, str, str]]:
        """Verdicts for `intervals` through one chain; 'return' marks what falls off its end."""
        if depth > 16:
            raise Unevaluable(f"jumps nest deeper than 16 at chain {key[2]}")
        name = f"{key[0]} {key[1]} {key[2]}"
        results: list[tuple[Interval, str, str]] = []
        pending = intervals
        for rule in self.rules.get(key, []):
            if not pending:
                break
            where = f"{name} rule handle {rule.get('handle')}"
            matched, pending = self._match(rule, pending, where)
            if not matched:
                continue
            verdict, target = _verdict_of(rule, where)
            if verdict in _TERMINAL:
                results += [(i, verdict, where) for i in matched]
            elif verdict == "return":
                results += [(i, "return", where) for i in matched]
            elif verdict in ("jump", "goto"):
                target_key = (key[0], key[1], str(target))
                if target_key not in self.chains:
                    raise Unevaluable(f"{where}: jumps to unknown chain {target}")
                inner = self._chain(target_key, matched, base_chain=False, depth=depth + 1)
                results += [r for r in inner if r[1] != "return"]
                returned = [r[0] for r in inner if r[1] == "return"]
                if verdict == "jump":
                    pending = _union(pending + returned)
                else:  # goto: falling off the target leaves this chain too
                    results += [(i, "return", where) for i in returned]
            else:  # no verdict: counters, logs; the packet goes on
                pending = _union(pending + matched)
        if base_chain:
            policy = self.chains[key].get("policy", "accept")
            results += [(i, policy, f"policy {policy} of {name}") for i in pending]
            return [(i, v if v != "return" else policy, s) for i, v, s in results]
        return results + [(i, "return", f"end of {name}") for i in pending]

    def _match(
        self, rule: dict[str, Any], intervals: list[Interval], where: str
    ) -> tuple[list[Interval], list[Interval]]:
        """(matched, unmatched) parts of `intervals` for one rule."""
        matched = intervals
        for expr in rule.get("expr", []):
            if "match" not in expr:
                continue
            match = expr["match"]
            op, left, right = match.get("op"), match.get("left"), match.get("right")
            if op not in ("==", "!=", "in"):
                raise Unevaluable(f"{where}: operator {op!r} is not evaluated")
            negate = op == "!="
            payload = left.get("payload") if isinstance(left, dict) else None
            if (
                payload
                and payload.get("field") == self.flow.peer_field
                and payload.get("protocol") in ("ip", "ip6")
            ):
                if payload["protocol"] != ("ip" if self.flow.version == 4 else "ip6"):
                    return [], intervals
                inside = self._addresses(right, rule, where)
                part = _subtract(matched, inside) if negate else _intersect(matched, inside)
                matched = part
            else:
                truth = self._constant(left, right, rule, where)
                if truth == negate:
                    return [], intervals
        return matched, _subtract(intervals, matched)

    def _constant(self, left: Any, right: Any, rule: dict[str, Any], where: str) -> bool:
        """Whether a match on something other than the peer address holds for the flow."""
        if not isinstance(left, dict):
            raise Unevaluable(f"{where}: match on {left!r} is not evaluated")
        if "payload" in left:
            payload = left["payload"]
            protocol, field = payload.get("protocol"), payload.get("field")
            if protocol in ("ip", "ip6") and field in ("daddr", "saddr"):
                raise Unevaluable(f"{where}: matches the host's own address ({protocol} {field})")
            if (protocol, field) in (("ip", "protocol"), ("ip6", "nexthdr")):
                return bool({"tcp", "6"} & _values(right))
            if protocol in ("tcp", "th") and field == "dport":
                return self.flow.port in self._ports(right, rule, where)
            if protocol in ("udp", "udplite", "sctp", "dccp", "icmp", "icmpv6"):
                return False
            if protocol == ("ip6" if self.flow.version == 4 else "ip"):
                return False
            raise Unevaluable(f"{where}: match on {protocol} {field} is not evaluated")
        key = (left.get("meta") or left.get("ct") or {}).get("key")
        values = _values(right)
        if "meta" in left:
            if key == "l4proto":
                return bool({"tcp", "6"} & values)
            if key == "nfproto":
                return ("ipv4" if self.flow.version == 4 else "ipv6") in values
            if key == "protocol":
                return ("ip" if self.flow.version == 4 else "ip6") in values
            if key in ("oifname", "iifname", "oif", "iif") and values == {"lo"}:
                return False  # the flow's peer is on the network, never on loopback
        if "ct" in left and key == "state":
            return "new" in values
        raise Unevaluable(f"{where}: match on {left} depends on more than the ruleset")

    def _addresses(self, right: Any, rule: dict[str, Any], where: str) -> list[Interval]:
        if isinstance(right, str) and right.startswith("@"):
            return _union([i for e in self._named_set(right, rule, where) for i in self._element(e, where)])
        if isinstance(right, dict) and "set" in right:
            return _union([i for e in right["set"] for i in self._element(e, where)])
        return self._element(right, where)

    def _element(self, element: Any, where: str) -> list[Interval]:
        try:
            if isinstance(element, str):
                network = ipaddress.ip_network(element, strict=False)
                return [(int(network[0]), int(network[-1]))]
            if isinstance(element, dict) and "prefix" in element:
                prefix = element["prefix"]
                network = ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}", strict=False)
                return [(int(network[0]), int(network[-1]))]
            if isinstance(element, dict) and "range" in element:
                low, high = (int(ipaddress.ip_address(a)) for a in element["range"])
                return [(low, high)]
            if isinstance(element, dict) and "elem" in element:
                return self._element(element["elem"].get("val"), where)
        except (ValueError, KeyError, TypeError):
            pass
        raise Unevaluable(f"{where}: address {element!r} is not evaluated")

    def _ports(self, right: Any, rule: dict[str, Any], where: str) -> list[int] | range:
        if isinstance(right, str) and right.startswith("@"):
            elements: Sequence[Any] = self._named_set(right, rule, where)
        elif isinstance(right, dict) and "set" in right:
            elements = right["set"]
        else:
            elements = [right]
        ports: list[int] = []
        for element in elements:
            if isinstance(element, dict) and "range" in element:
                low, high = (int(p) for p in element["range"])
                ports += range(low, high + 1)
            elif isinstance(element, int) or (isinstance(element, str) and element.isdigit()):
                ports.append(int(element))
            else:
                raise Unevaluable(f"{where}: port {element!r} is not evaluated")
        return ports

    def _named_set(self, reference: str, rule: dict[str, Any], where: str) -> Sequence[Any]:
        found = self.sets.get((rule["family"], rule["table"], reference[1:]))
        if found is None:
            raise Unevaluable(f"{where}: set {reference} is not in the ruleset")
        elements = found.get("elem", [])
        return elements if isinstance(elements, list) else [elements]

    def _address(self, value: int) -> str:
        return str(ipaddress.ip_address(value) if self.flow.version == 4 else ipaddress.IPv6Address(value))


def _verdict_of(rule: dict[str, Any], where: str) -> tuple[str, str | None]:
    for expr in rule.get("expr", []):
        for verdict in (*_TERMINAL, "return", "continue"):
            if verdict in expr:
                return verdict, None
        for verdict in ("jump", "goto"):
            if verdict in expr:
                return verdict, expr[verdict].get("target")
        known = {"match", "counter", "log", "limit", "quota", "set", "mangle", "meta", "notrack", "ct"}
        if not set(expr) <= known:
            raise Unevaluable(f"{where}: statement {sorted(expr)} is not evaluated")
        if "limit" in expr or "quota" in expr:
            raise Unevaluable(f"{where}: a rate limit or quota decides by traffic, not by the ruleset")
    return "continue", None


def _values(right: Any) -> set[str]:
    if isinstance(right, list):
        return {str(v) for v in right}
    if isinstance(right, dict) and "set" in right:
        return {str(v) for v in right["set"]}
    return {str(right)}


def _priority(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value in _NAMED_PRIORITIES:
        return _NAMED_PRIORITIES[value]
    return 0


def _union(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _intersect(left: list[Interval], right: list[Interval]) -> list[Interval]:
    return _union([(max(a, c), min(b, d)) for a, b in left for c, d in right if max(a, c) <= min(b, d)])


def _subtract(left: list[Interval], right: list[Interval]) -> list[Interval]:
    result = []
    for low, high in left:
        pieces = [(low, high)]
        for cut_low, cut_high in right:
            next_pieces = []
            for a, b in pieces:
                if cut_high < a or cut_low > b:
                    next_pieces.append((a, b))
                    continue
                if a < cut_low:
                    next_pieces.append((a, cut_low - 1))
                if cut_high < b:
                    next_pieces.append((cut_high + 1, b))
            pieces = next_pieces
        result += pieces
    return _union(result)
