"""Pre-flight: the suite can reach the host at all (not a requirement: the condition for all of them)."""

from __future__ import annotations

from pytest_backupnet.controls import PREFLIGHT, control
from pytest_backupnet.fleet import HostObservation
from pytest_backupnet.verdict import Verdict


@control(
    PREFLIGHT,
    requirements=["preflight"],
    cases="host",
    title="The suite reaches the host",
    rationale="Every other check of a host reads what its one probe observed; a host that cannot be "
    "reached is reported here once, with the reason, and its other checks are not evaluated.",
)
def test_host_reachable(observation: HostObservation, verdict: Verdict) -> None:
    report = observation.report
    assert report is not None
    verdict.observe(
        "reachable",
        f"via {observation.target.transport} to host {report.hostname!r}; "
        f"probe: {report.implementation}; " + ", ".join(observation.steps),
        host_wall_s=round(observation.wall_s, 3),
    )
    if not report.complete:
        verdict.fail("the probe stopped before its end; some observations may be missing")
