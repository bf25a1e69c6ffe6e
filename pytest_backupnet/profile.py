"""Profiles: YAML files -> one validated, frozen `Profile`, with `extends` merged."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yaml_lines import FieldPath, YamlDocument, YamlSyntaxError, format_path, load_yaml

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ROLES = ("portal", "registration", "amp_proxy", "vault", "web")
TOP_KEYS = ("name", "title", "source", "extends", "endpoints", "egress", "agent")
ENDPOINT_KEYS = ("fqdn", "role", "ports", "documented_ips")
EGRESS_KEYS = ("ports", "recommended", "minimum")
AGENT_KEYS = ("management_port", "legacy_ports", "inbound_from", "config_files")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Characters a shell would act on; none has a place in a file glob of a profile.
_SHELL_ACTIVE = re.compile(r"[;&|$`<>\"'\n\r\x00!]")


class ProfileError(ValueError):
    """A profile that cannot be used, located by file, line and field."""

    def __init__(self, path: Path, line: int, field_path: FieldPath, message: str) -> None:
        self.path = path
        self.line = line
        self.field = format_path(field_path)
        self.message = message
        super().__init__(f"{path}:{line}: {self.field}: {message}")


@dataclass(frozen=True)
class Endpoint:
    fqdn: str
    role: str
    ports: tuple[int, ...]
    documented_ips: tuple[IPAddress, ...] = ()


@dataclass(frozen=True)
class Egress:
    ports: tuple[int, ...]
    recommended: tuple[IPNetwork, ...]
    minimum: tuple[IPNetwork, ...]

    @property
    def allowed(self) -> tuple[IPNetwork, ...]:
        """Every subnet the profile allows egress to."""
        return self.recommended + tuple(n for n in self.minimum if n not in self.recommended)


@dataclass(frozen=True)
class Agent:
    management_port: int
    legacy_ports: tuple[int, ...]
    inbound_from: tuple[IPNetwork, ...]
    config_files: tuple[str, ...]


@dataclass(frozen=True)
class ProfileSource:
    path: Path
    sha256: str


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    source: str
    endpoints: tuple[Endpoint, ...]
    egress: Egress
    agent: Agent
    sources: tuple[ProfileSource, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def path(self) -> Path:
        return self.sources[0].path

    @property
    def fqdns(self) -> tuple[str, ...]:
        return tuple(e.fqdn for e in self.endpoints)

    @property
    def sha256(self) -> str:
        """Identity of what is audited: the merged profile, canonical JSON."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "endpoints": [
                {
                    "fqdn": e.fqdn,
                    "role": e.role,
                    "ports": list(e.ports),
                    "documented_ips": [str(ip) for ip in e.documented_ips],
                }
                for e in self.endpoints
            ],
            "egress": {
                "ports": list(self.egress.ports),
                "recommended": [str(n) for n in self.egress.recommended],
                "minimum": [str(n) for n in self.egress.minimum],
            },
            "agent": {
                "management_port": self.agent.management_port,
                "legacy_ports": list(self.agent.legacy_ports),
                "inbound_from": [str(n) for n in self.agent.inbound_from],
                "config_files": list(self.agent.config_files),
            },
        }


def is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def is_hostname(text: str) -> bool:
    """An RFC 1123 host name of at least two labels, no trailing dot."""
    if not text or len(text) > 253 or is_ip_literal(text):
        return False
    labels = text.split(".")
    return len(labels) >= 2 and not labels[-1].isdigit() and all(_LABEL.match(label) for label in labels)


def shipped_profile_dir() -> Path:
    return Path(__file__).resolve().parent / "profiles"


def resolve_profile_ref(ref: str, search_dirs: Sequence[Path], relative_to: Path | None) -> Path:
    """A profile reference (a path or a name) -> the file it names."""
    looks_like_path = ref.endswith((".yaml", ".yml")) or "/" in ref
    if looks_like_path:
        candidate = Path(ref).expanduser()
        if not candidate.is_absolute() and relative_to is not None:
            beside = relative_to / candidate
            candidate = beside if beside.exists() else candidate
        if candidate.is_file():
            return candidate.resolve()
        raise FileNotFoundError(f"profile file not found: {ref}")
    for folder in (*search_dirs, shipped_profile_dir()):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    raise FileNotFoundError(
        f"no profile named {ref!r} (looked in: "
        + ", ".join(str(d) for d in (*search_dirs, shipped_profile_dir()))
        + ")"
    )


def load_profile(ref: str, search_dirs: Sequence[Path] = ()) -> Profile:
    """Load, validate and merge the profile `ref` (a shipped name, a site name or a path)."""
    path = resolve_profile_ref(ref, search_dirs, None)
    return _load_chain(path, search_dirs, ())


def _load_chain(path: Path, search_dirs: Sequence[Path], seen: tuple[Path, ...]) -> Profile:
    raw_bytes = path.read_bytes()
    try:
        doc = load_yaml(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(path, 1, (), "not UTF-8 text") from None
    except YamlSyntaxError as exc:
        raise ProfileError(path, exc.line, (), exc.message) from None
    raw = _check_document(path, doc)
    this = ProfileSource(path, hashlib.sha256(raw_bytes).hexdigest())
    parent_ref = raw.get("extends")
    if parent_ref is None:
        return _build(path, doc, raw, None, (this,))
    try:
        parent_path = resolve_profile_ref(parent_ref, search_dirs, path.parent)
    except FileNotFoundError as exc:
        raise ProfileError(path, doc.line_of(("extends",)), ("extends",), str(exc)) from None
    if parent_path in (*seen, path):
        chain = " -> ".join(p.name for p in (*seen, path, parent_path))
        raise ProfileError(path, doc.line_of(("extends",)), ("extends",), f"cycle: {chain}")
    parent = _load_chain(parent_path, search_dirs, (*seen, path))
    return _build(path, doc, raw, parent, (this, *parent.sources))


def _check_document(path: Path, doc: YamlDocument) -> dict[str, Any]:
    """Check types and values of every field present; required fields come after merging."""

    def fail(field_path: FieldPath, message: str) -> ProfileError:
        return ProfileError(path, doc.line_of(field_path), field_path, message)

    raw = doc.data
    if not isinstance(raw, dict):
        raise fail((), "a profile is a mapping (name, endpoints, egress, agent, ...)")
    _known_keys(raw, TOP_KEYS, (), fail)
    for key in ("title", "source"):
        if key in raw and not isinstance(raw[key], str):
            raise fail((key,), "must be text")
    if "name" not in raw:
        raise fail((), "missing field 'name'")
    if not isinstance(raw["name"], str) or not _PROFILE_NAME.match(raw["name"]):
        raise fail(("name",), "must be lower-case letters, digits, '.', '_' or '-'")
    extends = raw.get("extends")
    if extends is not None and (not isinstance(extends, str) or _SHELL_ACTIVE.search(extends)):
        raise fail(("extends",), "must be a profile name or a path")
    if "endpoints" in raw:
        _check_endpoints(raw["endpoints"], fail)
    if "egress" in raw:
        section = _section(raw, "egress", EGRESS_KEYS, fail)
        _ports_field(section, ("egress", "ports"), fail)
        for key in ("recommended", "minimum"):
            _cidr_field(section, ("egress", key), fail)
    if "agent" in raw:
        section = _section(raw, "agent", AGENT_KEYS, fail)
        if "management_port" in section:
            _port(section["management_port"], ("agent", "management_port"), fail)
        _ports_field(section, ("agent", "legacy_ports"), fail, allow_empty=True)
        _cidr_field(section, ("agent", "inbound_from"), fail)
        globs = section.get("config_files", [])
        if not isinstance(globs, list):
            raise fail(("agent", "config_files"), "must be a list of file globs")
        for index, pattern in enumerate(globs):
            where = ("agent", "config_files", index)
            if not isinstance(pattern, str) or not pattern:
                raise fail(where, "must be a file path or glob")
            if _SHELL_ACTIVE.search(pattern):
                raise fail(where, f"{pattern!r} contains shell metacharacters")
            if not (pattern.startswith("/") or re.match(r"^[A-Za-z]:\\", pattern)):
                raise fail(where, f"{pattern!r} must be an absolute path")
    return raw


def _known_keys(mapping: dict[str, Any], allowed: Sequence[str], at: FieldPath, fail: Any) -> None:
    for key in mapping:
        if key not in allowed:
            raise fail((*at, key), f"unknown field {key!r} (known: {', '.join(allowed)})")


def _section(raw: dict[str, Any], key: str, allowed: Sequence[str], fail: Any) -> dict[str, Any]:
    section = raw[key]
    if not isinstance(section, dict):
        raise fail((key,), "must be a mapping")
    _known_keys(section, allowed, (key,), fail)
    return section


def _check_endpoints(endpoints: Any, fail: Any) -> None:
    if not isinstance(endpoints, list):
        raise fail(("endpoints",), "must be a list")
    seen: dict[str, int] = {}
    for index, entry in enumerate(endpoints):
        at: FieldPath = ("endpoints", index)
        if not isinstance(entry, dict):
            raise fail(at, "must be a mapping with fqdn, role, ports")
        _known_keys(entry, ENDPOINT_KEYS, at, fail)
        for required in ("fqdn", "ports"):
            if required not in entry:
                raise fail(at, f"missing field {required!r}")
        fqdn = entry["fqdn"]
        if not isinstance(fqdn, str):
            raise fail((*at, "fqdn"), "must be text")
        if is_ip_literal(fqdn):
            raise fail(
                (*at, "fqdn"),
                f"{fqdn!r} is an IP literal; endpoints are named by FQDN (BN-R1)",
            )
        if not is_hostname(fqdn.lower()):
            raise fail((*at, "fqdn"), f"{fqdn!r} is not a valid host name")
        if fqdn.lower() in seen:
            raise fail((*at, "fqdn"), f"duplicate endpoint {fqdn!r} (also entry {seen[fqdn.lower()]})")
        seen[fqdn.lower()] = index
        role = entry.get("role", "portal")
        if role not in ROLES:
            raise fail((*at, "role"), f"{role!r} is not one of {', '.join(ROLES)}")
        _ports_field(entry, (*at, "ports"), fail)
        ips = entry.get("documented_ips", [])
        if not isinstance(ips, list):
            raise fail((*at, "documented_ips"), "must be a list of IP addresses")
        for ip_index, ip in enumerate(ips):
            if not isinstance(ip, str) or not is_ip_literal(ip):
                raise fail((*at, "documented_ips", ip_index), f"{ip!r} is not an IP address")


def _port(value: Any, at: FieldPath, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise fail(at, f"{value!r} is not a TCP port (1-65535)")
    return value


def _ports_field(section: dict[str, Any], at: FieldPath, fail: Any, allow_empty: bool = False) -> None:
    if at[-1] not in section:
        return
    ports = section[at[-1]]
    if not isinstance(ports, list) or (not ports and not allow_empty):
        raise fail(at, "must be a non-empty list of TCP ports")
    for index, port in enumerate(ports):
        _port(port, (*at, index), fail)
    if len(set(ports)) != len(ports):
        raise fail(at, "lists a port twice")


def _cidr_field(section: dict[str, Any], at: FieldPath, fail: Any) -> None:
    if at[-1] not in section:
        return
    value = section[at[-1]]
    if not isinstance(value, list):
        raise fail(at, "must be a list of CIDR subnets")
    for index, cidr in enumerate(value):
        try:
            ipaddress.ip_network(str(cidr), strict=True)
        except ValueError as exc:
            raise fail((*at, index), f"{cidr!r} is not a CIDR subnet ({exc})") from None
        if not isinstance(cidr, str) or "/" not in cidr:
            raise fail((*at, index), f"{cidr!r} needs a prefix length, e.g. 10.0.0.0/8")


def _build(
    path: Path,
    doc: YamlDocument,
    raw: dict[str, Any],
    parent: Profile | None,
    sources: tuple[ProfileSource, ...],
) -> Profile:
    def missing(key: str) -> ProfileError:
        return ProfileError(path, 1, (key,), f"missing field {key!r} (and no 'extends' gives it)")

    endpoints: dict[str, Endpoint] = {e.fqdn: e for e in parent.endpoints} if parent else {}
    for entry in raw.get("endpoints", []):
        fqdn = entry["fqdn"].lower()
        endpoints[fqdn] = Endpoint(
            fqdn=fqdn,
            role=entry.get("role", "portal"),
            ports=tuple(entry["ports"]),
            documented_ips=tuple(ipaddress.ip_address(ip) for ip in entry.get("documented_ips", [])),
        )
    egress_raw = raw.get("egress", {})
    agent_raw = raw.get("agent", {})
    if parent is None:
        for key, section, keys in (("egress", egress_raw, EGRESS_KEYS), ("agent", agent_raw, AGENT_KEYS)):
            required = [k for k in keys if k not in section and k not in ("legacy_ports",)]
            if key not in raw or required:
                raise missing(f"{key}.{required[0]}" if key in raw and required else key)
    egress = Egress(
        ports=_pick(egress_raw, "ports", parent and parent.egress.ports, tuple),
        recommended=_pick(egress_raw, "recommended", parent and parent.egress.recommended, _nets),
        minimum=_pick(egress_raw, "minimum", parent and parent.egress.minimum, _nets),
    )
    agent = Agent(
        management_port=_pick(agent_raw, "management_port", parent and parent.agent.management_port, int),
        legacy_ports=_pick(agent_raw, "legacy_ports", parent.agent.legacy_ports if parent else (), tuple),
        inbound_from=_pick(agent_raw, "inbound_from", parent and parent.agent.inbound_from, _nets),
        config_files=_pick(agent_raw, "config_files", parent and parent.agent.config_files, tuple),
    )
    warnings = []
    if not endpoints:
        warnings.append(f"{path}: no endpoints: the outbound and DNS checks assert nothing")
    if not agent.config_files:
        warnings.append(f"{path}: agent.config_files is empty: BN-R1 reads only /etc/hosts")
    return Profile(
        name=raw["name"],
        title=raw.get("title", parent.title if parent else raw["name"]),
        source=raw.get("source", parent.source if parent else ""),
        endpoints=tuple(endpoints.values()),
        egress=egress,
        agent=agent,
        sources=sources,
        warnings=tuple(warnings),
    )


def _nets(values: Any) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v) for v in values)


def _pick(section: dict[str, Any], key: str, inherited: Any, convert: Any) -> Any:
    if key in section:
        return convert(section[key])
    return inherited
