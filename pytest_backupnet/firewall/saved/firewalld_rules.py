"""The nftables table `inet firewalld` that firewalld 1.x builds at start, from its saved config.

A port of what firewalld itself runs (firewall/core/nftables.py, fw_zone.py, fw_policy.py): the
default rules, every active zone as its three derived policies (zone->HOST, ANY->zone, zone->ANY)
with their pre/log/deny/allow/post chains and target, zone dispatch by source (sorted by zone
name), then interface, then the default zone for everything else, rich rules by priority, and
the policies (ingress/egress zones, HOST and ANY) dispatched by priority. Each rule carries the
file and element that made it, for the evidence.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from .firewalld_config import FirewalldConfig, RichRule, Settings, Zone
from .nft_rules import _without_implied
from .nft_state import NftChain, NftRule, NftSet, NftState, NftTable

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
_REJECT_TYPES = {
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
class _Policy:
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
class _Command:
    verb: str  # add | insert
    kind: str  # table | chain | rule | set | element
    body: dict[str, JSON]
    origin: str
    text: str


@dataclass
class Generator:
    config: FirewalldConfig
    default_zone: str
    log_denied: str = "off"
    commands: list[_Command] = field(default_factory=list)
    chains_made: set[tuple[str, str, str]] = field(default_factory=set)
    policies: dict[str, _Policy] = field(default_factory=dict)
    zone_policies: dict[str, list[str]] = field(default_factory=dict)
    active_zones: list[str] = field(default_factory=list)

    # emitting

    def rule(
        self,
        chain: str,
        expr: list[JSON],
        origin: str,
        text: str,
        verb: str = "add",
        *,
        rich_priority: int = 0,
        **placement: Any,
    ) -> None:
        body = {"chain": chain, "expr": expr, **placement}
        if rich_priority:
            body["rich_priority"] = rich_priority
        self.commands.append(_Command(verb, "rule", body, origin, text))

    def chain(self, name: str, origin: str, hook: tuple[str, str] | None = None) -> None:
        body: dict[str, JSON] = {"name": name}
        if hook is not None:
            hook_name, priority, kind = HOOKS[hook]
            body.update({"type": kind, "hook": hook_name, "prio": priority, "policy": "accept"})
        self.commands.append(_Command("add", "chain", body, origin, ""))

    # the start of firewalld

    def build(self) -> None:
        self._zones_and_policies()
        self._default_rules()
        for ipset in self.config.ipsets.values():
            self._ipset(ipset.name)
        for zone in self.active_zones:
            self._apply_zone(zone)
        self._apply_zone(self.default_zone)
        self._dispatch_interface(self.default_zone, "+", append=True, origin=self._default_origin())
        for name in sorted(p for p in self.policies if not self.policies[p].zone):
            if self._active(self.policies[name]):
                self._apply_policy(name)

    def _default_origin(self) -> str:
        value, where = self.config.setting("DefaultZone", "public")
        return f"{where}: the default zone takes every interface no other zone claims" if value else where

    def _zones_and_policies(self) -> None:
        for name, zone in sorted(self.config.zones.items()):
            self.zone_policies[name] = []
            for ingress, egress in ((name, "HOST"), ("ANY", name), (name, "ANY")):
                derived = f"zone_{ingress}_{egress}"
                settings = _derived_settings(zone, ingress, egress)
                self.policies[derived] = _Policy(
                    derived, settings, zone.target, 0, [ingress], [egress], name, zone.path
                )
                self.zone_policies[name].append(derived)
            if zone.interfaces or zone.sources:
                self.active_zones.append(name)
        for interface, zone_name, path in self.config.nm_bindings:
            bound = self.config.zones.get(zone_name)
            if bound is None:
                raise GenerateError(f"{path}: zone {zone_name} does not exist")
            if interface not in bound.interfaces:
                bound.interfaces.append(interface)
            if zone_name not in self.active_zones:
                self.active_zones.append(zone_name)
        self.active_zones.sort()
        for name, policy in sorted(self.config.policies.items()):
            self.policies[name] = _Policy(
                name, policy, policy.target, policy.priority, policy.ingress, policy.egress, "", policy.path
            )

    def _active(self, policy: _Policy) -> bool:
        active = set(self.active_zones) | {"HOST", "ANY"}
        return bool(set(policy.ingress) & active) and bool(set(policy.egress) & active)

    def _default_rules(self) -> None:
        origin = "firewalld (its base rules)"
        for chain in ("PREROUTING",):
            self.chain(f"mangle_{chain}", origin, ("mangle", chain))
            for suffix in ("POLICIES_pre", "ZONES", "POLICIES_post"):
                self.chain(f"mangle_{chain}_{suffix}", origin)
            self.rule(f"mangle_{chain}", [_jump(f"mangle_{chain}_ZONES")], origin, "zone dispatch")
        for chain in ("PREROUTING", "POSTROUTING", "OUTPUT"):
            self.chain(f"nat_{chain}", origin, ("nat", chain))
            if chain == "OUTPUT":
                for suffix in ("POLICIES_pre", "POLICIES_post"):
                    self.chain(f"nat_{chain}_{suffix}", origin)
                    self.rule(f"nat_{chain}", [_jump(f"nat_{chain}_{suffix}")], origin, "policy dispatch")
            else:
                for suffix in ("POLICIES_pre", "ZONES", "POLICIES_post"):
                    self.chain(f"nat_{chain}_{suffix}", origin)
                self.rule(f"nat_{chain}", [_jump(f"nat_{chain}_ZONES")], origin, "zone dispatch")
        for chain in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT"):
            self.chain(f"filter_{chain}", origin, ("filter", chain))
        established = _match({"ct": {"key": "state"}}, {"set": ["established", "related"]}, "in")
        dnat = _match({"ct": {"key": "status"}}, "dnat", "in")
        invalid = _match({"ct": {"key": "state"}}, {"set": ["invalid"]}, "in")
        for chain in ("INPUT", "FORWARD"):
            self.rule(
                f"filter_{chain}",
                [established, {"accept": None}],
                origin,
                "ct state established,related accept",
            )
            self.rule(f"filter_{chain}", [dnat, {"accept": None}], origin, "ct status dnat accept")
            self.rule(
                f"filter_{chain}",
                [_match({"meta": {"key": "iifname"}}, "lo"), {"accept": None}],
                origin,
                'iifname "lo" accept',
            )
            if self.log_denied != "off":
                self.rule(
                    f"filter_{chain}",
                    [invalid, *self._pkttype(), {"log": {"prefix": "STATE_INVALID_DROP: "}}],
                    origin,
                    "log invalid",
                )
            self.rule(f"filter_{chain}", [invalid, {"drop": None}], origin, "ct state invalid drop")
            for suffix in ("POLICIES_pre", "ZONES", "POLICIES_post"):
                self.chain(f"filter_{chain}_{suffix}", origin)
            self.rule(f"filter_{chain}", [_jump(f"filter_{chain}_ZONES")], origin, "zone dispatch")
            if self.log_denied != "off":
                self.rule(
                    f"filter_{chain}",
                    [*self._pkttype(), {"log": {"prefix": "FINAL_REJECT: "}}],
                    origin,
                    "log rejected",
                )
            self.rule(
                f"filter_{chain}",
                [REJECT],
                origin,
                "reject with icmpx admin-prohibited: nothing else accepted it",
            )
        self.rule(
            "filter_OUTPUT", [established, {"accept": None}], origin, "ct state established,related accept"
        )
        self.rule(
            "filter_OUTPUT",
            [_match({"meta": {"key": "oifname"}}, "lo"), {"accept": None}],
            origin,
            'oifname "lo" accept',
        )
        for suffix in ("POLICIES_pre", "POLICIES_post"):
            self.chain(f"filter_OUTPUT_{suffix}", origin)
            self.rule("filter_OUTPUT", [_jump(f"filter_OUTPUT_{suffix}")], origin, "policy dispatch")
        rpfilter, rpfilter_where = self.config.setting("IPv6_rpfilter", "yes")
        if rpfilter.lower() not in ("no", "false"):
            drop = [
                _match({"meta": {"key": "nfproto"}}, "ipv6"),
                _match({"fib": {"flags": ["saddr", "iif", "mark"], "result": "oif"}}, False),
            ]
            if self.log_denied != "off":
                drop.append({"log": {"prefix": "rpfilter_DROP: "}})
            self.rule(
                "filter_PREROUTING",
                [*drop, {"drop": None}],
                rpfilter_where,
                "IPv6 reverse path filter",
                verb="insert",
            )
            self.rule(
                "filter_PREROUTING",
                [
                    _match(
                        {"payload": {"protocol": "icmpv6", "field": "type"}},
                        {"set": ["nd-router-advert", "nd-neighbor-solicit"]},
                    ),
                    {"accept": None},
                ],
                rpfilter_where,
                "IPv6 neighbour discovery",
                verb="insert",
            )
        rfc3964, rfc_where = self.config.setting("RFC3964_IPv4", "yes")
        if rfc3964.lower() not in ("no", "false"):
            prefixes = [
                "::0.0.0.0/96",
                "::ffff:0.0.0.0/96",
                "2002:0000::/24",
                "2002:0a00::/24",
                "2002:7f00::/24",
                "2002:ac10::/28",
                "2002:c0a8::/32",
                "2002:a9fe::/32",
                "2002:e000::/19",
            ]
            expr = [
                _match(
                    {"payload": {"protocol": "ip6", "field": "daddr"}},
                    {
                        "set": [
                            {"prefix": {"addr": p.split("/")[0], "len": int(p.split("/")[1])}}
                            for p in prefixes
                        ]
                    },
                )
            ]
            if self.log_denied in ("unicast", "all"):
                expr.append({"log": {"prefix": "RFC3964_IPv4_REJECT: "}})
            expr.append({"reject": {"type": "icmpv6", "expr": "addr-unreachable"}})
            self.rule("filter_OUTPUT", expr, rfc_where, "IPv6 to IPv4-embedding addresses rejected", index=1)
            self.rule(
                "filter_FORWARD",
                expr,
                rfc_where,
                "IPv6 to IPv4-embedding addresses rejected",
                index=4 if self.log_denied != "off" else 3,
            )

    def _pkttype(self) -> list[JSON]:
        if self.log_denied == "all":
            return []
        return [_match({"meta": {"key": "pkttype"}}, self.log_denied)]

    # zones

    def _apply_zone(self, name: str) -> None:
        zone = self.config.zones.get(name)
        if zone is None:
            raise GenerateError(f"zone {name} does not exist")
        if getattr(zone, "_applied", False):
            return
        zone._applied = True  # type: ignore[attr-defined]
        for policy in self.zone_policies[name]:
            self._apply_policy(policy)
        for interface in zone.interfaces:
            self._dispatch_interface(name, interface, append=False, origin=f"{zone.path}: zone {name}")
        for source in zone.sources:
            self._dispatch_source(name, source, f"{zone.path}: zone {name}")
        self._icmp_block_inversion(f"zone_{name}_HOST")

    def _dispatch_interface(self, zone: str, interface: str, append: bool, origin: str) -> None:
        name = interface[:-1] + "*" if interface.endswith("+") else interface
        for policy in self.zone_policies[zone]:
            for table, chain in _zone_dispatch_chains(self.policies[policy]):
                snat = chain == "POSTROUTING" and table == "nat"
                target = f"{table}_{_chain_name(self.policies[policy], table, snat)}"
                key = {
                    "PREROUTING": "iifname",
                    "POSTROUTING": "oifname",
                    "INPUT": "iifname",
                    "FORWARD": "iifname",
                    "OUTPUT": "oifname",
                }[chain]
                expr = (
                    [{"goto": {"target": target}}]
                    if name == "*"
                    else [_match({"meta": {"key": key}}, name), {"goto": {"target": target}}]
                )
                text = (
                    f"interface {interface} -> zone {zone}"
                    if name != "*"
                    else f"every other interface -> default zone {zone}"
                )
                if append:
                    self.rule(f"{table}_{chain}_ZONES", expr, origin, text)
                else:
                    self.rule(
                        f"{table}_{chain}_ZONES", expr, origin, text, verb="insert", zone_interface=True
                    )
        if self.config.zones[zone].forward and interface not in ("+", "*"):
            forward = f"filter_{_chain_name(self.policies[f'zone_{zone}_ANY'], 'filter')}_allow"
            self.rule(
                forward,
                [_match({"meta": {"key": "oifname"}}, name), {"accept": None}],
                origin,
                f"forward within zone {zone}",
            )

    def _dispatch_source(self, zone: str, source: str, origin: str) -> None:
        for policy in self.zone_policies[zone]:
            for table, chain in _zone_dispatch_chains(self.policies[policy]):
                snat = chain == "POSTROUTING" and table == "nat"
                target = f"{table}_{_chain_name(self.policies[policy], table, snat)}"
                field_name = "daddr" if chain in ("POSTROUTING", "OUTPUT") else "saddr"
                expr = [self._address(field_name, source), {"goto": {"target": target}}]
                self.rule(
                    f"{table}_{chain}_ZONES",
                    expr,
                    origin,
                    f"source {source} -> zone {zone}",
                    verb="insert",
                    zone_source=(zone, source),
                )
        if self.config.zones[zone].forward:
            forward = f"filter_{_chain_name(self.policies[f'zone_{zone}_ANY'], 'filter')}_allow"
            self.rule(
                forward,
                [self._address("daddr", source), {"accept": None}],
                origin,
                f"forward within zone {zone}",
            )

    # policies

    def _apply_policy(self, name: str) -> None:
        policy = self.policies[name]
        if getattr(policy, "_applied", False):
            return
        policy._applied = True  # type: ignore[attr-defined]
        chains = _zone_dispatch_chains(policy) if policy.zone else _policy_dispatch_chains(policy)
        for table, chain in chains:
            self._policy_chains(policy, table, chain)
        if not policy.zone:
            self._ingress_egress(policy)
        settings = policy.settings
        origin = f"{policy.origin}: {'zone ' + policy.zone if policy.zone else 'policy ' + policy.name}"
        for service in settings.services:
            self._service(policy, service, origin, None, [service])
        for port, protocol in settings.ports:
            self._ports(policy, protocol, port, None, None, origin, f"port {port}/{protocol}")
        if settings.masquerade:
            self._masquerade(policy, None, origin)
        for forward in settings.forward_ports:
            self._forward_port(policy, forward, None, origin)
        for port, protocol in settings.source_ports:
            self._source_ports(policy, protocol, port, None, None, origin, f"source-port {port}/{protocol}")
        for icmp in settings.icmp_blocks:
            self._icmp_block(policy, icmp, None, origin)
        for rich in settings.rules:
            self._rich(policy, rich, origin)
        for protocol in settings.protocols:
            self._protocol(policy, protocol, None, None, origin, f"protocol {protocol}")

    def _policy_chains(self, policy: _Policy, table: str, chain: str) -> None:
        tracking = (self.zone_policies[policy.zone][0] if policy.zone else policy.name, table, chain)
        if tracking in self.chains_made:
            return
        self.chains_made.add(tracking)
        base = f"{table}_{_chain_name(policy, table, table == 'nat' and chain == 'POSTROUTING')}"
        origin = policy.origin + (f": zone {policy.zone}" if policy.zone else f": policy {policy.name}")
        self.chain(base, origin)
        for suffix in ("pre", "log", "deny", "allow", "post"):
            self.chain(f"{base}_{suffix}", origin)
        if policy.zone:
            self.rule(base, [_jump(f"{table}_{chain}_POLICIES_pre")], origin, "policies before the zone")
        for suffix in ("pre", "log", "deny", "allow", "post"):
            self.rule(base, [_jump(f"{base}_{suffix}")], origin, f"the {suffix} rules")
        if policy.zone:
            self.rule(base, [_jump(f"{table}_{chain}_POLICIES_post")], origin, "policies after the zone")
        target = policy.target
        if (
            self.log_denied != "off"
            and table == "filter"
            and target in (ZONE_DEFAULT_TARGET, "REJECT", "%%REJECT%%", "DROP")
        ):
            suffix = "REJECT" if target in (ZONE_DEFAULT_TARGET, "%%REJECT%%") else target
            name = _chain_name(policy, table)
            self.rule(
                base, [*self._pkttype(), {"log": {"prefix": f"filter_{name}_{suffix}: "}}], origin, "log"
            )
        if table == "filter" and target in (ZONE_DEFAULT_TARGET, "ACCEPT", "REJECT", "%%REJECT%%", "DROP"):
            verdict = (
                REJECT if target in (ZONE_DEFAULT_TARGET, "%%REJECT%%", "REJECT") else {target.lower(): None}
            )
            word = {
                "default": "target default: rejects what no service, port or rule accepted",
                "%%REJECT%%": "target %%REJECT%%: rejects the rest",
                "REJECT": "target REJECT: rejects the rest",
                "DROP": "target DROP: drops the rest",
                "ACCEPT": "target ACCEPT: accepts the rest",
            }[target]
            self.rule(base, [verdict], origin, word)

    def _ingress_egress(self, policy: _Policy) -> None:
        ingress_interfaces = [
            i for z in policy.ingress if z not in ("ANY", "HOST") for i in self.config.zones[z].interfaces
        ]
        egress_interfaces = [
            i for z in policy.egress if z not in ("ANY", "HOST") for i in self.config.zones[z].interfaces
        ]
        ingress_sources = [
            s for z in policy.ingress if z not in ("ANY", "HOST") for s in self.config.zones[z].sources
        ]
        egress_sources = [
            s for z in policy.egress if z not in ("ANY", "HOST") for s in self.config.zones[z].sources
        ]
        origin = f"{policy.origin}: policy {policy.name}"
        for table, chain in _policy_dispatch_chains(policy):
            suffix = "pre" if policy.priority < 0 else "post"
            target = f"{table}_{_chain_name(policy, table, table == 'nat' and chain == 'POSTROUTING')}"
            ingress = self._interface_fragments("iifname", ingress_interfaces) + [
                self._address("saddr", s) for s in ingress_sources
            ]
            egress = self._interface_fragments("oifname", egress_interfaces) + [
                self._address("daddr", s) for s in egress_sources
            ]
            pairs: list[tuple[JSON, JSON]] = []
            if ingress:
                pairs = [(i, e) for i in ingress for e in egress] if egress else [(i, None) for i in ingress]
            else:
                pairs = [(None, e) for e in egress] if egress else [(None, None)]
            for first, second in pairs:
                if (
                    first
                    and second
                    and _family(first)
                    and _family(second)
                    and _family(first) != _family(second)
                ):
                    continue
                expr = [x for x in (first, second) if x] + [_jump(target)]
                self.rule(
                    f"{table}_{chain}_POLICIES_{suffix}",
                    expr,
                    origin,
                    f"{'/'.join(policy.ingress)} -> {'/'.join(policy.egress)}",
                    policy_priority=policy.priority,
                )

    def _interface_fragments(self, key: str, interfaces: list[str]) -> list[JSON]:
        plain = [i for i in interfaces if not i.endswith("+")]
        found = [_match({"meta": {"key": key}}, i[:-1] + "*") for i in interfaces if i.endswith("+")]
        if plain:
            found.append(_match({"meta": {"key": key}}, {"set": plain}))
        return found

    def _icmp_block_inversion(self, name: str) -> None:
        policy = self.policies[name]
        if policy.target in ("DROP", "%%REJECT%%", "REJECT"):
            return
        inverted = policy.settings.icmp_block_inversion
        if not inverted and policy.target == "ACCEPT":
            return
        base = f"filter_{_chain_name(policy, 'filter')}"
        origin = f"{policy.origin}: zone {policy.zone}"
        icmp = _match({"meta": {"key": "l4proto"}}, {"set": ["icmp", "icmpv6"]})
        self.rule(
            base,
            [icmp, REJECT if inverted else {"accept": None}],
            origin,
            "ICMP " + ("rejected (icmp-block-inversion)" if inverted else "accepted"),
            index=6,
        )

    # settings of a policy

    def _service(
        self, policy: _Policy, name: str, origin: str, rich: RichRule | None, seen: list[str]
    ) -> None:
        service = self.config.services.get(name)
        if service is None:
            raise GenerateError(f"{origin}: service {name} does not exist")
        for include in service.includes:
            if include not in seen:
                seen.append(include)
                self._service(policy, include, origin, rich, seen)
        destinations: list[str | None] = []
        if service.destination:
            if rich is not None and rich.destination:
                raise GenerateError(f"{origin}: {rich.text}: destination conflicts with service {name}")
            families = [rich.family] if rich is not None and rich.family else ["ipv4", "ipv6"]
            destinations = [
                service.destination[f] for f in ("ipv4", "ipv6") if f in service.destination and f in families
            ]
        else:
            destinations = [None]
        text = f"service {name} ({service.path})" if rich is None else rich.text
        helpers = (
            self._helpers(service) if rich is None or (rich.action and rich.action[0] == "accept") else []
        )
        for destination in destinations:
            for helper in helpers:
                for port, protocol in helper.ports:
                    expr = [self._address("daddr", destination)] if destination else []
                    expr += [
                        _match({"payload": {"protocol": protocol, "field": "dport"}}, _port(port)),
                        {"ct helper": f"helper-{helper.name}-{protocol}"},
                    ]
                    self.rule(
                        f"filter_{_chain_name(policy, 'filter')}_allow",
                        expr,
                        origin,
                        f"{text}: helper {helper.name}",
                    )
            for port, protocol in service.ports:
                if port:
                    self._ports(policy, protocol, port, destination, rich, origin, text)
            for protocol in service.protocols:
                self._protocol(policy, protocol, destination, rich, origin, text)
            for port, protocol in service.source_ports:
                self._source_ports(policy, protocol, port, destination, rich, origin, text)

    def _helpers(self, service: Any) -> list[Any]:
        found = []
        for module in service.modules:
            helper = self.config.helpers.get(module)
            if helper is None:
                raise GenerateError(f"{service.path}: helper {module} does not exist")
            if not helper.ports:
                short = helper.module.replace("_", "-").replace("nf-conntrack-", "")
                helper = self.config.helpers.get(short)
                if helper is None:
                    continue
            found.append(helper)
        for name in service.helpers:
            helper = self.config.helpers.get(name)
            if helper is None:
                raise GenerateError(f"{service.path}: helper {name} does not exist")
            found.append(helper)
        return sorted({h.name: h for h in found}.values(), key=lambda h: h.name)

    def _ports(
        self,
        policy: _Policy,
        protocol: str,
        port: str,
        destination: str | None,
        rich: RichRule | None,
        origin: str,
        text: str,
    ) -> None:
        expr = self._rich_head(rich, destination)
        expr.append(_match({"payload": {"protocol": protocol, "field": "dport"}}, _port(port)))
        self._finish(policy, expr, rich, origin, text)

    def _source_ports(
        self,
        policy: _Policy,
        protocol: str,
        port: str,
        destination: str | None,
        rich: RichRule | None,
        origin: str,
        text: str,
    ) -> None:
        expr = self._rich_head(rich, destination)
        expr.append(_match({"payload": {"protocol": protocol, "field": "sport"}}, _port(port)))
        self._finish(policy, expr, rich, origin, text)

    def _protocol(
        self,
        policy: _Policy,
        protocol: str,
        destination: str | None,
        rich: RichRule | None,
        origin: str,
        text: str,
    ) -> None:
        expr = self._rich_head(rich, destination)
        expr.append(_match({"meta": {"key": "l4proto"}}, protocol))
        self._finish(policy, expr, rich, origin, text)

    def _rich_head(self, rich: RichRule | None, destination: str | None) -> list[JSON]:
        expr: list[JSON] = []
        if rich is not None and rich.family:
            expr.append(_match({"meta": {"key": "nfproto"}}, rich.family))
        if destination:
            expr.append(self._address("daddr", destination))
        if rich is not None:
            if rich.destination:
                expr.append(self._rich_address("daddr", rich.destination))
            if rich.source:
                expr.append(self._rich_address("saddr", rich.source))
        return expr

    def _finish(
        self, policy: _Policy, expr: list[JSON], rich: RichRule | None, origin: str, text: str
    ) -> None:
        if rich is None:
            self.rule(
                f"filter_{_chain_name(policy, 'filter')}_allow", [*expr, {"accept": None}], origin, text
            )
            return
        self._rich_log(policy, rich, expr, origin)
        self._rich_action(policy, rich, expr, origin)

    def _rich(self, policy: _Policy, rich: RichRule, origin: str) -> None:
        kind = rich.element[0] if rich.element else ""
        values = rich.element[1] if rich.element else {}
        if (
            rich.source.get("ipset")
            and rich.family
            and self._ipset_family(rich.source["ipset"]) != rich.family
        ):
            raise GenerateError(f"{origin}: {rich.text}: the ipset's family conflicts with the rule's")
        if kind == "service":
            self._service(policy, values["name"], origin, rich, [values["name"]])
        elif kind == "port":
            self._ports(policy, values["protocol"], values["port"], None, rich, origin, rich.text)
        elif kind == "protocol":
            self._protocol(policy, values["value"], None, rich, origin, rich.text)
        elif kind == "source-port":
            self._source_ports(policy, values["protocol"], values["port"], None, rich, origin, rich.text)
        elif kind == "masquerade":
            self._masquerade(policy, rich, origin)
        elif kind == "forward-port":
            entry = (values["port"], values["protocol"], values.get("to-port", ""), values.get("to-addr", ""))
            self._forward_port(policy, entry, rich, origin)
        elif kind in ("icmp-block", "icmp-type"):
            self._icmp_block(policy, values["name"], rich, origin)
        elif kind == "tcp-mss-clamp":
            expr = self._rich_head(rich, None)[1 if rich.family else 0 :]
            expr.append(_match({"payload": {"protocol": "tcp", "field": "flags"}}, "syn", "in"))
            value = values.get("value", "pmtu")
            expr.append(
                {
                    "mangle": {
                        "key": {"tcp option": {"name": "maxseg", "field": "size"}},
                        "value": {"rt": {"key": "mtu"}} if value in ("pmtu", "None", "") else int(value),
                    }
                }
            )
            suffix = _rich_suffix(rich)
            self.rule(f"filter_{_chain_name(policy, 'filter')}_{suffix}", expr, origin, rich.text)
        elif not kind:
            self._finish(policy, self._rich_head(rich, None), rich, origin, rich.text)
        else:
            raise GenerateError(f"{origin}: {rich.text}: element {kind} is not evaluated")

    def _rich_log(self, policy: _Policy, rich: RichRule, expr: list[JSON], origin: str) -> None:
        suffix = "log" if rich.priority == 0 else ("pre" if rich.priority < 0 else "post")
        chain = f"filter_{_chain_name(policy, 'filter')}_{suffix}"
        if rich.log is not None:
            options: dict[str, JSON] = {}
            if rich.log["kind"] == "nflog":
                options["group"] = int(rich.log.get("group", "0") or 0)
                if rich.log.get("queue-size"):
                    options["queue-threshold"] = int(rich.log["queue-size"])
            elif rich.log.get("level"):
                options["level"] = "warn" if rich.log["level"] == "warning" else rich.log["level"]
            if rich.log.get("prefix"):
                options["prefix"] = rich.log["prefix"]
            self.rule(
                chain,
                [*expr, *_limit(rich.log_limit), {"log": options}],
                origin,
                rich.text,
                rich_priority=rich.priority if rich is not None else 0,
            )
        if rich.audit:
            self.rule(
                chain,
                [*expr, *_limit(rich.audit_limit), {"log": {"level": "audit"}}],
                origin,
                rich.text,
                rich_priority=rich.priority if rich is not None else 0,
            )

    def _rich_action(self, policy: _Policy, rich: RichRule, expr: list[JSON], origin: str) -> None:
        if rich.action is None:
            return
        kind, values = rich.action
        suffix = _rich_suffix(rich)
        table = "filter"
        if kind == "accept":
            action: JSON = {"accept": None}
        elif kind == "reject":
            action = _reject(values.get("type"))
        elif kind == "drop":
            action = {"drop": None}
        else:
            table = "mangle"
            mark = values.get("set", "").split("/")
            value: JSON = (
                int(mark[0], 0)
                if len(mark) == 1
                else {"^": [{"&": [{"meta": {"key": "mark"}}, int(mark[1], 0)]}, int(mark[0], 0)]}
            )
            action = {"mangle": {"key": {"meta": {"key": "mark"}}, "value": value}}
        chain = f"{table}_{_chain_name(policy, table)}_{suffix}"
        self.rule(
            chain,
            [*expr, *_limit(rich.action_limit), action],
            origin,
            rich.text,
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _masquerade(self, policy: _Policy, rich: RichRule | None, origin: str) -> None:
        if rich is not None:
            expr = self._rich_head(rich, None)
            suffix = _rich_suffix(rich)
        else:
            expr, suffix = [_match({"meta": {"key": "nfproto"}}, "ipv4")], "allow"
        chain = f"nat_{_chain_name(policy, 'nat', True)}_{suffix}"
        self.rule(
            chain,
            [*expr, _match({"meta": {"key": "oifname"}}, "lo", "!="), {"masquerade": None}],
            origin,
            rich.text if rich else "masquerade",
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _forward_port(
        self, policy: _Policy, entry: tuple[str, str, str, str], rich: RichRule | None, origin: str
    ) -> None:
        port, protocol, to_port, to_addr = entry
        if rich is not None:
            expr = self._rich_head(rich, None)
            suffix = _rich_suffix(rich)
        else:
            family = "ipv6" if to_addr and ":" in to_addr else "ipv4"
            expr, suffix = [_match({"meta": {"key": "nfproto"}}, family)], "allow"
        expr.append(_match({"payload": {"protocol": protocol, "field": "dport"}}, _port(port)))
        if to_addr:
            nat: JSON = {
                "dnat": {"addr": to_addr.strip("[]"), **({"port": _port(to_port)} if to_port else {})}
            }
        else:
            nat = {"redirect": {"port": _port(to_port)}}
        self.rule(
            f"nat_{_chain_name(policy, 'nat')}_{suffix}",
            [*expr, nat],
            origin,
            rich.text if rich else f"forward-port {port}/{protocol} -> {to_addr}:{to_port}",
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _icmp_block(self, policy: _Policy, name: str, rich: RichRule | None, origin: str) -> None:
        destinations = self.config.icmp_destinations.get(name)
        if destinations is None:
            raise GenerateError(f"{origin}: ICMP type {name} does not exist")
        if rich is not None and rich.family:
            families = [rich.family]
        elif destinations:
            families = [f for f in ("ipv4", "ipv6") if f in destinations]
        else:
            families = ["ipv4", "ipv6"]
        for family in families:
            if name not in ICMP[family]:
                raise GenerateError(f"{origin}: ICMP type {name} is not supported for {family}")
            inverted = policy.settings.icmp_block_inversion
            chain = f"filter_{_chain_name(policy, 'filter')}_{'allow' if inverted else 'deny'}"
            protocol = "icmp" if family == "ipv4" else "icmpv6"
            icmp_type, code = ICMP[family][name]
            expr = self._rich_head(rich, None) if rich is not None else []
            expr.append(_match({"payload": {"protocol": protocol, "field": "type"}}, icmp_type))
            if code is not None:
                expr.append(_match({"payload": {"protocol": protocol, "field": "code"}}, code))
            if rich is not None:
                self._rich_log(policy, rich, expr, origin)
                if rich.action is not None:
                    self._rich_action(policy, rich, expr, origin)
                else:
                    self.rule(
                        f"filter_{_chain_name(policy, 'filter')}_{_rich_suffix(rich)}",
                        [*expr, REJECT],
                        origin,
                        rich.text,
                        rich_priority=rich.priority if rich is not None else 0,
                    )
                continue
            if self.log_denied != "off" and not inverted:
                self.rule(
                    chain,
                    [*expr, *self._pkttype(), {"log": {"prefix": f"filter_{policy.name}_ICMP_BLOCK: "}}],
                    origin,
                    f"icmp-block {name}",
                )
            self.rule(chain, [*expr, {"accept": None} if inverted else REJECT], origin, f"icmp-block {name}")

    # addresses and ipsets

    def _address(self, field_name: str, address: str, invert: bool = False) -> JSON:
        if address.startswith("ipset:"):
            return self._ipset_match(address[6:], field_name == "daddr", invert)
        op = "!=" if invert else "=="
        if _is_mac(address):
            return _match({"payload": {"protocol": "ether", "field": field_name}}, address, op)
        network = ipaddress.ip_network(address, strict=False)
        protocol = "ip" if network.version == 4 else "ip6"
        if "/" in address:
            right: JSON = {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}
        else:
            right = str(network.network_address)
        return _match({"payload": {"protocol": protocol, "field": field_name}}, right, op)

    def _rich_address(self, field_name: str, values: dict[str, str]) -> JSON:
        invert = bool(values.get("invert"))
        if values.get("address"):
            return self._address(field_name, values["address"], invert)
        if values.get("mac"):
            return self._address(field_name, values["mac"], invert)
        return self._ipset_match(values["ipset"], field_name == "daddr", invert)

    def _ipset_family(self, name: str) -> str:
        ipset = self.config.ipsets.get(name)
        if ipset is None:
            raise GenerateError(f"ipset {name} does not exist")
        return "ipv6" if ipset.family == "inet6" else "ipv4"

    def _ipset_match(self, name: str, destination: bool, invert: bool) -> JSON:
        ipset = self.config.ipsets.get(name)
        if ipset is None:
            raise GenerateError(f"ipset {name} does not exist")
        formats = ipset.kind.split(":")[1].split(",") if ":" in ipset.kind else []
        family = "ether" if ipset.kind == "hash:mac" else ("ip6" if ipset.family == "inet6" else "ip")
        parts: list[JSON] = []
        for kind in formats:
            if kind == "port":
                parts += [
                    {"meta": {"key": "l4proto"}},
                    {"payload": {"protocol": "th", "field": "dport" if destination else "sport"}},
                ]
            elif kind in ("ip", "net", "mac"):
                parts.append({"payload": {"protocol": family, "field": "daddr" if destination else "saddr"}})
            elif kind == "iface":
                parts.append({"meta": {"key": "iifname" if destination else "oifname"}})
            elif kind == "mark":
                parts.append({"meta": {"key": "mark"}})
            else:
                raise GenerateError(f"ipset {name}: type {ipset.kind} is not evaluated")
        left = {"concat": parts} if len(parts) > 1 else parts[0]
        return _match(left, f"@{name}", "!=" if invert else "==")

    def _ipset(self, name: str) -> None:
        ipset = self.config.ipsets[name]
        family = "ipv6" if ipset.family == "inet6" else "ipv4"
        address = "ipv6_addr" if family == "ipv6" else "ipv4_addr"
        types = {
            "hash:ip": address,
            "hash:net": address,
            "hash:mac": "ether_addr",
            "hash:ip,port": [address, "inet_proto", "inet_service"],
            "hash:net,port": [address, "inet_proto", "inet_service"],
            "hash:ip,mark": [address, "mark"],
            "hash:net,iface": [address, "ifname"],
            "hash:net,net": [address, address],
        }
        if ipset.kind not in types:
            raise GenerateError(f"{ipset.path}: ipset type {ipset.kind} is not evaluated")
        body: dict[str, JSON] = {"name": name, "type": types[ipset.kind]}
        if any(t in ("ip", "net", "port") for t in ipset.kind.split(":")[1].split(",")):
            body["flags"] = ["interval"]
        if "timeout" in ipset.options:
            raise GenerateError(f"{ipset.path}: ipset {name} has a timeout: its members change at run time")
        elements: list[JSON] = []
        for entry in ipset.entries:
            tokens = entry.split(",")
            values: list[JSON] = []
            for kind, token in zip(ipset.kind.split(":")[1].split(","), tokens, strict=False):
                if kind in ("ip", "net") and "/" in token:
                    address_part, length = token.split("/", 1)
                    values.append({"prefix": {"addr": address_part.strip("[]"), "len": int(length)}})
                elif kind in ("ip", "net") and "-" in token:
                    first, last = token.split("-", 1)
                    values.append({"range": [first, last]})
                elif kind == "port":
                    protocol, _, port = token.rpartition(":")
                    values += [protocol or "tcp", _port(port)]
                else:
                    values.append(token.strip("[]"))
            elements.append({"concat": values} if len(values) > 1 else values[0])
        body["elem"] = elements
        self.commands.append(_Command("add", "set", body, ipset.path, f"ipset {name}"))


def _derived_settings(zone: Zone, ingress: str, egress: str) -> Settings:
    settings = Settings(zone.path)
    if ingress == zone.name and egress == "HOST":
        settings.services, settings.ports = list(zone.services), list(zone.ports)
        settings.source_ports, settings.icmp_blocks = list(zone.source_ports), list(zone.icmp_blocks)
        settings.icmp_block_inversion, settings.protocols = zone.icmp_block_inversion, list(zone.protocols)
    elif ingress == "ANY" and egress == zone.name:
        settings.masquerade = zone.masquerade
    elif ingress == zone.name and egress == "ANY":
        settings.forward_ports = list(zone.forward_ports)
    settings.rules = [r for r in zone.rules if _rich_policy(r, zone.name) == f"zone_{ingress}_{egress}"]
    return settings


def _rich_policy(rule: RichRule, zone: str) -> str:
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


def _zone_dispatch_chains(policy: _Policy) -> list[tuple[str, str]]:
    if "HOST" in policy.egress:
        return [("filter", "INPUT")]
    if "ANY" in policy.egress:
        return [("filter", "FORWARD"), ("nat", "PREROUTING"), ("mangle", "PREROUTING")]
    return [("nat", "POSTROUTING")]


def _policy_dispatch_chains(policy: _Policy) -> list[tuple[str, str]]:
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


def _chain_name(policy: _Policy, table: str, snat: bool = False) -> str:
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


def _rich_suffix(rule: RichRule) -> str:
    if rule.priority < 0:
        return "pre"
    if rule.priority > 0:
        return "post"
    kind = rule.element[0] if rule.element else ""
    action = rule.action[0] if rule.action else ""
    if kind in ("masquerade", "forward-port", "tcp-mss-clamp") or action in ("accept", "mark"):
        return "allow"
    return "deny"


def _reject(kind: str | None) -> JSON:
    if not kind:
        return {"reject": None}
    if kind not in _REJECT_TYPES:
        raise GenerateError(f"unknown reject type {kind!r}")
    family, expr = _REJECT_TYPES[kind]
    return {"reject": {"type": family, **({"expr": expr} if expr else {})}}


def _limit(value: str) -> list[JSON]:
    if not value:
        return []
    rate, _, unit = value.partition("/")
    per = {"s": "second", "m": "minute", "h": "hour", "d": "day"}[unit[:1]]
    return [{"limit": {"rate": int(rate), "per": per}}]


def _port(port: str) -> JSON:
    text = port.replace(":", "-")
    if "-" in text:
        low, high = (int(p) for p in text.split("-", 1))
        return low if low == high else {"range": [min(low, high), max(low, high)]}
    return int(text)


def _match(left: JSON, right: JSON, op: str = "==") -> JSON:
    return {"match": {"left": left, "op": op, "right": right}}


def _jump(target: str) -> JSON:
    return {"jump": {"target": target}}


def _family(fragment: JSON) -> str:
    left = fragment.get("match", {}).get("left", {}) if isinstance(fragment, dict) else {}
    payload = left.get("payload") if isinstance(left, dict) else None
    return str(payload.get("protocol", "")) if isinstance(payload, dict) else ""


def _is_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    )


# executing the commands as firewalld's set_rules and nft do


def execute(commands: list[_Command]) -> NftState:
    state = NftState()
    table = NftTable("inet", TABLE, "firewalld", source="firewalld")
    state.tables[("inet", TABLE)] = table
    seen: set[str] = set()
    rich_counts: dict[str, dict[int, int]] = {}
    policy_counts: dict[str, dict[int, int]] = {}
    zone_sources: list[tuple[str, str]] = []
    for command in commands:
        body = dict(command.body)
        if command.kind == "chain":
            name = body["name"]
            if name not in table.chains:
                hook: dict[str, JSON] = {k: body[k] for k in ("type", "hook", "prio", "policy") if k in body}
                table.chains[name] = NftChain(name, command.origin, hook or None)
            continue
        if command.kind == "set":
            kept = {k: v for k, v in body.items() if k != "name"}
            table.sets[body["name"]] = NftSet(body["name"], kept, command.origin)
            continue
        chain_name = body["chain"]
        expr = listing_form([e for e in body["expr"] if e])
        key = json.dumps([chain_name, expr], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        chain = table.chains.get(chain_name)
        if chain is None:
            raise GenerateError(f"firewalld would add a rule to chain {chain_name}, which does not exist")
        verb, index = command.verb, body.get("index")
        for token, counts in (("rich_priority", rich_counts), ("policy_priority", policy_counts)):
            if token in body:
                verb, index = _by_priority(counts.setdefault(chain_name, {}), int(body[token]), verb)
        if body.get("zone_source"):
            if body["zone_source"] not in zone_sources:
                zone_sources.append(body["zone_source"])
                zone_sources.sort(key=lambda pair: pair[0])
            position = zone_sources.index(body["zone_source"])
            verb, index = ("insert", None) if position == 0 else ("add", position - 1)
        elif body.get("zone_interface"):
            position = len(zone_sources)
            verb, index = ("insert", None) if position == 0 else ("add", position - 1)
        rule = NftRule(expr, command.text, command.origin)
        if index is None:
            chain.rules.append(rule) if verb == "add" else chain.rules.insert(0, rule)
        else:
            where = index + 1 if verb == "add" else index
            chain.rules.insert(min(where, len(chain.rules)), rule)
    return state


def listing_form(expr: list[JSON]) -> list[JSON]:
    """A rule as nft lists it back: one-element sets are plain values, `in` a set is `==`, and a
    protocol match the next match implies is left out."""
    written: list[JSON] = []
    for statement in expr:
        match = statement.get("match") if isinstance(statement, dict) else None
        if isinstance(match, dict) and isinstance(match.get("right"), dict) and "set" in match["right"]:
            members = match["right"]["set"]
            if isinstance(members, list) and len(members) == 1:
                statement = {"match": {**match, "right": members[0]}}
            elif match.get("op") == "in":
                statement = {"match": {**match, "op": "=="}}
        written.append(statement)
    return _without_implied(written, "inet")


def _by_priority(counts: dict[int, int], priority: int, verb: str) -> tuple[str, int | None]:
    counts.setdefault(priority, 0)
    index = 0
    for known in sorted(counts):
        if known == priority and verb == "insert":
            break
        index += counts[known]
        if known == priority and verb == "add":
            break
    counts[priority] += 1
    return ("insert", None) if index == 0 else ("add", index - 1)


def generate(config: FirewalldConfig) -> NftState:
    default, _ = config.setting("DefaultZone", "public")
    if default not in config.zones:
        default = (
            "public" if "public" in config.zones else ("external" if "external" in config.zones else "block")
        )
    log_denied, _ = config.setting("LogDenied", "off")
    generator = Generator(config, default, log_denied.lower())
    generator.build()
    return execute(generator.commands)
