"""BN-R1 evidence: IP literals where a server address is expected, and /etc/hosts pins."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

# Keys under which an agent configuration names a server (portal, AMP, vault, registration).
_SERVER_KEY = re.compile(
    r"(host|server|address|addr|url|uri|portal|director|vault|amp|proxy|register|console|"
    r"webcc|endpoint|target|remote|peer|connect)",
    re.IGNORECASE,
)
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:.])\[?([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?)\]?")
_XML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINE_COMMENT = re.compile(r"^\s*(#|;|//|REM\b)", re.IGNORECASE)
# The nearest key before a value: `key=`, `key:`, `"key":`, `<key>`, `key="`.
_KEY_BEFORE = re.compile(r"""([A-Za-z_][\w.:-]*)\s*(?:["']?\s*[:=]\s*["']?|>)\s*[\w./:-]*$""")


@dataclass(frozen=True)
class IpLiteral:
    path: str
    line: int
    value: str
    key: str

    def __str__(self) -> str:
        where = f" ({self.key})" if self.key else ""
        return f"{self.path}:{self.line}: {self.value}{where}"


@dataclass(frozen=True)
class HostsPin:
    line: int
    address: str
    name: str
    text: str

    def __str__(self) -> str:
        return f"/etc/hosts:{self.line}: {self.text.strip()}"


def _strip_comments(text: str) -> list[str]:
    # Keep line numbers: blank out each comment's characters but not its newlines.
    text = _XML_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    lines = []
    for line in text.splitlines():
        if _LINE_COMMENT.match(line):
            lines.append("")
            continue
        lines.append(re.split(r"\s#\s|\s;\s", line, maxsplit=1)[0])
    return lines


def _ip_candidates(line: str) -> Iterable[tuple[int, str]]:
    for match in _IPV4.finditer(line):
        yield match.start(1), match.group(1)
    for match in _IPV6.finditer(line):
        if match.group(1).count(":") >= 2:
            yield match.start(1), match.group(1)


def _is_address(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_loopback)


def scan_config_text(path: str, text: str) -> list[IpLiteral]:
    """IP literals that stand where a server address is expected.

    Formats are not public, so the scan is by shape: a literal counts when the key
    it belongs to names a server, when it stands in a URL, or when it stands alone
    with a port; a literal under another key (a version, a local bind) is ignored.
    """
    found = []
    for number, line in enumerate(_strip_comments(text), start=1):
        for start, value in _ip_candidates(line):
            if not _is_address(value):
                continue
            before = line[:start]
            key_match = _KEY_BEFORE.search(before)
            key = key_match.group(1) if key_match else ""
            in_url = bool(re.search(r"[a-z][a-z0-9+.-]*://\[?$", before, re.IGNORECASE))
            with_port = bool(re.match(rf"{re.escape(value)}\]?:\d+", line[start:]))
            if in_url or _SERVER_KEY.search(key) or (not key and (with_port or before.strip() == "")):
                found.append(IpLiteral(path, number, value, key))
    return found


def scan_hosts_file(text: str, fqdns: Iterable[str]) -> list[HostsPin]:
    """/etc/hosts lines that pin one of `fqdns` to an address."""
    wanted = {f.lower().rstrip(".") for f in fqdns}
    pins = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        for name in fields[1:]:
            if name.lower().rstrip(".") in wanted:
                pins.append(HostsPin(number, fields[0], name.lower(), line))
    return pins


def hosts_file_names(text: str) -> set[str]:
    """Every name that /etc/hosts answers for."""
    names: set[str] = set()
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        names.update(name.lower().rstrip(".") for name in fields[1:])
    return names


def mentioned_fqdns(texts: Iterable[str], fqdns: Iterable[str]) -> list[str]:
    """Which of `fqdns` appear in the configuration texts (the registered servers)."""
    joined = "\n".join(texts).lower()
    return [f for f in fqdns if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", joined)]
