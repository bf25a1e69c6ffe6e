"""The truth of one key test, for the value the key resolved to, over a set of peer addresses."""

from __future__ import annotations

from . import intervals as iv
from .intervals import Intervals
from .model import FULL_MARK, KeyTest
from .paths import ABSENT, PEER, Known, Possible, Resolved, Unknown

# Keys read from the packet's state (marks, conntrack), not from the packet, hook and route alone.
STATEFUL_KEYS = frozenset(
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


def key_truth(match: KeyTest, found: Resolved, where: Intervals) -> tuple[Intervals, Intervals]:
    """(where the test is true, where its truth is unknown); elsewhere it is false."""
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
            hits = {key_truth(match, Known(low), where)[0] == where for low, _ in possible}
            return ((where, ()) if hits == {True} else ((), ())) if len(hits) == 1 else ((), where)
        if not iv.intersect(possible, match.values.ints):
            hit = False
        elif iv.covers(match.values.ints, possible):
            hit = True
        else:
            return (), where
        return (where, ()) if hit != match.negate else ((), ())
    return (), where
