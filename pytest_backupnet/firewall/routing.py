"""Which interface and host address the host uses towards each part of the peer range.

The routing policy database is followed as the kernel does for an unbound TCP socket (rules by
priority, longest prefix per table, `throw`, `suppress_prefixlength`, then a second lookup with
the chosen source). Replies are assumed to take the same interface (symmetric routing, as
reverse-path filtering requires). What cannot be known leaves the interface or address unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import intervals as iv
from .facts import BROADCAST, LOCAL, MULTICAST, UNICAST, UNREACHABLE, Address, HostFacts, PolicyRule, Route
from .intervals import Intervals
from .model import IF_TYPES

_DEFAULT_RULES = (
    PolicyRule(0, False, None, None, None, None, None, None, "lookup", 255),
    PolicyRule(32766, False, None, None, None, None, None, None, "lookup", 254),
    PolicyRule(32767, False, None, None, None, None, None, None, "lookup", 253),
)
_MULTICAST = {4: ((0xE0000000, 0xEFFFFFFF),), 6: ((0xFF << 120, (1 << 128) - 1),)}


@dataclass(frozen=True)
class RouteContext:
    interface: str | None  # None: not known
    interface_type: int | None
    host_address: int | None
    peer_type: int | None  # fib/addrtype type of the peer addresses
    note: str = ""  # why the interface or the host address is not known
    gateway: int | None = None  # the next hop, when it is not the peer itself


def route_contexts(
    facts: HostFacts, family: int, peers: Intervals, uid: int | None
) -> list[tuple[Intervals, RouteContext]]:
    """Cut `peers` by the route the host takes to them."""
    routes = facts.routes.get(family)
    if routes is None:
        return _split_by_type(facts, family, peers, None, None, "the routing table could not be read")
    rules = facts.rules.get(family)
    rule_list = list(rules) if rules else list(_DEFAULT_RULES)
    tables: dict[int, list[Route]] = {}
    for route in routes:
        tables.setdefault(route.table, []).append(route)
    for table in tables.values():
        table.sort(key=lambda r: (-r.prefix, r.metric))
    first = _lookup(rule_list, tables, peers, None, uid)
    result: list[tuple[Intervals, RouteContext]] = []
    has_source_rules = any(r.source is not None for r in rule_list)
    for part, found, note in first:
        if found is None:
            result.extend(_split_by_type(facts, family, part, None, None, note))
            continue
        source = _source(facts, family, found, part)
        if has_source_rules and source is not None:  # the kernel looks up again with the chosen source
            for again, second, second_note in _lookup(rule_list, tables, part, source, uid):
                result.extend(_context(facts, family, again, second, source, second_note))
        else:
            result.extend(_context(facts, family, part, found, source, note))
    return result


def _context(
    facts: HostFacts, family: int, part: Intervals, route: Route | None, source: int | None, note: str
) -> list[tuple[Intervals, RouteContext]]:
    if route is None:
        return _split_by_type(facts, family, part, None, None, note)
    interface = "lo" if route.kind == "local" else route.interface
    note = "" if interface else "a multipath route"
    found = _split_by_type(facts, family, part, interface, source, note, route_kind=route.kind)
    return [(where, replace(context, gateway=route.gateway)) for where, context in found]


def _split_by_type(
    facts: HostFacts,
    family: int,
    part: Intervals,
    interface: str | None,
    source: int | None,
    note: str,
    route_kind: str = "",
) -> list[tuple[Intervals, RouteContext]]:
    """Peer addresses of one route, cut by their address type (local, broadcast, multicast, unicast)."""
    if interface == "lo":
        interface_type: int | None = IF_TYPES["loopback"]
    else:
        interface_type = facts.interfaces.get(interface) if interface is not None else None

    def context(peer_type: int | None) -> RouteContext:
        return RouteContext(interface, interface_type, source, peer_type, note)

    if route_kind in ("local", "broadcast"):
        return [(part, context(LOCAL if route_kind == "local" else BROADCAST))]
    found: list[tuple[Intervals, RouteContext]] = []
    remaining = part
    multicast = iv.intersect(remaining, _MULTICAST[family])
    if multicast:
        found.append((multicast, context(MULTICAST)))
        remaining = iv.subtract(remaining, multicast)
    routes_known = facts.routes.get(family) is not None
    if not routes_known and facts.addresses_known.get(family):
        own = iv.normalize((a.value, a.value) for a in facts.addresses if a.family == family)
        local = iv.intersect(remaining, own)
        if local:
            found.append((local, context(LOCAL)))
            remaining = iv.subtract(remaining, local)
    if not routes_known and not facts.addresses_known.get(family):
        peer_type: int | None = None
    elif family == 4 or interface is not None:
        peer_type = UNICAST  # IPv4 address types come from the local table only
    else:
        peer_type = UNREACHABLE if routes_known else None
    if remaining:
        found.append((remaining, context(peer_type)))
    return found


def _lookup(
    rules: list[PolicyRule],
    tables: dict[int, list[Route]],
    peers: Intervals,
    source: int | None,
    uid: int | None,
) -> list[tuple[Intervals, Route | None, str]]:
    """(part, route, note) for each part of `peers`; route None: none, with the reason."""
    found: list[tuple[Intervals, Route | None, str]] = []
    remaining = peers
    for rule in sorted(rules, key=lambda r: r.priority):
        if not remaining:
            break
        if rule.unknown:
            found.append((remaining, None, f"ip rule {rule.priority} ({rule.unknown}) is not evaluated"))
            return found
        selected = _selected(rule, remaining, source, uid)
        if selected is None:
            found.append((remaining, None, f"ip rule {rule.priority} selects by the agent's user, not known"))
            return found
        if not selected:
            continue
        if rule.action in ("unreachable", "blackhole", "prohibit"):
            found.append((selected, None, f"ip rule {rule.priority}: {rule.action}"))
            remaining = iv.subtract(remaining, selected)
            continue
        if rule.action != "lookup":
            continue
        for route in tables.get(rule.table, []):
            part = iv.intersect(selected, (route.network,))
            if not part:
                continue
            selected = iv.subtract(selected, part)
            if route.kind == "throw" or route.prefix <= rule.suppress_prefix:
                continue
            remaining = iv.subtract(remaining, part)
            if route.kind in ("blackhole", "unreachable", "prohibit"):
                found.append((part, None, f"the route to these addresses is {route.kind}"))
            else:
                found.append((part, route, ""))
            if not selected:
                break
    if remaining:
        found.append((remaining, None, "no route to these addresses"))
    return found


def _selected(rule: PolicyRule, part: Intervals, source: int | None, uid: int | None) -> Intervals | None:
    matches = part
    if rule.destination is not None:
        matches = iv.intersect(matches, (rule.destination,))
    if rule.source is not None and (source is None or not rule.source[0] <= source <= rule.source[1]):
        matches = ()
    if rule.fwmark is not None and (0 & rule.fwmark[1]) != rule.fwmark[0]:
        matches = ()  # the agent's packets carry no mark when routed
    if rule.iif is not None and rule.iif != "lo":
        matches = ()  # locally generated traffic is looked up with iif lo
    if rule.oif is not None:
        matches = ()  # an unbound socket has no output interface
    if rule.uid is not None:
        if uid is None:
            return None
        if not rule.uid[0] <= uid <= rule.uid[1]:
            matches = ()
    return iv.subtract(part, matches) if rule.negate else matches


def _source(facts: HostFacts, family: int, route: Route, part: Intervals) -> int | None:
    """The address the host sends from on this route: the route's `src`, else one of the device's."""
    if route.source is not None:
        return route.source
    if route.kind == "local":
        return part[0][0] if len(part) == 1 and part[0][0] == part[0][1] else None
    if route.interface is None:
        return None
    candidates = [
        a
        for a in facts.addresses
        if a.family == family and a.interface == route.interface and not a.secondary
    ]
    if family == 6:
        link_local = part[0][0] >> 118 == 0xFE80 >> 6
        candidates = [a for a in candidates if (a.scope == "link") == link_local] or candidates
        if candidates:
            return max(candidates, key=lambda a: _common_prefix(a.value, part[0][0])).value
        return None
    candidates = [a for a in candidates if a.scope != "host"]
    if route.gateway is not None:
        for address in candidates:
            low, high = address.network
            if low <= route.gateway <= high:
                return address.value
    return candidates[0].value if candidates else None


def _common_prefix(left: int, right: int) -> int:
    return 128 - (left ^ right).bit_length()


def host_addresses(facts: HostFacts, family: int) -> list[Address]:
    return [a for a in facts.addresses if a.family == family]
