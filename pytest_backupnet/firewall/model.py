"""The rules of every source (nftables, iptables-nft, iptables-legacy) in one form the evaluator reads.

A rule is a sequence of steps: tests (which narrow the packets that go on) and actions (which change
the packet's state or decide its fate), in the order the kernel runs them. Tests name a packet key
(see KEYS) and the values it is compared with; what the parsers cannot understand becomes an
`Opaque` test (its truth is unknown) or a `Taint` action (its effect is unknown), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .intervals import Intervals, contains

# Packet keys a test may read. Address keys come with the family they are read in (4 or 6).
KEYS = frozenset(
    {
        "saddr", "daddr", "ct.orig.saddr", "ct.orig.daddr", "ct.reply.saddr", "ct.reply.daddr",
        "nfproto", "protocol", "l4proto",
        "tcp.sport", "tcp.dport", "udp.sport", "udp.dport", "th.sport", "th.dport", "other.port",
        "tcp.flags", "icmp.type", "icmpv6.type",
        "iifname", "oifname", "iiftype", "oiftype",
        "skuid", "skgid", "socket",
        "mark", "ctmark", "ctstate", "ctstate.xt", "ctstatus", "ctdirection", "ctproto", "cthelper",
        "pkttype", "fib.daddr.type", "fib.saddr.type", "fib.saddr.oif", "fib.daddr.oif",
        "fragment", "ipsec", "arp.operation", "arp.saddr", "arp.daddr",
    }
)  # fmt: skip

# Values of keys, as the kernel (and nft) number them.
CT_STATE = {"invalid": 1, "established": 2, "related": 4, "new": 8, "untracked": 64}
XT_NAT_STATES = {"SNAT": 256, "DNAT": 512}  # xt_conntrack's virtual states, beside CT_STATE's bits
CT_STATUS = {
    "expected": 1,
    "seen-reply": 2,
    "assured": 4,
    "confirmed": 8,
    "snat": 16,
    "dnat": 32,
    "dying": 512,
}
CT_DIRECTION = {"original": 0, "reply": 1}
ADDRESS_TYPES = {
    "unspec": 0, "unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5,
    "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10, "xresolve": 11,
}  # fmt: skip
PKT_TYPES = {"host": 0, "unicast": 0, "broadcast": 1, "multicast": 2, "other": 3}
IF_TYPES = {"ether": 1, "ppp": 512, "ipip": 768, "ipip6": 769, "loopback": 772, "sit": 776, "ipgre": 778}
TCP_FLAGS = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "ack": 16, "urg": 32, "ecn": 64, "cwr": 128}
PROTOCOLS = {
    "ip": 0, "hopopt": 0, "icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "ipv6-route": 43,
    "ipv6-frag": 44, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59,
    "ipv6-opts": 60, "sctp": 132, "udplite": 136, "dccp": 33, "mh": 135, "ipcomp": 108,
}  # fmt: skip
ETHER_TYPES = {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806, "vlan": 0x8100, "8021q": 0x8100}
ARP_OPERATIONS = {
    "request": 1,
    "reply": 2,
    "rrequest": 3,
    "rreply": 4,
    "inrequest": 8,
    "inreply": 9,
    "nak": 10,
}
FULL_MARK = 0xFFFFFFFF


@dataclass(frozen=True)
class Values:
    """What a key is compared with: integer intervals, exact names, or name prefixes (`eth*`, `eth+`)."""

    ints: Intervals = ()
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def has(self, value: int | str) -> bool:
        if isinstance(value, int):
            return contains(self.ints, value)
        return value in self.names or any(value.startswith(p) for p in self.prefixes)


@dataclass(frozen=True)
class KeyTest:
    """`key` (masked, when `mask` is set) is in `values`; or with `any_bits`, shares a bit with them.

    `absent` is the result when the packet has no such key (no socket, no conntrack entry):
    nftables then stops the rule (False) whatever the operator; iptables' owner and conntrack
    matches have their own rules, given by the parser.
    """

    key: str
    values: Values
    negate: bool = False
    mask: int | None = None
    any_bits: bool = False
    family: int = 0
    absent: bool = False
    text: str = ""


@dataclass(frozen=True)
class Concat:
    """A lookup of several keys together (`ip daddr . tcp dport @set`): one element per tuple."""

    keys: tuple[str, ...]
    families: tuple[int, ...]
    elements: tuple[tuple[Values, ...], ...]
    negate: bool = False
    text: str = ""


@dataclass(frozen=True)
class Opaque:
    """A test whose truth cannot be known from the ruleset and the host's facts."""

    text: str


Match = KeyTest | Concat | Opaque


@dataclass(frozen=True)
class Verdict:
    """accept | drop | reject | return | continue | queue (an unknown fate: userspace decides)."""

    kind: str
    detail: str = ""


@dataclass(frozen=True)
class Jump:
    target: str  # chain id
    goto: bool = False


@dataclass(frozen=True)
class VerdictMap:
    """`key vmap { values : verdict, ... }`: the first element whose values hold the key decides."""

    key: Match  # a KeyTest or Concat whose values are ignored; entries give them
    entries: tuple[tuple[Match, Verdict | Jump], ...]
    text: str = ""


@dataclass(frozen=True)
class SetMark:
    """new target = (old target & keep) ^ (source & source_mask) ^ xor; source "" is none.

    target and source are "mark" or "ctmark"; source "unknown" makes the result unknown.
    """

    target: str
    keep: int
    xor: int = 0
    source: str = ""
    source_mask: int = FULL_MARK
    strict: bool = False  # nft: reading a ct mark without a conntrack entry stops the rule


@dataclass(frozen=True)
class NoTrack:
    pass


@dataclass(frozen=True)
class Nat:
    """snat | dnat | masquerade | redirect | netmap; `to` is the address text when given.

    With `by_map`, the address comes from a map: the first entry whose test holds gives it, and
    where none holds the statement stops the rule (nothing is translated).
    """

    kind: str
    to: str = ""
    by_map: tuple[tuple[KeyTest | Concat | Opaque, str], ...] | None = None


@dataclass(frozen=True)
class Taint:
    """A statement whose effect on the packet's fate is not known: the fate becomes unknown."""

    text: str


Action = Verdict | Jump | VerdictMap | SetMark | NoTrack | Nat | Taint
Step = KeyTest | Concat | Opaque | Verdict | Jump | VerdictMap | SetMark | NoTrack | Nat | Taint


@dataclass(frozen=True)
class Rule:
    steps: tuple[Step, ...]
    label: str


_ADDRESS_KEYS = frozenset(
    {
        "saddr",
        "daddr",
        "ct.orig.saddr",
        "ct.orig.daddr",
        "ct.reply.saddr",
        "ct.reply.daddr",
        "arp.saddr",
        "arp.daddr",
    }
)


def make_rule(steps: tuple[Step, ...], label: str) -> Rule:
    """A rule whose consecutive tests are ordered cheapest first: tests of single values before
    tests of addresses (which cut the peer ranges) and unknowns. Tests between two statements
    are a conjunction without side effects, so their order does not change the result."""
    ordered: list[Step] = []
    run: list[Step] = []
    for step in (*steps, None):
        if isinstance(step, KeyTest | Concat | Opaque):
            run.append(step)
            continue
        ordered += sorted(run, key=_cost)
        run = []
        if step is not None:
            ordered.append(step)
    return Rule(tuple(ordered), label)


def _cost(step: Step) -> int:
    if isinstance(step, KeyTest):
        return 1 if step.key in _ADDRESS_KEYS else 0
    return 2 if isinstance(step, Concat) else 3


@dataclass(frozen=True)
class Chain:
    id: str
    label: str  # e.g. "inet filter input" or "ip filter INPUT"
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class BaseChain:
    """A chain the kernel calls at a hook: of which source, family, priority, policy and devices."""

    chain: str  # chain id
    source: str  # "nftables" | "iptables-nft" | "iptables-legacy" | ...
    family: str  # ip | ip6 | inet | netdev
    hook: str  # prerouting | input | output | postrouting | ingress | egress | forward
    priority: int
    kind: str  # filter | nat | route
    policy: str  # accept | drop
    label: str
    devices: tuple[str, ...] | None = ()  # for ingress/egress; None: not known
    maybe_inactive: str = ""  # why this chain might not be active (dormancy not readable ...)


@dataclass(frozen=True)
class Ruleset:
    chains: dict[str, Chain] = field(default_factory=dict)
    base: tuple[BaseChain, ...] = ()
    sources: tuple[str, ...] = ()  # sources that contributed chains, e.g. ("nftables", "iptables-legacy")
    notes: tuple[str, ...] = ()  # what could not be read, as reasons

    @property
    def mark_bits_written(self) -> int:
        """Every bit of meta mark / ct mark some rule may set (to tell marks from outside)."""
        return _written_bits(self)


def _written_bits(ruleset: Ruleset) -> int:
    bits = 0
    for chain in ruleset.chains.values():
        for rule in chain.rules:
            for step in rule.steps:
                if isinstance(step, SetMark):
                    bits |= step.xor | (~step.keep & FULL_MARK)
                    if step.source:
                        bits |= step.source_mask
    return bits & FULL_MARK


def single(value: int) -> Values:
    return Values(ints=((value, value),))


def names(*items: str) -> Values:
    exact = frozenset(i for i in items if not i.endswith(("*", "+")))
    prefixes = tuple(i[:-1] for i in items if i.endswith(("*", "+")))
    return Values(names=exact, prefixes=prefixes)
