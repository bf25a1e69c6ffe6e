"""The probe's answer: tab-separated records from either implementation -> a `ProbeReport`."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import dataclass, field

from ..listeners import Listener, parse_proc_net_tcp

CONNECT_OUTCOMES = ("open", "refused", "timeout", "unreachable", "error")
PROC_NET_TCP = ("/proc/net/tcp", "/proc/net/tcp6")


@dataclass(frozen=True)
class Captured:
    """What the probe brought back for one command or file: its text, or why there is none."""

    text: str = ""
    error: str = ""  # "" when read; "not installed" / "no such file"; else the reason


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
    outcome: str  # one of CONNECT_OUTCOMES
    millis: int
    detail: str = ""


@dataclass(frozen=True)
class FileContent:
    """One file that an agent configuration glob matched."""

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
    globs: dict[str, int] = field(default_factory=dict)
    files: list[FileContent] = field(default_factory=list)
    reads: dict[str, Captured] = field(default_factory=dict)
    commands: dict[str, Captured] = field(default_factory=dict)
    # What the probe could not observe on this host, and why ("connect", "resolve"): the checks
    # that need it are not evaluated.
    limits: dict[str, str] = field(default_factory=dict)
    complete: bool = False

    def connections_to(self, name: str, port: int) -> list[Connection]:
        """One connection per resolved address; one the probe did not finish counts as a timeout."""
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

    def listeners(self) -> tuple[list[Listener], list[str]]:
        """The listening TCP sockets, and why /proc/net/tcp could not be read (if so)."""
        found: list[Listener] = []
        errors = []
        for path in PROC_NET_TCP:
            captured = self.reads.get(path)
            if captured is None or captured.error:
                # A host without IPv6 has no tcp6 table; without /proc/net/tcp nothing is known.
                if path == PROC_NET_TCP[0]:
                    errors.append(f"{path}: {captured.error if captured else 'not read'}")
                continue
            found += parse_proc_net_tcp(captured.text)
        return found, errors


class ProbeOutputError(ValueError):
    """The host's answer is not probe output (no python3 and no bash, a login banner, ...)."""


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
                outcome = fields[4] if fields[4] in CONNECT_OUTCOMES else "error"
                report.connections[(name, address, port)] = Connection(
                    name, address, port, outcome, int(fields[5]), _optional(fields, 6)
                )
            elif kind == "glob":
                report.globs[fields[1]] = int(fields[2])
            elif kind == "file":
                report.files.append(
                    FileContent(fields[1], fields[2], _decode(fields[3]), _optional(fields, 4))
                )
            elif kind == "read":
                report.reads[fields[1]] = Captured(_decode(fields[2]), _optional(fields, 3))
            elif kind == "command":
                report.commands[fields[1]] = Captured(_decode(fields[2]), _optional(fields, 3))
            elif kind == "limit":
                report.limits[fields[1]] = fields[2]
            elif kind == "end":
                report.complete = True
        except (IndexError, ValueError) as exc:
            raise ProbeOutputError(f"malformed probe record {line[:120]!r}: {exc}") from None
    if not saw_header:
        raise ProbeOutputError(f"the host did not run the probe; it answered {text[:200]!r}")
    return report


def _optional(fields: list[str], index: int) -> str:
    return fields[index] if len(fields) > index else ""


def _decode(data: str) -> str:
    try:
        return base64.b64decode(data, validate=True).decode("utf-8", errors="replace")
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from None
