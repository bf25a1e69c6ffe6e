"""BN-R4: the host's own firewall lets the backup traffic out to the service subnets."""

from __future__ import annotations

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.firewall.nft import Segment
from pytest_backupnet.firewall_findings import fail_refused, refused
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict


@control(
    "BN-R4.egress-firewall",
    requirements=["BN-R4"],
    direction="outbound",
    cases="egress_port",
    title="The host firewall lets the egress port out to the recommended subnets, at least the minimum",
    rationale="Rules narrower than the recommended subnets must at least allow the minimum ones, and "
    "may lose access when the infrastructure grows.",
)
def test_egress_firewall(
    case: Case,
    egress_segments: dict[str, list[Segment]],
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    assert case.port is not None
    egress = backupnet_profile.egress
    recommended = ", ".join(map(str, egress.recommended))
    minimum = ", ".join(map(str, egress.minimum))
    not_recommended = refused(egress_segments["recommended"])
    not_minimum = refused(egress_segments["minimum"])
    if not not_recommended:
        verdict.observe("allowed", f"tcp/{case.port} to {recommended}: accepted")
        return
    if not not_minimum:
        verdict.observe("minimum-only", f"tcp/{case.port}: " + "; ".join(map(str, not_recommended[:5])))
        verdict.warn(
            f"tcp/{case.port} is allowed to the minimum subnets ({minimum}) but not to all of "
            f"{recommended}: access may be lost when the infrastructure grows"
        )
        return
    fail_refused(
        verdict, case.port, not_minimum, f"to port {case.port} for part of the minimum subnets {minimum}"
    )
