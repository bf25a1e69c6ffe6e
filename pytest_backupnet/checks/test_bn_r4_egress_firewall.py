"""BN-R4: the host's own firewall lets the backup traffic out to the service subnets."""

from __future__ import annotations

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.firewall import Flow, Judgement
from pytest_backupnet.firewall_findings import (
    cannot_judge,
    drift_between,
    fail_refused,
    judged_by,
    refused,
    report_drift,
    unknown,
)
from pytest_backupnet.firewall_view import JudgedFirewall
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
    case: Case,
    egress_judgements: dict[str, Judgement],
    judged_firewall: JudgedFirewall,
    backupnet_profile: Profile,
    verdict: Verdict,
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
            judged_firewall,
        )
    if unknown(narrow):
        cannot_judge(
            unknown(narrow), f"for tcp/{case.port} to the minimum subnets {minimum}", judged_firewall
        )
    judged = judged_by(wide, judged_firewall)
    if not refused(wide) and not unknown(wide):
        verdict.observe("allowed", f"tcp/{case.port} to {recommended}: accepted ({judged})")
        return
    not_allowed = refused(wide) + unknown(wide)
    verdict.observe("minimum-only", f"tcp/{case.port}: {listing(not_allowed, 5)} ({judged})")
    known = "not to" if refused(wide) else "not provably to"
    verdict.warn(
        f"tcp/{case.port} is allowed to the minimum subnets ({minimum}) but {known} all of "
        f"{recommended}: access may be lost when the infrastructure grows"
    )


@control(
    "BN-R4.egress-firewall-drift",
    requirements=["BN-R4"],
    direction="outbound",
    cases="egress_port",
    only_with="firewall-both",
    title="The firewall the host boots with lets out what the running rules let out",
    rationale="Rules changed by hand and never saved are lost at the next reboot: a host that passes "
    "today must still let the backup traffic out after it. Judged with --backupnet-firewall both.",
)
def test_boot_drift_egress(
    case: Case,
    firewall_pair: tuple[JudgedFirewall, JudgedFirewall],
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    assert case.port is not None
    live, boot = firewall_pair
    egress = backupnet_profile.egress
    report_drift(
        verdict,
        drift_between(live, boot, Flow("egress", case.port, egress.minimum)),
        f"to tcp/{case.port} of the minimum subnets {', '.join(map(str, egress.minimum))}",
        boot,
        drift_between(live, boot, Flow("egress", case.port, egress.recommended)),
        f"to tcp/{case.port} of the recommended subnets {', '.join(map(str, egress.recommended))}",
    )
