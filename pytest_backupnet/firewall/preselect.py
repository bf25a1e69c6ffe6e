"""Which rules of a chain can match a packet at all, found once per chain and kind of packet.

Most rules of a big ruleset test a port, protocol, interface or family the packet does not have;
walking such a rule only hands every branch on, unchanged, to the next rule. A rule is passed over
only when that is certain from its leading tests (those before its first statement), read in the
walk's order: one of them is false whatever the packet's state and address, and every test before
it is true whatever they are (so none cuts the addresses or notes an unknown on the way). Tests of
the packet's state (marks, conntrack), of the peer address and unknown ones end the reading: the
rule is then walked as it is, from its first test that is not certainly true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .intervals import Intervals
from .keytest import STATEFUL_KEYS, key_truth
from .model import Chain, Concat, KeyTest, Rule
from .paths import PEER, Resolved

_PROBE: Intervals = ((0, 0),)  # any address: the tests read here do not depend on it

StaticKeys = Mapping[str, Resolved]


class RuleIndex:
    """The selections of one ruleset's chains, kept with the host across its flows: a chain's
    selection depends only on the family and on the static keys its rules' leading tests read."""

    def __init__(self) -> None:
        self._reads: dict[str, tuple[str, ...]] = {}
        self._selections: dict[tuple[str, int, tuple[Resolved | None, ...]], Selection] = {}

    def select(self, chain: Chain, family: int, keys: StaticKeys) -> Selection:
        reads = self._reads.get(chain.id)
        if reads is None:
            reads = self._reads[chain.id] = _leading_keys(chain.rules)
        key = (chain.id, family, tuple(keys.get(k) for k in reads))
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = _select(chain.rules, keys, family)
        return found


class Preselection:
    """For one walk (one address family): the chains' selections by kind of packet."""

    def __init__(self, family: int, index: RuleIndex) -> None:
        self.family, self.index = family, index
        self._kinds: dict[frozenset[tuple[str, Resolved]], int] = {}
        self._selections: dict[tuple[str, int], Selection] = {}

    def kind(self, keys: StaticKeys) -> int:
        """A number for the packet's static keys: equal keys (another route context with the same
        interface and addresses, the same packet again) share the chains' selections."""
        return self._kinds.setdefault(frozenset(keys.items()), len(self._kinds))

    def select(self, chain: Chain, kind: int, keys: StaticKeys) -> Selection:
        found = self._selections.get((chain.id, kind))
        if found is None:
            found = self._selections[(chain.id, kind)] = self.index.select(chain, self.family, keys)
        return found


def _leading_keys(rules: Sequence[Rule]) -> tuple[str, ...]:
    """The static keys `settled_tests` may read in the rules."""
    found: set[str] = set()
    for rule in rules:
        for step in rule.steps:
            if not isinstance(step, KeyTest) or step.key in STATEFUL_KEYS:
                break
            found.add(step.key)
    return tuple(sorted(found))


def _select(rules: Sequence[Rule], keys: StaticKeys, family: int) -> Selection:
    following = [len(rules)] * (len(rules) + 1)
    settled = [0] * len(rules)
    live = len(rules)
    for index in range(len(rules) - 1, -1, -1):
        count, dead = settled_tests(rules[index], keys, family)
        settled[index] = count
        if not dead:
            live = index
        following[index] = live
    return Selection(following, settled)


@dataclass(frozen=True)
class Selection:
    """For each rule index: the first rule from there on that the packet may match (len(rules) when
    none), and how many leading tests of the rule are true for it whatever its state and address."""

    following: list[int]
    settled: list[int]


def settled_tests(rule: Rule, keys: StaticKeys, family: int) -> tuple[int, bool]:
    """(how many leading tests are certainly true, whether the next one is certainly false: then
    the rule lets every packet with these static keys pass untouched)."""
    for position, step in enumerate(rule.steps):
        if isinstance(step, Concat):
            return position, any(f and f != family for f in step.families)
        if not isinstance(step, KeyTest) or step.key in STATEFUL_KEYS:
            return position, False
        if step.family and step.family != family:
            return position, True
        found = keys.get(step.key)
        if found is None or found is PEER:
            return position, False
        true, unknown = key_truth(step, found, _PROBE)
        if unknown:
            return position, False
        if not true:
            return position, True
    return len(rule.steps), False
