"""How the host firewall's verdicts read as a check's observation and failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from .firewall.nft import Segment
from .verdict import Verdict


def refused(segments: Sequence[Segment]) -> list[Segment]:
    return [s for s in segments if s.verdict != "accept"]


def fail_refused(verdict: Verdict, port: int, refused_segments: Sequence[Segment], what: str) -> NoReturn:
    """Record the refused segments as the observation and fail, naming the first few."""
    observed = "rejected" if all(s.verdict == "reject" for s in refused_segments) else "dropped"
    verdict.observe(observed, f"tcp/{port}: " + "; ".join(map(str, refused_segments[:5])))
    verdict.fail(
        f"observed {observed}: the host firewall refuses new TCP connections {what}: "
        + "; ".join(map(str, refused_segments[:3]))
    )
