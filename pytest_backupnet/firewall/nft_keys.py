"""What the keys of `nft -j` expressions are in the common model: payload fields, meta and ct
keys, fib lookups (as `Operand`s telling how to read their constants), and mark expressions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import values as v
from .model import (
    ADDRESS_TYPES,
    ARP_OPERATIONS,
    CT_DIRECTION,
    CT_STATE,
    CT_STATUS,
    ETHER_TYPES,
    FULL_MARK,
    IF_TYPES,
    PKT_TYPES,
    PROTOCOLS,
    TCP_FLAGS,
    SetMark,
)

MAX_DEPTH = 24  # nesting of JSON expressions

# Kinds of keys, for reading the values they are compared with.
ADDRESS, PORT, INT, NAME = "address", "port", "int", "name"


@dataclass(frozen=True)
class Operand:
    """A key, and how to read the constants it is compared with (kind, symbols, bitmask, mask)."""

    key: str
    kind: str
    family: int = 0
    symbols: Mapping[str, int] | None = None
    bitmask: bool = False
    mask: int | None = None


def mark_name(expr: Any) -> str:
    if isinstance(expr, dict):
        meta = expr.get("meta")
        if isinstance(meta, dict) and meta.get("key") == "mark":
            return "mark"
        ct = expr.get("ct")
        if isinstance(ct, dict) and ct.get("key") == "mark" and not ct.get("dir"):
            return "ctmark"
    return ""


def mark_expression(target: str, expr: Any, depth: int) -> SetMark:
    """`mark set (source & a) | b ^ c` as keep/source/xor; what cannot be read gives an unknown mark."""
    unknown = SetMark(target, keep=0, source="unknown")
    if depth > MAX_DEPTH:
        return unknown
    if isinstance(expr, int | str) and not isinstance(expr, bool):
        try:
            return SetMark(target, keep=0, xor=v.integer(expr) & FULL_MARK)
        except v.BadValue:
            return unknown
    name = mark_name(expr)
    if name == target:
        return SetMark(target, keep=FULL_MARK)
    if name:
        return SetMark(target, keep=0, source=name)
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, args),) = expr.items()
        if op in ("&", "|", "^") and isinstance(args, list) and len(args) == 2:
            inner = mark_expression(target, args[0], depth + 1)
            try:
                constant = v.integer(args[1]) & FULL_MARK
            except v.BadValue:
                return unknown
            source_mask = inner.source_mask if inner.source else FULL_MARK
            if op == "&":
                return SetMark(
                    target,
                    inner.keep & constant,
                    inner.xor & constant,
                    inner.source,
                    source_mask & constant if inner.source else FULL_MARK,
                )
            if op == "|":
                return SetMark(
                    target,
                    inner.keep & ~constant & FULL_MARK,
                    inner.xor | constant,
                    inner.source,
                    source_mask & ~constant & FULL_MARK if inner.source else FULL_MARK,
                )
            return SetMark(target, inner.keep, inner.xor ^ constant, inner.source, source_mask)
    return unknown


def payload_operand(body: dict[str, Any]) -> Operand | None:
    protocol, field_name = body.get("protocol"), body.get("field")
    if protocol in ("ip", "ip6"):
        family = 4 if protocol == "ip" else 6
        if field_name in ("saddr", "daddr"):
            return Operand(field_name, ADDRESS, family)
        if field_name in ("protocol", "nexthdr"):
            return Operand("l4proto", INT, family, PROTOCOLS)
        return None
    if protocol in ("tcp", "udp", "th") and field_name in ("sport", "dport"):
        return Operand(f"{protocol}.{field_name}", PORT)
    if protocol in ("sctp", "dccp", "udplite") and field_name in ("sport", "dport"):
        return Operand("other.port", PORT)
    if protocol == "ether" and field_name == "type":
        return Operand("protocol", INT, symbols=ETHER_TYPES)
    if protocol == "arp" and field_name == "operation":
        return Operand("arp.operation", INT, symbols=ARP_OPERATIONS)
    if protocol == "arp" and field_name in ("saddr ip", "daddr ip"):
        return Operand(f"arp.{field_name.split()[0]}", ADDRESS, 4)
    if protocol == "tcp" and field_name == "flags":
        return Operand("tcp.flags", INT, symbols=TCP_FLAGS, bitmask=True)
    if protocol == "icmp" and field_name == "type":
        return Operand("icmp.type", INT, 4, v.ICMP_TYPES)
    if protocol == "icmpv6" and field_name == "type":
        return Operand("icmpv6.type", INT, 6, v.ICMPV6_TYPES)
    return None


_META: dict[str, Callable[[], Operand]] = {
    "l4proto": lambda: Operand("l4proto", INT, symbols=PROTOCOLS),
    "nfproto": lambda: Operand("nfproto", INT, symbols={"ipv4": 4, "ipv6": 6}),
    "protocol": lambda: Operand("protocol", INT, symbols=ETHER_TYPES),
    "iifname": lambda: Operand("iifname", NAME),
    "oifname": lambda: Operand("oifname", NAME),
    "iif": lambda: Operand("iifname", NAME),
    "oif": lambda: Operand("oifname", NAME),
    "iiftype": lambda: Operand("iiftype", INT, symbols=IF_TYPES),
    "oiftype": lambda: Operand("oiftype", INT, symbols=IF_TYPES),
    "skuid": lambda: Operand("skuid", INT),
    "skgid": lambda: Operand("skgid", INT),
    "mark": lambda: Operand("mark", INT),
    "pkttype": lambda: Operand("pkttype", INT, symbols=PKT_TYPES),
}


def meta_operand(key: str) -> Operand | None:
    maker = _META.get(key)
    return maker() if maker else None


def ct_operand(body: dict[str, Any]) -> Operand | None:
    key, direction = body.get("key"), body.get("dir")
    if key == "state" and not direction:
        return Operand("ctstate", INT, symbols=CT_STATE, bitmask=True)
    if key == "status" and not direction:
        return Operand("ctstatus", INT, symbols=CT_STATUS, bitmask=True)
    if key == "direction" and not direction:
        return Operand("ctdirection", INT, symbols=CT_DIRECTION)
    if key == "mark" and not direction:
        return Operand("ctmark", INT)
    if key in ("protocol", "proto") and not direction:
        return Operand("ctproto", INT, symbols=PROTOCOLS)
    if key == "l3proto" and not direction:
        return Operand("nfproto", INT, symbols={"ipv4": 4, "ipv6": 6, "ip": 4, "ip6": 6})
    if direction in ("original", "reply") and isinstance(key, str):
        words = key.split()
        family_word = words[0] if len(words) == 2 else str(body.get("family", ""))
        field_name = words[-1]
        if field_name in ("saddr", "daddr") and family_word in ("ip", "ip6"):
            prefix = "ct.orig" if direction == "original" else "ct.reply"
            return Operand(f"{prefix}.{field_name}", ADDRESS, 4 if family_word == "ip" else 6)
    return None


def fib_operand(body: dict[str, Any]) -> Operand | None:
    result, flags = body.get("result"), body.get("flags")
    flag_set = set(flags) if isinstance(flags, list) else {flags}
    flag_set.discard("mark")  # the packet's mark: 0 here, and rules by mark are looked at with routes
    if result == "type" and flag_set in ({"daddr"}, {"daddr", "iif"}):
        return Operand("fib.daddr.type", INT, symbols=ADDRESS_TYPES)
    if result == "type" and flag_set in ({"saddr"}, {"saddr", "iif"}):
        return Operand("fib.saddr.type", INT, symbols=ADDRESS_TYPES)
    if result in ("oif", "oifname") and flag_set == {"saddr", "iif"}:
        return Operand("fib.saddr.oif", NAME)
    if result in ("oif", "oifname") and flag_set in ({"daddr"}, {"daddr", "oif"}):
        return Operand("fib.daddr.oif", NAME)
    return None
