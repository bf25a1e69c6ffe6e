"""The nftables table `inet firewalld` that firewalld 1.x builds at start, from its saved config.

A port of what firewalld itself runs (firewall/core/nftables.py, fw_zone.py, fw_policy.py): the
default rules, every active zone as its three derived policies (zone->HOST, ANY->zone, zone->ANY)
with their pre/log/deny/allow/post chains and target, zone dispatch by source (sorted by zone
name), then interface, then the default zone for everything else, rich rules by priority, and
the policies (ingress/egress zones, HOST and ANY) dispatched by priority. Each rule carries the
file and element that made it, for the evidence.
"""

from __future__ import annotations

from typing import Any

from .firewalld_config import FirewalldConfig
from .firewalld_exec import execute
from .firewalld_names import (
    REJECT,
    ZONE_DEFAULT_TARGET,
    FirewalldPolicy,
    GenerateError,
    chain_name,
    derived_settings,
    fragment_family,
    jump,
    match,
    policy_dispatch_chains,
    zone_dispatch_chains,
)
from .firewalld_settings import SettingsRules
from .nft_state import NftState

JSON = Any


class Generator(SettingsRules):
    """firewalld's start: default rules, zones (by the zones that have interfaces or sources, then the
    default zone), then the policies."""

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
                settings = derived_settings(zone, ingress, egress)
                self.policies[derived] = FirewalldPolicy(
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
            self.policies[name] = FirewalldPolicy(
                name, policy, policy.target, policy.priority, policy.ingress, policy.egress, "", policy.path
            )

    def _active(self, policy: FirewalldPolicy) -> bool:
        active = set(self.active_zones) | {"HOST", "ANY"}
        return bool(set(policy.ingress) & active) and bool(set(policy.egress) & active)

    def _default_rules(self) -> None:
        origin = "firewalld (its base rules)"
        for chain in ("PREROUTING",):
            self.chain(f"mangle_{chain}", origin, ("mangle", chain))
            for suffix in ("POLICIES_pre", "ZONES", "POLICIES_post"):
                self.chain(f"mangle_{chain}_{suffix}", origin)
            self.rule(f"mangle_{chain}", [jump(f"mangle_{chain}_ZONES")], origin, "zone dispatch")
        for chain in ("PREROUTING", "POSTROUTING", "OUTPUT"):
            self.chain(f"nat_{chain}", origin, ("nat", chain))
            if chain == "OUTPUT":
                for suffix in ("POLICIES_pre", "POLICIES_post"):
                    self.chain(f"nat_{chain}_{suffix}", origin)
                    self.rule(f"nat_{chain}", [jump(f"nat_{chain}_{suffix}")], origin, "policy dispatch")
            else:
                for suffix in ("POLICIES_pre", "ZONES", "POLICIES_post"):
                    self.chain(f"nat_{chain}_{suffix}", origin)
                self.rule(f"nat_{chain}", [jump(f"nat_{chain}_ZONES")], origin, "zone dispatch")
        for chain in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT"):
            self.chain(f"filter_{chain}", origin, ("filter", chain))
        established = match({"ct": {"key": "state"}}, {"set": ["established", "related"]}, "in")
        dnat = match({"ct": {"key": "status"}}, "dnat", "in")
        invalid = match({"ct": {"key": "state"}}, {"set": ["invalid"]}, "in")
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
                [match({"meta": {"key": "iifname"}}, "lo"), {"accept": None}],
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
            self.rule(f"filter_{chain}", [jump(f"filter_{chain}_ZONES")], origin, "zone dispatch")
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
            [match({"meta": {"key": "oifname"}}, "lo"), {"accept": None}],
            origin,
            'oifname "lo" accept',
        )
        for suffix in ("POLICIES_pre", "POLICIES_post"):
            self.chain(f"filter_OUTPUT_{suffix}", origin)
            self.rule("filter_OUTPUT", [jump(f"filter_OUTPUT_{suffix}")], origin, "policy dispatch")
        rpfilter, rpfilter_where = self.config.setting("IPv6_rpfilter", "yes")
        if rpfilter.lower() not in ("no", "false"):
            drop = [
                match({"meta": {"key": "nfproto"}}, "ipv6"),
                match({"fib": {"flags": ["saddr", "iif", "mark"], "result": "oif"}}, False),
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
                    match(
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
                match(
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
            for table, chain in zone_dispatch_chains(self.policies[policy]):
                snat = chain == "POSTROUTING" and table == "nat"
                target = f"{table}_{chain_name(self.policies[policy], table, snat)}"
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
                    else [match({"meta": {"key": key}}, name), {"goto": {"target": target}}]
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
            forward = f"filter_{chain_name(self.policies[f'zone_{zone}_ANY'], 'filter')}_allow"
            self.rule(
                forward,
                [match({"meta": {"key": "oifname"}}, name), {"accept": None}],
                origin,
                f"forward within zone {zone}",
            )

    def _dispatch_source(self, zone: str, source: str, origin: str) -> None:
        for policy in self.zone_policies[zone]:
            for table, chain in zone_dispatch_chains(self.policies[policy]):
                snat = chain == "POSTROUTING" and table == "nat"
                target = f"{table}_{chain_name(self.policies[policy], table, snat)}"
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
            forward = f"filter_{chain_name(self.policies[f'zone_{zone}_ANY'], 'filter')}_allow"
            self.rule(
                forward,
                [self._address("daddr", source), {"accept": None}],
                origin,
                f"forward within zone {zone}",
            )

    def _apply_policy(self, name: str) -> None:
        policy = self.policies[name]
        if getattr(policy, "_applied", False):
            return
        policy._applied = True  # type: ignore[attr-defined]
        chains = zone_dispatch_chains(policy) if policy.zone else policy_dispatch_chains(policy)
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
            self._ports(policy, protocol, port, None, None, origin, f"source-port {port}/{protocol}", "sport")
        for icmp in settings.icmp_blocks:
            self._icmp_block(policy, icmp, None, origin)
        for rich in settings.rules:
            self._rich(policy, rich, origin)
        for protocol in settings.protocols:
            self._protocol(policy, protocol, None, None, origin, f"protocol {protocol}")

    def _policy_chains(self, policy: FirewalldPolicy, table: str, chain: str) -> None:
        tracking = (self.zone_policies[policy.zone][0] if policy.zone else policy.name, table, chain)
        if tracking in self.chains_made:
            return
        self.chains_made.add(tracking)
        base = f"{table}_{chain_name(policy, table, table == 'nat' and chain == 'POSTROUTING')}"
        origin = policy.origin + (f": zone {policy.zone}" if policy.zone else f": policy {policy.name}")
        self.chain(base, origin)
        for suffix in ("pre", "log", "deny", "allow", "post"):
            self.chain(f"{base}_{suffix}", origin)
        if policy.zone:
            self.rule(base, [jump(f"{table}_{chain}_POLICIES_pre")], origin, "policies before the zone")
        for suffix in ("pre", "log", "deny", "allow", "post"):
            self.rule(base, [jump(f"{base}_{suffix}")], origin, f"the {suffix} rules")
        if policy.zone:
            self.rule(base, [jump(f"{table}_{chain}_POLICIES_post")], origin, "policies after the zone")
        target = policy.target
        if (
            self.log_denied != "off"
            and table == "filter"
            and target in (ZONE_DEFAULT_TARGET, "REJECT", "%%REJECT%%", "DROP")
        ):
            suffix = "REJECT" if target in (ZONE_DEFAULT_TARGET, "%%REJECT%%") else target
            name = chain_name(policy, table)
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

    def _ingress_egress(self, policy: FirewalldPolicy) -> None:
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
        for table, chain in policy_dispatch_chains(policy):
            suffix = "pre" if policy.priority < 0 else "post"
            target = f"{table}_{chain_name(policy, table, table == 'nat' and chain == 'POSTROUTING')}"
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
                    and fragment_family(first)
                    and fragment_family(second)
                    and fragment_family(first) != fragment_family(second)
                ):
                    continue
                expr = [x for x in (first, second) if x] + [jump(target)]
                self.rule(
                    f"{table}_{chain}_POLICIES_{suffix}",
                    expr,
                    origin,
                    f"{'/'.join(policy.ingress)} -> {'/'.join(policy.egress)}",
                    policy_priority=policy.priority,
                )

    def _interface_fragments(self, key: str, interfaces: list[str]) -> list[JSON]:
        plain = [i for i in interfaces if not i.endswith("+")]
        found = [match({"meta": {"key": key}}, i[:-1] + "*") for i in interfaces if i.endswith("+")]
        if plain:
            found.append(match({"meta": {"key": key}}, {"set": plain}))
        return found

    def _icmp_block_inversion(self, name: str) -> None:
        policy = self.policies[name]
        if policy.target in ("DROP", "%%REJECT%%", "REJECT"):
            return
        inverted = policy.settings.icmp_block_inversion
        if not inverted and policy.target == "ACCEPT":
            return
        base = f"filter_{chain_name(policy, 'filter')}"
        origin = f"{policy.origin}: zone {policy.zone}"
        icmp = match({"meta": {"key": "l4proto"}}, {"set": ["icmp", "icmpv6"]})
        self.rule(
            base,
            [icmp, REJECT if inverted else {"accept": None}],
            origin,
            "ICMP " + ("rejected (icmp-block-inversion)" if inverted else "accepted"),
            index=6,
        )


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
