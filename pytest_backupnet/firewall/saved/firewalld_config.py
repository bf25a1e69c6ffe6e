"""firewalld's permanent configuration as its daemon reads it at start: /etc/firewalld over
/usr/lib/firewalld, file by file (firewall/core/io/*.py of firewalld 1.x).

Zones, services, policies, ipsets and ICMP types are read from their XML with the same rules:
a file in /etc/firewalld replaces the packaged file of the same name; zone targets, rich rules
(kept in the order written, each with its file), ports coalesced as firewalld does. Interfaces
that NetworkManager binds to zones (keyfiles and ifcfg files with a zone) count too.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .files import HostFiles

ETC = "/etc/firewalld"
LIB = "/usr/lib/firewalld"
CONF = f"{ETC}/firewalld.conf"
DIRECT = f"{ETC}/direct.xml"
NM_KEYFILES = "/etc/NetworkManager/system-connections/*.nmconnection"
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-*"
ZONE_TARGETS = ("default", "ACCEPT", "%%REJECT%%", "DROP")
POLICY_TARGETS = ("CONTINUE", "ACCEPT", "REJECT", "DROP")
MAX_XML = 1 << 20


class ConfigError(ValueError):
    pass


@dataclass
class RichRule:
    text: str  # as firewall-cmd prints it, for the evidence
    family: str = ""
    priority: int = 0
    source: dict[str, str] = field(default_factory=dict)  # address | mac | ipset, invert
    destination: dict[str, str] = field(default_factory=dict)
    element: tuple[str, dict[str, str]] | None = None  # (service|port|protocol|icmp-block|..., attrs)
    log: dict[str, str] | None = None  # log/nflog attrs, with "kind"
    log_limit: str = ""
    audit: bool = False
    audit_limit: str = ""
    action: tuple[str, dict[str, str]] | None = None  # (accept|reject|drop|mark, attrs)
    action_limit: str = ""


@dataclass
class Settings:
    """What zones and policies share: services, ports, ... and rich rules."""

    path: str
    services: list[str] = field(default_factory=list)
    ports: list[tuple[str, str]] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    source_ports: list[tuple[str, str]] = field(default_factory=list)
    icmp_blocks: list[str] = field(default_factory=list)
    icmp_block_inversion: bool = False
    masquerade: bool = False
    forward_ports: list[tuple[str, str, str, str]] = field(default_factory=list)
    rules: list[RichRule] = field(default_factory=list)


@dataclass
class Zone(Settings):
    name: str = ""
    target: str = "default"
    interfaces: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    forward: bool = False


@dataclass
class Policy(Settings):
    name: str = ""
    target: str = "CONTINUE"
    priority: int = -1
    ingress: list[str] = field(default_factory=list)
    egress: list[str] = field(default_factory=list)


@dataclass
class Service:
    name: str
    path: str
    ports: list[tuple[str, str]] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    source_ports: list[tuple[str, str]] = field(default_factory=list)
    destination: dict[str, str] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)


@dataclass
class Helper:
    name: str
    module: str
    family: str = ""
    ports: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class IpSet:
    name: str
    path: str
    kind: str
    family: str = "inet"
    entries: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class FirewalldConfig:
    conf: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (value, line)
    zones: dict[str, Zone] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    ipsets: dict[str, IpSet] = field(default_factory=dict)
    icmp_destinations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    helpers: dict[str, Helper] = field(default_factory=dict)
    nm_bindings: list[tuple[str, str, str]] = field(default_factory=list)  # (interface, zone, file)
    problems: list[str] = field(default_factory=list)  # what cannot be evaluated
    notes: list[str] = field(default_factory=list)  # what firewalld itself would skip, with its warning

    def setting(self, key: str, default: str) -> tuple[str, str]:
        """(value, where) of a firewalld.conf setting."""
        if key in self.conf:
            value, line = self.conf[key]
            return value, f"{CONF}:{line} {key}={value}"
        return default, f"firewalld's default {key}={default}"


def read_config(files: HostFiles) -> FirewalldConfig:
    config = FirewalldConfig()
    for number, raw in enumerate((files.text(CONF) or "").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            config.conf[key.strip()] = (value.strip().strip('"'), number)
    for kind, reader in (
        ("icmptypes", _icmptype),
        ("helpers", _helper),
        ("ipsets", _ipset),
        ("services", _service),
        ("zones", _zone),
        ("policies", _policy),
    ):
        for name, path in _effective(files, kind).items():
            root = _xml(files, path, config)
            if root is None:
                continue
            try:
                reader(config, name, path, root)
            except (ConfigError, ValueError, KeyError) as exc:
                config.problems.append(f"{path}: {exc}")
    direct = files.text(DIRECT)
    if direct is not None:
        root = _xml(files, DIRECT, config)
        if root is not None and len(root):
            config.problems.append(
                f"{DIRECT} holds direct rules (iptables passthroughs), which are not evaluated"
            )
    _nm_bindings(files, config)
    return config


def _effective(files: HostFiles, kind: str) -> dict[str, str]:
    """name -> path: /etc/firewalld/<kind>/x.xml replaces /usr/lib/firewalld/<kind>/x.xml."""
    found: dict[str, str] = {}
    for base in (LIB, ETC):
        for path in files.glob(f"{base}/{kind}/*.xml"):
            found[posixpath.basename(path)[:-4]] = path
    return found


def _xml(files: HostFiles, path: str, config: FirewalldConfig) -> ET.Element | None:
    text = files.text(path)
    if text is None:
        config.problems.append(f"{path} could not be read")
        return None
    if "<!DOCTYPE" in text or "<!ENTITY" in text or len(text) > MAX_XML:
        config.problems.append(f"{path}: a DOCTYPE, an ENTITY or more than 1 MiB is not read")
        return None
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        config.problems.append(f"{path}: not valid XML ({exc}); firewalld skips such a file")
        return None


def _settings(target: Settings, root: ET.Element, config: FirewalldConfig) -> None:
    for child in root:
        tag = child.tag
        attrs = dict(child.attrib)
        if tag == "service":
            if attrs["name"] not in target.services:
                target.services.append(attrs["name"])
        elif tag == "port":
            _add_port(target.ports, attrs["port"], attrs["protocol"])
        elif tag == "source-port":
            _add_port(target.source_ports, attrs["port"], attrs["protocol"])
        elif tag == "protocol":
            if attrs["value"] not in target.protocols:
                target.protocols.append(attrs["value"])
        elif tag == "icmp-block":
            if attrs["name"] not in target.icmp_blocks:
                target.icmp_blocks.append(attrs["name"])
        elif tag == "icmp-block-inversion":
            target.icmp_block_inversion = True
        elif tag == "masquerade":
            target.masquerade = True
        elif tag == "forward-port":
            entry = (
                attrs["port"].replace(":", "-"),
                attrs["protocol"],
                attrs.get("to-port", "").replace(":", "-"),
                attrs.get("to-addr", ""),
            )
            if entry not in target.forward_ports:
                target.forward_ports.append(entry)
        elif tag == "rule":
            rule = _rich_rule(child, target.path)
            if rule is not None and rule.text not in [r.text for r in target.rules]:
                target.rules.append(rule)
        elif tag in ("short", "description", "interface", "source", "forward", "ingress-zone", "egress-zone"):
            continue
        else:
            config.notes.append(f"{target.path}: unknown element <{tag}> (firewalld ignores it)")


def _add_port(ports: list[tuple[str, str]], port: str, protocol: str) -> None:
    """firewalld's coalescing: a range already covered is dropped, overlapping ones are merged."""
    first, last = _range(port)
    same = [(p, q) for p, q in ports if q == protocol]
    for existing, _ in same:
        low, high = _range(existing)
        if low <= first and last <= high:
            return
    for existing, _ in same:
        low, high = _range(existing)
        if low <= last + 1 and first <= high + 1:
            ports.remove((existing, protocol))
            first, last = min(first, low), max(last, high)
    ports.append((str(first) if first == last else f"{first}-{last}", protocol))


def _range(port: str) -> tuple[int, int]:
    text = port.replace(":", "-")
    if "-" in text:
        low, high = text.split("-", 1)
        return int(low), int(high)
    return int(text), int(text)


def _rich_rule(element: ET.Element, path: str) -> RichRule | None:
    attrs = element.attrib
    rule = RichRule("", family=attrs.get("family", ""), priority=int(attrs.get("priority", "0")))
    for child in element:
        tag, values = child.tag, dict(child.attrib)
        limit = next((c.attrib.get("value", "") for c in child if c.tag == "limit"), "")
        if tag in ("source", "destination"):
            if "invert" in values:
                values["invert"] = "yes" if values["invert"].lower() in ("yes", "true") else ""
            setattr(rule, tag, values)
        elif tag in (
            "service",
            "port",
            "protocol",
            "icmp-block",
            "icmp-type",
            "masquerade",
            "forward-port",
            "source-port",
            "tcp-mss-clamp",
        ):
            if rule.element is not None:
                return None  # firewalld rejects a rule with two elements
            rule.element = (tag, values)
        elif tag in ("log", "nflog"):
            rule.log, rule.log_limit = {**values, "kind": tag}, limit
        elif tag == "audit":
            rule.audit, rule.audit_limit = True, limit
        elif tag in ("accept", "reject", "drop", "mark"):
            if rule.action is not None:
                return None
            rule.action, rule.action_limit = (tag, values), limit
    rule.text = _rich_text(rule)
    return rule


def _rich_text(rule: RichRule) -> str:
    parts = ["rule"]
    if rule.priority:
        parts.append(f"priority={rule.priority}")
    if rule.family:
        parts.append(f'family="{rule.family}"')
    for kind, values in (("source", rule.source), ("destination", rule.destination)):
        if values:
            invert = " NOT" if values.get("invert") else ""
            what = " ".join(f'{k}="{v}"' for k, v in values.items() if k != "invert")
            parts.append(f"{kind}{invert} {what}")
    if rule.element:
        tag, values = rule.element
        parts.append(" ".join([tag, *(f'{k}="{v}"' for k, v in values.items())]))
    if rule.log:
        parts.append(
            " ".join([rule.log["kind"], *(f'{k}="{v}"' for k, v in rule.log.items() if k != "kind")])
        )
    if rule.audit:
        parts.append("audit")
    if rule.action:
        tag, values = rule.action
        parts.append(" ".join([tag, *(f'{k}="{v}"' for k, v in values.items())]))
        if rule.action_limit:
            parts.append(f'limit value="{rule.action_limit}"')
    return " ".join(parts)


def _zone(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    if root.tag != "zone":
        raise ConfigError(f"not a zone (<{root.tag}>)")
    zone = Zone(path, name=name)
    target = root.attrib.get("target", "default")
    if target in ("{chain}_{zone}", ""):
        target = "default"
    if target not in ZONE_TARGETS:
        raise ConfigError(f"invalid zone target {target!r}")
    zone.target = target
    for child in root:
        if child.tag == "interface" and child.attrib.get("name"):
            if child.attrib["name"] not in zone.interfaces:
                zone.interfaces.append(child.attrib["name"])
        elif child.tag == "source":
            entry = child.attrib.get("address") or (
                f"ipset:{child.attrib['ipset']}" if "ipset" in child.attrib else ""
            )
            if entry and entry not in zone.sources:
                zone.sources.append(entry)
        elif child.tag == "forward":
            zone.forward = True
    _settings(zone, root, config)
    config.zones[name] = zone


def _policy(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    if root.tag != "policy":
        raise ConfigError(f"not a policy (<{root.tag}>)")
    policy = Policy(path, name=name)
    policy.target = root.attrib.get("target", "CONTINUE")
    if policy.target not in POLICY_TARGETS:
        raise ConfigError(f"invalid policy target {policy.target!r}")
    policy.priority = int(root.attrib.get("priority", "-1"))
    for child in root:
        if child.tag == "ingress-zone":
            policy.ingress.append(child.attrib["name"])
        elif child.tag == "egress-zone":
            policy.egress.append(child.attrib["name"])
    _settings(policy, root, config)
    config.policies[name] = policy


def _service(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    service = Service(name, path)
    for child in root:
        attrs = child.attrib
        if child.tag == "port":
            port = attrs.get("port", "")
            entry = (port.replace(":", "-"), attrs["protocol"])
            if entry not in service.ports:
                service.ports.append(entry)
        elif child.tag == "protocol":
            service.protocols.append(attrs["value"])
        elif child.tag == "source-port":
            service.source_ports.append((attrs["port"].replace(":", "-"), attrs["protocol"]))
        elif child.tag == "destination":
            service.destination.update({k: v for k, v in attrs.items() if k in ("ipv4", "ipv6")})
        elif child.tag == "include":
            service.includes.append(attrs["service"])
        elif child.tag == "helper":
            service.helpers.append(attrs["name"])
        elif child.tag == "module":
            module = attrs["name"]
            if module.startswith("nf_conntrack_"):
                module = module.replace("nf_conntrack_", "").replace("_", "-")
            service.modules.append(module)
    config.services[name] = service


def _ipset(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    ipset = IpSet(name, path, root.attrib.get("type", ""))
    for child in root:
        if child.tag == "entry" and child.text:
            ipset.entries.append(child.text.strip())
        elif child.tag == "option":
            ipset.options[child.attrib.get("name", "")] = child.attrib.get("value", "")
    ipset.family = ipset.options.get("family", "inet")
    config.ipsets[name] = ipset


def _helper(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    helper = Helper(name, root.attrib.get("module", ""), root.attrib.get("family", ""))
    for child in root:
        if child.tag == "port":
            helper.ports.append((child.attrib["port"].replace(":", "-"), child.attrib["protocol"]))
    config.helpers[name] = helper


def _icmptype(config: FirewalldConfig, name: str, path: str, root: ET.Element) -> None:
    destinations = [
        d for c in root if c.tag == "destination" for d, v in c.attrib.items() if v.lower() in ("yes", "true")
    ]
    config.icmp_destinations[name] = tuple(destinations)


def _nm_bindings(files: HostFiles, config: FirewalldConfig) -> None:
    for path in [*files.glob(NM_KEYFILES), *files.glob(IFCFG)]:
        if files.text(path) is None:
            config.problems.append(
                f"{path} could not be read (NetworkManager keeps it for root): the zone it binds its "
                "interface to is not known; read it with --sudo"
            )
    for path in files.glob(NM_KEYFILES):
        section, values = "", {}
        for raw in (files.text(path) or "").splitlines():
            line = raw.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "connection" and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        _bind(config, values.get("interface-name", ""), values.get("zone", ""), path)
    for path in files.glob(IFCFG):
        values = {}
        for raw in (files.text(path) or "").splitlines():
            key, sep, value = raw.strip().partition("=")
            if sep:
                values[key] = value.strip().strip("\"'")
        _bind(config, values.get("DEVICE", ""), values.get("ZONE", ""), path)


def _bind(config: FirewalldConfig, interface: str, zone: str, path: str) -> None:
    if not zone:
        return
    if not interface:
        config.problems.append(
            f"{path} puts its connection in zone {zone}, but names no interface: which "
            "interface it binds is known only when NetworkManager activates it"
        )
        return
    config.nm_bindings.append((interface, zone, path))
