"""BN-R2 / BN-R3: from the host itself, every endpoint answers on each of its ports."""

from __future__ import annotations

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.probe import Connection, Resolution
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


@control(
    "BN-R2.outbound-tcp",
    requirements=["BN-R2", "BN-R3"],
    direction="outbound",
    cases="endpoint_port",
    title="The host reaches every portal and AMP proxy endpoint on its ports",
    rationale="Every server must reach the portal and every AMP proxy, whatever its data centre, on "
    "TCP 8086/8087 (portal, registration) and 8087 (AMP proxies).",
)
def test_outbound_tcp(
    case: Case, resolution: Resolution | None, connections: list[Connection], verdict: Verdict
) -> None:
    assert case.endpoint and case.port
    if resolution is None or resolution.status != "ok":
        status = resolution.status if resolution else "no answer from the resolver in time"
        verdict.observe("unresolved", f"{case.endpoint}: {status}")
        verdict.fail(
            f"observed unresolved: the host cannot resolve {case.endpoint} ({status}), "
            "so it cannot connect (see BN-R5)"
        )
    evidence = "; ".join(f"{c.address}:{c.port} {c.outcome} {c.millis}ms" for c in connections)
    worst = min((c.outcome for c in connections), key=SEVERITY.index)
    verdict.observe(worst, evidence)
    if worst != "open":
        bad = [c for c in connections if c.outcome != "open"]
        detail = ", ".join(f"{c.address} {c.outcome} ({c.detail})" for c in bad)
        verdict.fail(
            f"observed {worst}: TCP {case.endpoint}:{case.port} from {case.host}: {detail}; "
            f"likely cause: {CAUSES[worst]}"
        )
