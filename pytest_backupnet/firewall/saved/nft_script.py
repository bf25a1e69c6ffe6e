"""An nftables script (`nft -f FILE`, its includes and defines) -> the ruleset it leaves, as nft does.

The grammar follows nft's parser (src/parser_bison.y, nftables 0.9-1.1): commands (add, create,
insert, delete, destroy, flush, and the implicit add of `table ... { }` blocks), table, chain and
set blocks, `define`/`redefine`/`undefine` with their scopes, and `include` with nft's search
rules (absolute paths; `./` and `../` from the working directory, `/` at boot; other names in the
include path, /etc by default; globs sorted, an unmatched glob is no error, a missing file is).
nft loads a file as one transaction: any error and nothing loads. Whatever this parser cannot
read is an error too: the caller then says why it cannot evaluate the file instead of guessing.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from .files import HostFiles, has_magic
from .nft_lexer import LexError, Token, tokenize
from .nft_rules import Context, NftSyntaxError, RuleParser
from .nft_state import NftChain, NftRule, NftSet, NftState, NftTable
from .nft_types import TYPE_NAMES

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


class ScriptParser:
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

    # tokens

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

    # defines

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

    # includes

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

    # the script

    def run(self, path: str) -> Loaded:
        self._push_file(path, 1)
        while True:
            self.separators()
            token = self.peek()
            if token is None:
                break
            self.command(token)
        for table, chain, expr, where in self.pending:
            if self.loaded.state.tables.get((table.family, table.name)) is table:
                _check_references(table, chain, expr, where)
        for table in self.loaded.state.tables.values():
            _check_hooks(table)
        self.loaded.interfaces_needed = set(self.context.interfaces_needed)
        return self.loaded

    def command(self, token: Token) -> None:
        word = token.value if token.kind == "word" else ""
        if word in ("include", "define", "redefine", "undefine"):
            self.next()
            self.include() if word == "include" else self.define(word)
            return
        if word == "table":
            self.next()
            self.table_command("add")
            return
        if word in ("add", "create", "insert", "replace", "delete", "destroy", "flush"):
            self.next()
            self.verb(word, token)
            return
        if word in ("list", "reset", "monitor", "export", "describe", "get", "rename"):
            if word in ("reset", "rename", "get"):
                raise ScriptError(f"{token.path}:{token.line}: `{word}` in a boot file is not evaluated")
            self.statement_tokens()
            return
        raise ScriptError(f"{token.path}:{token.line}: unexpected {token} at the top of the file")

    def verb(self, verb: str, where: Token) -> None:
        kind = self.next()
        what = kind.value
        if what == "ruleset" and verb in ("flush", "delete", "destroy"):
            family = self.next().value if self.at(*FAMILIES) else ""
            for key in [k for k in self.loaded.state.tables if not family or k[0] == family]:
                del self.loaded.state.tables[key]
            self.loaded.flushes_all = self.loaded.flushes_all or not family or family in ("ip", "ip6")
            return
        if what == "table":
            self.table_command(verb)
            return
        if what == "chain":
            self.chain_command(verb)
            return
        if what == "rule":
            self.rule_command(verb, where)
            return
        if what in ("set", "map"):
            self.set_command(verb, what == "map")
            return
        if what == "element":
            self.element_command(verb)
            return
        if what in (*_OBJECTS, "ct"):
            if what == "ct":
                self.next()
            self.statement_tokens()
            if self.at("}"):
                self.next()
            return
        raise ScriptError(f"{kind.path}:{kind.line}: `{verb} {what}` is not evaluated")

    def family_and_name(self) -> tuple[str, str, Token]:
        family = self.next().value if self.at(*FAMILIES) else "ip"
        name = self.name()
        return family, name.value, name

    # tables

    def table_command(self, verb: str) -> None:
        family, name, token = self.family_and_name()
        key = (family, name)
        state = self.loaded.state
        if verb in ("delete", "destroy"):
            if key not in state.tables and verb == "delete":
                raise ScriptError(f"{token.path}:{token.line}: table {family} {name} does not exist")
            state.tables.pop(key, None)
            self.loaded.touched.add(key)
            return
        if verb == "flush":
            for chain in self._table(key, token).chains.values():
                chain.rules = []
            self.loaded.touched.add(key)
            return
        if verb == "create" and key in state.tables:
            raise ScriptError(f"{token.path}:{token.line}: table {family} {name} exists")
        table = state.tables.get(key)
        if table is None:
            table = state.tables[key] = NftTable(family, name, f"{token.path}:{token.line}")
        if self.accept("{"):
            self.scopes.append({})
            self.table_body(table)
            self.scopes.pop()

    def _table(self, key: tuple[str, str], token: Token) -> NftTable:
        table = self.loaded.state.tables.get(key)
        if table is None:
            raise ScriptError(f"{token.path}:{token.line}: table {key[0]} {key[1]} does not exist")
        return table

    def table_body(self, table: NftTable) -> None:
        while True:
            self.separators()
            token = self.peek()
            if token is None:
                raise ScriptError(f"{table.origin}: table {table.name} is not closed")
            word = token.value
            if token.kind == "punct" and word == "}":
                self.next()
                return
            self.next()
            if word in ("include", "define", "redefine", "undefine"):
                self.include() if word == "include" else self.define(word)
            elif word == "flags":
                flags = [self.next().value]
                while self.accept(","):
                    flags.append(self.next().value)
                table.flags = flags
                self.end_of_item("flags")
            elif word == "comment":
                self.next()
                self.end_of_item("a comment")
            elif word == "chain":
                name = self.name()
                chain = self._chain(table, name)
                self.expect("{")
                self.scopes.append({})
                self.chain_body(table, chain)
                self.scopes.pop()
                self.end_of_item(f"chain {name.value}")
            elif word in ("set", "map"):
                name = self.name()
                self.expect("{")
                self.set_body(table, name, word == "map")
                self.end_of_item(f"set {name.value}")
            elif word in _OBJECTS or word == "ct":
                if word == "ct":
                    self.next()
                self.name()
                if self.accept("{"):
                    self.skip_block()
            else:
                raise ScriptError(f"{token.path}:{token.line}: unexpected {token} in table {table.name}")

    def skip_block(self) -> None:
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "punct" and token.value == "{":
                depth += 1
            elif token.kind == "punct" and token.value == "}":
                depth -= 1

    # chains

    def _chain(self, table: NftTable, name: Token) -> NftChain:
        chain = table.chains.get(name.value)
        if chain is None:
            chain = table.chains[name.value] = NftChain(name.value, f"{name.path}:{name.line}")
        return chain

    def chain_command(self, verb: str) -> None:
        family, table_name, token = self.family_and_name()
        table = self._table((family, table_name), token)
        name = self.name()
        if verb in ("delete", "destroy"):
            chain = table.chains.get(name.value)
            if chain is None and verb == "delete":
                raise ScriptError(f"{name.path}:{name.line}: chain {name.value} does not exist")
            if chain is not None and chain.rules:
                raise ScriptError(f"{name.path}:{name.line}: chain {name.value} is not empty")
            table.chains.pop(name.value, None)
            return
        if verb == "flush":
            if name.value not in table.chains:
                raise ScriptError(f"{name.path}:{name.line}: chain {name.value} does not exist")
            table.chains[name.value].rules = []
            return
        if verb == "create" and name.value in table.chains:
            raise ScriptError(f"{name.path}:{name.line}: chain {name.value} exists")
        chain = self._chain(table, name)
        if self.accept("{"):
            self.scopes.append({})
            self.chain_body(table, chain)
            self.scopes.pop()

    def chain_body(self, table: NftTable, chain: NftChain) -> None:
        self.context.family = table.family
        while True:
            self.separators()
            token = self.peek()
            if token is None:
                raise ScriptError(f"{chain.origin}: chain {chain.name} is not closed")
            if token.kind == "punct" and token.value == "}":
                self.next()
                return
            word = token.value if token.kind == "word" else ""
            if word in ("include", "define", "redefine", "undefine"):
                self.next()
                self.include() if word == "include" else self.define(word)
            elif word == "type":
                self.next()
                self.hook_spec(table, chain, token)
                self.end_of_item("the hook")
            elif word == "policy":
                self.next()
                policy = self.expect("accept", "drop").value
                if chain.hook is None:
                    raise ScriptError(f"{token.path}:{token.line}: a policy on a chain without a hook")
                chain.hook["policy"] = policy
                self.end_of_item("the policy")
            elif word == "comment":
                self.next()
                self.next()
                self.end_of_item("a comment")
            elif word == "flags" or word == "devices":
                self.statement_tokens()
                self.end_of_item(word)
            else:
                self.rule(table, chain, self.statement_tokens(), append=True)
                self.end_of_item("a rule")

    def hook_spec(self, table: NftTable, chain: NftChain, where: Token) -> None:
        kind = self.expect("filter", "nat", "route").value
        self.expect("hook")
        hook = self.next().value
        spec: dict[str, Any] = {"type": kind, "hook": hook}
        devices: list[str] = []
        if self.accept("device"):
            devices = [self.name().value]
        elif self.accept("devices"):
            self.expect("=")
            if self.accept("{"):
                while not self.accept("}"):
                    if not self.accept(","):
                        devices.append(self.name().value)
            else:
                devices = [self.name().value]
        self.expect("priority")
        spec["prio"] = self.priority(table.family)
        if devices:
            spec["dev"] = devices[0] if len(devices) == 1 else devices
            self.context.interfaces_needed.update(devices)
        if chain.hook is not None and (chain.hook.get("hook"), chain.hook.get("type")) != (hook, kind):
            raise ScriptError(f"{where.path}:{where.line}: chain {chain.name} exists with another hook")
        spec["policy"] = chain.hook.get("policy", "accept") if chain.hook else "accept"
        chain.hook = spec
        chain.origin = f"{where.path}:{where.line}"

    def priority(self, family: str) -> int:
        token = self.next()
        sign = 1
        if token.kind == "punct" and token.value == "-":
            token, sign = self.next(), -1
        if token.kind == "number":
            value = sign * token.number
        else:
            names = BRIDGE_PRIORITIES if family == "bridge" else PRIORITIES
            if token.value not in names:
                raise ScriptError(f"{token.path}:{token.line}: unknown priority {token}")
            value = names[token.value]
        while self.at("+", "-"):
            operator = self.next().value
            offset = self.next()
            if offset.kind != "number":
                raise ScriptError(f"{offset.path}:{offset.line}: priority offset must be a number")
            value += offset.number if operator == "+" else -offset.number
        return value

    # rules

    def rule_command(self, verb: str, where: Token) -> None:
        family, table_name, token = self.family_and_name()
        table = self._table((family, table_name), token)
        name = self.name()
        chain = table.chains.get(name.value)
        if chain is None:
            raise ScriptError(f"{name.path}:{name.line}: chain {name.value} does not exist")
        if verb in ("delete", "destroy", "replace") or self.at("handle", "position"):
            raise ScriptError(f"{where.path}:{where.line}: rules addressed by handle are not evaluated")
        index: int | None = None
        if self.accept("index"):
            index = self.next().number
        self.rule(table, chain, self.statement_tokens(), append=verb == "add", index=index)

    def rule(
        self, table: NftTable, chain: NftChain, tokens: list[Token], append: bool, index: int | None = None
    ) -> None:
        if not tokens:
            return
        self.context.family = table.family
        self.context.set_kinds = {}
        try:
            expr = RuleParser(tokens, self.context).parse()
        except NftSyntaxError as exc:
            raise ScriptError(str(exc)) from None
        self.pending.append((table, chain, expr, tokens[0]))
        if chain.hook is not None and chain.hook.get("type") != "nat" and _has_nat(expr):
            raise ScriptError(
                f"{tokens[0].path}:{tokens[0].line}: nat statements are refused outside a nat chain"
            )
        rule = NftRule(expr, self._text(tokens), f"{tokens[0].path}:{tokens[0].line}")
        if index is None:
            chain.rules.append(rule) if append else chain.rules.insert(0, rule)
        else:
            if not 0 <= index < len(chain.rules):
                raise ScriptError(f"{tokens[0].path}:{tokens[0].line}: no rule at index {index}")
            chain.rules.insert(index + 1 if append else index, rule)

    def _text(self, tokens: list[Token]) -> str:
        path = tokens[0].path
        own = [t for t in tokens if t.path == path and t.end > t.start]
        text = self.texts.get(path, "")
        if not own or not text:
            return " ".join(str(t) for t in tokens)
        return " ".join(text[own[0].start : own[-1].end].split())[:300]

    # sets

    def set_command(self, verb: str, is_map: bool) -> None:
        family, table_name, token = self.family_and_name()
        table = self._table((family, table_name), token)
        name = self.name()
        if verb in ("delete", "destroy"):
            table.sets.pop(name.value, None)
            return
        if verb == "flush":
            if name.value not in table.sets:
                raise ScriptError(f"{name.path}:{name.line}: set {name.value} does not exist")
            table.sets[name.value].body["elem"] = []
            return
        self.expect("{")
        self.set_body(table, name, is_map)

    def set_body(self, table: NftTable, name: Token, is_map: bool) -> None:
        found = table.sets.get(name.value)
        body: dict[str, Any] = dict(found.body) if found else {}
        kinds: tuple[str, ...] = body.pop("_kinds", ())
        data: tuple[str, ...] | None = body.pop("_data", None)
        elements: list[Any] = list(body.get("elem", []))
        pending: list[Token] = []
        while True:
            self.separators()
            token = self.next()
            word = token.value
            if token.kind == "punct" and word == "}":
                break
            if word == "type":
                kinds, data, body["type"], map_type = self._type_spec()
                if map_type is not None:
                    body["map"] = map_type
            elif word == "typeof":
                kinds, data = self._typeof()
                body["type"] = list(kinds) if len(kinds) > 1 else kinds[0]
            elif word == "flags":
                flags = [self.next().value]
                while self.accept(","):
                    flags.append(self.next().value)
                body["flags"] = flags
            elif word == "elements":
                self.expect("=")
                pending = self._braced_tokens()
            elif word in ("timeout", "gc-interval", "size", "policy", "comment"):
                body[word] = self.next().value
            elif word in ("counter", "auto-merge"):
                pass
            else:
                raise ScriptError(f"{token.path}:{token.line}: unexpected {token} in set {name.value}")
            if word != "elements":
                self.end_of_item(f"{word} in set {name.value}")
        if not kinds:
            raise ScriptError(f"{name.path}:{name.line}: set {name.value} has no type")
        if pending:
            elements += self._elements(pending, kinds, data, "interval" in body.get("flags", []))
        body["elem"] = elements
        stored = NftSet(
            name.value,
            {**body, "_kinds": kinds, "_data": data},
            f"{name.path}:{name.line}",
            is_map or data is not None,
        )
        table.sets[name.value] = stored

    def _type_spec(self) -> tuple[tuple[str, ...], tuple[str, ...] | None, Any, Any]:
        names = [self.name().value]
        while self.accept("."):
            names.append(self.name().value)
        data_names: list[str] | None = None
        if self.accept(":"):
            data_names = [self.name().value]
            while self.accept("."):
                data_names.append(self.name().value)
        kinds = tuple(_kind(n) for n in names)
        data = tuple("verdict" if n == "verdict" else _kind(n) for n in data_names) if data_names else None
        type_json = names if len(names) > 1 else names[0]
        map_json = (data_names if len(data_names) > 1 else data_names[0]) if data_names else None
        return kinds, data, type_json, map_json

    def _typeof(self) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        tokens = self.statement_tokens()
        split = next((i for i, t in enumerate(tokens) if t.kind == "punct" and t.value == ":"), len(tokens))
        try:
            key = RuleParser(tokens[:split], self.context).expression()
            data = RuleParser(tokens[split + 1 :], self.context).expression() if split < len(tokens) else None
        except NftSyntaxError as exc:
            raise ScriptError(str(exc)) from None
        return key.kinds, (data.kinds if data else None)

    def _braced_tokens(self) -> list[Token]:
        start = self.expect("{")
        tokens = [start]
        depth = 1
        while depth:
            token = self.next()
            if token.kind == "newline":
                continue
            tokens.append(token)
            if token.kind == "punct" and token.value == "{":
                depth += 1
            elif token.kind == "punct" and token.value == "}":
                depth -= 1
        return tokens

    def _elements(
        self, tokens: list[Token], kinds: tuple[str, ...], data: tuple[str, ...] | None, interval: bool
    ) -> list[Any]:
        try:
            parser = RuleParser(tokens, self.context)
            found = parser.set_literal(kinds, data)["set"]
        except NftSyntaxError as exc:
            raise ScriptError(str(exc)) from None
        if not interval and any(_is_interval(e[0] if isinstance(e, list) else e) for e in found):
            raise ScriptError(
                f"{tokens[0].path}:{tokens[0].line}: a range or prefix in a set without "
                "`flags interval` (nft refuses it)"
            )
        return list(found)

    def element_command(self, verb: str) -> None:
        family, table_name, token = self.family_and_name()
        table = self._table((family, table_name), token)
        name = self.name()
        found = table.sets.get(name.value)
        if found is None:
            raise ScriptError(f"{name.path}:{name.line}: set {name.value} does not exist")
        tokens = self._braced_tokens()
        kinds = found.body.get("_kinds", ())
        data = found.body.get("_data")
        new = self._elements(tokens, kinds, data, "interval" in found.body.get("flags", []))
        if verb in ("delete", "destroy"):
            found.body["elem"] = [e for e in found.body.get("elem", []) if e not in new]
        else:
            found.body["elem"] = [*found.body.get("elem", []), *new]


def _kind(name: str) -> str:
    if name not in TYPE_NAMES:
        raise ScriptError(f"unknown datatype {name!r}")
    return TYPE_NAMES[name]


def _is_interval(element: Any) -> bool:
    if isinstance(element, dict) and "elem" in element:
        element = element["elem"].get("val")
    if isinstance(element, dict) and "concat" in element:
        return any(_is_interval(e) for e in element["concat"])
    return isinstance(element, dict) and ("range" in element or "prefix" in element)


# What the kernel refuses at a hook (checked along every jump from a base chain): reject after routing,
# a fib lookup by input interface where there is none, by output interface where there is none yet.
_REFUSED_AT = {
    "reject": ("postrouting",),
    "fib iif": ("output", "postrouting"),
    "fib oif": ("prerouting", "input"),
}


def _check_hooks(table: NftTable) -> None:
    if table.family not in ("ip", "ip6", "inet"):
        return
    hooks: dict[str, set[str]] = {}
    pending = [(name, chain.hook["hook"]) for name, chain in table.chains.items() if chain.hook]
    while pending:
        name, hook = pending.pop()
        if hook in hooks.setdefault(name, set()):
            continue
        hooks[name].add(hook)
        for rule in table.chains[name].rules:
            for target in _targets(rule.expr):
                if target in table.chains:
                    pending.append((target, hook))
    for name, reached in hooks.items():
        for rule in table.chains[name].rules:
            for need in _needs(rule.expr):
                refused = reached & set(_REFUSED_AT[need])
                if refused:
                    hook = sorted(refused)[0]
                    raise ScriptError(
                        f"{rule.origin}: the kernel refuses {need} at the {hook} hook (chain {name})"
                    )


def _targets(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("jump", "goto") and isinstance(value, dict) and isinstance(value.get("target"), str):
                found.append(value["target"])
            else:
                found += _targets(value)
    elif isinstance(node, list):
        for item in node:
            found += _targets(item)
    return found


def _needs(expr: list[Any]) -> list[str]:
    needs: list[str] = []
    text = json.dumps(expr)
    if '"reject"' in text:
        needs.append("reject")
    for statement in expr:
        fib = statement.get("match", {}).get("left", {}).get("fib") if isinstance(statement, dict) else None
        if isinstance(fib, dict):
            flags = fib.get("flags", [])
            flags = flags if isinstance(flags, list) else [flags]
            if "iif" in flags:
                needs.append("fib iif")
            if "oif" in flags:
                needs.append("fib oif")
    return needs


def _has_nat(expr: list[Any]) -> bool:
    return any(
        isinstance(s, dict) and any(k in s for k in ("snat", "dnat", "masquerade", "redirect")) for s in expr
    )


def _check_references(table: NftTable, chain: NftChain, expr: list[Any], where: Token) -> None:
    """nft refuses a rule that jumps to a chain, or looks up a set, that does not exist."""

    def visit(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name in ("jump", "goto") and isinstance(value, dict):
                    target = value.get("target")
                    if target not in table.chains:
                        raise ScriptError(
                            f"{where.path}:{where.line}: jump to chain {target}, which does not "
                            "exist (nft refuses the file)"
                        )
                    if target == chain.name:
                        raise ScriptError(f"{where.path}:{where.line}: chain {target} jumps to itself")
                visit(value, name)
        elif isinstance(node, list):
            for item in node:
                visit(item, key)
        elif (
            isinstance(node, str)
            and node.startswith("@")
            and key in ("right", "data", "set", "flowtable")
            and node[1:] not in table.sets
        ):
            raise ScriptError(f"{where.path}:{where.line}: set {node} does not exist (nft refuses the file)")

    visit(expr)


def load_script(
    files: HostFiles, path: str, context: Context, include_paths: tuple[str, ...] = ("/etc",), cwd: str = "/"
) -> Loaded:
    """Parse `nft -f path` as nft would at boot; raises ScriptError with file:line on any problem."""
    return ScriptParser(files, context, include_paths, cwd).run(path)


def clean_sets(state: NftState) -> None:
    """Drop the parser's private keys from set bodies (the JSON nft prints has none)."""
    for table in state.tables.values():
        for found in table.sets.values():
            found.body = {k: v for k, v in found.body.items() if not k.startswith("_")}
