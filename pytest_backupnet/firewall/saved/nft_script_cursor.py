"""The token stream of an nftables script as nft's scanner serves it: files pushed by `include` (with
nft's search rules), `$variables` expanded from the scopes of `define`, statement boundaries."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from .files import HostFiles, has_magic
from .nft_lexer import LexError, Token, tokenize
from .nft_rules import Context
from .nft_state import NftChain, NftState, NftTable

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
BRIDGE_PRIORITIES = {"dstnat": -300, "filter": -200, "out": 100, "srcnat": 300}
MAX_INCLUDE_DEPTH = 16
MAX_DEFINE_EXPANSIONS = 100_000
_OBJECTS = ("counter", "quota", "limit", "secmark", "synproxy", "tunnel", "flowtable")


class ScriptError(ValueError):
    pass


@dataclass
class Loaded:
    state: NftState
    files: list[str] = field(default_factory=list)  # every file read, in order
    interfaces_needed: set[str] = field(default_factory=set)  # iif/oif names resolved at load time
    flushes_all: bool = False  # `flush ruleset` (or deletes tables it did not make)
    touched: set[tuple[str, str]] = field(default_factory=set)  # tables flushed or deleted


class _Stream:
    def __init__(self, tokens: list[Token], path: str, depth: int) -> None:
        self.tokens, self.path, self.depth, self.index = tokens, path, depth, 0


class ScriptCursor:
    def __init__(
        self, files: HostFiles, context: Context, include_paths: tuple[str, ...] = ("/etc",), cwd: str = "/"
    ) -> None:
        self.files, self.context = files, context
        self.include_paths, self.cwd = include_paths, cwd
        self.streams: list[_Stream] = []
        self.scopes: list[dict[str, list[Token]]] = [{}]
        self.expansions = 0
        self.loaded = Loaded(NftState())
        self.texts: dict[str, str] = {}
        self.pending: list[tuple[NftTable, NftChain, list[Any], Token]] = []

    def _push_file(self, path: str, depth: int, record: bool = True) -> None:
        text = self.files.text(path)
        if text is None:
            raise ScriptError(f"could not evaluate: include {path} not read")
        try:
            tokens = tokenize(text, path)
        except LexError as exc:
            raise ScriptError(str(exc)) from None
        self.texts[path] = text
        if record:
            self.loaded.files.append(path)
        self.streams.append(_Stream(tokens, path, depth))

    def _raw_peek(self) -> Token | None:
        while self.streams:
            stream = self.streams[-1]
            if stream.index < len(stream.tokens):
                return stream.tokens[stream.index]
            self.streams.pop()
        return None

    def peek(self) -> Token | None:
        token = self._raw_peek()
        while token is not None and token.kind == "punct" and token.value == "$":
            self.streams[-1].index += 1
            name_token = self._raw_peek()
            if name_token is None or name_token.kind != "word":
                raise ScriptError(f"{token.path}:{token.line}: `$` without a variable name")
            self.streams[-1].index += 1
            value = self._lookup(name_token)
            self.expansions += 1
            if self.expansions > MAX_DEFINE_EXPANSIONS:
                raise ScriptError(f"{token.path}:{token.line}: defines expand too many times")
            self.streams.append(
                _Stream(
                    value,
                    self.streams[-1].path if self.streams else token.path,
                    self.streams[-1].depth if self.streams else 1,
                )
            )
            token = self._raw_peek()
        return token

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise ScriptError("unexpected end of file")
        self.streams[-1].index += 1
        return token

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("word", "punct") and token.value in values

    def accept(self, *values: str) -> bool:
        if self.at(*values):
            self.next()
            return True
        return False

    def expect(self, *values: str) -> Token:
        token = self.next()
        if token.kind not in ("word", "punct") or token.value not in values:
            raise ScriptError(f"{token.path}:{token.line}: expected {' or '.join(values)}, found {token}")
        return token

    def name(self) -> Token:
        token = self.next()
        if token.kind not in ("word", "string", "number"):
            raise ScriptError(f"{token.path}:{token.line}: expected a name, found {token}")
        return token

    def end_of_item(self, what: str) -> None:
        """nft wants a newline or `;` after every item of a block, a closing `}` included."""
        token = self.peek()
        if (
            token is not None
            and token.kind != "newline"
            and not (token.kind == "punct" and token.value == ";")
        ):
            raise ScriptError(
                f"{token.path}:{token.line}: nft expects a newline or `;` after {what}, not {token}"
            )

    def separators(self) -> None:
        while self.at(";") or (self.peek() is not None and self.peek().kind == "newline"):  # type: ignore[union-attr]
            self.next()

    def statement_tokens(self) -> list[Token]:
        """Tokens up to the end of the statement (newline or `;` outside braces and parentheses)."""
        collected: list[Token] = []
        depth = 0
        while True:
            token = self.peek()
            if token is None:
                break
            if depth == 0 and (
                token.kind == "newline" or (token.kind == "punct" and token.value in (";", "}"))
            ):
                break
            self.next()
            if token.kind == "punct" and token.value in ("{", "("):
                depth += 1
            elif token.kind == "punct" and token.value in ("}", ")"):
                depth -= 1
            if token.kind != "newline":
                collected.append(token)
        return collected

    def _lookup(self, token: Token) -> list[Token]:
        for scope in reversed(self.scopes):
            if token.value in scope:
                return scope[token.value]
        raise ScriptError(f"{token.path}:{token.line}: undefined variable ${token.value}")

    def define(self, kind: str) -> None:
        name = self.name()
        if kind == "undefine":
            for scope in reversed(self.scopes):
                if name.value in scope:
                    del scope[name.value]
                    return
            raise ScriptError(f"{name.path}:{name.line}: undefined variable {name.value}")
        self.expect("=")
        value = self.statement_tokens()
        if not value:
            raise ScriptError(f"{name.path}:{name.line}: empty define")
        if kind == "define" and name.value in self.scopes[-1]:
            raise ScriptError(f"{name.path}:{name.line}: redefinition of symbol {name.value!r}")
        self.scopes[-1][name.value] = value

    def include(self) -> None:
        token = self.next()
        if token.kind != "string":
            raise ScriptError(f"{token.path}:{token.line}: include needs a quoted file name")
        depth = self.streams[-1].depth + 1 if self.streams else 1
        if depth > MAX_INCLUDE_DEPTH:
            raise ScriptError(f"{token.path}:{token.line}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
        name = token.value
        if name.startswith("/"):
            candidates = [name]
        elif name.startswith("./") or name.startswith("../"):
            candidates = [posixpath.normpath(posixpath.join(self.cwd, name))]
        else:
            candidates = [posixpath.normpath(posixpath.join(d, name)) for d in self.include_paths]
        found: list[str] = []
        for pattern in candidates:
            if has_magic(pattern):
                found += self.files.glob(pattern)
                continue
            if self.files.has(pattern):
                found = [pattern]
                break
        else:
            if not found and not any(has_magic(p) for p in candidates):
                raise ScriptError(
                    f"{token.path}:{token.line}: could not evaluate: include {name} not read "
                    f"(nft looks for {', '.join(candidates)}; not brought back, or missing, "
                    "and then nft refuses the whole file)"
                )
        for path in reversed(found):  # pushed last first: read in sorted order
            self._push_file(path, depth, record=False)
        self.loaded.files += found
