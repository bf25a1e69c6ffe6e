"""The batched per-host probe: one remote command gathers every observation of a host."""

from __future__ import annotations

import base64
import ipaddress
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

from .listeners import Listener, parse_proc_net_tcp

HOSTS_FILE = "/etc/hosts"
OUTCOMES = ("open", "refused", "timeout", "unreachable", "error")


@dataclass(frozen=True)
class ProbeRequest:
    """What to observe on one host. Names map to the ports to connect to (may be empty)."""

    timeout: float
    resolve: Mapping[str, Sequence[int]] = field(default_factory=dict)
    listen: bool = False
    files: Sequence[str] = ()
    firewall: bool = False

    def as_json(self) -> str:
        return json.dumps(
            {
                "timeout": self.timeout,
                "resolve": {name: sorted(ports) for name, ports in sorted(self.resolve.items())},
                "listen": self.listen,
                "files": list(self.files),
                "firewall": self.firewall,
            },
            separators=(",", ":"),
        )

    @property
    def deadline(self) -> float:
        """How long the probe may take on the host: resolution plus connect, plus slack."""
        return 2 * self.timeout + 2


@dataclass(frozen=True)
class Resolution:
    name: str
    status: str  # ok | nxdomain | no-address | dns-timeout | dns-error
    addresses: tuple[str, ...]
    millis: int
    detail: str = ""


@dataclass(frozen=True)
class Connection:
    name: str
    address: str
    port: int
    outcome: str  # one of OUTCOMES
    millis: int
    detail: str = ""


@dataclass(frozen=True)
class FileContent:
    pattern: str
    path: str
    text: str
    error: str = ""


@dataclass
class ProbeReport:
    """Everything one probe observed on a host."""

    implementation: str = ""
    hostname: str = ""
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    connections: dict[tuple[str, str, int], Connection] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    proc_errors: list[str] = field(default_factory=list)
    globs: dict[str, int] = field(default_factory=dict)
    files: list[FileContent] = field(default_factory=list)
    firewall: dict[str, FileContent] = field(default_factory=dict)
    complete: bool = False

    def connections_to(self, name: str, port: int) -> list[Connection]:
        resolution = self.resolutions.get(name)
        if resolution is None:
            return []
        return [
            self.connections.get(
                (name, address, port),
                Connection(name, address, port, "timeout", 0, "no result from the probe in time"),
            )
            for address in resolution.addresses
        ]


class ProbeOutputError(ValueError):
    """The host's answer is not probe output (no python3 and no bash, a login banner, ...)."""


def remote_command(request: ProbeRequest, implementation: str = "auto") -> str:
    """The one shell command that runs the probe on a host; every value is quoted."""
    # -I -S: no user site, no site packages: the probe needs the standard library only.
    python = "python3 -I -S -c {} {}".format(
        shlex.quote(_resource("probe_remote.py")), shlex.quote(request.as_json())
    )
    args = [f"timeout={request.timeout:g}"]
    if request.listen:
        args.append("listen=1")
    if request.firewall:
        args.append("firewall=1")
    args += [
        f"resolve={name}:{','.join(str(p) for p in sorted(ports))}"
        for name, ports in sorted(request.resolve.items())
    ]
    args += [f"file={pattern}" for pattern in request.files]
    bash = "bash -c {} probe {}".format(
        shlex.quote(_resource("probe_remote.sh")), " ".join(shlex.quote(a) for a in args)
    )
    if implementation == "python":
        return python
    if implementation == "bash":
        return bash
    # Try python3, and fall back when the shell cannot find it (127) or execute it (126): a
    # `command -v` test would accept a python3 that is present but not executable.
    return f"{python}; rc=$?; if [ $rc -eq 126 ] || [ $rc -eq 127 ]; then {bash}; else exit $rc; fi"


def _resource(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def parse_probe_output(text: str) -> ProbeReport:
    """Records printed by either probe -> a `ProbeReport`."""
    report = ProbeReport()
    saw_header = False
    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        try:
            if kind == "probe":
                saw_header = True
                report.implementation = f"{fields[1]} {fields[2]}"
                report.hostname = fields[3] if len(fields) > 3 else ""
            elif kind == "resolve":
                name, status, millis, detail = fields[1], fields[2], int(fields[3]), fields[4]
                addresses = tuple(a for a in detail.split(",") if a) if status == "ok" else ()
                for address in addresses:
                    ipaddress.ip_address(address.split("%")[0])
                report.resolutions[name] = Resolution(
                    name, status, addresses, millis, "" if status == "ok" else detail
                )
            elif kind == "connect":
                name, address, port = fields[1], fields[2], int(fields[3])
                outcome = fields[4] if fields[4] in OUTCOMES else "error"
                report.connections[(name, address, port)] = Connection(
                    name, address, port, outcome, int(fields[5]), fields[6] if len(fields) > 6 else ""
                )
            elif kind == "proc":
                if fields[2]:
                    report.listeners += parse_proc_net_tcp(_decode(fields[2]))
                elif fields[1] == "tcp":
                    report.proc_errors.append(f"/proc/net/{fields[1]}: {fields[3] or 'unreadable'}")
            elif kind == "glob":
                report.globs[fields[1]] = int(fields[2])
            elif kind == "file":
                report.files.append(
                    FileContent(
                        fields[1], fields[2], _decode(fields[3]), fields[4] if len(fields) > 4 else ""
                    )
                )
            elif kind == "firewall":
                report.firewall[fields[1]] = FileContent(
                    fields[1], fields[1], _decode(fields[2]), fields[3] if len(fields) > 3 else ""
                )
            elif kind == "end":
                report.complete = True
        except (IndexError, ValueError) as exc:
            raise ProbeOutputError(f"malformed probe record {line[:120]!r}: {exc}") from None
    if not saw_header:
        raise ProbeOutputError(f"the host did not run the probe; it answered {text[:200]!r}")
    return report


def _decode(data: str) -> str:
    return base64.b64decode(data).decode("utf-8", errors="replace")
