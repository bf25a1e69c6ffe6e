"""Which rules of a chain can match a packet at all, found once per chain and kind of packet.

Most rules of a big ruleset test a port, protocol, interface or family the packet does not have;
walking such a rule only hands every branch on, unchanged, to the next rule. A rule is passed over
only when that is certain from its leading tests (those before its first statement), read in the
walk's order: one of them is false whatever the packet's state and address, and every test before
it is true whatever they are (so none cuts the addresses or notes an unknown on the way). Tests of
the packet's state (marks, conntrack), of the peer address and unknown ones end the reading: the
rule is then walked as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .intervals import Intervals
from .keytest import STATEFUL_KEYS, key_truth
from .model import Concat, KeyTest, Rule
from .paths import PEER, Resolved

_PROBE: Intervals = ((0, 0),)  # any address: the tests read here do not depend on it

StaticKeys = Mapping[str, Resolved]


class Preselection:
    """For one walk (one address family): the rules each chain can match, per set of static keys."""

    def __init__(self, family: int) -> None:
        self.family = family
        self._kinds: dict[frozenset[tuple[str, Resolved]], int] = {}
        self._next: dict[tuple[str, int], list[int]] = {}

    def kind(self, keys: StaticKeys) -> int:
        """A number for the packet's static keys: equal keys (another route context with the same
        interface and addresses, the same packet again) share the chains' selections."""
        return self._kinds.setdefault(frozenset(keys.items()), len(self._kinds))

    def next_live(self, chain_id: str, rules: Sequence[Rule], kind: int, keys: StaticKeys) -> list[int]:
        """For each rule index, the first rule from there on that the packet may match (len(rules)
        when none); the same list for as long as the walk lasts."""
        found = self._next.get((chain_id, kind))
        if found is None:
            found = [len(rules)] * (len(rules) + 1)
            following = len(rules)
            for index in range(len(rules) - 1, -1, -1):
                if not cannot_match(rules[index], keys, self.family):
                    following = index
                found[index] = following
            self._next[(chain_id, kind)] = found
        return found


def cannot_match(rule: Rule, keys: StaticKeys, family: int) -> bool:
    """Whether the rule certainly lets every packet with these static keys pass untouched."""
    for step in rule.steps:
        if isinstance(step, Concat):
            return any(f and f != family for f in step.families)
        if not isinstance(step, KeyTest) or step.key in STATEFUL_KEYS:
            return False
        if step.family and step.family != family:
            return True
        found = keys.get(step.key)
        if found is None or found is PEER:
            return False
        true, unknown = key_truth(step, found, _PROBE)
        if unknown:
            return False
        if not true:
            return True
    return False
