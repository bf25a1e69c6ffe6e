"""nft's scanner (src/scanner.l of nftables 1.0.x): the tokens of an nftables script.

Words are nft's {string} (a letter, `_` or `.` then letters, digits, `/ - _ .`, optionally ending
in `*`); addresses (IPv4, IPv6, MAC, `[IPv6]`) and numbers (decimal, octal with a leading 0, hex)
come before words as in nft; `\\` before a newline joins lines; `#` starts a comment. Every token
remembers its file and line for the evidence.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_TOKENS = 2_000_000

_IP4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_HEXRUN = re.compile(r"[0-9A-Fa-f:.]+")
_MAC = re.compile(r"(?:[0-9A-Fa-f]{1,2}:){5}[0-9A-Fa-f]{1,2}(?![0-9A-Fa-f:])")
_IP4_RE = re.compile(_IP4 + r"(?![\d.])")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
_DEC = re.compile(r"\d+")
_TIME = re.compile(r"(?:\d+d)?(?:\d+h)?(?:\d+m(?!s))?(?:\d+s)?(?:\d+ms)?")
_WORD = re.compile(r"(?:[A-Za-z_.][A-Za-z0-9/\-_.]*(?:\\?\*)?|\\\*)")
_PUNCT = (
    "==",
    "!=",
    "<=",
    ">=",
    "<<",
    ">>",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ";",
    ":",
    ".",
    "/",
    "-",
    "=",
    "@",
    "$",
    "&",
    "|",
    "^",
    "!",
    "<",
    ">",
    "*",
    "+",
)
_WORD_OPERATORS = {
    "eq": "==",
    "ne": "!=",
    "le": "<=",
    "lt": "<",
    "ge": ">=",
    "gt": ">",
    "and": "&",
    "or": "|",
    "xor": "^",
    "not": "!",
    "lshift": "<<",
    "rshift": ">>",
}


class LexError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str  # word | number | address | string | punct | newline
    value: str
    path: str
    line: int
    number: int = 0  # for kind "number"
    start: int = 0  # offsets in the file's text
    end: int = 0

    def __str__(self) -> str:
        return (
            "newline"
            if self.kind == "newline"
            else (f'"{self.value}"' if self.kind == "string" else self.value)
        )


def tokenize(text: str, path: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    position = 0
    length = len(text)
    while position < length:
        if len(tokens) > MAX_TOKENS:
            raise LexError(f"{path}: more than {MAX_TOKENS} tokens")
        char = text[position]
        if char == "\n":
            tokens.append(Token("newline", "\n", path, line, 0, position, position + 1))
            line += 1
            position += 1
            continue
        if char in " \t\r":
            position += 1
            continue
        if char == "\\" and text.startswith("\n", position + 1):
            line += 1
            position += 2
            continue
        if char == "#":
            end = text.find("\n", position)
            position = length if end < 0 else end
            continue
        if char == '"':
            end = text.find('"', position + 1)
            if end < 0:
                raise LexError(f"{path}:{line}: unterminated string")
            value = text[position + 1 : end]
            tokens.append(Token("string", value, path, line, 0, position, end + 1))
            line += value.count("\n")
            position = end + 1
            continue
        found = _address(text, position)
        if found:
            value, end = found
            tokens.append(Token("address", value, path, line, 0, position, end))
            position = end
            continue
        if char.isdigit():
            hexed = _HEX.match(text, position)
            if hexed:
                tokens.append(
                    Token("number", hexed.group(), path, line, int(hexed.group(), 16), position, hexed.end())
                )
                position = hexed.end()
                continue
            timed = _TIME.match(text, position)
            decimal = _DEC.match(text, position)
            assert decimal is not None
            if timed and timed.end() > decimal.end() and not _word_char(text, timed.end()):
                tokens.append(Token("word", timed.group(), path, line, 0, position, timed.end()))
                position = timed.end()
                continue
            if _word_char(text, decimal.end()) and text[decimal.end()] not in "/-.":
                word = re.compile(r"[A-Za-z0-9_\-]+").match(text, position)
                assert word is not None
                tokens.append(
                    Token("word", word.group(), path, line, 0, position, word.end())
                )  # 8021q, 6to4 ...
                position = word.end()
                continue
            digits = decimal.group()
            base = 8 if len(digits) > 1 and digits[0] == "0" else 10
            try:
                number = int(digits, base)
            except ValueError:
                tokens.append(Token("word", digits, path, line, 0, position, decimal.end()))
            else:
                tokens.append(Token("number", digits, path, line, number, position, decimal.end()))
            position = decimal.end()
            continue
        word = _WORD.match(text, position)
        if word:
            value = word.group()
            if value in _WORD_OPERATORS:
                tokens.append(Token("punct", _WORD_OPERATORS[value], path, line, 0, position, word.end()))
            else:
                tokens.append(Token("word", value, path, line, 0, position, word.end()))
            position = word.end()
            continue
        for punct in _PUNCT:
            if text.startswith(punct, position):
                tokens.append(Token("punct", punct, path, line, 0, position, position + len(punct)))
                position += len(punct)
                break
        else:
            raise LexError(f"{path}:{line}: unexpected character {char!r}")
    tokens.append(Token("newline", "\n", path, line, 0, length, length))
    return tokens


def _word_char(text: str, position: int) -> bool:
    return position < len(text) and (text[position].isalnum() or text[position] in "_-/.")


def _address(text: str, position: int) -> tuple[str, int] | None:
    """An IPv4, IPv6 or MAC address starting here (IPv6 in brackets too), as nft's scanner sees one."""
    char = text[position]
    if char == "[":
        end = text.find("]", position)
        if end > 0 and _is_ipv6(text[position + 1 : end]):
            return text[position + 1 : end], end + 1
        return None
    if not (char.isalnum() or char == ":"):
        return None
    mac = _MAC.match(text, position)
    if mac:
        return mac.group(), mac.end()
    run = _HEXRUN.match(text, position)
    if run is None:
        return None
    candidate = run.group()
    if candidate.count(":") >= 2 or "::" in candidate:
        # the longest prefix that is an IPv6 address (a trailing ':' may be a map's separator)
        for end in range(len(candidate), 1, -1):
            piece = candidate[:end]
            if (
                (piece.count(":") >= 2 or "::" in piece)
                and _is_ipv6(piece)
                and not _word_char(text, position + end)
            ):
                return piece, position + end
            if (piece.count(":") >= 2 or "::" in piece) and _is_ipv6(piece) and text[position + end] in "/-.":
                return piece, position + end
        return None
    ip4 = _IP4_RE.match(text, position)
    if ip4 and not (ip4.end() < len(text) and (text[ip4.end()].isalpha() or text[ip4.end()] == "_")):
        return ip4.group(), ip4.end()
    return None


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
