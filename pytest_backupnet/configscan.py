"""BN-R1 evidence: IP literals where a server address is expected, and /etc/hosts pins.

Every scan here is linear in the size of its input, whatever the host sends: the runner must not
spend minutes on one long line. Each IP literal's key is found from indexes built once per line
(runs of key and value characters), not by a regex search over the text before it.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .sanitize import shorten

# Words in a key under which an agent configuration names a server (portal, AMP, vault, ...).
SERVER_KEY_WORDS = (
    "host", "server", "address", "addr", "url", "uri", "portal", "director", "vault", "amp", "proxy",
    "register", "console", "webcc", "endpoint", "target", "remote", "peer", "connect",
)  # fmt: skip
_SERVER_KEY = re.compile("|".join(SERVER_KEY_WORDS), re.IGNORECASE)
_SERVER_WORDS = [re.compile(word, re.IGNORECASE) for word in SERVER_KEY_WORDS]
# An IPv4 literal at the start of a run of word characters and dots; the rest of the run must
# hold no digit (a version such as 8.6.3.1.2 is no address). Checked outside the regex, in one
# pass over the run, so that a long run costs its length once.
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}")
_WORD_OR_DOT_RUN = re.compile(r"[\w.]*")
_DIGIT = re.compile(r"\d")
_IPV6 = re.compile(r"(?<![\w:.])\[?([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?)\]?")
_LINE_COMMENT = re.compile(r"^\s*(#|;|//|REM\b)", re.IGNORECASE)
_INLINE_COMMENT = re.compile(r"\s#\s|\s;\s")
_NOT_NEWLINE = re.compile(r"[^\n]")
# What the key lookup reads: `key=`, `key:`, `"key":`, `<key>`, `key="`, then the value so far.
_KEY_CHARS = re.compile(r"[\w.:-]*")
_KEY_CHARS_RUN = re.compile(r"[\w.:-]+")
_VALUE_CHARS = re.compile(r"[\w./:-]*")
_SPACES = re.compile(r"\s*")
_COLON = re.compile(":")
_KEY_FIRST = re.compile(r"[A-Za-z_]")
_KEY_CHAR = re.compile(r"[\w.:-]")
_SCHEME_CHARS = re.compile(r"[a-z0-9+.-]*", re.IGNORECASE)
_SCHEME_FIRST = re.compile(r"[a-z]", re.IGNORECASE)
_QUOTES = "\"'"
# How much of a host-supplied value one finding shows (evidence, not a dump of the file). A
# finding keeps at most MAX_KEY_CHARS of its key (the end, next to the value): real keys are
# under 64 characters, and on a hostile line every literal could otherwise own a copy of the line.
_SHOWN_CHARS = 200
MAX_KEY_CHARS = 256


@dataclass(frozen=True)
class IpLiteral:
    path: str
    line: int
    value: str
    key: str

    def __str__(self) -> str:
        where = f" ({shorten(self.key, _SHOWN_CHARS)})" if self.key else ""
        return f"{self.path}:{self.line}: {shorten(self.value, _SHOWN_CHARS)}{where}"


@dataclass(frozen=True)
class HostsPin:
    line: int
    address: str
    name: str
    text: str

    def __str__(self) -> str:
        return f"/etc/hosts:{self.line}: {shorten(self.text.strip(), _SHOWN_CHARS)}"


def _strip_comments(text: str) -> list[str]:
    # Keep line numbers: blank out each XML comment's characters but not its newlines. A plain
    # find loop: a regex would rescan the rest of the text for every `<!--` left unclosed.
    pieces = []
    position = 0
    while (start := text.find("<!--", position)) >= 0 and (end := text.find("-->", start + 4)) >= 0:
        pieces += [text[position:start], _NOT_NEWLINE.sub(" ", text[start : end + 3])]
        position = end + 3
    text = "".join([*pieces, text[position:]])
    lines = []
    for line in text.splitlines():
        if _LINE_COMMENT.match(line):
            lines.append("")
            continue
        lines.append(_INLINE_COMMENT.split(line, maxsplit=1)[0])
    return lines


def _ip_candidates(line: str) -> Iterable[tuple[int, str]]:
    for match in _IPV4.finditer(line):
        rest = _WORD_OR_DOT_RUN.match(line, match.end())
        if not _DIGIT.search(line, match.end(), rest.end() if rest else match.end()):
            yield match.start(), match.group()
    for match in _IPV6.finditer(line):
        if match.group(1).count(":") >= 2:
            yield match.start(1), match.group(1)


def _is_address(value: str) -> bool:
    if "." in value and ":" not in value:
        return _is_ipv4_address(value)
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_loopback)


def _is_ipv4_address(value: str) -> bool:
    """`ipaddress.ip_address(value)` parses, and is neither 0.0.0.0 nor loopback; without its cost.

    The same rules as ipaddress: four ASCII decimal octets up to 255, no leading zeros.
    """
    octets = value.split(".")
    if len(octets) != 4:
        return False
    for octet in octets:
        if not (octet.isascii() and octet.isdigit()) or len(octet) > 3 or (octet[0] == "0" and octet != "0"):
            return False
        if int(octet) > 255:
            return False
    return octets[0] != "127" and octets != ["0", "0", "0", "0"]


class _KeyIndex:
    """The key each IP literal of one line belongs to, as the old anchored regex found it.

    For a literal at `e` the key is the leftmost (then longest) `[A-Za-z_][\\w.:-]*` followed by
    `\\s*`, a separator (`["']?\\s*[:=]\\s*["']?` or `>`), then `\\s*[\\w./:-]*` up to `e`. Searching
    `line[:e]` for that pattern costs O(e**2) per literal; here each run of value characters that
    holds a literal is read once (with the gap, separator and key before it), so a line costs
    O(its length) however many literals it holds. Runs are read backwards on the reversed line.
    """

    def __init__(self, line: str) -> None:
        self.line = line
        self.reversed = line[::-1]
        self.run: tuple[int, int] = (-1, -1)
        self.before_run: tuple[int, int] | None = None
        self.at_run_colon: tuple[int, int] | None = None
        # None until needed, then the first `key:` inside the run, or () when there is none.
        self.inside: tuple[int, list[int]] | tuple[()] | None = None
        self.server_word_end: dict[int, int | None] = {}

    def key_text(self, span: tuple[int, int] | None) -> str:
        """The key of `span`, its last MAX_KEY_CHARS characters when longer."""
        if span is None:
            return ""
        start, end = span
        if end - start <= MAX_KEY_CHARS:
            return self.line[start:end]
        return "..." + self.line[end - MAX_KEY_CHARS + 3 : end]

    def names_server(self, span: tuple[int, int] | None) -> bool:
        """Whether the key holds one of SERVER_KEY_WORDS, deciding once per key start."""
        if span is None:
            return False
        start, end = span
        if end - start <= MAX_KEY_CHARS:
            return _SERVER_KEY.search(self.line, start, end) is not None
        # A long key: decided once per key start, since many literals may share that start.
        if start not in self.server_word_end:
            found = _KEY_CHARS.match(self.line, start)
            run_end = found.end() if found else start
            ends = [m.end() for word in _SERVER_WORDS if (m := word.search(self.line, start, run_end))]
            self.server_word_end[start] = min(ends, default=None)
        word_end = self.server_word_end[start]
        return word_end is not None and word_end <= end

    def key_span(self, e: int) -> tuple[int, int] | None:
        """Where the key of the literal at `e` starts and ends, if it has one."""
        if not self.run[0] <= e < self.run[1]:
            self._read_run(e)
        start, end = self.run
        # A separator before the value run gives a key that starts before it: leftmost wins.
        best = self.before_run
        if start < e:
            best = _better(best, self.at_run_colon)
        if best is None and self.inside is None:
            self.inside = self._first_key_inside(start, end)
        if best is None and self.inside:
            first, colons = self.inside
            last = bisect.bisect_left(colons, e) - 1
            if last >= 0 and colons[last] > first:
                best = first, colons[last]
        return best

    def in_url(self, e: int) -> bool:
        """Whether `scheme://` or `scheme://[` ends at `e`, the scheme starting with a letter."""
        if self.line.startswith("://", e - 3):
            colon = e - 3
        elif self.line.startswith("://[", e - 4):
            colon = e - 4
        else:
            return False
        return (
            _SCHEME_FIRST.search(self.line, self._start_of_run_ending_at(_SCHEME_CHARS, colon), colon)
            is not None
        )

    def _read_run(self, e: int) -> None:
        start = self._start_of_run_ending_at(_VALUE_CHARS, e)
        found_end = _VALUE_CHARS.match(self.line, e)
        end = found_end.end() if found_end else e
        self.run = (start, end)
        self.before_run = self._separator_then_key(start)
        self.at_run_colon = None
        if self.line.startswith(":", start):
            self.at_run_colon = self._key_ending_at(self._gap_before_separator(start, ":"))
        self.inside = None

    def _start_of_run_ending_at(self, pattern: re.Pattern[str], position: int) -> int:
        found = pattern.match(self.reversed, len(self.line) - position)
        return position - (found.end() - found.start()) if found else position

    def _separator_then_key(self, value_start: int) -> tuple[int, int] | None:
        j = self._start_of_run_ending_at(_SPACES, value_start)
        if j == 0:
            return None
        if self.line[j - 1] in ":=>":
            return self._key_ending_at(self._gap_before_separator(j - 1, self.line[j - 1]))
        if self.line[j - 1] in _QUOTES:
            j = self._start_of_run_ending_at(_SPACES, j - 1)
            if j > 0 and self.line[j - 1] in ":=":
                return self._key_ending_at(self._gap_before_separator(j - 1, self.line[j - 1]))
        return None

    def _gap_before_separator(self, separator: int, kind: str) -> int | None:
        """Where a key ends before the separator: `\\s*` before `>`, `\\s*["']?\\s*` before `:` or `=`."""
        j = self._start_of_run_ending_at(_SPACES, separator)
        if j > 0 and _KEY_CHAR.match(self.line, j - 1):
            return j
        if kind != ">" and j > 0 and self.line[j - 1] in _QUOTES:
            j = self._start_of_run_ending_at(_SPACES, j - 1)
            if j > 0 and _KEY_CHAR.match(self.line, j - 1):
                return j
        return None

    def _key_ending_at(self, end: int | None) -> tuple[int, int] | None:
        if end is None:
            return None
        first = _KEY_FIRST.search(self.line, self._start_of_run_ending_at(_KEY_CHARS, end), end)
        return (first.start(), end) if first else None

    def _first_key_inside(self, start: int, end: int) -> tuple[int, list[int]] | tuple[()]:
        """A `key:` inside the value run itself (`host:1.2.3.4`): the first key run with a colon
        after its first key letter, with the places of those colons."""
        for run in _KEY_CHARS_RUN.finditer(self.line, start, end):
            first = _KEY_FIRST.search(self.line, run.start(), run.end())
            if first and self.line.find(":", first.end(), run.end()) >= 0:
                colons = [c.start() for c in _COLON.finditer(self.line, first.end(), run.end())]
                return first.start(), colons
        return ()


def _better(one: tuple[int, int] | None, other: tuple[int, int] | None) -> tuple[int, int] | None:
    """The leftmost key, and of two keys starting at the same place the longer one."""
    if one is None or other is None:
        return one or other
    return min(one, other, key=lambda span: (span[0], -span[1]))


def _with_port(line: str, e: int, value: str) -> bool:
    position = e + len(value)
    if line.startswith("]", position):
        position += 1
    return line.startswith(":", position) and _DIGIT.match(line, position + 1) is not None


def scan_config_text(path: str, text: str) -> list[IpLiteral]:
    """IP literals that stand where a server address is expected.

    Formats are not public, so the scan is by shape: a literal counts when the key
    it belongs to names a server, when it stands in a URL, or when it stands alone
    with a port; a literal under another key (a version, a local bind) is ignored.
    """
    found = []
    for number, line in enumerate(_strip_comments(text), start=1):
        index: _KeyIndex | None = None
        indent = len(line) - len(line.lstrip())
        for start, value in _ip_candidates(line):
            if not _is_address(value):
                continue
            index = index or _KeyIndex(line)
            span = index.key_span(start)
            in_url = index.in_url(start)
            with_port = _with_port(line, start, value)
            if in_url or index.names_server(span) or (span is None and (with_port or start <= indent)):
                found.append(IpLiteral(path, number, value, index.key_text(span)))
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
    """Which of `fqdns` appear in the configuration texts (the registered servers), as whole names."""
    joined = "\n".join(texts).lower()
    return [f for f in fqdns if _whole_name_at(joined, f)]


def _whole_name_at(text: str, name: str) -> bool:
    # str.find is linear; a regex with a lookbehind before the name would try every position.
    position = text.find(name)
    while position >= 0:
        end = position + len(name)
        before_ok = position == 0 or not _NAME_CHAR.match(text, position - 1)
        if before_ok and (end == len(text) or not _NAME_CHAR.match(text, end)):
            return True
        position = text.find(name, position + 1)
    return False


_NAME_CHAR = re.compile(r"[\w-]")
