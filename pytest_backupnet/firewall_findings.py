"""How the host firewall's judgement of a flow reads as a check's observation, warning or failure.

A verdict stands only where it is certain: a segment the evaluator could not judge ("unknown")
never counts as allowed, and it makes the check not evaluated unless a certain refusal already
decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from .firewall import Flow, Judgement, Segment
from .firewall.saved.drift import DriftSegment, drift
from .firewall_view import JudgedFirewall
from .outcome import NotEvaluated
from .verdict import Verdict, listing


def refused(judgement: Judgement) -> list[Segment]:
    return [s for s in judgement.segments if s.verdict in ("drop", "reject")]


def unknown(judgement: Judgement) -> list[Segment]:
    return [s for s in judgement.segments if s.verdict == "unknown"]


def judged_by(judgement: Judgement, firewall: JudgedFirewall) -> str:
    """Which rules were judged (the running ones or the saved configuration), for the evidence."""
    return firewall.judged_by(judgement)


def fail_refused(
    verdict: Verdict, port: int, segments: Sequence[Segment], what: str, firewall: JudgedFirewall
) -> NoReturn:
    """Record the refused segments as the observation and fail, naming the first few."""
    observed = "rejected" if all(s.verdict == "reject" for s in segments) else "dropped"
    verdict.observe(observed, f"tcp/{port}: {listing(segments, 5)} ({firewall.judged_by()})")
    verdict.fail(
        f"observed {observed}: {firewall.name} refuses new TCP connections {what}: {listing(segments, 3)}"
    )


def cannot_judge(segments: Sequence[Segment], what: str, firewall: JudgedFirewall) -> NoReturn:
    """Not evaluated: the rule and the match whose truth decides, for the first segments."""
    raise NotEvaluated("unevaluable", f"cannot judge {firewall.name} {what}: {listing(segments, 3)}")


def drift_between(live: JudgedFirewall, boot: JudgedFirewall, flow: Flow) -> list[DriftSegment]:
    """Where the running rules and the boot's configuration give the flow's peers different fates."""
    now, at_boot = live.judge(flow), boot.judge(flow)
    for firewall, judgement in ((live, now), (boot, at_boot)):
        if judgement.unreadable:
            raise NotEvaluated(
                "unreadable",
                f"cannot compare the running rules with the configuration the host boots with: "
                f"{firewall.cannot_read(judgement)}",
            )
    return drift(now, at_boot)


def report_drift(
    verdict: Verdict,
    required: Sequence[DriftSegment],
    what: str,
    boot: JudgedFirewall,
    wider: Sequence[DriftSegment] = (),
    what_wider: str = "",
) -> None:
    """Fail where the next reboot refuses what the running rules accept for the peers the requirement
    needs; warn where the running rules refuse what the boot accepts, and for the `wider` peers (the
    recommended subnets); not evaluated where a side cannot be judged for the required peers.
    """
    lost = [d for d in required if d.worse_at_boot]
    shown = list(dict.fromkeys([*required, *wider]))
    verdict.observe(
        "lost-at-boot" if lost else "drift" if shown else "no-drift",
        f"{listing(shown, 5) or f'the running rules and the boot agree {what_wider or what}'} "
        f"({boot.judged_by()})",
    )
    if lost:
        verdict.fail(
            f"observed lost-at-boot: the running rules accept new TCP connections {what} that the "
            f"configuration the host boots with refuses: the next reboot breaks the requirement "
            f"(rules changed by hand and not saved?): {listing(lost, 3)}"
        )
    blind = [d for d in required if not d.comparable]
    if blind:
        raise NotEvaluated(
            "unevaluable",
            f"cannot compare the running rules with the configuration the host boots with {what}: "
            f"{listing(blind, 3)}",
        )
    gained = [d for d in shown if d.comparable and not d.worse_at_boot]
    if gained:
        verdict.warn(
            f"the running rules refuse new TCP connections {what_wider or what} that the configuration "
            f"the host boots with accepts (rules added by hand, or a configuration saved but not "
            f"loaded): {listing(gained, 3)}"
        )
    beyond = [d for d in wider if d.worse_at_boot or not d.comparable]
    if beyond:
        verdict.warn(
            f"the next reboot refuses, or may refuse, new TCP connections {what_wider}: {listing(beyond, 3)}"
        )
