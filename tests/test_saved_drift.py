"""Drift between the running rules and the boot's configuration, per address range."""

from __future__ import annotations

from pytest_backupnet.firewall import Judgement, Segment
from pytest_backupnet.firewall.saved.drift import drift


def _judged(*pieces: tuple[str, str, str]) -> Judgement:
    return Judgement(
        tuple(Segment(first, last, verdict, f"rule {verdict}", "syn") for first, last, verdict in pieces),
        ("test",),
        "",
        False,
    )


def test_only_a_change_of_fate_is_drift() -> None:
    live = _judged(("10.0.0.0", "10.0.0.255", "accept"), ("10.0.1.0", "10.0.1.255", "drop"))
    saved = _judged(("10.0.0.0", "10.0.0.127", "accept"), ("10.0.0.128", "10.0.1.255", "reject"))
    (found,) = drift(live, saved)
    assert (found.first, found.last, found.live, found.saved, found.worse_at_boot) == (
        "10.0.0.128",
        "10.0.0.255",
        "accept",
        "reject",
        True,
    )
    assert str(found) == "10.0.0.128/25: running rules accepted (rule accept); at boot rejected (rule reject)"


def test_rules_added_by_hand_and_unknowns_are_drift_too() -> None:
    live = _judged(("10.0.0.0", "10.0.0.255", "drop"))
    saved = _judged(("10.0.0.0", "10.0.0.9", "accept"), ("10.0.0.10", "10.0.0.255", "unknown"))
    better, unknown = drift(live, saved)
    assert (better.live, better.saved, better.worse_at_boot, better.comparable) == (
        "drop",
        "accept",
        False,
        True,
    )
    assert (unknown.first, unknown.comparable) == ("10.0.0.10", False)
    assert drift(live, live) == []


def test_each_address_family_is_compared_with_itself() -> None:
    # ::a00:0 and 10.0.0.0 are the same integer: a family must never stand in for the other.
    live = _judged(("10.0.0.0", "10.0.0.255", "accept"), ("::a00:0", "::a00:ff", "drop"))
    saved = _judged(("10.0.0.0", "10.0.0.255", "accept"), ("::a00:0", "::a00:ff", "accept"))
    (found,) = drift(live, saved)
    assert (found.first, found.last, found.live, found.saved) == ("::a00:0", "::a00:ff", "drop", "accept")
