"""The verdict a host's firewall gives a flow, per peer address range, with the deciding rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from . import intervals as iv
from .assemble import assemble
from .evaluate import BudgetExceeded, Outcome, Walker
from .facts import HostFacts, read_facts
from .intervals import Intervals
from .model import CT_STATUS, FULL_MARK, IF_TYPES, BaseChain, Concat, KeyTest, Ruleset, Values, VerdictMap
from .paths import (
    ARP_PACKETS,
    FlowPackets,
    KeyReader,
    PacketSpec,
    PacketState,
    answer_to,
    entry_after,
    flow_packets,
    status_after,
)
from .preselect import RuleIndex
from .routing import RouteContext, route_contexts
from .sources import FIREWALL_COMMANDS, FIREWALL_FILES, RULE_SOURCES, Captured, text_of

MAX_SEGMENTS = 2_000
NOTHING_FILTERS = "nothing filters (no firewall rule on the host)"
_VERDICT_WORDS = {"accept": "accepted", "drop": "dropped", "reject": "rejected"}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Flow:
    direction: str  # "egress": the agent on the host connects out to peer:port (BN-R4)
    # "inbound": a peer connects in to the host's port (BN-R6, Central Control)
    port: int
    peers: tuple[IPNetwork, ...]  # the subnets of peer addresses


@dataclass(frozen=True)
class Segment:
    first: str
    last: str  # addresses
    verdict: str  # "accept" | "drop" | "reject" | "unknown"
    decided_by: str  # the deciding rule: table/chain/handle for nft, the iptables-save line for iptables
    path: str  # which packet it decides: "syn", "reply" (the SYN-ACK), "ack" (the connecting side's
    # later packets: the handshake's ACK and its data), "data" (the other side's later packets);
    # "reply/ack" when an unknown decides which of them is stopped (the verdict is certain); "arp":
    # the link's neighbour resolution (ARP) is dropped, so nothing gets through
    unknown: str = ""  # for "unknown": the rule and the match whose truth is not known

    def __str__(self) -> str:
        span = _span(self.first, self.last)
        if self.verdict == "unknown":
            return f"{span} cannot be judged: {self.unknown} ({self.path} path)"
        if self.decided_by == NOTHING_FILTERS:
            return f"{span} allowed: {NOTHING_FILTERS}"
        return (
            f"{span} {_VERDICT_WORDS.get(self.verdict, self.verdict)} by {self.decided_by} ({self.path} path)"
        )


@dataclass(frozen=True)
class Judgement:
    segments: tuple[Segment, ...]  # the peers cut into address ranges, each with ONE verdict
    judged: tuple[str, ...]  # which rule sources were judged, e.g. ("nftables", "iptables-legacy")
    unreadable: str  # "" or why the rules could not be read + the remedy; then segments is empty
    nothing_filters: bool  # no firewall tooling and no rules: "allowed, nothing filters"


@dataclass(frozen=True)
class HostFirewall:
    """Everything read from one host, parsed once."""

    ruleset: Ruleset
    facts: HostFacts
    unreadable: str
    tooling: bool
    outside_marks: bool  # rules test marks no rule sets: a packet's mark may come from elsewhere
    outside_ctmarks: bool
    # which rules can match which packets, learnt while judging (see preselect)
    index: RuleIndex = field(default_factory=RuleIndex, compare=False, repr=False)


def read_host_firewall(captured: Mapping[str, Captured]) -> HostFirewall:
    """Parse everything once per host; never raises on odd input (what cannot be read is a reason)."""
    assembled = assemble(captured)
    texts = {
        key: text_of(captured, key)
        for key in (*FIREWALL_COMMANDS, *FIREWALL_FILES)
        if key not in RULE_SOURCES
    }
    facts = read_facts(texts)
    written = assembled.ruleset.mark_bits_written
    outside = _outside_marks(assembled.ruleset, written)
    return HostFirewall(assembled.ruleset, facts, assembled.unreadable, assembled.tooling, *outside)


def judge(host: HostFirewall, flow: Flow, *, shortcuts: bool = True) -> Judgement:
    """The flow's peers cut into ranges with one verdict each. `shortcuts=False` walks every rule
    every time (slow on big rulesets): the reference the evaluator's shortcuts are tested against."""
    if host.unreadable:
        return Judgement((), (), host.unreadable, False)
    segments: list[Segment] = []
    judged: list[str] = []
    nothing = True
    for family in (4, 6):
        peers = iv.normalize(
            (int(n.network_address), int(n.broadcast_address)) for n in flow.peers if n.version == family
        )
        if not peers:
            continue
        families = ("ip", "inet", "netdev", "arp") if family == 4 else ("ip6", "inet", "netdev")
        bases = [b for b in host.ruleset.base if b.family in families]
        judged += [b.source for b in bases]
        if bases:
            nothing = False
            segments += _judge_family(host, flow, family, peers, shortcuts)
        else:
            label = NOTHING_FILTERS
            segments += [Segment(_address(family, low), _address(family, high), "accept", label, "syn")
                         for low, high in peers]  # fmt: skip
    bridge = _bridge_filters(host)
    if bridge:
        judged += [b.source for b in bridge]
        nothing = False
        segments = [_bridge_doubt(s, bridge) if s.verdict == "accept" else s for s in segments]
    return Judgement(tuple(_capped(segments)), tuple(dict.fromkeys(judged)), "", nothing)


# The bridge family's hooks that see frames to and from the host itself, when its address is on a
# bridge (frames enter and leave through the bridge's ports).
_BRIDGE_HOST_HOOKS = ("prerouting", "input", "output", "postrouting")


def _bridge_filters(host: HostFirewall) -> list[BaseChain]:
    """The bridge family's base chains that may refuse the host's own traffic: those with rules or
    a dropping policy, unless the host has no enslaved interface (then no bridge has a port)."""
    if host.facts.enslaved is False:
        return []
    found = []
    for base in host.ruleset.base:
        if base.family != "bridge" or base.hook not in _BRIDGE_HOST_HOOKS:
            continue
        chain = host.ruleset.chains.get(base.chain)
        if chain is None or chain.rules or base.policy != "accept":
            found.append(base)
    return found


def _bridge_doubt(segment: Segment, bridge: Sequence[BaseChain]) -> Segment:
    """An accept the bridge family's chains may overrule: they are not evaluated."""
    more = f" and {len(bridge) - 3} more" if len(bridge) > 3 else ""
    names = ", ".join(b.label for b in bridge[:3]) + more
    where = "the host's interfaces" if segment.decided_by == NOTHING_FILTERS else segment.decided_by
    reason = (
        f"bridge family chain(s) {names} see the frames of a host whose address is on a bridge, and "
        f"bridge rules are not evaluated (accepted by {where}; the verdict would be accept, drop or "
        "reject)"
    )
    return replace(segment, verdict="unknown", unknown=reason)


def _judge_family(
    host: HostFirewall, flow: Flow, family: int, peers: Intervals, shortcuts: bool
) -> list[Segment]:
    facts = host.facts
    egress = flow.direction == "egress"
    contexts = route_contexts(facts, family, peers, facts.agent_uid)
    reader = KeyReader(facts, family, flow.port, (facts.agent_uid, facts.agent_gid, facts.agent_note))
    walker = Walker(host.ruleset, reader, [c for _, c in contexts], family, egress, shortcuts, host.index)
    mark = None if host.outside_marks else 0
    ctmark = None if host.outside_ctmarks else 0
    packets = flow_packets(egress)
    events: list[_Event] = []
    loose = facts.tcp_loose
    try:
        start = [(PacketState(i, mark, ctmark), part) for i, (part, _) in enumerate(contexts)]
        current, syn_outcomes = walker.walk(packets.syn, start)
        events += _syn_events(walker, packets, syn_outcomes, mark)
        previous = packets.syn
        for packet in (packets.reply, packets.ack, packets.data):
            following = [(_next_state(previous, s, mark, ctmark, loose), w) for s, w in current]
            early = packets.early(packet)
            if early is not None:
                events += _early_events(walker, early, following)
            current, outcomes = walker.walk(packet, following)
            if packet.name == "reply":
                events += _retransmissions(walker, packets, outcomes, mark)
            else:
                events += [_Event(o.verdict, o.label, packet.name, o.intervals) for o in outcomes]
            previous = packet
        events += [_Event("accept", "", "data", w) for _, w in current]
        if family == 4 and any(b.family in ("arp", "netdev") for b in host.ruleset.base):
            events += _arp_events(walker, contexts, mark)
    except BudgetExceeded as exc:
        return [_unknown_segment(family, peers, f"the ruleset is too large to evaluate here ({exc})", "syn")]
    evidence: dict[tuple[str, str, bool], list[Intervals]] = {}
    for packet_name, label, where, policy in walker.evidence:
        if packet_name in ("syn", "reply"):  # what an accept names (see _accept_label)
            evidence.setdefault((packet_name, label, policy), []).append(where)
    notes: dict[tuple[str, str, str], list[Intervals]] = {}
    for kind, found in (("note", walker.unknowns), ("weak", walker.weak_unknowns)):
        for where, text, packet_name in found:
            notes.setdefault((kind, text, packet_name), []).append(where)
    for (packet_name, label, policy), parts in evidence.items():
        events.append(_Event("evidence", label, packet_name, iv.union_all(parts), policy))
    for (kind, text, packet_name), parts in notes.items():
        events.append(_Event(kind, text, packet_name, iv.union_all(parts)))
    return _segments(family, peers, events)


def _next_state(
    previous: PacketSpec, state: PacketState, mark: int | None, ctmark: int | None, loose: bool | None
) -> PacketState:
    """The next packet of the connection: a fresh mark, the entry as the previous packet left it."""
    entry = entry_after(previous, state, loose)
    ct_mark = state.ctmark if entry != "none" else ctmark
    return PacketState(
        state.context, mark, ct_mark, False, entry, state.nat, status_after(previous, state, loose)
    )


def _early_events(
    walker: Walker, packet: PacketSpec, start: list[tuple[PacketState, Intervals]]
) -> list[_Event]:
    """Only a reject of the packets before the agent accepts the connection matters (see
    FlowPackets.early); whether such packets exist depends on timing: the verdict is unknown."""
    _, outcomes = walker.walk(packet, start)
    return [
        _Event(
            "unknown",
            f"{o.label} rejects the {packet.name} packets the kernel handles before the agent "
            "accepts the connection (they have no owner yet): the connection breaks when the peer's data "
            "comes first",
            packet.name,
            o.intervals,
        )
        for o in outcomes
        if o.verdict == "reject"
    ]


def _arp_events(
    walker: Walker, contexts: list[tuple[Intervals, RouteContext]], mark: int | None
) -> list[_Event]:
    """Neighbour resolution over Ethernet links (and links of unknown type): every ARP packet a flow
    needs, both ways, through the netdev and arp chains; one dropped, and the link carries nothing."""
    start = [
        (PacketState(i, mark, None), part)
        for i, (part, context) in enumerate(contexts)
        if context.interface_type in (None, IF_TYPES["ether"]) and context.interface != "lo"
    ]
    events: list[_Event] = []
    for number, packet in enumerate(ARP_PACKETS if start else ()):
        passed, outcomes = walker.walk(packet, start)
        events += [_Event("arp-accept", "", f"arp{number}", w) for _, w in passed]
        for outcome in outcomes:
            kind = "arp-unknown" if outcome.verdict == "unknown" else "arp-drop"
            events.append(_Event(kind, outcome.label, f"arp{number}", outcome.intervals))
    return events


def _retransmissions(
    walker: Walker, packets: FlowPackets, outcomes: list[Outcome], mark: int | None
) -> list[_Event]:
    """A SYN-ACK stopped after conntrack saw it leaves the entry with a reply seen: the client's
    retransmitted SYN is then "established", and rules may reject it (the connect is refused)."""
    events: list[_Event] = []
    again: list[Outcome] = []
    rejects = [o for o in outcomes if o.verdict == "reject"]
    for outcome, fate, label, where in _answer_fates(walker, packets.reply, rejects, mark):
        if fate == "unknown":  # the answer to the SYN-ACK's reject is rejected in turn
            text = f"{outcome.label} rejects the reply, but its answer: {label}"
            events.append(_Event("unknown", text, "reply", where))
    for outcome in outcomes:
        if outcome.verdict in ("drop", "reject") and outcome.tracked:
            again.append(outcome)
        elif outcome.verdict in ("drop", "reject") and outcome.tracked is None:
            events.append(
                _Event(
                    "unknown",
                    f"{outcome.label}: whether conntrack saw the reply first",
                    "reply",
                    outcome.intervals,
                )
            )
        else:
            events.append(_Event(outcome.verdict, outcome.label, "reply", outcome.intervals))
    if not again:
        return events
    start = [
        (
            PacketState(
                o.state.context,
                mark,
                o.state.ctmark,
                False,
                "syn_recv",
                o.state.nat,
                o.state.status | CT_STATUS["seen-reply"],
            ),
            o.intervals,
        )
        for o in again
    ]
    _, retransmitted = walker.walk(packets.syn, start)
    rejected = [
        r for r in _syn_events(walker, packets, retransmitted, mark) if r.kind in ("reject", "unknown")
    ]
    for outcome in again:
        remaining = outcome.intervals
        for event in rejected:
            where = iv.intersect(remaining, event.where)
            if where:
                label = (
                    f"{event.label}, a retransmitted SYN (the reply was {_VERDICT_WORDS[outcome.verdict]} "
                    f"by {outcome.label})"
                )
                events.append(_Event(event.kind, label, "syn", where))
                remaining = iv.subtract(remaining, where)
        if remaining:
            events.append(_Event(outcome.verdict, outcome.label, "reply", remaining))
    return events


def _syn_events(
    walker: Walker, packets: FlowPackets, outcomes: list[Outcome], mark: int | None
) -> list[_Event]:
    """SYN outcomes; a reject stands only if its answer (reset or ICMP error) gets back."""
    events: list[_Event] = []
    rejects: list[Outcome] = []
    for outcome in outcomes:
        if outcome.verdict == "reject":
            rejects.append(outcome)
        else:
            events.append(_Event(outcome.verdict, outcome.label, "syn", outcome.intervals))
    for outcome, fate, label, where in _answer_fates(walker, packets.syn, rejects, mark):
        if fate == "delivered":
            events.append(_Event("reject", outcome.label, "syn", where))
        elif fate == "drop":
            events.append(_Event("drop", f"{outcome.label} (its answer is dropped by {label})", "syn", where))
        else:
            events.append(
                _Event("unknown", f"{outcome.label} rejects, but its answer: {label}", "syn", where)
            )
    return events


def _answer_fates(
    walker: Walker, packet: PacketSpec, rejects: list[Outcome], mark: int | None
) -> list[tuple[Outcome, str, str, Intervals]]:
    """(reject, fate of its answer, the rule deciding that, where): delivered, drop, or unknown.

    An answer that is itself rejected gets an answer of its own, which may well reach the peer
    (an ICMP error about the reset): what the peer sees then is not followed here."""
    fates: list[tuple[Outcome, str, str, Intervals]] = []
    for outcome in (o for o in rejects if o.tracked is None):
        reason = "whether the rejected packet had a conntrack entry (it rejects at the conntrack priority)"
        fates.append((outcome, "unknown", reason, outcome.intervals))
    for tcp_reset in (True, False):
        group = [o for o in rejects if o.tracked is not None and _is_reset(o.detail) == tcp_reset]
        if not group:
            continue
        # The answer is related to the connection when the rejected packet had an entry, else invalid.
        start = [
            (
                PacketState(
                    o.state.context,
                    mark,
                    o.state.ctmark,
                    False,
                    "related" if o.tracked else "none",
                    o.state.nat,
                    o.state.status,
                ),
                o.intervals,
            )
            for o in group
        ]
        delivered, blocked = walker.walk(answer_to(packet, tcp_reset), start)
        delivered_where = iv.normalize(p for _, w in delivered for p in w)
        for outcome in group:
            where = iv.intersect(outcome.intervals, delivered_where)
            if where:
                fates.append((outcome, "delivered", "", where))
            for answer in blocked:
                where = iv.intersect(outcome.intervals, answer.intervals)
                if where and answer.verdict == "drop":
                    fates.append((outcome, "drop", answer.label, where))
                elif where:
                    fates.append(
                        (
                            outcome,
                            "unknown",
                            f"{_VERDICT_WORDS.get(answer.verdict, 'judged')} by {answer.label}",
                            where,
                        )
                    )
    return fates


def _is_reset(detail: str) -> bool:
    return "tcp" in detail and "reset" in detail


@dataclass(frozen=True)
class _Event:
    kind: str  # accept | drop | reject | unknown | evidence | note | weak
    label: str
    path: str
    where: Intervals
    policy: bool = False


def _segments(family: int, peers: Intervals, events: list[_Event]) -> list[Segment]:
    """Sweep the peer range: every piece between two event edges gets its decision, equal
    neighbours merge. Only the verdict events decide; evidence and notes only name the rule.

    Events over the same addresses (the many that follow one rule's cuts) sweep as one group, and
    the decision is a function of the groups present, found once per set of them."""
    groups: dict[Intervals, list[int]] = {}
    for index, event in enumerate(events):
        where = iv.intersect(event.where, peers)
        if where:
            groups.setdefault(where, []).append(index)
    members = list(groups.values())
    starts: dict[int, list[int]] = {}  # where groups begin (intervals are normal: once a point)
    ends: dict[int, list[int]] = {}  # the first point after them
    for group, where in enumerate(groups):
        for low, high in where:
            starts.setdefault(low, []).append(group)
            ends.setdefault(high + 1, []).append(group)
    outside = {high + 1 for _, high in peers}  # the only points that are not peers
    deciding = [
        e.kind in ("accept", "drop", "reject", "unknown") or e.kind.startswith("arp-") for e in events
    ]
    present: set[int] = set()  # the groups over the current piece
    by_groups: dict[frozenset[int], tuple[str, str, str, str]] = {}
    by_events: dict[tuple[frozenset[int], frozenset[int]], tuple[str, str, str, str]] = {}
    ordered = sorted({*starts, *ends, *(low for low, _ in peers), *outside})
    lows: list[int] = []
    highs: list[int] = []
    decisions: list[tuple[str, str, str, str]] = []
    none: list[int] = []
    for position, point in enumerate(ordered[:-1]):
        present.difference_update(ends.get(point, none))
        present.update(starts.get(point, none))
        if point in outside:
            continue
        end = ordered[position + 1] - 1
        groups_here = frozenset(present)
        decision = by_groups.get(groups_here)
        if decision is None:
            indices = [i for g in groups_here for i in members[g]]
            verdicts = frozenset(i for i in indices if deciding[i])
            named = frozenset(i for i in indices if not deciding[i])
            if not _needs_names(events, verdicts):
                named = frozenset()
            decision = by_events.get((verdicts, named))
            if decision is None:
                decision = _decide(events, dict.fromkeys(sorted(verdicts | named), 1))
                by_events[(verdicts, named)] = decision
            by_groups[groups_here] = decision
        if decisions and decisions[-1] == decision and highs[-1] == point - 1:
            highs[-1] = end
        elif len(decisions) == MAX_SEGMENTS:  # enough: what is left is said in one piece per subnet
            reason = f"more than {MAX_SEGMENTS} address ranges with different verdicts"
            for low, high in peers:
                if high >= point:
                    lows.append(max(low, point))
                    highs.append(high)
                    decisions.append(("unknown", "", "syn", reason))
            break
        else:
            lows.append(point)
            highs.append(end)
            decisions.append(decision)
    return [
        Segment(_address(family, low), _address(family, high), *decision)
        for low, high, decision in zip(lows, highs, decisions, strict=True)
    ]


def _needs_names(events: list[_Event], verdicts: frozenset[int]) -> bool:
    """Names are needed for an accept (its rules) or an unknown (its reason), not for a drop."""
    kinds = {events[i].kind for i in verdicts}
    return not kinds <= {"drop", "reject", "arp-accept"} or len(kinds - {"arp-accept"}) != 1


def _decide(events: list[_Event], active: Mapping[int, int]) -> tuple[str, str, str, str]:
    indices = sorted(active)
    arp = [events[i] for i in indices if events[i].kind.startswith("arp-")]
    by_packet: dict[str, set[str]] = {}
    for event in arp:  # every ARP packet must pass: one certainly dropped drops the flow
        by_packet.setdefault(event.path, set()).add(event.kind)
    dropped = [e for e in arp if by_packet[e.path] == {"arp-drop"}]
    if dropped:
        return "drop", dropped[0].label, "arp", ""
    doubt = [e for e in arp if e.kind != "arp-accept"]
    if doubt:
        return "unknown", doubt[0].label, "arp", f"{doubt[0].label}: whether ARP gets through is not known"
    verdicts = [events[i] for i in indices if events[i].kind in ("accept", "drop", "reject", "unknown")]
    kinds = {e.kind for e in verdicts}
    if len(kinds) == 1 and "unknown" not in kinds:
        first = verdicts[0]
        if first.kind == "accept":
            return "accept", _accept_label(events, indices), "syn", ""
        # Certain, though which packet it stops may depend on an unknown: then every such packet.
        paths = list(dict.fromkeys(e.path for e in verdicts))
        labels = list(dict.fromkeys(e.label for e in verdicts))
        label = labels[0] if len(labels) == 1 else " or ".join(labels[:3])
        return first.kind, label, "/".join(paths), ""
    # The reason: an unknown for a packet whose fate differs, else any unknown met on the way.
    deciding = {e.path for e in verdicts if e.kind != "accept"} | {"answer"}
    notes = sorted(
        (events[i] for i in indices if events[i].kind == "note"), key=lambda e: e.path not in deciding
    )
    weak = [events[i] for i in indices if events[i].kind == "weak"]
    explicit = [e for e in verdicts if e.kind == "unknown"]
    reason = explicit[0].label if explicit else (notes[0].label if notes else (weak[0].label if weak else ""))
    if not verdicts:
        return "unknown", "", "syn", "not evaluated"
    possible = " or ".join(sorted(kinds - {"unknown"})) or "unknown"
    path = next((e.path for e in verdicts if e.kind == "unknown"), verdicts[0].path)
    rule = reason.split(": ", 1)[0] if reason else ""
    return "unknown", rule, path, f"{reason or 'not known'} (the verdict would be {possible})"


def _accept_label(events: list[_Event], indices: Sequence[int]) -> str:
    labels = []
    for packet in ("syn", "reply"):
        found = [events[i] for i in indices if events[i].kind == "evidence" and events[i].path == packet]
        chosen = [e for e in found if not e.policy] or found
        labels.append(chosen[-1].label if chosen else "no chain at its hooks")
    return f"{labels[0]}; reply: {labels[1]}"


def _address(family: int, value: int) -> str:
    if family == 4:  # as ipaddress prints it, without building an address object
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


def _unknown_segment(family: int, peers: Intervals, reason: str, path: str) -> Segment:
    return Segment(_address(family, peers[0][0]), _address(family, peers[-1][1]), "unknown", "", path, reason)


def _capped(segments: list[Segment]) -> list[Segment]:
    if len(segments) <= MAX_SEGMENTS:
        return segments
    rest = segments[MAX_SEGMENTS - 1 :]
    return [
        *segments[: MAX_SEGMENTS - 1],
        Segment(
            rest[0].first,
            rest[-1].last,
            "unknown",
            "",
            "syn",
            f"more than {MAX_SEGMENTS} address ranges with different verdicts",
        ),
    ]


def _span(first: str, last: str) -> str:
    """CIDR when the range is exactly one network, else first-last."""
    if first == last:
        return first
    low, high = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))
    size = high - low + 1
    if size & (size - 1) == 0 and low % size == 0:
        bits = 32 if "." in first else 128
        return f"{first}/{bits - size.bit_length() + 1}"
    return f"{first}-{last}"


def _outside_marks(ruleset: Ruleset, written: int) -> tuple[bool, bool]:
    """Whether rules test mark (ct mark) bits that no rule sets: those marks come from outside."""
    outside = {"mark": False, "ctmark": False}
    for chain in ruleset.chains.values():
        for rule in chain.rules:
            for step in rule.steps:
                if isinstance(step, KeyTest):
                    tests: Iterable[tuple[str, int | None, Values]] = ((step.key, step.mask, step.values),)
                elif isinstance(step, Concat | VerdictMap):
                    tests = _tests_in(step)
                else:
                    continue
                for key, mask, values in tests:
                    if key in outside and _unwritten(values, FULL_MARK if mask is None else mask, written):
                        outside[key] = True
    return outside["mark"], outside["ctmark"]


def _tests_in(step: Concat | VerdictMap) -> Iterator[tuple[str, int | None, Values]]:
    """(key, mask, values) of each test in a lookup or verdict map."""
    matches = [m for m, _ in step.entries] if isinstance(step, VerdictMap) else [step]
    for match in matches:
        if isinstance(match, KeyTest):
            yield match.key, match.mask, match.values
        elif isinstance(match, Concat):
            for row in match.elements:
                for position, key in enumerate(match.keys):
                    yield key, None, row[position]


def _unwritten(values: Values, mask: int, written: int) -> bool:
    return any(
        (high & mask) & ~written & FULL_MARK or (low & mask) & ~written & FULL_MARK
        for low, high in values.ints
    )
