"""BN-R4 and BN-R6: the host's own firewall (nftables) lets the backup traffic out and in."""

from __future__ import annotations

from typing import NoReturn

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.firewall.nft import Segment
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict


def _refused(segments: list[Segment]) -> list[Segment]:
    return [s for s in segments if s.verdict != "accept"]


def _fail_refused(verdict: Verdict, port: int, refused: list[Segment], what: str) -> NoReturn:
    """Record the refused segments as the observation and fail, naming the first few."""
    observed = "rejected" if all(s.verdict == "reject" for s in refused) else "dropped"
    verdict.observe(observed, f"tcp/{port}: " + "; ".join(map(str, refused[:5])), port=port)
    verdict.fail(
        f"observed {observed}: the host firewall refuses new TCP connections {what}: "
        + "; ".join(map(str, refused[:3]))
    )


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
    assert case.port is not None
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
    _fail_refused(
        verdict, case.port, not_minimum, f"to port {case.port} for part of the minimum subnets {minimum}"
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
    assert case.port is not None
    subnets = ", ".join(map(str, backupnet_profile.agent.inbound_from))
    refused = _refused(inbound_segments)
    if not refused:
        verdict.observe("allowed", f"tcp/{case.port} from {subnets}: accepted", port=case.port)
        return
    _fail_refused(verdict, case.port, refused, f"to the management port {case.port} from {subnets}")
