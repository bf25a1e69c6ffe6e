"""Pre-flight: the suite can reach the host at all (not a requirement: the condition for all of them)."""

from __future__ import annotations

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.fleet import HostObservation
from pytest_backupnet.verdict import Verdict


@pytest.mark.usefixtures("probe_limits")
@pytest.mark.backupnet(requirement="preflight", cases="host", title="The suite reaches the host")
def test_host_reachable(case: Case, observation: HostObservation, verdict: Verdict) -> None:
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
