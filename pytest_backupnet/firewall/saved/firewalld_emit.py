"""The state and the small builders the firewalld model writes its commands with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .firewalld_config import FirewalldConfig
from .firewalld_names import HOOKS, Command, FirewalldPolicy, GenerateError, is_mac, match, port_value

JSON = Any


@dataclass
class Emitter:
    config: FirewalldConfig
    default_zone: str
    log_denied: str = "off"
    commands: list[Command] = field(default_factory=list)
    chains_made: set[tuple[str, str, str]] = field(default_factory=set)
    policies: dict[str, FirewalldPolicy] = field(default_factory=dict)
    zone_policies: dict[str, list[str]] = field(default_factory=dict)
    active_zones: list[str] = field(default_factory=list)

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
        self.commands.append(Command(verb, "rule", body, origin, text))

    def chain(self, name: str, origin: str, hook: tuple[str, str] | None = None) -> None:
        body: dict[str, JSON] = {"name": name}
        if hook is not None:
            hook_name, priority, kind = HOOKS[hook]
            body.update({"type": kind, "hook": hook_name, "prio": priority, "policy": "accept"})
        self.commands.append(Command("add", "chain", body, origin, ""))

    def _pkttype(self) -> list[JSON]:
        if self.log_denied == "all":
            return []
        return [match({"meta": {"key": "pkttype"}}, self.log_denied)]

    def _address(self, field_name: str, address: str, invert: bool = False) -> JSON:
        if address.startswith("ipset:"):
            return self._ipset_match(address[6:], field_name == "daddr", invert)
        op = "!=" if invert else "=="
        if is_mac(address):
            return match({"payload": {"protocol": "ether", "field": field_name}}, address, op)
        network = ipaddress.ip_network(address, strict=False)
        protocol = "ip" if network.version == 4 else "ip6"
        if "/" in address:
            right: JSON = {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}
        else:
            right = str(network.network_address)
        return match({"payload": {"protocol": protocol, "field": field_name}}, right, op)

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
        return match(left, f"@{name}", "!=" if invert else "==")

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
                    values += [protocol or "tcp", port_value(port)]
                else:
                    values.append(token.strip("[]"))
            elements.append({"concat": values} if len(values) > 1 else values[0])
        body["elem"] = elements
        self.commands.append(Command("add", "set", body, ipset.path, f"ipset {name}"))
