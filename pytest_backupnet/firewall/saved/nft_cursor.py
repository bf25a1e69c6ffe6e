"""Reading one nftables rule's tokens: the cursor, the context constants resolve in, and the
protocol bookkeeping with which nft refuses rules that need two protocols at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .nft_lexer import Token

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


class TokenCursor:
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

    def expression(self) -> _Expr:  # the rule parser reads left-hand expressions
        raise NotImplementedError
