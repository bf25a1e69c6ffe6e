"""Named sets and maps of an nftables script: their type, flags and elements, as nft reads them."""

from __future__ import annotations

from typing import Any

from .nft_lexer import Token
from .nft_rules import NftSyntaxError, RuleParser
from .nft_script_cursor import ScriptCursor, ScriptError
from .nft_state import NftSet, NftTable
from .nft_types import TYPE_NAMES


class SetCommands(ScriptCursor):
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

    def family_and_name(self) -> tuple[str, str, Token]:
        raise NotImplementedError

    def _table(self, key: tuple[str, str], token: Token) -> NftTable:
        raise NotImplementedError


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
