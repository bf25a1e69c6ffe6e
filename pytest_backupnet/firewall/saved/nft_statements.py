"""The statements of a rule that are not matches: verdicts' kin (reject, queue), counters, logs,
limits and quotas, NAT, set updates, meters, dup/fwd; written as `nft -j` writes them."""

from __future__ import annotations

from typing import Any

from .nft_cursor import _BYTE_UNITS, _LOG_LEVELS, _NAT_FLAGS, _REJECT_TYPES, _TIME_UNITS, _VERDICTS, JSON
from .nft_values import ValueParser


class StatementParser(ValueParser):
    def reject(self) -> JSON:
        self.expect("reject")
        family = self.context.family
        if not self.accept("with"):  # nft picks the ICMP of the rule's network protocol, where it knows it
            network = {"ip": "icmp", "ip6": "icmpv6"}
            kind = network.get(family) or network.get(self.network) or "icmpx"
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


_ = Any
