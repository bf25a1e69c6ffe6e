"""How the host firewall's judgement of a flow reads as a check's observation, warning or failure.

A verdict stands only where it is certain: a segment the evaluator could not judge ("unknown")
never counts as allowed, and it makes the check not evaluated unless a certain refusal already
decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from .firewall import Judgement, Segment
from .outcome import NotEvaluated
from .verdict import Verdict, listing


def refused(judgement: Judgement) -> list[Segment]:
    return [s for s in judgement.segments if s.verdict in ("drop", "reject")]


def unknown(judgement: Judgement) -> list[Segment]:
    return [s for s in judgement.segments if s.verdict == "unknown"]


def judged_by(judgement: Judgement) -> str:
    """Which rules were judged, for the evidence."""
    if judgement.nothing_filters:
        return "nothing filters: no firewall rules are loaded"
    return f"judged: {', '.join(judgement.judged)}"


def fail_refused(verdict: Verdict, port: int, segments: Sequence[Segment], what: str) -> NoReturn:
    """Record the refused segments as the observation and fail, naming the first few."""
    observed = "rejected" if all(s.verdict == "reject" for s in segments) else "dropped"
    verdict.observe(observed, f"tcp/{port}: {listing(segments, 5)}")
    verdict.fail(
        f"observed {observed}: the host firewall refuses new TCP connections {what}: {listing(segments, 3)}"
    )


def cannot_judge(segments: Sequence[Segment], what: str) -> NoReturn:
    """Not evaluated: the rule and the match whose truth decides, for the first segments."""
    raise NotEvaluated("unevaluable", f"cannot judge the host firewall {what}: {listing(segments, 3)}")
