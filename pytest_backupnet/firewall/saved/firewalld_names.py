"""firewalld's nftables backend in data: hooks and priorities, reject types, ICMP types, chain names.

From firewall/core/nftables.py and fw_policy.py of firewalld 1.x: each zone is three derived policies
(zone->HOST, ANY->zone, zone->ANY) and each policy has chains named after where it applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .firewalld_config import RichRule, Settings, Zone

JSON = Any

TABLE = "firewalld"


OFFSET = 10


HOOKS = {  # (table, chain) -> (hook, priority, type)
    ("mangle", "PREROUTING"): ("prerouting", -150 + OFFSET, "filter"),
    ("nat", "PREROUTING"): ("prerouting", -100 + OFFSET, "nat"),
    ("nat", "POSTROUTING"): ("postrouting", 100 + OFFSET, "nat"),
    ("nat", "OUTPUT"): ("output", -100 + OFFSET, "nat"),
    ("filter", "PREROUTING"): ("prerouting", 0 + OFFSET, "filter"),
    ("filter", "INPUT"): ("input", 0 + OFFSET, "filter"),
    ("filter", "FORWARD"): ("forward", 0 + OFFSET, "filter"),
    ("filter", "OUTPUT"): ("output", 0 + OFFSET, "filter"),
}


REJECT = {"reject": {"type": "icmpx", "expr": "admin-prohibited"}}


ZONE_DEFAULT_TARGET = "default"


REJECT_TYPES = {
    "icmp-host-prohibited": ("icmp", "host-prohibited"),
    "host-prohib": ("icmp", "host-prohibited"),
    "icmp-net-prohibited": ("icmp", "net-prohibited"),
    "net-prohib": ("icmp", "net-prohibited"),
    "icmp-admin-prohibited": ("icmp", "admin-prohibited"),
    "admin-prohib": ("icmp", "admin-prohibited"),
    "icmp6-adm-prohibited": ("icmpv6", "admin-prohibited"),
    "adm-prohibited": ("icmpv6", "admin-prohibited"),
    "icmp-net-unreachable": ("icmp", "net-unreachable"),
    "net-unreach": ("icmp", "net-unreachable"),
    "icmp-host-unreachable": ("icmp", "host-unreachable"),
    "host-unreach": ("icmp", "host-unreachable"),
    "icmp-port-unreachable": ("icmp", "port-unreachable"),
    "icmp6-port-unreachable": ("icmpv6", "port-unreachable"),
    "port-unreach": ("icmpx", "port-unreachable"),
    "icmp-proto-unreachable": ("icmp", "prot-unreachable"),
    "proto-unreach": ("icmp", "prot-unreachable"),
    "icmp6-addr-unreachable": ("icmpv6", "addr-unreachable"),
    "addr-unreach": ("icmpv6", "addr-unreachable"),
    "icmp6-no-route": ("icmpv6", "no-route"),
    "no-route": ("icmpv6", "no-route"),
    "tcp-reset": ("tcp reset", ""),
    "tcp-rst": ("tcp reset", ""),
}


ICMP = {  # firewalld's ICMP type -> (protocol, nft type, code)
    "ipv4": {
        "communication-prohibited": ("destination-unreachable", 13),
        "destination-unreachable": ("destination-unreachable", None),
        "echo-reply": ("echo-reply", None),
        "echo-request": ("echo-request", None),
        "fragmentation-needed": ("destination-unreachable", 4),
        "host-precedence-violation": ("destination-unreachable", 14),
        "host-prohibited": ("destination-unreachable", 10),
        "host-redirect": ("redirect", 1),
        "host-unknown": ("destination-unreachable", 7),
        "host-unreachable": ("destination-unreachable", 1),
        "ip-header-bad": ("parameter-problem", 1),
        "network-prohibited": ("destination-unreachable", 8),
        "network-redirect": ("redirect", 0),
        "network-unknown": ("destination-unreachable", 6),
        "network-unreachable": ("destination-unreachable", 0),
        "parameter-problem": ("parameter-problem", None),
        "port-unreachable": ("destination-unreachable", 3),
        "precedence-cutoff": ("destination-unreachable", 15),
        "protocol-unreachable": ("destination-unreachable", 2),
        "redirect": ("redirect", None),
        "required-option-missing": ("parameter-problem", 1),
        "router-advertisement": ("router-advertisement", None),
        "router-solicitation": ("router-solicitation", None),
        "source-quench": ("source-quench", None),
        "source-route-failed": ("destination-unreachable", 5),
        "time-exceeded": ("time-exceeded", None),
        "timestamp-reply": ("timestamp-reply", None),
        "timestamp-request": ("timestamp-request", None),
        "tos-host-redirect": ("redirect", 3),
        "tos-host-unreachable": ("destination-unreachable", 12),
        "tos-network-redirect": ("redirect", 2),
        "tos-network-unreachable": ("destination-unreachable", 11),
        "ttl-zero-during-reassembly": ("time-exceeded", 1),
        "ttl-zero-during-transit": ("time-exceeded", 0),
    },
    "ipv6": {
        "address-unreachable": ("destination-unreachable", 3),
        "bad-header": ("parameter-problem", 0),
        "beyond-scope": ("destination-unreachable", 2),
        "communication-prohibited": ("destination-unreachable", 1),
        "destination-unreachable": ("destination-unreachable", None),
        "echo-reply": ("echo-reply", None),
        "echo-request": ("echo-request", None),
        "failed-policy": ("destination-unreachable", 5),
        "neighbour-advertisement": ("nd-neighbor-advert", None),
        "neighbour-solicitation": ("nd-neighbor-solicit", None),
        "no-route": ("destination-unreachable", 0),
        "packet-too-big": ("packet-too-big", None),
        "parameter-problem": ("parameter-problem", None),
        "port-unreachable": ("destination-unreachable", 4),
        "redirect": ("nd-redirect", None),
        "reject-route": ("destination-unreachable", 6),
        "router-advertisement": ("nd-router-advert", None),
        "router-solicitation": ("nd-router-solicit", None),
        "time-exceeded": ("time-exceeded", None),
        "ttl-zero-during-reassembly": ("time-exceeded", 1),
        "ttl-zero-during-transit": ("time-exceeded", 0),
        "unknown-header-type": ("parameter-problem", 1),
        "unknown-option": ("parameter-problem", 2),
    },
}


class GenerateError(ValueError):
    pass


@dataclass
class FirewalldPolicy:
    """A policy as firewalld applies it: a zone's derived one, or one of /etc/firewalld/policies."""

    name: str
    settings: Settings
    target: str
    priority: int
    ingress: list[str]
    egress: list[str]
    zone: str = ""  # the zone it is derived from
    origin: str = ""


@dataclass
class Command:
    verb: str  # add | insert
    kind: str  # table | chain | rule | set | element
    body: dict[str, JSON]
    origin: str
    text: str


def derived_settings(zone: Zone, ingress: str, egress: str) -> Settings:
    settings = Settings(zone.path)
    if ingress == zone.name and egress == "HOST":
        settings.services, settings.ports = list(zone.services), list(zone.ports)
        settings.source_ports, settings.icmp_blocks = list(zone.source_ports), list(zone.icmp_blocks)
        settings.icmp_block_inversion, settings.protocols = zone.icmp_block_inversion, list(zone.protocols)
    elif ingress == "ANY" and egress == zone.name:
        settings.masquerade = zone.masquerade
    elif ingress == zone.name and egress == "ANY":
        settings.forward_ports = list(zone.forward_ports)
    settings.rules = [r for r in zone.rules if rich_policy(r, zone.name) == f"zone_{ingress}_{egress}"]
    return settings


def rich_policy(rule: RichRule, zone: str) -> str:
    kind = rule.element[0] if rule.element else ""
    if rule.action is not None and rule.action[0] == "mark":
        return f"zone_{zone}_ANY"
    if kind in ("service", "port", "protocol", "source-port", "icmp-block", "icmp-type", ""):
        return f"zone_{zone}_HOST"
    if kind in ("forward-port", "tcp-mss-clamp"):
        return f"zone_{zone}_ANY"
    if kind == "masquerade":
        return f"zone_ANY_{zone}"
    return f"zone_{zone}_HOST"


def zone_dispatch_chains(policy: FirewalldPolicy) -> list[tuple[str, str]]:
    if "HOST" in policy.egress:
        return [("filter", "INPUT")]
    if "ANY" in policy.egress:
        return [("filter", "FORWARD"), ("nat", "PREROUTING"), ("mangle", "PREROUTING")]
    return [("nat", "POSTROUTING")]


def policy_dispatch_chains(policy: FirewalldPolicy) -> list[tuple[str, str]]:
    ingress, egress = policy.ingress, policy.egress
    if "ANY" in ingress and "HOST" in egress:
        return [("filter", "INPUT"), ("nat", "PREROUTING"), ("mangle", "PREROUTING")]
    if "HOST" in egress:
        return [("filter", "INPUT")]
    if "HOST" in ingress:
        return [("filter", "OUTPUT"), ("nat", "OUTPUT")]
    if "ANY" in ingress and "ANY" in egress:
        return [
            ("filter", "FORWARD"),
            ("nat", "PREROUTING"),
            ("nat", "POSTROUTING"),
            ("mangle", "PREROUTING"),
        ]
    if "ANY" in egress:
        return [
            ("filter", "FORWARD"),
            ("nat", "PREROUTING"),
            ("mangle", "PREROUTING"),
            ("nat", "POSTROUTING"),
        ]
    raise GenerateError(f"policy {policy.name}: zone to zone policies are not evaluated")


def chain_name(policy: FirewalldPolicy, table: str, snat: bool = False) -> str:
    suffix = policy.zone or f"policy_{policy.name}"
    if "HOST" in policy.egress:
        return ("IN_" if table == "filter" else "PRE_") + suffix
    if "HOST" in policy.ingress:
        return "OUT_" + suffix
    if table == "filter":
        return "FWD_" + suffix
    if table == "nat":
        return ("POST_" if snat else "PRE_") + suffix
    return "PRE_" + suffix


def rich_suffix(rule: RichRule) -> str:
    if rule.priority < 0:
        return "pre"
    if rule.priority > 0:
        return "post"
    kind = rule.element[0] if rule.element else ""
    action = rule.action[0] if rule.action else ""
    if kind in ("masquerade", "forward-port", "tcp-mss-clamp") or action in ("accept", "mark"):
        return "allow"
    return "deny"


def reject_statement(kind: str | None) -> JSON:
    if not kind:
        return {"reject": None}
    if kind not in REJECT_TYPES:
        raise GenerateError(f"unknown reject type {kind!r}")
    family, expr = REJECT_TYPES[kind]
    return {"reject": {"type": family, **({"expr": expr} if expr else {})}}


def limit_statement(value: str) -> list[JSON]:
    if not value:
        return []
    rate, _, unit = value.partition("/")
    per = {"s": "second", "m": "minute", "h": "hour", "d": "day"}[unit[:1]]
    return [{"limit": {"rate": int(rate), "per": per}}]


def port_value(port: str) -> JSON:
    text = port.replace(":", "-")
    if "-" in text:
        low, high = (int(p) for p in text.split("-", 1))
        return low if low == high else {"range": [min(low, high), max(low, high)]}
    return int(text)


def match(left: JSON, right: JSON, op: str = "==") -> JSON:
    return {"match": {"left": left, "op": op, "right": right}}


def jump(target: str) -> JSON:
    return {"jump": {"target": target}}


def fragment_family(fragment: JSON) -> str:
    left = fragment.get("match", {}).get("left", {}) if isinstance(fragment, dict) else {}
    payload = left.get("payload") if isinstance(left, dict) else None
    return str(payload.get("protocol", "")) if isinstance(payload, dict) else ""


def is_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )
