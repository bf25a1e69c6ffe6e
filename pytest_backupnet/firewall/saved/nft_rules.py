"""One nftables rule (its tokens) -> its statements in `nft -j`'s JSON, as nft's parser reads it.

Left-hand expressions (payload, meta, ct, fib, ...) fix the datatype of the constants they are
compared with (see nft_types); statements (verdicts, reject, nat, mangle, set updates, limits,
logs, ...) are written as `nft -j list ruleset` writes them. Anything this grammar does not know
raises NftSyntaxError: the caller then cannot evaluate the file rather than guess.
"""

from __future__ import annotations

from typing import Any

from .nft_cursor import _FIB_FLAGS, _NAT, _RELATIONS, _VERDICTS, JSON, Context, NftSyntaxError, _Expr
from .nft_lexer import Token
from .nft_statements import StatementParser
from .nft_types import BARE_META, BITMASKS, CT_KEYS, META_KEYS, PAYLOAD
from .nft_values import fold_flags

__all__ = ["Context", "NftSyntaxError", "RuleParser", "parse_rule", "without_implied"]


class RuleParser(StatementParser):
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
        return without_implied(statements, self.context.family)

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
            right = fold_flags(left.kinds[0], right)  # `tcp flags == syn|ack` compares with 0x12
        self.rule_protocols(left.json, right)
        return {"match": {"op": operator, "left": left.json, "right": right}}

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


def parse_rule(tokens: list[Token], context: Context) -> list[JSON]:
    return RuleParser(tokens, context).parse()


def without_implied(statements: list[JSON], family: str) -> list[JSON]:
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
    """The protocol a statement needs: a payload match's, or an ICMP reject's."""
    reject = statement.get("reject") if isinstance(statement, dict) else None
    if isinstance(reject, dict) and reject.get("type") in ("icmp", "icmpv6"):
        return str(reject["type"])
    match = statement.get("match") if isinstance(statement, dict) else None
    left = match.get("left") if isinstance(match, dict) else None
    while isinstance(left, dict) and len(left) == 1 and next(iter(left)) in ("&", "|", "^"):
        operands = next(iter(left.values()))
        left = operands[0] if isinstance(operands, list) and operands else None
    if isinstance(left, dict) and isinstance(left.get("payload"), dict):
        return str(left["payload"].get("protocol", ""))
    return ""


_NETWORK_OF = {"ip": "ipv4", "icmp": "ipv4", "igmp": "ipv4", "ip6": "ipv6", "icmpv6": "ipv6"}


_TRANSPORTS = ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "esp", "ah", "comp")


_ = Any
