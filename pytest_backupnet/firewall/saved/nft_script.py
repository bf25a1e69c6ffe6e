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

from typing import Any

from .files import HostFiles
from .nft_checks import check_hooks, check_references, has_nat
from .nft_lexer import Token
from .nft_rules import Context, NftSyntaxError, RuleParser
from .nft_script_cursor import (
    _OBJECTS,
    BRIDGE_PRIORITIES,
    FAMILIES,
    MAX_INCLUDE_DEPTH,
    PRIORITIES,
    Loaded,
    ScriptError,
)
from .nft_sets import SetCommands
from .nft_state import NftChain, NftRule, NftState, NftTable

__all__ = ["MAX_INCLUDE_DEPTH", "Loaded", "ScriptError", "ScriptParser", "clean_sets", "load_script"]


class ScriptParser(SetCommands):
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
                check_references(table, chain, expr, where)
        for table in self.loaded.state.tables.values():
            check_hooks(table)
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
        if chain.hook is not None and chain.hook.get("type") != "nat" and has_nat(expr):
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
