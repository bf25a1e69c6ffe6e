"""Accepted exceptions: a failing check that a current waiver covers is reported as waived."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .profile import is_hostname
from .sanitize import quote, terminal_text
from .yaml_lines import FieldPath, YamlSyntaxError, format_path, load_yaml_file

WAIVER_KEYS = ("requirement", "hosts", "endpoint", "justification", "owner", "expires")
# Waiver texts reach every report. The caps sit far above real ones (a ticket reference and a
# sentence or two; an e-mail address or team name): a paragraph fits, a pasted log does not.
MAX_JUSTIFICATION_CHARS = 2000
MAX_OWNER_CHARS = 200
MAX_HOSTS_CHARS = 253
_REQUIREMENT = re.compile(r"BN-R[1-9]")


class WaiverError(ValueError):
    """A waiver file that cannot be used, located by file, line and field."""

    def __init__(self, path: Path, line: int, field_path: FieldPath, message: str) -> None:
        self.path = path
        self.line = line
        self.field = format_path(field_path)
        self.message = message
        super().__init__(f"{terminal_text(str(path), one_line=True)}:{line}: {self.field}: {message}")


@dataclass(frozen=True)
class Waiver:
    requirement: str
    hosts: str
    endpoint: str | None
    justification: str
    owner: str
    expires: dt.date
    line: int

    def covers(self, requirements: Sequence[str], host: str, endpoint: str | None) -> bool:
        return (
            self.requirement in requirements
            and fnmatch.fnmatchcase(host, self.hosts)
            and (self.endpoint is None or self.endpoint == endpoint)
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def describe(self) -> str:
        return (
            f"{self.requirement} on {self.hosts}"
            + (f" ({self.endpoint})" if self.endpoint else "")
            + f": {self.justification}; owner {self.owner}; expires {self.expires.isoformat()}"
        )


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waiver file; every entry needs a justification, an owner and an expiry."""
    try:
        _data, doc = load_yaml_file(path)
    except YamlSyntaxError as exc:
        raise WaiverError(path, exc.line, exc.field, exc.message) from None

    def fail(at: FieldPath, message: str) -> WaiverError:
        return WaiverError(path, doc.line_of(at), at, message)

    if not isinstance(doc.data, dict) or set(doc.data) != {"waivers"}:
        raise fail((), "a waiver file is a mapping with one key, 'waivers'")
    entries = doc.data["waivers"]
    if not isinstance(entries, list):
        raise fail(("waivers",), "must be a list")
    waivers = []
    for index, entry in enumerate(entries):
        at: FieldPath = ("waivers", index)
        if not isinstance(entry, dict):
            raise fail(at, "must be a mapping")
        for key in entry:
            if key not in WAIVER_KEYS:
                raise fail((*at, key), f"unknown field {quote(key, 40)} (known: {', '.join(WAIVER_KEYS)})")
        for key in ("requirement", "hosts", "justification", "owner", "expires"):
            if entry.get(key) in (None, ""):
                raise fail(at, f"missing field {key!r}")
        for key in ("requirement", "hosts", "justification", "owner"):
            if not isinstance(entry[key], str):
                raise fail((*at, key), "must be text")
        if not _REQUIREMENT.fullmatch(entry["requirement"]):
            raise fail(
                (*at, "requirement"), f"{quote(entry['requirement'])} is not a requirement id (BN-R1 ...)"
            )
        hosts = entry["hosts"]
        if len(hosts) > MAX_HOSTS_CHARS or any(char.isspace() for char in hosts):
            raise fail(
                (*at, "hosts"),
                f"{quote(hosts)} is not a host name glob (no spaces, {MAX_HOSTS_CHARS} at most)",
            )
        endpoint = entry.get("endpoint")
        if endpoint is not None and (not isinstance(endpoint, str) or not is_hostname(endpoint.lower())):
            raise fail((*at, "endpoint"), f"{quote(endpoint)} is not an endpoint FQDN")
        expires = entry["expires"]
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise fail((*at, "expires"), f"{quote(expires)} is not a date (YYYY-MM-DD)") from None
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise fail((*at, "expires"), f"{quote(expires)} is not a date (YYYY-MM-DD)")
        waivers.append(
            Waiver(
                requirement=entry["requirement"],
                hosts=hosts,
                endpoint=endpoint.lower() if endpoint else None,
                justification=_one_line(
                    entry["justification"], MAX_JUSTIFICATION_CHARS, (*at, "justification"), fail
                ),
                owner=_one_line(entry["owner"], MAX_OWNER_CHARS, (*at, "owner"), fail),
                expires=expires,
                line=doc.line_of(at),
            )
        )
    return waivers


def _one_line(text: str, limit: int, at: FieldPath, fail: Callable[[FieldPath, str], WaiverError]) -> str:
    """Free text for a report line: runs of white space (newlines, tabs, CR) become one space."""
    joined = " ".join(text.split())
    if not joined:
        raise fail(at, "must not be empty")
    if len(joined) > limit:
        raise fail(at, f"longer than {limit} characters ({len(joined)})")
    return joined


def find_waiver(
    waivers: Sequence[Waiver], requirements: Sequence[str], host: str, endpoint: str | None
) -> Waiver | None:
    """The waiver for a failing check: a current one if any covers it, else an expired one."""
    matching = [w for w in waivers if w.covers(requirements, host, endpoint)]
    return max(matching, key=lambda w: w.expires, default=None)
