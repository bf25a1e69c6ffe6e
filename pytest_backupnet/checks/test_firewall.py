"""BN-R4 and BN-R6: the host's own firewall (nftables) lets the backup traffic out and in."""

from __future__ import annotations

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.firewall.nft import Segment
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict


def _refused(segments: list[Segment]) -> list[Segment]:
    return [s for s in segments if s.verdict != "accept"]


def _observed(refused: list[Segment]) -> str:
    return "rejected" if all(s.verdict == "reject" for s in refused) else "dropped"


@pytest.mark.backupnet(
    requirement="BN-R4",
    direction="outbound",
    cases="egress_port",
    probe=("firewall",),
    title="The host firewall lets the egress port out to the recommended subnets, at least the minimum",
)
def test_egress_firewall(
    case: Case,
    egress_segments: dict[str, list[Segment]],
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    egress = backupnet_profile.egress
    recommended = ", ".join(map(str, egress.recommended))
    minimum = ", ".join(map(str, egress.minimum))
    not_recommended = _refused(egress_segments["recommended"])
    not_minimum = _refused(egress_segments["minimum"])
    if not not_recommended:
        verdict.observe("allowed", f"tcp/{case.port} to {recommended}: accepted", port=case.port)
        return
    if not not_minimum:
        verdict.observe(
            "minimum-only", f"tcp/{case.port}: " + "; ".join(map(str, not_recommended[:5])), port=case.port
        )
        verdict.warn(
            f"tcp/{case.port} is allowed to the minimum subnets ({minimum}) but not to all of "
            f"{recommended}: access may be lost when the infrastructure grows"
        )
        return
    observed = _observed(not_minimum)
    verdict.observe(observed, f"tcp/{case.port}: " + "; ".join(map(str, not_minimum[:5])), port=case.port)
    verdict.fail(
        f"observed {observed}: the host firewall refuses new TCP connections to port {case.port} "
        f"for part of the minimum subnets {minimum}: " + "; ".join(map(str, not_minimum[:3]))
    )


@pytest.mark.backupnet(
    requirement="BN-R6",
    direction="inbound",
    cases="management_port",
    probe=("firewall",),
    title="The host firewall lets the management port in from the private network",
)
def test_agent_firewall_inbound(
    case: Case, inbound_segments: list[Segment], backupnet_profile: Profile, verdict: Verdict
) -> None:
    subnets = ", ".join(map(str, backupnet_profile.agent.inbound_from))
    refused = _refused(inbound_segments)
    if not refused:
        verdict.observe("allowed", f"tcp/{case.port} from {subnets}: accepted", port=case.port)
        return
    observed = _observed(refused)
    verdict.observe(observed, f"tcp/{case.port}: " + "; ".join(map(str, refused[:5])), port=case.port)
    verdict.fail(
        f"observed {observed}: the host firewall refuses new TCP connections to the management port "
        f"{case.port} from {subnets}: " + "; ".join(map(str, refused[:3]))
    )
