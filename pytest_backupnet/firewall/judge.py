"""The verdict a host's firewall gives a flow, per peer address range, with the deciding rule."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import intervals as iv
from .assemble import assemble
from .evaluate import BudgetExceeded, Outcome, Walker
from .facts import HostFacts, read_facts
from .intervals import Intervals
from .model import FULL_MARK, Concat, Ruleset, Test, VerdictMap
from .paths import FlowPackets, KeyReader, PacketSpec, PacketState, entry_after, flow_packets
from .routing import route_contexts
from .sources import FIREWALL_COMMANDS, FIREWALL_FILES, RULE_SOURCES, Captured, text_of

MAX_SEGMENTS = 2_000
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
    # "reply/ack" when an unknown decides which of them is stopped (the verdict is certain)
    unknown: str = ""  # for "unknown": the rule and the match whose truth is not known

    def __str__(self) -> str:
        span = _span(self.first, self.last)
        if self.verdict == "unknown":
            return f"{span} cannot be judged: {self.unknown} ({self.path} path)"
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


def judge(host: HostFirewall, flow: Flow) -> Judgement:
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
        families = ("ip", "inet", "netdev") if family == 4 else ("ip6", "inet", "netdev")
        bases = [b for b in host.ruleset.base if b.family in families]
        judged += [b.source for b in bases]
        if bases:
            nothing = False
        segments += _judge_family(host, flow, family, peers)
    return Judgement(tuple(_capped(segments)), tuple(dict.fromkeys(judged)), "", nothing)


def _judge_family(host: HostFirewall, flow: Flow, family: int, peers: Intervals) -> list[Segment]:
    facts = host.facts
    egress = flow.direction == "egress"
    contexts = route_contexts(facts, family, peers, facts.agent_uid)
    reader = KeyReader(facts, family, flow.port, (facts.agent_uid, facts.agent_gid, facts.agent_note))
    walker = Walker(host.ruleset, reader, [c for _, c in contexts], family, egress)
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
            current, outcomes = walker.walk(packet, following)
            if packet.name == "reply":
                events += _retransmissions(walker, packets, outcomes, mark)
            else:
                events += [_Event(o.verdict, o.label, packet.name, o.intervals) for o in outcomes]
            previous = packet
        events += [_Event("accept", "", "data", w) for _, w in current]
    except BudgetExceeded as exc:
        return [_unknown_segment(family, peers, f"the ruleset is too large to evaluate here ({exc})", "syn")]
    for packet_name, label, where, policy in walker.evidence:
        events.append(_Event("evidence", label, packet_name, where, policy))
    for where, text in walker.unknowns:
        events.append(_Event("note", text, "", where))
    for where, text in walker.weak_unknowns:
        events.append(_Event("weak", text, "", where))
    return _segments(family, peers, events)


def _next_state(
    previous: PacketSpec, state: PacketState, mark: int | None, ctmark: int | None, loose: bool | None
) -> PacketState:
    """The next packet of the connection: a fresh mark, the entry as the previous packet left it."""
    entry = entry_after(previous, state, loose)
    return PacketState(state.context, mark, state.ctmark if entry != "none" else ctmark, False, entry, state.nat)


def _retransmissions(
    walker: Walker, packets: FlowPackets, outcomes: list[Outcome], mark: int | None
) -> list[_Event]:
    """A SYN-ACK stopped after conntrack saw it leaves the entry with a reply seen: the client's
    retransmitted SYN is then "established", and rules may reject it (the connect is refused)."""
    events: list[_Event] = []
    again: list[Outcome] = []
    for outcome in outcomes:
        if outcome.verdict in ("drop", "reject") and outcome.tracked:
            again.append(outcome)
        elif outcome.verdict in ("drop", "reject") and outcome.tracked is None:
            events.append(_Event("unknown", f"{outcome.label}: whether conntrack saw the reply first",
                                 "reply", outcome.intervals))  # fmt: skip
        else:
            events.append(_Event(outcome.verdict, outcome.label, "reply", outcome.intervals))
    if not again:
        return events
    start = [(PacketState(o.state.context, mark, o.state.ctmark, False, "syn_recv", o.state.nat), o.intervals)
             for o in again]  # fmt: skip
    _, retransmitted = walker.walk(packets.syn, start)
    rejected = [r for r in _syn_events(walker, packets, retransmitted, mark) if r.kind in ("reject", "unknown")]
    for outcome in again:
        remaining = outcome.intervals
        for event in rejected:
            where = iv.intersect(remaining, event.where)
            if where:
                label = (f"{event.label}, a retransmitted SYN (the reply was {_VERDICT_WORDS[outcome.verdict]} "
                         f"by {outcome.label})")  # fmt: skip
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
    rejects: dict[bool, list[Outcome]] = {True: [], False: []}
    for outcome in outcomes:
        if outcome.verdict == "reject" and outcome.tracked is None:
            events.append(_Event("unknown", f"{outcome.label}: whether the rejected packet had a conntrack "
                                 "entry (it rejects at the conntrack priority)", "syn", outcome.intervals))  # fmt: skip
        elif outcome.verdict == "reject":
            rejects["tcp" in outcome.detail and "reset" in outcome.detail].append(outcome)
        else:
            events.append(_Event(outcome.verdict, outcome.label, "syn", outcome.intervals))
    for tcp_reset, group in rejects.items():
        if not group:
            continue
        # The answer is related to the connection when the rejected SYN had an entry, else invalid.
        start = [(PacketState(o.state.context, mark, o.state.ctmark, False, "related" if o.tracked else "none",
                              o.state.nat), o.intervals) for o in group]  # fmt: skip
        delivered, blocked = walker.walk(packets.answer(tcp_reset), start)
        delivered_where = iv.normalize(p for _, w in delivered for p in w)
        for outcome in group:
            events.append(
                _Event("reject", outcome.label, "syn", iv.intersect(outcome.intervals, delivered_where))
            )
            for answer in blocked:
                where = iv.intersect(outcome.intervals, answer.intervals)
                if not where:
                    continue
                if answer.verdict == "unknown":
                    events.append(_Event("unknown", f"{outcome.label} rejects, but its answer: {answer.label}",
                                         "syn", where))  # fmt: skip
                else:
                    events.append(_Event("drop", f"{outcome.label} (its answer is "
                                         f"{_VERDICT_WORDS[answer.verdict]} by {answer.label})", "syn", where))  # fmt: skip
    return events


@dataclass(frozen=True)
class _Event:
    kind: str  # accept | drop | reject | unknown | evidence | note | weak
    label: str
    path: str
    where: Intervals
    policy: bool = False


def _segments(family: int, peers: Intervals, events: list[_Event]) -> list[Segment]:
    points: dict[int, list[tuple[int, int]]] = {}
    for index, event in enumerate(events):
        for low, high in iv.intersect(event.where, peers):
            points.setdefault(low, []).append((1, index))
            points.setdefault(high + 1, []).append((-1, index))
    for low, high in peers:
        points.setdefault(low, [])
        points.setdefault(high + 1, [])
    active: dict[int, int] = {}
    ordered = sorted(points)
    pieces: list[tuple[int, int, tuple[str, str, str, str]]] = []
    for position, point in enumerate(ordered[:-1]):
        for delta, index in points[point]:
            count = active.get(index, 0) + delta
            if count:
                active[index] = count
            else:
                active.pop(index, None)
        end = ordered[position + 1] - 1
        if not _inside(point, peers):
            continue
        pieces.append((point, end, _decide(events, active)))
    segments: list[Segment] = []
    for low, high, (verdict, label, path, unknown) in pieces:
        if segments and segments[-1].verdict == verdict and segments[-1].decided_by == label and \
                segments[-1].path == path and segments[-1].unknown == unknown and \
                int(ipaddress.ip_address(segments[-1].last)) + 1 == low:  # fmt: skip
            segments[-1] = Segment(segments[-1].first, _address(family, high), verdict, label, path, unknown)
        else:
            segments.append(
                Segment(_address(family, low), _address(family, high), verdict, label, path, unknown)
            )
    return segments


def _decide(events: list[_Event], active: Mapping[int, int]) -> tuple[str, str, str, str]:
    indices = sorted(active)
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
    notes = [events[i] for i in indices if events[i].kind == "note"]
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


def _inside(point: int, peers: Intervals) -> bool:
    return iv.contains(peers, point)


def _address(family: int, value: int) -> str:
    return str(ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value))


def _unknown_segment(family: int, peers: Intervals, reason: str, path: str) -> Segment:
    return Segment(_address(family, peers[0][0]), _address(family, peers[-1][1]), "unknown", "", path, reason)


def _capped(segments: list[Segment]) -> list[Segment]:
    if len(segments) <= MAX_SEGMENTS:
        return segments
    rest = segments[MAX_SEGMENTS - 1 :]
    return [*segments[: MAX_SEGMENTS - 1],
            Segment(rest[0].first, rest[-1].last, "unknown", "", "syn",
                    f"more than {MAX_SEGMENTS} address ranges with different verdicts")]  # fmt: skip


def _span(first: str, last: str) -> str:
    """CIDR when the range is exactly one network, else first-last."""
    low, high = ipaddress.ip_address(first), ipaddress.ip_address(last)
    networks = list(ipaddress.summarize_address_range(low, high)) if low.version == high.version else []
    if len(networks) == 1:
        network = networks[0]
        return str(network.network_address) if network.num_addresses == 1 else str(network)
    return f"{first}-{last}" if first != last else first


def _outside_marks(ruleset: Ruleset, written: int) -> tuple[bool, bool]:
    """Whether rules test mark (ct mark) bits that no rule sets: those marks come from outside."""
    outside = {"mark": False, "ctmark": False}
    for chain in ruleset.chains.values():
        for rule in chain.rules:
            for step in rule.steps:
                matches = [m for m, _ in step.entries] if isinstance(step, VerdictMap) else [step]
                tests = [m for m in matches if isinstance(m, Test)]
                for concat in (m for m in matches if isinstance(m, Concat)):
                    tests += [Test(k, row[i]) for row in concat.elements for i, k in enumerate(concat.keys)]
                for test in tests:
                    if test.key in outside:
                        mask = test.mask if test.mask is not None else FULL_MARK
                        for low, high in test.values.ints:
                            if (high & mask) & ~written & FULL_MARK or (low & mask) & ~written & FULL_MARK:
                                outside[test.key] = True
    return outside["mark"], outside["ctmark"]
