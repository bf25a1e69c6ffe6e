"""Walk the packets of a flow through every base chain of every hook, in priority order.

The peer addresses travel as interval sets, together with the packet's state (marks, notrack,
NAT). A test cuts them into those that match, those that do not, and those for which the truth is
unknown; the unknown ones go both ways (Diekmann et al.'s three-valued semantics), so every
address ends with the set of verdicts it may get, and only an address whose set has one verdict
has a certain one. Branches with the same state merge again, so unknown tests do not multiply work.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from . import intervals as iv
from .intervals import Intervals
from .model import (
    FULL_MARK,
    BaseChain,
    Concat,
    Jump,
    KeyTest,
    Match,
    Nat,
    NoTrack,
    Opaque,
    Rule,
    Ruleset,
    SetMark,
    Step,
    Taint,
    Verdict,
    VerdictMap,
)
from .paths import ABSENT, PEER, Hop, KeyReader, Known, PacketSpec, PacketState, Possible, Resolved, Unknown
from .paths import conntrack_view as _conntrack_view
from .routing import RouteContext

MAX_JUMP_DEPTH = 64
MAX_WORK = 3_000_000  # rule applications per judgement
MAX_TIED = 4  # base chains at one hook and priority whose orders are all tried
MAX_NOTES = 5_000
# Beside the ct status bits in PacketState.nat: the connection's source / destination NAT binding exists.
SOURCE_NAT_DONE = 1 << 16
DEST_NAT_DONE = 1 << 17
MANIP_DONE = {
    "prerouting": DEST_NAT_DONE,
    "output": DEST_NAT_DONE,
    "postrouting": SOURCE_NAT_DONE,
    "input": SOURCE_NAT_DONE,
}
# NAT chains run inside the NAT core, hooked at these priorities whatever their own (which only orders
# them among themselves).
NAT_CORE_PRIORITY = {"prerouting": -100, "output": -100, "postrouting": 100, "input": 100}
_STATEFUL = frozenset(
    {
        "mark",
        "ctmark",
        "ctstate",
        "ctstate.xt",
        "ctstatus",
        "ctdirection",
        "ctproto",
        "cthelper",
        "ct.orig.saddr",
        "ct.orig.daddr",
        "ct.reply.saddr",
        "ct.reply.daddr",
    }
)
_HOOK_FAMILIES = {4: ("ip", "inet"), 6: ("ip6", "inet")}

Branch = tuple[PacketState, Intervals]


class BudgetExceeded(Exception):
    """The ruleset takes more work than a judgement may spend: a reason, never a verdict."""


@dataclass(frozen=True)
class Outcome:
    verdict: str  # accept | drop | reject | unknown
    label: str  # the deciding rule or policy; for unknown, why
    state: PacketState
    intervals: Intervals
    detail: str = ""  # the reject's kind
    tracked: bool | None = True  # whether the packet had passed conntrack (had an entry) then; None: unknown


@dataclass(frozen=True)
class _Unit:
    """What runs at one priority of a hook: a base chain, or the NAT core with its NAT chains."""

    priority: int
    chains: tuple[BaseChain, ...]
    nat: bool = False


def _units(chains: list[BaseChain], hop: Hop) -> list[_Unit]:
    units = [_Unit(c.priority, (c,)) for c in chains if c.kind != "nat" or hop.hook not in NAT_CORE_PRIORITY]
    nat = sorted(
        (c for c in chains if c.kind == "nat" and hop.hook in NAT_CORE_PRIORITY), key=lambda c: c.priority
    )
    if nat:
        units.append(_Unit(NAT_CORE_PRIORITY[hop.hook], tuple(nat), True))
    return sorted(units, key=lambda u: u.priority)


@dataclass
class _Place:
    """Where a packet is being evaluated."""

    packet: PacketSpec
    hop: Hop
    priority: int
    base: BaseChain


class Walker:
    def __init__(
        self, ruleset: Ruleset, reader: KeyReader, contexts: Sequence[RouteContext], family: int, egress: bool
    ) -> None:
        self.chains = ruleset.chains
        self.reader, self.contexts, self.family, self.egress = reader, contexts, family, egress
        self.base_chains = list(ruleset.base)
        self.ip_families = (*_HOOK_FAMILIES[family], "netdev")
        self.work = 0
        # (where, which truth was unknown, for which packet); weak: the orders of tied chains
        self.unknowns: list[tuple[Intervals, str, str]] = []
        self.weak_unknowns: list[tuple[Intervals, str, str]] = []
        self.evidence: list[tuple[str, str, Intervals, bool]] = []  # (packet, label, where, by policy)
        self._static: dict[tuple[int, int, int], dict[str, Resolved]] = {}
        self._keep: list[PacketSpec] = []  # packets whose ids key _static

    # the walk

    def walk(self, packet: PacketSpec, branches: list[Branch]) -> tuple[list[Branch], list[Outcome]]:
        """Through every hop of `packet`: (branches accepted at the end, outcomes decided on the way)."""
        self._keep.append(packet)
        outcomes: list[Outcome] = []
        families = packet.families or self.ip_families
        for hop in packet.hops:
            chains = [
                b
                for b in self.base_chains
                if b.hook == hop.hook
                and b.family in families
                and (b.family != "netdev" or hop.hook in ("ingress", "egress"))
            ]
            for _, tied_group in itertools.groupby(_units(chains, hop), key=lambda u: u.priority):
                tied = list(tied_group)
                if not branches:
                    return [], outcomes
                branches, decided = self._tied(tied, packet, hop, branches)
                outcomes += decided
        return branches, outcomes

    def _tied(
        self, tied: list[_Unit], packet: PacketSpec, hop: Hop, branches: list[Branch]
    ) -> tuple[list[Branch], list[Outcome]]:
        """Chains at one priority run in an order the ruleset does not show: every order is a possibility."""
        if len(tied) == 1:
            return self._unit(tied[0], packet, hop, branches)
        names = ", ".join(c.label for u in tied for c in u.chains)
        for _, where in branches:
            text = f"the order of {names} (all at {hop.hook} priority {tied[0].priority}) is not known"
            self._note(where, text, packet.name, weak=True)
        if len(tied) > MAX_TIED:
            return [], [
                Outcome("unknown", f"{len(tied)} base chains share one priority at {hop.hook}", s, w)
                for s, w in branches
            ]
        accepted: list[Branch] = []
        outcomes: list[Outcome] = []
        for order in itertools.permutations(tied):
            current = branches
            for unit in order:
                current, decided = self._unit(unit, packet, hop, current)
                outcomes += decided
                if not current:
                    break
            accepted += current
        return _merge(accepted), outcomes

    def _unit(
        self, unit: _Unit, packet: PacketSpec, hop: Hop, branches: list[Branch]
    ) -> tuple[list[Branch], list[Outcome]]:
        if not unit.nat:
            return self._base(unit.chains[0], packet, hop, branches)
        # The NAT core: for a connection's first packet, or a related reset while this kind of
        # binding is still to be made; its chains in their own priority order.
        done = MANIP_DONE[hop.hook]
        entering: list[Branch] = []
        passing: list[Branch] = []
        for state, where in branches:
            view = self._view(packet, hop, unit.priority, state)
            if view is None:
                self._note(
                    where, f"whether the NAT chains at {hop.hook} see the packet is not known", packet.name
                )
                entering.append((state, where))
                passing.append((state, where))
            elif (view == "new" or (view == "related" and packet.l4proto == 6)) and not state.nat & done:
                entering.append((state, where))  # (an ICMP error is translated without the chains)
            else:
                passing.append((state, where))
        outcomes: list[Outcome] = []
        if entering:
            inner = [_Unit(c.priority, (c,)) for c in unit.chains]
            current = entering
            for _, tied_group in itertools.groupby(inner, key=lambda u: u.priority):
                current, decided = self._tied(list(tied_group), packet, hop, current)
                outcomes += decided
                if not current:
                    break
            passing += [(replace(s, nat=s.nat | done), w) for s, w in current]  # a binding, null or not
        return _merge(passing), outcomes

    def _base(
        self, base: BaseChain, packet: PacketSpec, hop: Hop, branches: list[Branch]
    ) -> tuple[list[Branch], list[Outcome]]:
        passing: list[Branch] = []
        entering: list[Branch] = []
        for state, where in branches:
            applies = self._applies(base, packet, hop, state)
            if applies is not False:
                entering.append((state, where))
            if applies is not True:
                passing.append((state, where))
                if applies is None:
                    self._note(where, self._why_maybe(base, packet, hop, state), packet.name)
        outcomes: list[Outcome] = []
        if entering:
            place = _Place(packet, hop, base.priority, base)
            terminals, fallen = self._chain(base.chain, place, entering, 0)
            for outcome in terminals:
                if outcome.verdict == "accept":
                    passing.append((outcome.state, outcome.intervals))
                    self.evidence.append((packet.name, outcome.label, outcome.intervals, False))
                else:
                    outcomes.append(outcome)
            policy_label = f"policy {base.policy} of {base.label}"
            for state, where in fallen:
                if base.policy == "drop":
                    outcomes.append(
                        Outcome("drop", policy_label, state, where, "", self._has_entry(place, state))
                    )
                else:
                    passing.append((state, where))
                    self.evidence.append((packet.name, policy_label, where, True))
        return _merge(passing), outcomes

    def _applies(self, base: BaseChain, packet: PacketSpec, hop: Hop, state: PacketState) -> bool | None:
        """Whether the base chain sees the packet; None when that is not known."""
        if base.kind == "nat" and state.nat & MANIP_DONE.get(hop.hook, 0):
            return False  # an earlier NAT chain made the binding: the NAT core skips the rest
        if hop.hook in ("ingress", "egress"):
            device = "lo" if hop.via_loopback else self.contexts[state.context].interface
            if base.devices is None or device is None:
                return None
            if device not in base.devices:
                return False
        return None if base.maybe_inactive else True

    def _why_maybe(self, base: BaseChain, packet: PacketSpec, hop: Hop, state: PacketState) -> str:
        if base.maybe_inactive:
            return f"{base.label}: {base.maybe_inactive}"
        if base.devices is None:
            return f"{base.label}: the device it is bound to is not known"
        if hop.hook in ("ingress", "egress"):
            return f"{base.label}: the interface towards the peer is not known"
        return f"{base.label}: whether it sees the packet is not known"

    # chains and rules

    def _chain(
        self, chain_id: str, place: _Place, branches: list[Branch], depth: int
    ) -> tuple[list[Outcome], list[Branch]]:
        """(terminal outcomes, branches that fell off the end or returned)."""
        chain = self.chains.get(chain_id)
        if chain is None:
            return [
                Outcome("unknown", f"jump to {chain_id}, which is not in the ruleset", s, w)
                for s, w in branches
            ], []
        if depth > MAX_JUMP_DEPTH:
            return [
                Outcome("unknown", f"jumps nest deeper than {MAX_JUMP_DEPTH} at {chain.label}", s, w)
                for s, w in branches
            ], []
        terminals: list[Outcome] = []
        returned: list[Branch] = []
        pending = branches
        for rule in chain.rules:
            if not pending:
                break
            self.work += len(pending)
            if self.work > MAX_WORK:
                raise BudgetExceeded(f"more than {MAX_WORK} rule evaluations")
            skipped, decided, back = self._rule(rule, place, pending, depth)
            terminals += decided
            returned += back
            pending = _merge(skipped) if len(skipped) > 1 else skipped
        return terminals, returned + pending

    def _rule(
        self, rule: Rule, place: _Place, branches: list[Branch], depth: int
    ) -> tuple[list[Branch], list[Outcome], list[Branch]]:
        """(branches going on to the next rule, terminal outcomes, branches returning from the chain)."""
        active = branches
        skipped: list[Branch] = []
        terminals: list[Outcome] = []
        returned: list[Branch] = []
        for step in rule.steps:
            if not active:
                break
            if isinstance(step, KeyTest | Concat | Opaque):
                still: list[Branch] = []
                for state, where in active:
                    true, unknown = self._truth(step, place, state, where)
                    if unknown:
                        why = self._why_unknown(step, place, state)
                        self._note(unknown, f"{rule.label}: {_describe(step)}{why}", place.packet.name)
                    matched = iv.union(true, unknown) if unknown else true
                    unmatched = iv.subtract(where, true)
                    if matched:
                        still.append((state, matched))
                    if unmatched:
                        skipped.append((state, unmatched))
                active = still
            elif isinstance(step, Verdict | Jump):
                go_on, decided, back = self._decide(step, rule.label, place, active, depth)
                skipped += go_on
                terminals += decided
                returned += back
                active = []
            elif isinstance(step, VerdictMap):
                remaining = active
                for entry, decision in step.entries:
                    hits: list[Branch] = []
                    rest: list[Branch] = []
                    for state, where in remaining:
                        true, unknown = self._truth(entry, place, state, where)
                        if unknown:
                            self._note(unknown, f"{rule.label}: {_describe(entry)}", place.packet.name)
                        if true or unknown:
                            hits.append((state, iv.union(true, unknown)))
                        left = iv.subtract(where, true)
                        if left:
                            rest.append((state, left))
                    if hits:
                        go_on, decided, back = self._decide(decision, rule.label, place, hits, depth)
                        skipped += go_on
                        terminals += decided
                        returned += back
                    remaining = rest
                skipped += remaining
                active = []
            else:
                active, broken, decided = self._act(step, rule.label, place, active)
                skipped += broken
                terminals += decided
        return skipped + active, terminals, returned

    def _decide(
        self, step: Verdict | Jump, label: str, place: _Place, branches: list[Branch], depth: int
    ) -> tuple[list[Branch], list[Outcome], list[Branch]]:
        if isinstance(step, Jump):
            decided, back = self._chain(step.target, place, branches, depth + 1)
            return ([], decided, back) if step.goto else (back, decided, [])
        kind = step.kind
        if kind in ("accept", "drop", "reject"):  # `tracked`: a reject's answer is related to the
            # connection only if the packet had an entry; a dropped reply may have updated it
            return (
                [],
                [Outcome(kind, label, s, w, step.detail, self._has_entry(place, s)) for s, w in branches],
                [],
            )
        if kind == "return":
            return [], [], branches
        if kind == "queue":
            return (
                [],
                [Outcome("unknown", f"{label}: queued to a userspace program", s, w) for s, w in branches],
                [],
            )
        return branches, [], []  # continue

    def _act(
        self, step: Step, label: str, place: _Place, branches: list[Branch]
    ) -> tuple[list[Branch], list[Branch], list[Outcome]]:
        """(branches going on in the rule, branches leaving it, terminal outcomes) of a statement."""
        if isinstance(step, Taint):
            return [], [], [Outcome("unknown", f"{label}: {step.text}", s, w) for s, w in branches]
        going: list[Branch] = []
        broken: list[Branch] = []
        decided: list[Outcome] = []
        for state, where in branches:
            tracked = self._view(place.packet, place.hop, place.priority, state)
            if isinstance(step, SetMark):
                changed = _set_mark(step, state, tracked)
                if changed is None:
                    broken.append((state, where))
                else:
                    going.append((changed, where))
            elif isinstance(step, NoTrack):
                if tracked is None:
                    decided.append(
                        Outcome("unknown", f"{label}: notrack at the conntrack priority", state, where)
                    )
                elif tracked == "invalid":  # no entry yet (or none to be had): conntrack will skip it
                    going.append((replace(state, untracked=True), where))
                else:
                    going.append((state, where))
            elif isinstance(step, Nat) and step.by_map is not None:
                remaining = where
                for entry, address in step.by_map:
                    true, unknown = self._truth(entry, place, state, remaining)
                    if unknown:
                        self._note(unknown, f"{label}: {_describe(entry)}", place.packet.name)
                    hit = iv.union(true, unknown)
                    if hit:
                        decided.append(
                            self._nat(
                                replace(step, to=address, by_map=None), label, place, state, hit, tracked
                            )
                        )
                    remaining = iv.subtract(remaining, true)
                if remaining:
                    broken.append((state, remaining))  # no element: the statement stops the rule
            elif isinstance(step, Nat):
                decided.append(self._nat(step, label, place, state, where, tracked))
            else:
                going.append((state, where))
        return going, broken, decided

    def _nat(
        self, step: Nat, label: str, place: _Place, state: PacketState, where: Intervals, tracked: str | None
    ) -> Outcome:
        """Masquerading (or SNAT to the address the host uses anyway) leaves the flow as it is."""
        host = self.contexts[state.context].host_address
        same_source = step.kind == "masquerade"
        if step.kind == "snat" and step.to and host is not None:
            try:
                same_source = int(ipaddress.ip_address(step.to)) == host
            except ValueError:
                same_source = False
        if place.base.kind != "nat" or tracked not in ("new", "related"):
            return Outcome("unknown", f"{label}: {step.kind} outside a NAT chain", state, where)
        if same_source and place.hop.hook == "postrouting":  # the tuple is unchanged: no "snat" status
            return Outcome("accept", label, replace(state, nat=state.nat | SOURCE_NAT_DONE), where)
        return Outcome(
            "unknown", f"{label}: the connection is translated ({step.kind} {step.to})".strip(), state, where
        )

    # tests

    def _truth(
        self, match: Match, place: _Place, state: PacketState, where: Intervals
    ) -> tuple[Intervals, Intervals]:
        """(where the match is true, where its truth is unknown); elsewhere it is false."""
        if isinstance(match, Opaque):
            return (), where
        if isinstance(match, KeyTest):
            if match.family and match.family != self.family:
                return (), ()
            return _test(match, self._resolve(match.key, place, state), where)
        families_ok = all(not f or f == self.family for f in match.families)
        if not families_ok:
            return (), ()
        resolved = [self._resolve(key, place, state) for key in match.keys]
        if any(r is ABSENT for r in resolved):
            return (), ()
        true: Intervals = ()
        maybe: Intervals = ()
        for row in match.elements:
            row_true, row_maybe = where, where
            for key, values, found in zip(match.keys, row, resolved, strict=True):
                t, u = _test(KeyTest(key, values), found, row_maybe)
                row_true = iv.intersect(row_true, t)
                row_maybe = iv.intersect(row_maybe, iv.union(t, u))
                if not row_maybe:
                    break
            true = iv.union(true, row_true)
            maybe = iv.union(maybe, row_maybe)
        unknown = iv.subtract(maybe, true)
        if match.negate:
            return iv.subtract(where, maybe), unknown
        return true, unknown

    def _resolve(self, key: str, place: _Place, state: PacketState) -> Resolved:
        context = self.contexts[state.context]
        if key in _STATEFUL:
            return self.reader.stateful(
                key, place.packet, place.hop, place.priority, state, self.egress, context
            )
        cache_key = (id(place.packet), id(place.hop), state.context)  # both live as long as the walk
        static = self._static.get(cache_key)
        if static is None:
            static = self.reader.static(place.packet, place.hop, context)
            self._static[cache_key] = static
        return static.get(key, Unknown(f"{key} is not evaluated"))

    def _why_unknown(self, step: Match, place: _Place, state: PacketState) -> str:
        """The host fact that is missing, when a test's truth is unknown for want of it."""
        keys = step.keys if isinstance(step, Concat) else (step.key,) if isinstance(step, KeyTest) else ()
        reasons = [r.reason for r in (self._resolve(k, place, state) for k in keys) if isinstance(r, Unknown)]
        return f" ({reasons[0]})" if reasons else ""

    def _view(self, packet: PacketSpec, hop: Hop, priority: int, state: PacketState) -> str | None:
        return _conntrack_view(packet, hop, priority, state, self.reader.facts.tcp_loose)

    def _has_entry(self, place: _Place, state: PacketState) -> bool | None:
        view = self._view(place.packet, place.hop, place.priority, state)
        return None if view is None else view not in ("invalid", "untracked")

    def _note(self, where: Intervals, text: str, packet: str, weak: bool = False) -> None:
        notes = self.weak_unknowns if weak else self.unknowns
        if len(notes) < MAX_NOTES:
            notes.append((where, text, packet))


def _test(match: KeyTest, found: Resolved, where: Intervals) -> tuple[Intervals, Intervals]:
    if found is ABSENT:
        return (where, ()) if match.absent else ((), ())
    if found is PEER:
        if match.mask is not None or match.any_bits:
            return (), where
        inside = iv.intersect(where, match.values.ints)
        return (iv.subtract(where, inside) if match.negate else inside), ()
    if isinstance(found, Unknown):
        return (), where
    if isinstance(found, Known):
        value = found.value
        if match.any_bits:
            bits = match.values.ints[0][0] if match.values.ints else 0
            hit = (
                isinstance(value, int)
                and (value & (match.mask if match.mask is not None else FULL_MARK) & bits) != 0
            )
        else:
            if isinstance(value, int) and match.mask is not None:
                value &= match.mask
            hit = match.values.has(value)
        return (where, ()) if hit != match.negate else ((), ())
    if isinstance(found, Possible):
        possible = found.values.ints
        if match.mask is not None or match.any_bits:  # a few single values: try each
            if len(possible) > 8 or any(low != high for low, high in possible):
                return (), where
            hits = {_test(match, Known(low), where)[0] == where for low, _ in possible}
            return ((where, ()) if hits == {True} else ((), ())) if len(hits) == 1 else ((), where)
        if not iv.intersect(possible, match.values.ints):
            hit = False
        elif iv.covers(match.values.ints, possible):
            hit = True
        else:
            return (), where
        return (where, ()) if hit != match.negate else ((), ())
    return (), where


def _set_mark(step: SetMark, state: PacketState, tracked: str | None) -> PacketState | None:
    """The state after the statement; None when the rule stops there (nft reading an absent ct mark)."""
    has_ct = tracked not in ("invalid", "untracked")
    if step.target == "ctmark" and not has_ct:
        return state if tracked is not None else replace(state, ctmark=None)
    source: int | None = 0
    if step.source == "mark":
        source = state.mark
    elif step.source == "ctmark":
        if tracked is None:
            source = None
        elif not has_ct:
            return None if step.strict else state
        else:
            source = state.ctmark
    elif step.source == "unknown":
        source = None
    old = state.mark if step.target == "mark" else state.ctmark
    needs_old = step.keep != 0
    needs_source = bool(step.source) and step.source_mask != 0
    if (needs_old and old is None) or (needs_source and source is None):
        new = None
    else:
        new = ((old or 0) & step.keep) ^ (((source or 0) & step.source_mask) if step.source else 0) ^ step.xor
        new &= FULL_MARK
    return replace(state, mark=new) if step.target == "mark" else replace(state, ctmark=new)


def _merge(branches: Iterable[Branch]) -> list[Branch]:
    merged: dict[PacketState, list[Intervals]] = {}
    for state, where in branches:
        merged.setdefault(state, []).append(where)
    return [
        (state, parts[0] if len(parts) == 1 else iv.normalize(p for part in parts for p in part))
        for state, parts in merged.items()
    ]


def _describe(step: Match) -> str:
    if isinstance(step, Opaque):
        return step.text
    if isinstance(step, KeyTest):
        return step.text or step.key
    return step.text or " . ".join(step.keys)
