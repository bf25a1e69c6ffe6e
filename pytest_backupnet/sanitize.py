"""Text from hosts, profiles and waivers made inert for a terminal, JUnit XML, HTML and error messages.

Nothing is dropped: every character that could act (ESC starting a CSI or OSC sequence, BEL,
backspace, CR, C1 controls, bidirectional overrides) is shown as a visible escape such as `\\x1b`,
so the evidence stays readable and complete while the terminal or viewer only ever prints it.
"""

from __future__ import annotations

import datetime as dt
import html
import re

# C0 controls but tab and newline, DEL, C1 controls (U+0080-U+009F: 8-bit CSI/OSC among them),
# bidirectional marks, embeddings, overrides and isolates (they reorder what a reader sees),
# lone surrogates (they cannot be encoded, so printing them would raise), and the two XML 1.0
# non-characters.
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROL}{_BIDI}\ud800-\udfff\ufffe\uffff]")
# On one line, line and paragraph breaks would start a new line as well.
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNSAFE_ONE_LINE = re.compile(f"[\t\n{_CONTROL}{_BIDI}\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def visible_escape(char: str) -> str:
    """`"\\x1b"` -> the four characters `\\x1b`; the form Python's repr uses."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape(match: re.Match[str]) -> str:
    return visible_escape(match.group(0))


def terminal_text(text: str, *, one_line: bool = False) -> str:
    """`text` with every control, escape-sequence introducer and bidi override shown as an escape.

    Tab and newline stay unless `one_line` (a table cell, a header field), where they are escaped
    too. CR is always escaped: it would let later text overwrite earlier text on the same line.
    """
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, text)


def xml_text(text: str) -> str:
    """`text` made valid for XML 1.0 (JUnit) and inert in the CI page or log that shows it.

    XML 1.0 forbids C0 controls but tab, newline and CR, lone surrogates, U+FFFE and U+FFFF;
    CR, C1 controls and bidi overrides are escaped as well. The XML writer still escapes `&<>`.
    """
    return _UNSAFE.sub(_escape, text)


def html_text(text: str) -> str:
    """`text` for an HTML page: controls escaped visibly, then `&<>"'` escaped by `html.escape`."""
    return html.escape(terminal_text(text), quote=True)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def quote(value: object, limit: int = 60) -> str:
    """A bounded, escaped rendering of a value for an error message.

    Text is cut to `limit` characters before `repr` escapes it (repr shows controls, C1 and bidi
    characters as escapes); numbers too long to print safely and containers are described, never
    dumped, since a list or mapping can be arbitrarily large.
    """
    if isinstance(value, str):
        cut = value[:limit]
        return repr(cut) + (f"... ({len(value) - limit} more characters)" if len(value) > limit else "")
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, bytes | bytearray):
        return f"{len(value)} bytes of binary data"
    return f"a value of type {type(value).__name__}"
