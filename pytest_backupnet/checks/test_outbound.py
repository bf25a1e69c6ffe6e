"""BN-R2 / BN-R3: from the host itself, every endpoint answers on each of its ports."""

from __future__ import annotations

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.fleet import HostObservation
from pytest_backupnet.verdict import Verdict

CAUSES = {
    "timeout": "no answer: a firewall drops the traffic, on the host or on the path",
    "refused": "a reset or port-unreachable came back: a firewall rejects it, or the "
    "address that DNS gave is not the service",
    "unreachable": "no route, or the host's own policy forbids it",
    "error": "the connect failed in an unexpected way",
}
# When addresses of one name disagree, the cell shows the worst.
SEVERITY = ("timeout", "unreachable", "refused", "error", "open")


@pytest.mark.usefixtures("host_connects")
@pytest.mark.backupnet(
    requirement="BN-R2",
    also=("BN-R3",),
    direction="outbound",
    network=True,
    cases="endpoint_port",
    probe=("resolve", "connect"),
    title="The host reaches every portal and AMP proxy endpoint on its ports",
)
def test_outbound_tcp(case: Case, observation: HostObservation, verdict: Verdict) -> None:
    assert observation.report is not None and case.endpoint and case.port
    resolution = observation.report.resolutions.get(case.endpoint)
    if resolution is None or resolution.status != "ok":
        status = resolution.status if resolution else "no answer from the resolver in time"
        verdict.observe("unresolved", f"{case.endpoint}: {status}", endpoint=case.endpoint, port=case.port)
        verdict.fail(
            f"observed unresolved: the host cannot resolve {case.endpoint} ({status}), "
            "so it cannot connect (see BN-R5)"
        )
    connections = observation.report.connections_to(case.endpoint, case.port)
    evidence = "; ".join(f"{c.address}:{c.port} {c.outcome} {c.millis}ms" for c in connections)
    worst = min((c.outcome for c in connections), key=SEVERITY.index)
    verdict.observe(worst, evidence, endpoint=case.endpoint, port=case.port)
    if worst != "open":
        bad = [c for c in connections if c.outcome != "open"]
        detail = ", ".join(f"{c.address} {c.outcome} ({c.detail})" for c in bad)
        verdict.fail(
            f"observed {worst}: TCP {case.endpoint}:{case.port} from {case.host}: {detail}; "
            f"likely cause: {CAUSES[worst]}"
        )
