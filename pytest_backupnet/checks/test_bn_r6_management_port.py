"""BN-R6 (with BN-R8): the agent accepts its management connections on the private network."""

from __future__ import annotations

import pytest

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
from pytest_backupnet.fleet import InboundResult
from pytest_backupnet.listeners import Listener, port_state
from pytest_backupnet.outcome import NotEvaluated
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict

# The vendor's default; a site that changed it (AgentPortNumber) says so in its profile (BN-R8).
DEFAULT_MANAGEMENT_PORT = 2548


@control(
    "BN-R6.agent-listening",
    requirements=["BN-R6", "BN-R8"],
    direction="inbound",
    cases="management_port",
    title="The agent listens on its management port on a non-loopback address",
    rationale="Central Control and the portal manage the agent over TCP 2548 (or the port a site set "
    "with AgentPortNumber) from the private network; a loopback-only listener cannot be reached.",
)
def test_agent_listening(
    case: Case, listening_sockets: list[Listener], backupnet_profile: Profile, verdict: Verdict
) -> None:
    assert case.port is not None
    listeners = listening_sockets
    if case.port != DEFAULT_MANAGEMENT_PORT:
        verdict.warn(
            f"management port {case.port} is not the default {DEFAULT_MANAGEMENT_PORT} (BN-R8): firewall "
            "rules and Central Control must use it"
        )
    state = port_state(listeners, case.port)
    verdict.observe(state.observed, ", ".join(map(str, state.sockets)) or "no socket")
    if state.observed == "loopback-only":
        verdict.fail(
            f"observed loopback-only: the agent listens on {', '.join(map(str, state.sockets))} only; "
            "Central Control and the portal cannot reach it from the private network"
        )
    if state.observed == "not-listening":
        legacy = [
            p
            for p in backupnet_profile.agent.legacy_ports
            if port_state(listeners, p).observed != "not-listening"
        ]
        hint = (
            f"; it listens on legacy port {', '.join(map(str, legacy))} instead: an old EVault agent (BN-R7)"
            if legacy
            else "; is the agent (VVAgent/buagent) running, or was its port changed (BN-R8)?"
        )
        verdict.fail(f"observed not-listening: nothing listens on TCP {case.port}{hint}")


@control(
    "BN-R6.inbound-firewall",
    requirements=["BN-R6"],
    direction="inbound",
    cases="management_port",
    title="The host firewall lets the management port in from the private network",
    rationale="A listening agent is still unmanageable when the host's own firewall refuses Central "
    "Control's connections, or drops the agent's replies on their way out.",
)
def test_agent_firewall_inbound(
    case: Case,
    inbound_judgement: Judgement,
    judged_firewall: JudgedFirewall,
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    assert case.port is not None
    subnets = ", ".join(map(str, backupnet_profile.agent.inbound_from))
    if refused(inbound_judgement):
        fail_refused(
            verdict,
            case.port,
            refused(inbound_judgement),
            f"to the management port {case.port} from {subnets}",
            judged_firewall,
        )
    if unknown(inbound_judgement):
        cannot_judge(unknown(inbound_judgement), f"for tcp/{case.port} in from {subnets}", judged_firewall)
    judged = judged_by(inbound_judgement, judged_firewall)
    verdict.observe("allowed", f"tcp/{case.port} from {subnets}: accepted ({judged})")


@control(
    "BN-R6.inbound-firewall-drift",
    requirements=["BN-R6"],
    direction="inbound",
    cases="management_port",
    only_with="firewall-both",
    title="The firewall the host boots with lets in what the running rules let in",
    rationale="Rules changed by hand and never saved are lost at the next reboot: an agent manageable "
    "today must stay manageable after it. Judged with --backupnet-firewall both.",
)
def test_boot_drift_inbound(
    case: Case,
    firewall_pair: tuple[JudgedFirewall, JudgedFirewall],
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    assert case.port is not None
    live, boot = firewall_pair
    subnets = backupnet_profile.agent.inbound_from
    report_drift(
        verdict,
        drift_between(live, boot, Flow("inbound", case.port, subnets)),
        f"to the management port {case.port} from {', '.join(map(str, subnets))}",
        boot,
    )


@control(
    "BN-R6.inbound-from-runner",
    requirements=["BN-R6"],
    direction="inbound",
    cases="management_port",
    title="The runner, in Central Control's place, connects to the management port",
    rationale="The end-to-end view: the path and every firewall on it let the management connection in.",
)
def test_agent_inbound_from_runner(case: Case, inbound_connect: InboundResult, verdict: Verdict) -> None:
    inbound = inbound_connect
    if inbound.outcome == "not-applicable":
        pytest.skip(f"not applicable: {inbound.detail}; run from another machine with --hosts")
    if inbound.outcome == "unresolved":
        raise NotEvaluated("unresolved", f"no address to connect to: {inbound.detail}")
    verdict.observe(inbound.outcome, f"{inbound.address}:{inbound.port} {inbound.outcome}")
    if inbound.outcome != "open":
        verdict.fail(
            f"observed {inbound.outcome}: the runner cannot open TCP {inbound.address}:{inbound.port} "
            f"({inbound.detail}); the host firewall or the path blocks inbound management traffic"
        )
