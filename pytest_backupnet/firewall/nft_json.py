"""`nft -j list ruleset` -> chains and base chains of the common model.

Tables handled by iptables-nft are read from iptables-nft-save instead (`nft -j` drops the
parameters of compatibility matches): the caller names, per table, the chains to leave out.
Everything the kernel would do that is not understood here becomes an `Opaque` test or a `Taint`
action naming the rule; odd input (wrong types, unknown objects) never raises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from . import values as v
from .intervals import Interval, normalize
from .model import (
    BaseChain,
    Chain,
    Concat,
    Jump,
    KeyTest,
    Match,
    Nat,
    NoTrack,
    Opaque,
    Rule,
    Step,
    Taint,
    Values,
    Verdict,
    VerdictMap,
    make_rule,
    single,
)
from .nft_keys import (
    ADDRESS,
    MAX_DEPTH,
    NAME,
    PORT,
    Operand,
    ct_operand,
    fib_operand,
    mark_expression,
    mark_name,
    meta_operand,
    payload_operand,
)
from .nft_text import TextRuleset

PRIORITYNAMES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
MAX_ELEMENTS = 200_000  # elements of one set
_NOP_STATEMENTS = {
    "counter", "log", "dup", "ct helper", "ct timeout", "ct expectation", "secmark", "flow", "last",
    "comment", "reset",
}  # fmt: skip
_HARMLESS_MANGLE = {
    ("ip", "dscp"),
    ("ip", "ecn"),
    ("ip", "ttl"),
    ("ip6", "dscp"),
    ("ip6", "ecn"),
    ("ip6", "hoplimit"),
    ("ip6", "flowlabel"),
}


class JsonError(ValueError):
    """The listing is not the JSON of a ruleset."""


@dataclass
class NftTables:
    chains: dict[str, Chain] = field(default_factory=dict)
    base: list[BaseChain] = field(default_factory=list)
    tables: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def load_json(text: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JsonError(f"nft -j output is not JSON: {str(exc)[:120]}") from None
    items = document.get("nftables") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise JsonError("nft -j output has no 'nftables' list")
    return [item for item in items if isinstance(item, dict)]


def load_table_documents(text: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The output of nft-json-tables: (items of every table read, (family, name) of those not read)."""
    items: list[dict[str, Any]] = []
    broken: list[tuple[str, str]] = []
    sections = text.split("# table ")
    for section in sections[1:]:
        header, _, body = section.partition("\n")
        parts = header.split()
        name = (parts[0], parts[1]) if len(parts) >= 2 else ("?", "?")
        try:
            found = load_json(body.strip())
        except JsonError:
            broken.append(name)
            continue
        items.extend(i for i in found if "metainfo" not in i)
    return items, broken


def chain_id(family: str, table: str, name: str) -> str:
    return f"nft {family} {table} {name}"


XtRules = Callable[[str, str, str, int, int], Rule | None]


def parse_nft(
    items: list[dict[str, Any]], text: TextRuleset | None, xt_rules: XtRules | None = None
) -> NftTables:
    """Chains of every table. A rule made by iptables-nft with compatibility expressions (which
    `nft -j` prints without their parameters) is taken from `xt_rules(family, table, chain, index,
    count)`: iptables-nft-save's line at the same place, when that chain has as many rules."""
    result = NftTables()
    sets: dict[tuple[str, str, str], dict[str, Any]] = {}
    dynamic: set[tuple[str, str, str]] = set()
    tables: dict[tuple[str, str], dict[str, Any]] = {}
    chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    rules: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for item in items:
        for kind in ("table", "chain", "rule", "set", "map"):
            body = item.get(kind)
            if not isinstance(body, dict):
                continue
            family, table = str(body.get("family", "")), str(body.get("table", body.get("name", "")))
            if kind == "table":
                tables[(family, table)] = body
            elif kind == "chain":
                chains[(family, table, str(body.get("name", "")))] = body
            elif kind == "rule":
                rules.setdefault((family, table, str(body.get("chain", ""))), []).append(body)
                _note_dynamic_sets(body.get("expr"), family, table, dynamic, 0)
            else:
                sets[(family, table, str(body.get("name", "")))] = body
    for key, body in sets.items():
        flags = body.get("flags")
        if isinstance(flags, list) and "dynamic" in flags:
            dynamic.add(key)
    result.tables = set(tables)
    for (family, table, name), body in chains.items():
        text_table = text.tables.get((family, table)) if text else None
        ident = chain_id(family, table, name)
        reader = _RuleReader(family, table, name, sets, dynamic, text_table.rule_text if text_table else {})
        chain_rules = rules.get((family, table, name), [])
        compiled: list[Rule] = []
        xt_seen = False
        for index, rule in enumerate(chain_rules):
            if _has_xt(rule):
                xt_seen = True
                saved = xt_rules(family, table, name, index, len(chain_rules)) if xt_rules else None
                compiled.append(saved if saved is not None else reader.rule(rule))
            else:
                compiled.append(reader.rule(rule))
        result.chains[ident] = Chain(ident, f"{family} {table} {name}", tuple(compiled))
        if "hook" in body:
            base = _base_chain(body, ident, tables.get((family, table), {}), text_table)
            if base is not None:
                managed = xt_seen or (text_table is not None and text_table.iptables_nft)
                source = ("iptables-nft" if family == "ip" else "ip6tables-nft") if managed else "nftables"
                result.base.append(replace(base, source=source))
    return result


def _has_xt(rule: dict[str, Any]) -> bool:
    exprs = rule.get("expr")
    return isinstance(exprs, list) and any(isinstance(e, dict) and "xt" in e for e in exprs)


def _base_chain(body: dict[str, Any], ident: str, table: dict[str, Any], text_table: Any) -> BaseChain | None:
    family, name = str(body.get("family")), str(body.get("name"))
    hook = str(body.get("hook"))
    priority = _priority(body.get("prio"))
    if priority is None:
        return None
    why_inactive = ""
    flags = table.get("flags")
    if text_table is not None:
        dormant = "dormant" in text_table.flags
    elif isinstance(flags, list):
        dormant = "dormant" in flags
    elif flags is None:
        dormant = False
    else:
        dormant = False
        why_inactive = (
            f"the flags of table {family} {body.get('table')} cannot be read (nft -j prints {flags!r})"
        )
    if dormant:
        return None
    devices: tuple[str, ...] | None = ()
    if hook in ("ingress", "egress"):
        dev = body.get("dev")
        if isinstance(dev, str):
            devices = (dev,)
        elif isinstance(dev, list):
            devices = tuple(str(d) for d in dev)
        elif text_table is not None and name in text_table.chain_devices:
            devices = text_table.chain_devices[name]
        else:
            devices = None
    return BaseChain(
        chain=ident,
        source="nftables",
        family=family,
        hook=hook,
        priority=priority,
        kind=str(body.get("type", "filter")),
        policy=str(body.get("policy", "accept")),
        label=f"{family} {body.get('table')} {name}",
        devices=devices,
        maybe_inactive=why_inactive,
    )


def _priority(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.replace(" ", "")
        for name, number in PRIORITYNAMES.items():
            if text.startswith(name):
                rest = text[len(name) :]
                try:
                    return number + (int(rest) if rest else 0)
                except ValueError:
                    return None
        try:
            return int(text)
        except ValueError:
            return None
    return None


def _note_dynamic_sets(
    exprs: Any, family: str, table: str, found: set[tuple[str, str, str]], depth: int
) -> None:
    """Sets a rule adds to or updates from the packet path have contents that change with traffic."""
    if depth > MAX_DEPTH or not isinstance(exprs, list):
        return
    for expr in exprs:
        if not isinstance(expr, dict):
            continue
        for key in ("set", "map"):
            body = expr.get(key)
            if isinstance(body, dict) and isinstance(body.get("set"), str) and body.get("op"):
                found.add((family, table, body["set"].lstrip("@")))
        meter = expr.get("meter")
        if isinstance(meter, dict) and isinstance(meter.get("name"), str):
            found.add((family, table, meter["name"]))


class _Unsupported(Exception):
    pass


class _RuleReader:
    def __init__(
        self,
        family: str,
        table: str,
        chain: str,
        sets: dict[tuple[str, str, str], dict[str, Any]],
        dynamic: set[tuple[str, str, str]],
        rule_text: Mapping[tuple[str, int], str],
    ) -> None:
        self.family, self.table, self.chain = family, table, chain
        self.sets, self.dynamic, self.rule_text = sets, dynamic, rule_text
        self.where = ""

    def rule(self, body: dict[str, Any]) -> Rule:
        handle = body.get("handle")
        label = f"{self.family} {self.table} {self.chain} handle {handle}"
        text = self.rule_text.get((self.chain, handle)) if isinstance(handle, int) else None
        if text:
            label += f' "{text}"'
        self.where = label
        exprs = body.get("expr")
        if not isinstance(exprs, list):
            return Rule((Taint(f"{label}: no statements can be read"),), label)
        steps: list[Step] = []
        for expr in exprs:
            steps.extend(self.statement(expr))
        return make_rule(tuple(steps), label)

    def statement(self, expr: Any) -> list[Step]:
        if not isinstance(expr, dict) or len(expr) != 1:
            return [Taint(f"statement {str(expr)[:80]} cannot be read")]
        ((name, body),) = expr.items()
        try:
            return self._statement(name, body)
        except (_Unsupported, v.BadValue, TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
            if name == "match":
                return [Opaque(f"{self._text(body)} ({exc})")]
            return [Taint(f"statement {name} ({exc})")]

    def _statement(self, name: str, body: Any) -> list[Step]:
        if name == "match":
            return [self.match(body)]
        if name in ("accept", "drop", "continue", "return"):
            return [Verdict(name)]
        if name in ("jump", "goto"):
            return [Jump(chain_id(self.family, self.table, str(body["target"])), goto=name == "goto")]
        if name == "reject":
            kind = str(body.get("type", "") if isinstance(body, dict) else "") or "icmp"
            # nft lists a reject without the dependency it carries in the kernel (meta l4proto tcp, ...)
            dependency = {
                "tcp reset": KeyTest("l4proto", single(6), text="meta l4proto tcp"),
                "icmp": KeyTest("nfproto", single(4), text="meta nfproto ipv4"),
                "icmpv6": KeyTest("nfproto", single(6), text="meta nfproto ipv6"),
            }.get(kind)
            if dependency is not None and (kind == "tcp reset" or self.family == "inet"):
                return [dependency, Verdict("reject", kind)]
            return [Verdict("reject", kind)]
        if name == "queue":
            return [Verdict("queue")]
        if name in _NOP_STATEMENTS:
            return []
        if name in ("limit", "quota", "ct count", "meter"):
            return [Opaque(f"{name} {self._short(body)} (decided by traffic, not by the ruleset)")]
        if name == "set" or name == "map":
            return []  # adds to a set from the packet path: that set is dynamic (seen above)
        if name == "notrack":
            return [NoTrack()]
        if name in ("snat", "dnat", "masquerade", "redirect"):
            address = body.get("addr") if isinstance(body, dict) else None
            if isinstance(address, dict) and isinstance(address.get("map"), dict):
                return [self.nat_map(name, address["map"])]
            return [Nat(name, address if isinstance(address, str) else ("" if address is None else "?"))]
        if name == "mangle":
            return self.mangle(body)
        if name == "vmap":
            return [self.vmap(body)]
        if name == "xt":
            details = body if isinstance(body, dict) else {}
            what = f"iptables compatibility {details.get('type', '')} {details.get('name', '')}"
            return [Opaque(what)] if details.get("type") == "match" else [Taint(what)]
        return [Taint(f"statement {name} is not evaluated")]

    # matches

    def match(self, body: dict[str, Any]) -> Match:
        op = body.get("op", "==")
        left, right = body.get("left"), body.get("right")
        if isinstance(left, dict) and "concat" in left:
            return self.concat(left["concat"], right, op)
        operand = self.operand(left)
        if operand is None:
            return Opaque(self._text(body))
        if op in ("<", ">", "<=", ">=", "⇐"):
            bound = self.scalar(operand, right)
            interval = {
                "<": (0, bound - 1),
                ">": (bound + 1, 2**128),
                "<=": (0, bound),
                "⇐": (0, bound),
                ">=": (bound, 2**128),
            }[op]
            return KeyTest(
                operand.key,
                Values(ints=(interval,)),
                False,
                operand.mask,
                False,
                operand.family,
                text=self._text(body),
            )
        if op not in ("==", "!=", "in"):
            return Opaque(self._text(body))
        any_bits = operand.bitmask and (op == "in" or isinstance(right, list))
        if any_bits:
            bits = 0
            for item in right if isinstance(right, list) else [right]:
                bits |= self.scalar(operand, item)
            values = Values(ints=((bits, bits),))
        else:
            values = self.values(operand, right)
        return KeyTest(
            operand.key,
            values,
            negate=op == "!=",
            mask=operand.mask,
            any_bits=any_bits,
            family=operand.family,
            text=self._text(body),
        )

    def operand(self, expr: Any, depth: int = 0) -> Operand | None:
        if depth > MAX_DEPTH or not isinstance(expr, dict) or len(expr) != 1:
            return None
        ((name, body),) = expr.items()
        if name == "&" and isinstance(body, list) and len(body) == 2:
            inner = self.operand(body[0], depth + 1)
            if inner is None or inner.mask is not None:
                return None
            mask_value = body[1]
            mask = 0
            for item in mask_value if isinstance(mask_value, list) else [mask_value]:
                mask |= self.scalar(inner, item)
            return Operand(inner.key, inner.kind, inner.family, inner.symbols, inner.bitmask, mask)
        if not isinstance(body, dict):
            return None
        if name == "payload":
            return payload_operand(body)
        if name == "meta":
            return meta_operand(str(body.get("key")))
        if name == "ct":
            return ct_operand(body)
        if name == "fib":
            return fib_operand(body)
        return None

    def concat(self, parts: Any, right: Any, op: str) -> Match:
        if not isinstance(parts, list) or op not in ("==", "!=", "in"):
            return Opaque(self._text({"left": {"concat": parts}, "right": right}))
        operands = [self.operand(p) for p in parts]
        text = self._text({"left": {"concat": parts}, "right": right, "op": op})
        if any(o is None or o.mask is not None for o in operands):
            return Opaque(text)
        ops = [o for o in operands if o is not None]
        elements = self.elements(right)
        if elements is None:
            return Opaque(f"{text} (the set's members change with traffic)")
        rows: list[tuple[Values, ...]] = []
        for element in elements:
            inner = element.get("concat") if isinstance(element, dict) else None
            if not isinstance(inner, list) or len(inner) != len(ops):
                return Opaque(f"{text} (element {str(element)[:60]} cannot be read)")
            rows.append(tuple(self.values(o, part) for o, part in zip(ops, inner, strict=True)))
        return Concat(tuple(o.key for o in ops), tuple(o.family for o in ops), tuple(rows), op == "!=", text)

    def elements(self, right: Any) -> list[Any] | None:
        """The members of an anonymous or named set; None when they change with traffic."""
        if isinstance(right, str) and right.startswith("@"):
            key = (self.family, self.table, right[1:])
            if key in self.dynamic:
                return None
            found = self.sets.get(key)
            if found is None:
                raise v.BadValue(f"set {right} is not in the ruleset")
            elements = found.get("elem", [])
            return elements if isinstance(elements, list) else [elements]
        if isinstance(right, dict) and "set" in right:
            inner = right["set"]
            return inner if isinstance(inner, list) else [inner]
        return [right]

    def values(self, operand: Operand, right: Any) -> Values:
        elements = self.elements(right)
        if elements is None:
            raise v.BadValue("the set's members change with traffic")
        if len(elements) > MAX_ELEMENTS:
            raise v.BadValue(f"a set of {len(elements)} elements is more than {MAX_ELEMENTS}")
        ints: list[Interval] = []
        exact: set[str] = set()
        prefixes: list[str] = []
        for element in elements:
            if isinstance(element, dict) and "elem" in element and isinstance(element["elem"], dict):
                element = element["elem"].get("val")
            if operand.kind == NAME:
                if element is False:
                    exact.add("")  # fib ... oif missing
                    continue
                if not isinstance(element, str):
                    raise v.BadValue(f"not a name: {str(element)[:40]}")
                if element.endswith("*") and not element.endswith("\\*"):
                    prefixes.append(element[:-1])
                else:
                    exact.add(element.replace("\\*", "*"))
                continue
            ints.append(self.interval(operand, element))
        return Values(ints=normalize(ints), names=frozenset(exact), prefixes=tuple(prefixes))

    def interval(self, operand: Operand, element: Any) -> Interval:
        if isinstance(element, dict) and "range" in element and isinstance(element["range"], list):
            first, last = element["range"]
            if operand.kind == ADDRESS:
                return v.address_range(str(first), str(last), operand.family)[0]
            return (self.scalar(operand, first), self.scalar(operand, last))
        if isinstance(element, dict) and "prefix" in element and isinstance(element["prefix"], dict):
            prefix = element["prefix"]
            return v.address_interval(f"{prefix['addr']}/{prefix['len']}", operand.family)[0]
        if operand.kind == ADDRESS:
            if not isinstance(element, str):
                raise v.BadValue(f"not an address: {str(element)[:40]}")
            return v.address_interval(element, operand.family)[0]
        number = self.scalar(operand, element)
        return (number, number)

    def scalar(self, operand: Operand, value: Any) -> int:
        if operand.kind == PORT:
            return v.port_number(value)
        if isinstance(value, str) and operand.symbols is not None and value in operand.symbols:
            return operand.symbols[value]
        return v.integer(value)

    # actions

    def vmap(self, body: dict[str, Any]) -> VerdictMap:
        key, data = body.get("key"), body.get("data")
        text = f"vmap on {self._short(key)}"
        if isinstance(data, str) and data.startswith("@"):
            found = self.sets.get((self.family, self.table, data[1:]))
            if found is None or (self.family, self.table, data[1:]) in self.dynamic:
                raise _Unsupported(f"map {data} cannot be read")
            pairs = found.get("elem", [])
        elif isinstance(data, dict) and "set" in data:
            pairs = data["set"]
        else:
            raise _Unsupported("verdict map cannot be read")
        if not isinstance(pairs, list):
            pairs = [pairs]
        entries: list[tuple[Match, Verdict | Jump]] = []
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Unsupported(f"map element {str(pair)[:60]} cannot be read")
            element, verdict = pair
            decision = self.statement(verdict)
            if len(decision) != 1 or not isinstance(decision[0], Verdict | Jump):
                raise _Unsupported(f"map verdict {str(verdict)[:60]} cannot be read")
            entries.append((self.match({"op": "==", "left": key, "right": {"set": [element]}}), decision[0]))
        return VerdictMap(Opaque(text), tuple(entries), text)

    def nat_map(self, kind: str, body: dict[str, Any]) -> Nat:
        key, data = body.get("key"), body.get("data")
        pairs = data.get("set") if isinstance(data, dict) else None
        if not isinstance(pairs, list):
            raise _Unsupported(f"{kind} address map cannot be read")
        entries: list[tuple[Match, str]] = []
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Unsupported(f"{kind} map element {str(pair)[:60]} cannot be read")
            entries.append((self.match({"op": "==", "left": key, "right": {"set": [pair[0]]}}), str(pair[1])))
        return Nat(kind, "", tuple(entries))

    def mangle(self, body: dict[str, Any]) -> list[Step]:
        key, value = body.get("key"), body.get("value")
        if isinstance(key, dict) and ("meta" in key or "ct" in key):
            target = mark_name(key)
            if target:
                setter = mark_expression(target, value, 0)
                return [replace(setter, strict=setter.source == "ctmark")]
            inner = key.get("meta") or key.get("ct") or {}
            if inner.get("key") in ("nftrace", "priority", "secmark", "helper", "expiration", "label"):
                return []
            return [Taint(f"sets {self._short(key)}")]
        if isinstance(key, dict) and "payload" in key:
            payload = key["payload"]
            if (payload.get("protocol"), payload.get("field")) in _HARMLESS_MANGLE:
                return []
        if isinstance(key, dict) and "tcp option" in key:
            return []
        return [Taint(f"rewrites {self._short(key)}")]

    def _short(self, body: Any) -> str:
        return json.dumps(body, separators=(",", ":"))[:120]

    def _text(self, body: Any) -> str:
        return self._short(body)
