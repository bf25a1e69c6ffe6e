"""One nftables rule (its tokens) -> its statements in `nft -j`'s JSON, as nft's parser reads it.

Left-hand expressions (payload, meta, ct, fib, ...) fix the datatype of the constants they are
compared with (see nft_types); statements (verdicts, reject, nat, mangle, set updates, limits,
logs, ...) are written as `nft -j list ruleset` writes them. Anything this grammar does not know
raises NftSyntaxError: the caller then cannot evaluate the file rather than guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model import CT_STATE, CT_STATUS, TCP_FLAGS
from .nft_lexer import Token
from .nft_types import BARE_META, BITMASKS, CT_KEYS, META_KEYS, PAYLOAD, TypeError_, service_port

JSON = Any
_RELATIONS = ("==", "!=", "<", ">", "<=", ">=")
_VERDICTS = ("accept", "drop", "continue", "return")
_FIB_FLAGS = ("saddr", "daddr", "mark", "iif", "oif")
_REJECT_TYPES = ("icmp", "icmpv6", "icmpx")
_NAT = ("snat", "dnat", "masquerade", "redirect")
_NAT_FLAGS = ("random", "fully-random", "persistent", "netmap")
_TIME_UNITS = ("second", "minute", "hour", "day", "week")
_BYTE_UNITS = ("bytes", "kbytes", "mbytes", "gbytes")
_LOG_LEVELS = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug", "audit")


class NftSyntaxError(ValueError):
    def __init__(self, token: Token | None, message: str) -> None:
        where = f"{token.path}:{token.line}: " if token else ""
        super().__init__(f"{where}{message}")
        self.token = token


@dataclass
class Context:
    """What a rule's constants are resolved against (the host's own files, like nft at boot)."""

    family: str = "ip"
    services: Mapping[str, int] = field(default_factory=dict)
    users: Mapping[str, int] = field(default_factory=dict)
    groups: Mapping[str, int] = field(default_factory=dict)
    set_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # named set -> key kinds
    interfaces_needed: set[str] = field(default_factory=set)  # iif/oif names: resolved at load time


@dataclass
class _Expr:
    json: JSON
    kinds: tuple[str, ...]  # datatype of each concatenated part


class RuleParser:
    def __init__(self, tokens: list[Token], context: Context) -> None:
        self.tokens = [t for t in tokens if t.kind != "newline"]
        self.position = 0
        self.context = context
        self.network = {"ip": "ip", "ip6": "ip6"}.get(context.family, "")  # the rule's network protocol
        self.transport = ""

    def rule_protocols(self, left: JSON, right: JSON) -> None:
        """nft refuses a rule whose matches need two network (or transport) protocols at once."""
        network = ""
        transport = ""
        if isinstance(left, dict) and "meta" in left and left["meta"].get("key") == "nfproto":
            if self.context.family != "inet":
                raise self.error("meta nfproto is refused outside an inet table")
            network = {"ipv4": "ip", "ipv6": "ip6"}.get(right if isinstance(right, str) else "", "")
        is_l4proto = (
            "meta" in left and left["meta"].get("key") == "l4proto" if isinstance(left, dict) else False
        )
        is_protocol_field = (
            "payload" in left and left["payload"].get("field") in ("protocol", "nexthdr")
            if isinstance(left, dict)
            else False
        )
        if is_l4proto or is_protocol_field:
            transport = (
                {"ipv6-icmp": "icmpv6", "icmpv6": "icmpv6"}.get(right, right)
                if isinstance(right, str)
                else ""
            )
        self._protocols(network, transport)

    def payload_protocols(self, protocol: str) -> None:
        network = {"ip": "ip", "icmp": "ip", "igmp": "ip", "ip6": "ip6", "icmpv6": "ip6"}.get(protocol, "")
        transport = (
            protocol if protocol in ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6") else ""
        )
        self._protocols(network, transport)

    def _protocols(self, network: str, transport: str) -> None:
        if network:
            if self.network and self.network != network:
                raise self.error(f"conflicting protocols specified: {self.network} vs. {network}")
            self.network = network
        if transport:
            if self.transport and self.transport != transport:
                raise self.error(f"conflicting protocols specified: {self.transport} vs. {transport}")
            self.transport = transport

    # token helpers

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, *values: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.kind in ("word", "punct") and token.value in values

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else None
            raise NftSyntaxError(last, "unexpected end of rule")
        self.position += 1
        return token

    def expect(self, *values: str) -> Token:
        token = self.next()
        if token.kind not in ("word", "punct") or token.value not in values:
            raise NftSyntaxError(token, f"expected {' or '.join(values)}, found {token}")
        return token

    def accept(self, *values: str) -> bool:
        if self.at(*values):
            self.position += 1
            return True
        return False

    def error(self, message: str) -> NftSyntaxError:
        return NftSyntaxError(self.peek() or (self.tokens[-1] if self.tokens else None), message)

    # the rule

    def parse(self) -> list[JSON]:
        statements: list[JSON] = []
        while self.peek() is not None:
            if self.at(";"):
                self.next()
                continue
            before = self.transport
            found = self.statement()
            if found and found[-1] == {"reject": {"type": "tcp reset"}} and not before:
                # nft puts the protocol match a tcp reset needs at the start of the rule
                statements.insert(
                    0, {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}
                )
                self.transport = "tcp"
            statements += found
        return _without_implied(statements, self.context.family)

    def statement(self) -> list[JSON]:
        token = self.peek()
        assert token is not None
        word = token.value if token.kind == "word" else ""
        if word in _VERDICTS:
            self.next()
            return [{word: None}]
        if word in ("jump", "goto"):
            self.next()
            return [{word: {"target": self.name()}}]
        if word == "reject":
            return [self.reject()]
        if word == "counter":
            return [self.counter()]
        if word == "log":
            return [self.log()]
        if word == "limit":
            return [self.limit()]
        if word == "quota":
            return [self.quota()]
        if word == "notrack":
            self.next()
            return [{"notrack": None}]
        if word in _NAT:
            return [self.nat()]
        if word == "queue":
            return [self.queue()]
        if word == "comment":
            self.next()
            self.next()
            return []
        if word in ("add", "update", "delete") and self.at("@", offset=1):
            return [self.set_statement()]
        if word == "set" and self.at("add", "update", "delete", offset=1):
            return [self.old_set_statement()]
        if word == "meter":
            return [self.meter()]
        if word in ("dup", "fwd"):
            return [self.dup_fwd()]
        if word in ("tproxy", "synproxy", "xt", "secmark"):
            return [self.opaque_statement()]
        if word == "flow" and self.at("add", "offload", offset=1):
            self.next()
            self.next()
            self.expect("@")
            return [{"flow": {"op": "add", "flowtable": "@" + self.name()}}]
        if word == "last":
            self.next()
            if self.accept("used"):
                self.next()
            return [{"last": None}]
        if word == "ct" and self.at("count", offset=1):
            self.next()
            self.next()
            inverted = self.accept("over")
            number = self.integer()
            return [{"ct count": {"val": number, "inv": inverted}}]
        if (
            word == "ct"
            and self.at("helper", "timeout", "expectation", offset=1)
            and self.at("set", offset=2)
        ):
            self.next()
            kind = self.next().value
            self.next()
            following = self.peek()
            if following is not None and following.kind == "word" and not self.at(*_VERDICTS):
                source = self.expression()
                if self.accept("map"):
                    return [
                        {
                            f"ct {kind}": {
                                "map": {"key": source.json, "data": self.map_data(source.kinds, ("string",))}
                            }
                        }
                    ]
                return [{f"ct {kind}": source.json}]
            return [{f"ct {kind}": self.name()}]
        return [self.match_or_mangle()]

    # matches

    def match_or_mangle(self) -> JSON:
        left = self.expression()
        if self.accept("set"):
            value = self.value_expression(left.kinds)
            return {"mangle": {"key": left.json, "value": value}}
        if self.accept("vmap"):
            return {"vmap": {"key": left.json, "data": self.map_data(left.kinds, ("verdict",))}}
        operator = "implicit"
        if self.at(*_RELATIONS):
            operator = self.next().value
        right, is_list, is_set = self.right_side(left.kinds)
        if self.at("/") and len(left.kinds) == 1 and left.kinds[0] in BITMASKS and not is_set:
            self.next()  # "tcp flags syn / syn,ack": (flags & mask) == value
            mask = [self.rhs_value(left.kinds)]
            while self.accept(","):
                mask.append(self.rhs_value(left.kinds))
            masked = {"&": [left.json, mask if len(mask) > 1 else mask[0]]}
            return {
                "match": {"op": "==" if operator == "implicit" else operator, "left": masked, "right": right}
            }
        if operator == "implicit":
            if is_list or (len(left.kinds) == 1 and left.kinds[0] in BITMASKS and not is_set):
                operator = "in"
            else:
                operator = "=="
        elif isinstance(right, list) and not is_list and len(left.kinds) == 1:
            right = _fold_flags(left.kinds[0], right)  # `tcp flags == syn|ack` compares with 0x12
        self.rule_protocols(left.json, right)
        return {"match": {"op": operator, "left": left.json, "right": right}}

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
            value = _fold(operator, value, other)
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

    # left-hand expressions

    def expression(self) -> _Expr:
        parts = [self.basic()]
        while self.at(".") and not self.at("{", offset=1):
            self.next()
            parts.append(self.basic())
        if len(parts) == 1:
            return parts[0]
        kinds = tuple(k for p in parts for k in p.kinds)
        return _Expr({"concat": [p.json for p in parts]}, kinds)

    def basic(self) -> _Expr:
        left = self.primary()
        while self.at("&", "|", "^", "<<", ">>"):
            operator = self.next().value
            if operator in ("<<", ">>"):
                other = self.integer()
            else:
                other = self.or_value(left.kinds[0]) if len(left.kinds) == 1 else self.integer()
            left = _Expr({operator: [left.json, other]}, left.kinds)
        return left

    def primary(self) -> _Expr:
        token = self.next()
        word = token.value
        if token.kind == "punct" and word == "(":
            inner = self.basic()
            self.expect(")")
            return inner
        if token.kind == "punct" and word == "@":
            return self.raw_payload()
        if token.kind != "word":
            raise NftSyntaxError(token, f"unexpected {token} where a match begins")
        if (
            word in ("ip", "ip6")
            and self.at("option", "version", "hdrlength")
            and word == "ip"
            and self.at("option")
        ):
            return self.ip_option()
        if word in PAYLOAD:
            if word == "tcp" and self.at("option"):
                return self.tcp_option()
            if word == "arp" and self.at("saddr", "daddr"):
                direction = self.next().value
                what = self.expect("ip", "ether").value
                return _Expr(
                    {"payload": {"protocol": "arp", "field": f"{direction} {what}"}},
                    ("ipv4" if what == "ip" else "ether",),
                )
            field_token = self.next()
            kind = PAYLOAD[word].get(field_token.value)
            if kind is None:
                raise NftSyntaxError(field_token, f"{word} has no field {field_token}")
            self.payload_protocols(word)
            return _Expr({"payload": {"protocol": word, "field": field_token.value}}, (kind,))
        if word == "meta":
            key = self.next().value
            if key not in META_KEYS:
                raise NftSyntaxError(token, f"unknown meta key {key!r}")
            return _Expr({"meta": {"key": key}}, (META_KEYS[key],))
        if word in BARE_META:
            return _Expr({"meta": {"key": word}}, (META_KEYS[word],))
        if word == "ct":
            return self.ct()
        if word == "fib":
            return self.fib()
        if word == "rt":
            family = self.next().value if self.at("ip", "ip6") else ""
            key = self.expect("classid", "nexthop", "mtu", "ipsec").value
            body: dict[str, Any] = {"key": key, **({"family": family} if family else {})}
            kind = {"classid": "int", "mtu": "int", "ipsec": "bool"}.get(
                key, "ipv4" if family != "ip6" else "ipv6"
            )
            return _Expr({"rt": body}, (kind,))
        if word == "socket":
            key = self.expect("transparent", "mark", "wildcard", "cgroupv2").value
            if key == "cgroupv2":
                self.expect("level")
                self.integer()
            return _Expr({"socket": {"key": key}}, ("int",))
        if word == "osf":
            if self.accept("ttl"):
                self.next()
            key = self.expect("name", "version").value
            return _Expr({"osf": {"key": key}}, ("string",))
        if word in ("numgen", "jhash", "symhash"):
            return self.hash_expr(word)
        if word == "ipsec":
            direction = self.expect("in", "out").value
            if self.accept("spnum"):
                self.integer()
            if self.at("ip", "ip6"):
                family = self.next().value
                key = self.expect("saddr", "daddr").value
                return _Expr(
                    {"ipsec": {"key": key, "family": family, "dir": direction}},
                    ("ipv4" if family == "ip" else "ipv6",),
                )
            key = self.expect("reqid", "spi").value
            return _Expr({"ipsec": {"key": key, "dir": direction}}, ("int",))
        if word in ("exthdr", "hbh", "rt0", "rt2", "srh", "frag", "dst", "mh"):
            return self.exthdr(word)
        if word == "sctp" and self.at("chunk"):
            self.next()
            name = self.next().value
            following = self.peek()
            field_name = (
                self.next().value
                if following is not None and following.kind == "word" and not self.at("exists", "missing")
                else ""
            )
            return _Expr(
                {"sctp chunk": {"name": name, "field": field_name}}, ("bool" if not field_name else "int",)
            )
        raise NftSyntaxError(token, f"unknown expression {word!r}")

    def ct(self) -> _Expr:
        direction = ""
        if self.at("original", "reply"):
            direction = self.next().value
        family = ""
        if direction and self.at("ip", "ip6"):
            family = self.next().value
        key_token = self.next()
        key = key_token.value
        if key not in CT_KEYS:
            raise NftSyntaxError(key_token, f"unknown ct key {key!r}")
        kind = CT_KEYS[key]
        body: dict[str, Any] = {"key": key}
        if key in ("saddr", "daddr"):
            if not direction:
                raise NftSyntaxError(key_token, f"ct {key} needs original or reply")
            kind = (
                "ipv4"
                if family == "ip"
                else (
                    "ipv6"
                    if family == "ip6"
                    else {"ip": "ipv4", "ip6": "ipv6"}.get(self.context.family, "addr")
                )
            )
            if family:
                body["family"] = family
        if direction:
            body["dir"] = direction
        return _Expr({"ct": body}, (kind,))

    def fib(self) -> _Expr:
        flags = [self.expect(*_FIB_FLAGS).value]
        while self.at("."):
            self.next()
            flags.append(self.expect(*_FIB_FLAGS).value)
        result = self.expect("oif", "oifname", "type").value
        kind = {"oif": "ifindex", "oifname": "ifname", "type": "fibtype"}[result]
        if self.at("exists", "missing"):
            kind = "bool"
        return _Expr({"fib": {"result": result, "flags": flags}}, (kind,))

    def hash_expr(self, word: str) -> _Expr:
        body: dict[str, Any] = {}
        if word == "numgen":
            body["mode"] = self.expect("inc", "random").value
        elif word == "jhash":
            body["expr"] = self.expression().json
        self.expect("mod")
        body["mod"] = self.integer()
        while self.at("seed", "offset"):
            body[self.next().value] = self.integer()
        return _Expr({word: body}, ("int",))

    def exthdr(self, word: str) -> _Expr:
        name = word
        if word == "exthdr":
            name = self.next().value
        if self.at("exists", "missing"):
            return _Expr({"exthdr": {"name": name}}, ("bool",))
        field_name = self.next().value
        return _Expr({"exthdr": {"name": name, "field": field_name}}, ("int",))

    def tcp_option(self) -> _Expr:
        self.expect("option")
        name = self.next().value
        field_name = ""
        if self.peek() is not None and self.peek().kind == "word" and not self.at("exists", "missing", "set"):  # type: ignore[union-attr]
            field_name = self.next().value
        body = {"name": name, **({"field": field_name} if field_name else {})}
        return _Expr({"tcp option": body}, ("int" if field_name else "bool",))

    def ip_option(self) -> _Expr:
        self.expect("option")
        name = self.next().value
        field_name = ""
        if self.peek() is not None and self.peek().kind == "word" and not self.at("exists", "missing", "set"):  # type: ignore[union-attr]
            field_name = self.next().value
        body = {"name": name, **({"field": field_name} if field_name else {})}
        return _Expr({"ip option": body}, ("int" if field_name else "bool",))

    def raw_payload(self) -> _Expr:
        base = self.expect("ll", "nh", "th", "ih").value
        self.expect(",")
        offset = self.integer()
        self.expect(",")
        length = self.integer()
        return _Expr({"payload": {"base": base, "offset": offset, "len": length}}, ("int",))

    def value_expression(self, kinds: tuple[str, ...]) -> JSON:
        """What a mangle statement sets: a constant, another expression, or a map lookup."""
        token = self.peek()
        if (
            token is not None
            and token.kind == "word"
            and (
                token.value
                in (
                    "meta",
                    "ct",
                    "rt",
                    "numgen",
                    "jhash",
                    "symhash",
                    "ip",
                    "ip6",
                    "tcp",
                    "udp",
                    "th",
                    "socket",
                )
                or token.value in BARE_META
            )
        ):
            source = self.expression()
            if self.accept("map"):
                return {"map": {"key": source.json, "data": self.map_data(source.kinds, kinds)}}
            return source.json
        return self.or_value(kinds[0]) if len(kinds) == 1 else self.rhs_value(kinds)

    # statements

    def reject(self) -> JSON:
        self.expect("reject")
        family = self.context.family
        if not self.accept("with"):
            kind = {"ip": "icmp", "ip6": "icmpv6"}.get(family, "icmpx")
            return {"reject": {"type": kind, "expr": "port-unreachable"}}
        if self.at("tcp"):
            self.next()
            self.expect("reset")
            if self.transport and self.transport != "tcp":
                raise self.error("reject with tcp reset is refused after a match of another protocol")
            return {"reject": {"type": "tcp reset"}}
        kind = self.expect(*_REJECT_TYPES).value
        if kind == "icmpx" and family in ("ip", "ip6"):
            raise self.error("reject with icmpx is refused in an ip or ip6 table")
        if (kind, family) in (("icmp", "ip6"), ("icmpv6", "ip")):
            raise self.error(f"reject with {kind} is refused in an {family} table")
        self.accept("type")
        code = self.next()
        value: JSON = code.number if code.kind == "number" else code.value
        return {"reject": {"type": kind, "expr": value}}

    def counter(self) -> JSON:
        self.expect("counter")
        if self.accept("name"):
            return {"counter": self.name()}
        if self.accept("packets"):
            packets = self.integer()
            self.expect("bytes")
            return {"counter": {"packets": packets, "bytes": self.integer()}}
        return {"counter": {"packets": 0, "bytes": 0}}

    def log(self) -> JSON:
        self.expect("log")
        body: dict[str, Any] = {}
        while self.at("prefix", "level", "group", "snaplen", "queue-threshold", "flags"):
            word = self.next().value
            if word == "prefix":
                body["prefix"] = self.next().value
            elif word == "level":
                level = self.next().value
                if level not in _LOG_LEVELS:
                    raise self.error(f"unknown log level {level!r}")
                body["level"] = level
            elif word == "flags":
                flags = [self.next().value]
                while self.accept(","):
                    flags.append(self.next().value)
                body["flags"] = flags
            else:
                body[word] = self.integer()
        return {"log": body or None}

    def limit(self) -> JSON:
        self.expect("limit")
        if self.accept("name"):
            return {"limit": self.name()}
        self.expect("rate")
        inverted = self.accept("over")
        rate = self.integer()
        unit = ""
        if self.at(*_BYTE_UNITS):
            unit = self.next().value
        self.expect("/")
        per = self.expect(*_TIME_UNITS).value
        body: dict[str, Any] = {"rate": rate, "per": per}
        if unit:
            body["rate_unit"] = unit
        if self.accept("burst"):
            body["burst"] = self.integer()
            self.expect("packets", *_BYTE_UNITS)
        if inverted:
            body["inv"] = True
        return {"limit": body}

    def quota(self) -> JSON:
        self.expect("quota")
        if self.accept("name"):
            return {"quota": self.name()}
        mode = self.next().value if self.at("over", "until") else ""
        amount = self.integer()
        unit = self.expect(*_BYTE_UNITS).value
        if self.accept("used"):
            self.integer()
            self.expect(*_BYTE_UNITS)
        return {"quota": {"val": amount, "val_unit": unit, **({"inv": True} if mode == "over" else {})}}

    def queue(self) -> JSON:
        self.expect("queue")
        body: dict[str, Any] = {}
        while self.at("num", "bypass", "fanout", "flags", "to"):
            word = self.next().value
            if word in ("num", "to"):
                body["num"] = self.integer()
                if self.accept("-"):
                    self.integer()
            elif word == "flags":
                self.next()
                while self.accept(","):
                    self.next()
        return {"queue": body or None}

    def nat(self) -> JSON:
        kind = self.next().value
        body: dict[str, Any] = {}
        if kind in ("snat", "dnat") and self.at("ip", "ip6") and self.at("to", offset=1):
            body["family"] = self.next().value
        explicit = self.accept("to")
        if explicit or (
            self.peek() is not None and not self.at(*_NAT_FLAGS, *_VERDICTS, "counter", "log", "comment")
        ):
            if self.at(":"):
                self.next()
                body["port"] = self.port_spec()
            else:
                address = self.nat_address(body.get("family"))
                body["addr"] = address
                if self.accept(":"):
                    body["port"] = self.port_spec()
        flags: list[str] = []
        while self.at(*_NAT_FLAGS, ","):
            word = self.next().value
            if word != ",":
                flags.append(word)
        if flags:
            body["flags"] = flags
        if kind in ("snat", "dnat") and "addr" not in body:
            raise self.error(f"{kind} needs an address")
        if "port" in body and not self.transport:
            raise self.error("a nat port is refused without a transport protocol match before it")
        return {kind: body or None}

    def nat_address(self, family: str | None) -> JSON:
        kind = "ipv6" if family == "ip6" else ("ipv4" if family == "ip" else "addr")
        token = self.peek()
        if (
            token is not None
            and token.kind == "word"
            and token.value in ("ip", "ip6", "meta", "ct", "numgen", "jhash", "symhash", "tcp", "udp", "th")
        ):
            source = self.expression()
            self.expect("map")
            return {"map": {"key": source.json, "data": self.map_data(source.kinds, (kind,))}}
        return self.single_value(kind)

    def port_spec(self) -> JSON:
        token = self.peek()
        if (
            token is not None
            and token.kind == "word"
            and token.value in ("tcp", "udp", "th", "numgen", "jhash", "symhash", "meta", "ct")
        ):
            source = self.expression()
            self.expect("map")
            return {"map": {"key": source.json, "data": self.map_data(source.kinds, ("port",))}}
        first = self.constant("port")
        if self.accept("-"):
            return {"range": [first, self.constant("port")]}
        return first

    def set_statement(self) -> JSON:
        op = self.next().value
        self.expect("@")
        name = self.name()
        element = self.braced_element()
        return {"set": {"op": op, "elem": element, "set": "@" + name}}

    def old_set_statement(self) -> JSON:
        self.expect("set")
        op = self.next().value
        element = self.expression().json
        self.expect("@")
        return {"set": {"op": op, "elem": element, "set": "@" + self.name()}}

    def braced_element(self) -> JSON:
        self.expect("{")
        element = self.expression().json
        while self.at("timeout", "expires", "counter", "limit", "comment"):
            word = self.next().value
            if word == "limit":
                self.position -= 1
                self.limit()
            elif word != "counter":
                self.next()
        if self.accept(":"):
            self.expression()
        self.expect("}")
        return element

    def meter(self) -> JSON:
        self.expect("meter")
        name = self.name()
        if self.accept("size"):
            self.integer()
        self.expect("{")
        key = self.expression().json
        while not self.at("}"):
            if self.peek() is None:
                raise self.error("unterminated meter")
            self.next()
        self.expect("}")
        return {"meter": {"name": name, "key": key}}

    def dup_fwd(self) -> JSON:
        kind = self.next().value
        body: dict[str, Any] = {}
        if self.at("ip", "ip6"):
            body["family"] = self.next().value
        self.expect("to")
        target = self.next()
        body["addr" if target.kind == "address" else "dev"] = target.value
        if self.accept("device"):
            body["dev"] = self.next().value
        if "dev" in body:
            self.context.interfaces_needed.add(body["dev"])
        return {kind: body}

    def opaque_statement(self) -> JSON:
        word = self.next().value
        while self.peek() is not None and not self.at(*_VERDICTS, "counter", "log", "comment"):
            self.next()
        return {word: {}}

    # small pieces

    def name(self) -> str:
        token = self.next()
        if token.kind not in ("word", "string"):
            raise NftSyntaxError(token, f"expected a name, found {token}")
        return token.value

    def integer(self) -> int:
        token = self.next()
        if token.kind != "number":
            raise NftSyntaxError(token, f"expected a number, found {token}")
        return token.number


def parse_rule(tokens: list[Token], context: Context) -> list[JSON]:
    return RuleParser(tokens, context).parse()


_NETWORK_OF = {"ip": "ipv4", "icmp": "ipv4", "igmp": "ipv4", "ip6": "ipv6", "icmpv6": "ipv6"}
_TRANSPORTS = ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "esp", "ah", "comp")


def _without_implied(statements: list[JSON], family: str) -> list[JSON]:
    """nft lists a rule without a protocol match that the very next payload match implies
    (`meta l4proto tcp tcp dport 22` lists as `tcp dport 22`): the same rule, written alike."""
    kept: list[JSON] = []
    for index, statement in enumerate(statements):
        following = _payload_protocol(statements[index + 1]) if index + 1 < len(statements) else ""
        match = statement.get("match") if isinstance(statement, dict) else None
        left = match.get("left") if isinstance(match, dict) else None
        right = match.get("right") if isinstance(match, dict) else None
        if following and isinstance(left, dict) and match.get("op") == "==" and isinstance(right, str):  # type: ignore[union-attr]
            meta = left["meta"].get("key") if isinstance(left.get("meta"), dict) else None
            payload = left["payload"] if isinstance(left.get("payload"), dict) else {}
            own = {"ip": ("ip", "protocol"), "ip6": ("ip6", "nexthdr")}.get(family)
            name = {"ipv6-icmp": "icmpv6"}.get(right, right)
            if meta == "nfproto" and _NETWORK_OF.get(following) == right:
                continue
            if (
                meta == "l4proto" or (payload.get("protocol"), payload.get("field")) == own
            ) and name == following:
                continue
        kept.append(statement)
    return kept


def _payload_protocol(statement: JSON) -> str:
    match = statement.get("match") if isinstance(statement, dict) else None
    left = match.get("left") if isinstance(match, dict) else None
    while isinstance(left, dict) and len(left) == 1 and next(iter(left)) in ("&", "|", "^"):
        operands = next(iter(left.values()))
        left = operands[0] if isinstance(operands, list) and operands else None
    if isinstance(left, dict) and isinstance(left.get("payload"), dict):
        return str(left["payload"].get("protocol", ""))
    return ""


_FLAG_BITS = {"tcpflags": TCP_FLAGS, "ctstate": CT_STATE, "ctstatus": CT_STATUS}


def _fold_flags(kind: str, names: list[JSON]) -> JSON:
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


def _fold(operator: str, left: int, right: int) -> int:
    if operator == "|":
        return left | right
    if operator == "&":
        return left & right
    if operator == "^":
        return left ^ right
    if operator == "<<":
        return left << right
    return left >> right
