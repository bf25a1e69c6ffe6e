"""The rules of one policy's settings (services, ports, rich rules, ICMP blocks, NAT), as firewalld
builds them (fw_policy.py's _service/_port/... and nftables.py's build_policy_*_rules)."""

from __future__ import annotations

from typing import Any

from .firewalld_config import RichRule
from .firewalld_emit import Emitter
from .firewalld_names import (
    ICMP,
    REJECT,
    FirewalldPolicy,
    GenerateError,
    chain_name,
    limit_statement,
    match,
    port_value,
    reject_statement,
    rich_suffix,
)

JSON = Any


class SettingsRules(Emitter):
    def _service(
        self, policy: FirewalldPolicy, name: str, origin: str, rich: RichRule | None, seen: list[str]
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
                        match({"payload": {"protocol": protocol, "field": "dport"}}, port_value(port)),
                        {"ct helper": f"helper-{helper.name}-{protocol}"},
                    ]
                    self.rule(
                        f"filter_{chain_name(policy, 'filter')}_allow",
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
                self._ports(policy, protocol, port, destination, rich, origin, text, "sport")

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
        policy: FirewalldPolicy,
        protocol: str,
        port: str,
        destination: str | None,
        rich: RichRule | None,
        origin: str,
        text: str,
        field: str = "dport",
    ) -> None:
        """A port (`dport`) or source port (`sport`) element."""
        expr = self._rich_head(rich, destination)
        expr.append(match({"payload": {"protocol": protocol, "field": field}}, port_value(port)))
        self._finish(policy, expr, rich, origin, text)

    def _protocol(
        self,
        policy: FirewalldPolicy,
        protocol: str,
        destination: str | None,
        rich: RichRule | None,
        origin: str,
        text: str,
    ) -> None:
        expr = self._rich_head(rich, destination)
        expr.append(match({"meta": {"key": "l4proto"}}, protocol))
        self._finish(policy, expr, rich, origin, text)

    def _rich_head(self, rich: RichRule | None, destination: str | None) -> list[JSON]:
        expr: list[JSON] = []
        if rich is not None and rich.family:
            expr.append(match({"meta": {"key": "nfproto"}}, rich.family))
        if destination:
            expr.append(self._address("daddr", destination))
        if rich is not None:
            if rich.destination:
                expr.append(self._rich_address("daddr", rich.destination))
            if rich.source:
                expr.append(self._rich_address("saddr", rich.source))
        return expr

    def _finish(
        self, policy: FirewalldPolicy, expr: list[JSON], rich: RichRule | None, origin: str, text: str
    ) -> None:
        if rich is None:
            self.rule(f"filter_{chain_name(policy, 'filter')}_allow", [*expr, {"accept": None}], origin, text)
            return
        self._rich_log(policy, rich, expr, origin)
        self._rich_action(policy, rich, expr, origin)

    def _rich(self, policy: FirewalldPolicy, rich: RichRule, origin: str) -> None:
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
            self._ports(policy, values["protocol"], values["port"], None, rich, origin, rich.text, "sport")
        elif kind == "masquerade":
            self._masquerade(policy, rich, origin)
        elif kind == "forward-port":
            entry = (values["port"], values["protocol"], values.get("to-port", ""), values.get("to-addr", ""))
            self._forward_port(policy, entry, rich, origin)
        elif kind in ("icmp-block", "icmp-type"):
            self._icmp_block(policy, values["name"], rich, origin)
        elif kind == "tcp-mss-clamp":
            expr = self._rich_head(rich, None)[1 if rich.family else 0 :]
            expr.append(match({"payload": {"protocol": "tcp", "field": "flags"}}, "syn", "in"))
            value = values.get("value", "pmtu")
            expr.append(
                {
                    "mangle": {
                        "key": {"tcp option": {"name": "maxseg", "field": "size"}},
                        "value": {"rt": {"key": "mtu"}} if value in ("pmtu", "None", "") else int(value),
                    }
                }
            )
            suffix = rich_suffix(rich)
            self.rule(f"filter_{chain_name(policy, 'filter')}_{suffix}", expr, origin, rich.text)
        elif not kind:
            self._finish(policy, self._rich_head(rich, None), rich, origin, rich.text)
        else:
            raise GenerateError(f"{origin}: {rich.text}: element {kind} is not evaluated")

    def _rich_log(self, policy: FirewalldPolicy, rich: RichRule, expr: list[JSON], origin: str) -> None:
        suffix = "log" if rich.priority == 0 else ("pre" if rich.priority < 0 else "post")
        chain = f"filter_{chain_name(policy, 'filter')}_{suffix}"
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
                [*expr, *limit_statement(rich.log_limit), {"log": options}],
                origin,
                rich.text,
                rich_priority=rich.priority if rich is not None else 0,
            )
        if rich.audit:
            self.rule(
                chain,
                [*expr, *limit_statement(rich.audit_limit), {"log": {"level": "audit"}}],
                origin,
                rich.text,
                rich_priority=rich.priority if rich is not None else 0,
            )

    def _rich_action(self, policy: FirewalldPolicy, rich: RichRule, expr: list[JSON], origin: str) -> None:
        if rich.action is None:
            return
        kind, values = rich.action
        suffix = rich_suffix(rich)
        table = "filter"
        if kind == "accept":
            action: JSON = {"accept": None}
        elif kind == "reject":
            action = reject_statement(values.get("type"))
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
        chain = f"{table}_{chain_name(policy, table)}_{suffix}"
        self.rule(
            chain,
            [*expr, *limit_statement(rich.action_limit), action],
            origin,
            rich.text,
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _masquerade(self, policy: FirewalldPolicy, rich: RichRule | None, origin: str) -> None:
        if rich is not None:
            expr = self._rich_head(rich, None)
            suffix = rich_suffix(rich)
        else:
            expr, suffix = [match({"meta": {"key": "nfproto"}}, "ipv4")], "allow"
        chain = f"nat_{chain_name(policy, 'nat', True)}_{suffix}"
        self.rule(
            chain,
            [*expr, match({"meta": {"key": "oifname"}}, "lo", "!="), {"masquerade": None}],
            origin,
            rich.text if rich else "masquerade",
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _forward_port(
        self, policy: FirewalldPolicy, entry: tuple[str, str, str, str], rich: RichRule | None, origin: str
    ) -> None:
        port, protocol, to_port, to_addr = entry
        if rich is not None:
            expr = self._rich_head(rich, None)
            suffix = rich_suffix(rich)
        else:
            family = "ipv6" if to_addr and ":" in to_addr else "ipv4"
            expr, suffix = [match({"meta": {"key": "nfproto"}}, family)], "allow"
        expr.append(match({"payload": {"protocol": protocol, "field": "dport"}}, port_value(port)))
        if to_addr:
            nat: JSON = {
                "dnat": {"addr": to_addr.strip("[]"), **({"port": port_value(to_port)} if to_port else {})}
            }
        else:
            nat = {"redirect": {"port": port_value(to_port)}}
        self.rule(
            f"nat_{chain_name(policy, 'nat')}_{suffix}",
            [*expr, nat],
            origin,
            rich.text if rich else f"forward-port {port}/{protocol} -> {to_addr}:{to_port}",
            rich_priority=rich.priority if rich is not None else 0,
        )

    def _icmp_block(self, policy: FirewalldPolicy, name: str, rich: RichRule | None, origin: str) -> None:
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
            chain = f"filter_{chain_name(policy, 'filter')}_{'allow' if inverted else 'deny'}"
            protocol = "icmp" if family == "ipv4" else "icmpv6"
            icmp_type, code = ICMP[family][name]
            expr = self._rich_head(rich, None) if rich is not None else []
            expr.append(match({"payload": {"protocol": protocol, "field": "type"}}, icmp_type))
            if code is not None:
                expr.append(match({"payload": {"protocol": protocol, "field": "code"}}, code))
            if rich is not None:
                self._rich_log(policy, rich, expr, origin)
                if rich.action is not None:
                    self._rich_action(policy, rich, expr, origin)
                else:
                    self.rule(
                        f"filter_{chain_name(policy, 'filter')}_{rich_suffix(rich)}",
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
