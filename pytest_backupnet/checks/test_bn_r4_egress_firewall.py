"""BN-R4: the host's own firewall lets the backup traffic out to the service subnets."""

from __future__ import annotations

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.firewall import Judgement
from pytest_backupnet.firewall_findings import cannot_judge, fail_refused, judged_by, refused, unknown
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict, listing


@control(
    "BN-R4.egress-firewall",
    requirements=["BN-R4"],
    direction="outbound",
    cases="egress_port",
    title="The host firewall lets the egress port out to the recommended subnets, at least the minimum",
    rationale="Rules narrower than the recommended subnets must at least allow the minimum ones, and "
    "may lose access when the infrastructure grows. The agent's SYN and the service's reply must both "
    "pass every hook of the host's firewall.",
)
def test_egress_firewall(
    case: Case, egress_judgements: dict[str, Judgement], backupnet_profile: Profile, verdict: Verdict
) -> None:
    assert case.port is not None
    egress = backupnet_profile.egress
    recommended = ", ".join(map(str, egress.recommended))
    minimum = ", ".join(map(str, egress.minimum))
    wide, narrow = egress_judgements["recommended"], egress_judgements["minimum"]
    if refused(narrow):
        fail_refused(
            verdict,
            case.port,
            refused(narrow),
            f"to port {case.port} for part of the minimum subnets {minimum}",
        )
    if unknown(narrow):
        cannot_judge(unknown(narrow), f"for tcp/{case.port} to the minimum subnets {minimum}")
    if not refused(wide) and not unknown(wide):
        verdict.observe("allowed", f"tcp/{case.port} to {recommended}: accepted ({judged_by(wide)})")
        return
    not_allowed = refused(wide) + unknown(wide)
    verdict.observe("minimum-only", f"tcp/{case.port}: {listing(not_allowed, 5)} ({judged_by(wide)})")
    known = "not to" if refused(wide) else "not provably to"
    verdict.warn(
        f"tcp/{case.port} is allowed to the minimum subnets ({minimum}) but {known} all of "
        f"{recommended}: access may be lost when the infrastructure grows"
    )
