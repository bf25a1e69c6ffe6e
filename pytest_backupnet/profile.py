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

from .sanitize import quote, terminal_text
from .yaml_lines import FieldPath, YamlDocument, YamlSyntaxError, format_path, load_yaml_file

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ROLES = ("portal", "registration", "amp_proxy", "vault", "web")
TOP_KEYS = ("name", "title", "source", "extends", "endpoints", "egress", "agent")
ENDPOINT_KEYS = ("fqdn", "role", "ports", "documented_ips")
EGRESS_KEYS = ("ports", "recommended", "minimum")
AGENT_KEYS = ("management_port", "legacy_ports", "inbound_from", "config_files")
PROFILE_SUFFIXES = (".yaml", ".yml")
# Caps far above real values: the shipped titles are ~70 characters, sources ~190, paths ~20;
# PATH_MAX is 4096. An `extends` chain of site profiles is 1-3 long.
MAX_TITLE_CHARS = 200
MAX_SOURCE_CHARS = 1000
MAX_PATH_CHARS = 4096
MAX_EXTENDS_DEPTH = 16
# A path in an error message is shown escaped and cut to this length.
_SHOWN_PATH_CHARS = 300
# Kernel interfaces, not files: /proc/<pid>/environ holds other processes' secrets, /dev and /sys
# hold devices and FIFOs that block or never end.
FORBIDDEN_CONFIG_ROOTS = ("proc", "sys", "dev")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Characters a shell would act on; none has a place in a file glob of a profile. Tab too.
_SHELL_ACTIVE = re.compile(r"[;&|$`<>\"'\n\r\t\x00!]")
_GLOB_CHARS = re.compile(r"[*?\[]")
_WINDOWS_ABSOLUTE = re.compile(r"[A-Za-z]:\\")
_IP_CHARS = re.compile(r"[0-9A-Fa-f:.]+")
_CIDR_CHARS = re.compile(r"[0-9A-Fa-f:.]+/[0-9]{1,3}")


class ProfileError(ValueError):
    """A profile that cannot be used, located by file, line and field."""

    def __init__(self, path: Path, line: int, field_path: FieldPath, message: str) -> None:
        self.path = path
        self.line = line
        self.field = format_path(field_path)
        self.message = message
        # A file name can hold escape sequences too: it is shown escaped.
        super().__init__(f"{terminal_text(str(path), one_line=True)}:{line}: {self.field}: {message}")


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
    """An RFC 1123 host name of at least two labels, no trailing dot (nor newline)."""
    if not text or len(text) > 253 or is_ip_literal(text):
        return False
    labels = text.split(".")
    return len(labels) >= 2 and not labels[-1].isdigit() and all(_LABEL.fullmatch(label) for label in labels)


def shipped_profile_dir() -> Path:
    return Path(__file__).resolve().parent / "profiles"


def resolve_profile_ref(ref: str, search_dirs: Sequence[Path], relative_to: Path | None) -> Path:
    """A profile reference (a path or a name) -> the file it names.

    A path must end in .yaml or .yml: a reference to any other file (/etc/shadow) is refused
    before the file is opened, so nothing of it can reach an error message.
    """
    try:
        return _resolve_profile_ref(ref, search_dirs, relative_to)
    except FileNotFoundError:
        raise
    except (OSError, RuntimeError, ValueError):  # a name too long, an unknown ~user, a symlink loop
        raise FileNotFoundError(f"profile file not found: {quote(ref, _SHOWN_PATH_CHARS)}") from None


def _resolve_profile_ref(ref: str, search_dirs: Sequence[Path], relative_to: Path | None) -> Path:
    if "/" in ref or "\\" in ref or ref.endswith(PROFILE_SUFFIXES):
        if not ref.endswith(PROFILE_SUFFIXES):
            raise FileNotFoundError(
                f"{quote(ref, _SHOWN_PATH_CHARS)} is not a profile file: its name must end in .yaml or .yml"
            )
        candidate = Path(ref).expanduser()
        if not candidate.is_absolute() and relative_to is not None:
            beside = relative_to / candidate
            candidate = beside if beside.exists() else candidate
        if candidate.is_file():
            return candidate.resolve()
        raise FileNotFoundError(f"profile file not found: {quote(ref, _SHOWN_PATH_CHARS)}")
    for folder in (*search_dirs, shipped_profile_dir()):
        for suffix in PROFILE_SUFFIXES:
            candidate = folder / f"{ref}{suffix}"
            if candidate.is_file():
                return candidate.resolve()
    folders = ", ".join(terminal_text(str(d), one_line=True) for d in (*search_dirs, shipped_profile_dir()))
    raise FileNotFoundError(f"no profile named {quote(ref, _SHOWN_PATH_CHARS)} (looked in: {folders})")


def load_profile(ref: str, search_dirs: Sequence[Path] = ()) -> Profile:
    """Load, validate and merge the profile `ref` (a shipped name, a site name or a path)."""
    path = resolve_profile_ref(ref, search_dirs, None)
    return _load_chain(path, search_dirs, ())


def _load_chain(path: Path, search_dirs: Sequence[Path], seen: tuple[Path, ...]) -> Profile:
    try:
        raw_bytes, doc = load_yaml_file(path)
    except YamlSyntaxError as exc:
        raise ProfileError(path, exc.line, exc.field, exc.message) from None
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
        chain = " -> ".join(terminal_text(p.name, one_line=True) for p in (*seen, path, parent_path))
        raise ProfileError(path, doc.line_of(("extends",)), ("extends",), f"cycle: {chain}")
    if len(seen) + 1 >= MAX_EXTENDS_DEPTH:
        raise ProfileError(
            path,
            doc.line_of(("extends",)),
            ("extends",),
            f"more than {MAX_EXTENDS_DEPTH} profiles extend each other",
        )
    parent = _load_chain(parent_path, search_dirs, (*seen, path))
    return _build(path, doc, raw, parent, (this, *parent.sources))


def _check_document(path: Path, doc: YamlDocument) -> dict[str, Any]:
    """Check types and values of every field present; required fields come after merging."""

    def fail(field_path: FieldPath, message: str) -> ProfileError:
        return ProfileError(path, doc.line_of(field_path), field_path, message)

    raw = doc.data
    # Whether this is a profile at all comes first, with messages that quote nothing: `extends`
    # may name a file that is no profile, and its content must not reach the terminal.
    if not isinstance(raw, dict):
        raise fail((), "not a profile: a profile is a mapping (name, endpoints, egress, agent, ...)")
    if "name" not in raw:
        raise fail((), "not a profile: missing field 'name'")
    if not isinstance(raw["name"], str) or not _PROFILE_NAME.fullmatch(raw["name"]):
        raise fail(("name",), "must be 1-64 lower-case letters, digits, '.', '_' or '-'")
    _known_keys(raw, TOP_KEYS, (), fail)
    for key, limit in (("title", MAX_TITLE_CHARS), ("source", MAX_SOURCE_CHARS)):
        if key in raw:
            raw[key] = _one_line_text(raw[key], limit, (key,), fail)
    extends = raw.get("extends")
    if extends is not None and (
        not isinstance(extends, str)
        or not extends
        or len(extends) > MAX_PATH_CHARS
        or _SHELL_ACTIVE.search(extends)
    ):
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
            problem = config_file_problem(pattern)
            if problem:
                raise fail(("agent", "config_files", index), problem)
    return raw


def config_file_problem(pattern: Any) -> str | None:
    """Why `pattern` cannot be an `agent.config_files` entry, or None when it can.

    An entry names regular files by an absolute path or glob, outside /proc, /sys and /dev, with
    no `.` or `..` segment; its first segment is literal so that no glob can reach those trees.
    """
    if not isinstance(pattern, str) or not pattern:
        return "must be a file path or glob"
    if len(pattern) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if _SHELL_ACTIVE.search(pattern):
        return f"{quote(pattern)} contains shell metacharacters"
    if _WINDOWS_ABSOLUTE.match(pattern):
        segments = re.split(r"[\\/]", pattern[3:])
        if any(segment in (".", "..") for segment in segments):
            return f"{quote(pattern)} must not contain '.' or '..' segments"
        return None
    if not pattern.startswith("/"):
        return f"{quote(pattern)} must be an absolute path"
    segments = pattern[1:].split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        return f"{quote(pattern)} must not contain '.', '..' or empty segments, nor end in '/'"
    if _GLOB_CHARS.search(segments[0]):
        return f"{quote(pattern)}: the first folder must be named, not a glob"
    if segments[0] in FORBIDDEN_CONFIG_ROOTS:
        return (
            f"{quote(pattern)} is under /{segments[0]}: config files are regular files, not kernel interfaces"
        )
    return None


def _one_line_text(value: Any, limit: int, at: FieldPath, fail: Any) -> str:
    """Free text shown on one line: runs of white space (newlines, tabs, CR) become one space."""
    if not isinstance(value, str):
        raise fail(at, "must be text")
    text = " ".join(value.split())
    if len(text) > limit:
        raise fail(at, f"longer than {limit} characters ({len(text)})")
    return text


def _known_keys(mapping: dict[str, Any], allowed: Sequence[str], at: FieldPath, fail: Any) -> None:
    for key in mapping:
        if key not in allowed:
            raise fail((*at, key), f"unknown field {quote(key, 40)} (known: {', '.join(allowed)})")


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
                f"{quote(fqdn)} is an IP literal; endpoints are named by FQDN (BN-R1)",
            )
        if not is_hostname(fqdn.lower()):
            raise fail((*at, "fqdn"), f"{quote(fqdn)} is not a valid host name")
        if fqdn.lower() in seen:
            raise fail((*at, "fqdn"), f"duplicate endpoint {quote(fqdn)} (also entry {seen[fqdn.lower()]})")
        seen[fqdn.lower()] = index
        role = entry.get("role", "portal")
        if role not in ROLES:
            raise fail((*at, "role"), f"{quote(role)} is not one of {', '.join(ROLES)}")
        _ports_field(entry, (*at, "ports"), fail)
        ips = entry.get("documented_ips", [])
        if not isinstance(ips, list):
            raise fail((*at, "documented_ips"), "must be a list of IP addresses")
        for ip_index, ip in enumerate(ips):
            if not isinstance(ip, str) or not _IP_CHARS.fullmatch(ip) or not is_ip_literal(ip):
                raise fail((*at, "documented_ips", ip_index), f"{quote(ip)} is not an IP address")


def _port(value: Any, at: FieldPath, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise fail(at, f"{quote(value)} is not a TCP port (1-65535)")
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
        if isinstance(cidr, str) and _IP_CHARS.fullmatch(cidr) and is_ip_literal(cidr):
            raise fail((*at, index), f"{quote(cidr)} needs a prefix length, e.g. 10.0.0.0/8")
        if not isinstance(cidr, str) or not _CIDR_CHARS.fullmatch(cidr):
            raise fail((*at, index), f"{quote(cidr)} is not a CIDR subnet")
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise fail((*at, index), f"{quote(cidr)} is not a CIDR subnet{_cidr_detail(cidr)}") from None


def _cidr_detail(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return ""
    return " (host bits set)"


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
    shown = terminal_text(str(path), one_line=True)
    if not endpoints:
        warnings.append(f"{shown}: no endpoints: the outbound and DNS checks assert nothing")
    if not agent.config_files:
        warnings.append(f"{shown}: agent.config_files is empty: BN-R1 reads only /etc/hosts")
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
