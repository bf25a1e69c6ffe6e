"""The constants a rule compares with: read by the datatype of what they are compared with, and
written as `nft -j` writes them (ports as numbers, one-bit flags as names, prefixes and ranges)."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..model import CT_STATE, CT_STATUS, TCP_FLAGS
from .nft_cursor import _VERDICTS, JSON, NftSyntaxError, TokenCursor
from .nft_lexer import Token
from .nft_types import BITMASKS, TypeError_, service_port


class ValueParser(TokenCursor):
    def right_side(self, kinds: tuple[str, ...]) -> tuple[JSON, bool, bool]:
        """(json, a comma list of flags, a set) of what a relation compares with."""
        if self.at("{"):
            return self.set_literal(kinds), False, True
        if self.accept("@"):
            return "@" + self.name(), False, True
        first = self.rhs_value(kinds)
        if self.at(",") and len(kinds) == 1:
            items = [first]
            while self.accept(","):
                items.append(self.rhs_value(kinds))
            return items, True, False
        return first, False, False

    def rhs_value(self, kinds: tuple[str, ...]) -> JSON:
        """A constant, range, prefix or concatenation of constants."""
        parts: list[JSON] = []
        for index, kind in enumerate(kinds):
            if index:
                self.expect(".")
            parts.append(self.single_value(kind))
        if len(parts) == 1:
            return parts[0]
        return {"concat": parts}

    def single_value(self, kind: str) -> JSON:
        value = self.or_value(kind)
        if self.at("-") and kind not in ("ifname", "string"):
            self.next()
            last = self.or_value(kind)
            return {"range": [value, last]}
        if self.at("/") and kind in ("ipv4", "ipv6", "addr") and isinstance(value, str):
            self.next()
            length = self.integer()
            return self.prefix(value, length)
        return value

    def or_value(self, kind: str) -> JSON:
        value = self.constant(kind)
        if kind in BITMASKS and self.at("|"):
            items = [value]
            while self.accept("|"):
                items.append(self.constant(kind))
            return items
        while self.at("|", "&", "^", "<<", ">>") and kind in ("int", "mark"):
            operator = self.next().value
            other = self.constant(kind)
            if not isinstance(value, int) or not isinstance(other, int):
                raise self.error("a bit operation on a non-number")
            value = fold(operator, value, other)
        return value

    def constant(self, kind: str) -> JSON:
        token = self.next()
        if token.kind == "punct" and token.value == "(":
            value = self.or_value(kind)
            self.expect(")")
            return value
        try:
            return self._constant(kind, token)
        except (TypeError_, ValueError) as exc:
            raise NftSyntaxError(token, str(exc)) from None

    def _constant(self, kind: str, token: Token) -> JSON:
        text, number = token.value, token.number
        if token.kind == "punct" and token.value == "*" and kind in ("ifname", "string"):
            return "*"
        if token.kind == "punct":
            raise TypeError_(f"unexpected {token.value!r}")
        if kind in ("ipv4", "ipv6", "addr"):
            if token.kind != "address":
                raise TypeError_(f"{text!r} is not an address (a host name would be resolved at load time)")
            version = ipaddress.ip_address(text).version
            if (kind == "ipv4" and version != 4) or (kind == "ipv6" and version != 6):
                raise TypeError_(f"{text} is not an IPv{4 if kind == 'ipv4' else 6} address")
            return text
        if kind == "port":
            if token.kind == "number":
                if not 0 <= number <= 65535:
                    raise TypeError_(f"port {number} out of range")
                return number
            return service_port(text, self.context.services)
        if kind in ("ifname", "string"):
            return text
        if kind == "ifindex":
            if token.kind == "number":
                return number
            if text != "lo":
                self.context.interfaces_needed.add(text)
            return text
        if kind in ("uid", "gid"):
            if token.kind == "number":
                return number
            names = self.context.users if kind == "uid" else self.context.groups
            if text in names:
                return names[text]
            raise TypeError_(f"{'user' if kind == 'uid' else 'group'} {text!r} is not known on the host")
        if kind == "bool":
            if text in ("exists", "true"):
                return True
            if text in ("missing", "false"):
                return False
            raise TypeError_(f"{text!r} is not a boolean")
        if token.kind == "number":
            return number
        if token.kind == "address":
            return text
        if kind in ("int", "mark") and token.kind != "number":
            raise TypeError_(f"{text!r} is not a number")
        return text

    def prefix(self, address: str, length: int) -> JSON:
        network = ipaddress.ip_network(f"{address}/{length}", strict=False)
        return {"prefix": {"addr": str(network.network_address), "len": length}}

    def set_literal(self, kinds: tuple[str, ...], data: tuple[str, ...] | None = None) -> JSON:
        """`{ a, b-c, d/8, ... }` (with `: value` for maps); a define's set inside is flattened."""
        self.expect("{")
        elements: list[JSON] = []
        while not self.at("}"):
            if self.accept(","):
                continue
            if self.at("{"):
                inner = self.set_literal(kinds, data)
                elements += inner["set"]
                continue
            key = self.rhs_value(kinds)
            key = self.element_options(key)
            if data is not None:
                self.expect(":")
                value = self.map_value(data)
                elements.append([key, value])
            else:
                elements.append(key)
        self.expect("}")
        return {"set": elements}

    def element_options(self, key: JSON) -> JSON:
        options: dict[str, JSON] = {}
        while self.at("timeout", "expires", "comment", "counter"):
            word = self.next().value
            if word == "counter":
                if self.accept("packets"):
                    self.integer()
                    self.expect("bytes")
                    self.integer()
                options["counter"] = None
                continue
            options[word] = self.next().value
        return {"elem": {"val": key, **options}} if options else key

    def map_value(self, data: tuple[str, ...]) -> JSON:
        if data == ("verdict",):
            word = self.next()
            if word.value in _VERDICTS:
                return {word.value: None}
            if word.value in ("jump", "goto"):
                return {word.value: {"target": self.name()}}
            raise NftSyntaxError(word, f"{word} is not a verdict")
        return self.rhs_value(data)

    def map_data(self, kinds: tuple[str, ...], data: tuple[str, ...]) -> JSON:
        if self.accept("@"):
            return "@" + self.name()
        if self.at("{"):
            return self.set_literal(kinds, data)
        raise self.error("expected a map")


_FLAG_BITS = {"tcpflags": TCP_FLAGS, "ctstate": CT_STATE, "ctstatus": CT_STATUS}


def fold_flags(kind: str, names: list[JSON]) -> JSON:
    table = _FLAG_BITS.get(kind, {})
    bits = 0
    for name in names:
        if isinstance(name, int):
            bits |= name
        elif isinstance(name, str) and name in table:
            bits |= table[name]
        else:
            return names
    return bits


def fold(operator: str, left: int, right: int) -> int:
    if operator == "|":
        return left | right
    if operator == "&":
        return left & right
    if operator == "^":
        return left ^ right
    if operator == "<<":
        return left << right
    return left >> right


_ = Any
