"""BN-R6 / BN-R7: the agent listens on its management port where Central Control can reach it."""

from __future__ import annotations

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.fleet import HostObservation
from pytest_backupnet.listeners import Listener, port_state
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict

# The vendor's default; a site that changed it (AgentPortNumber) says so in its profile (BN-R8).
DEFAULT_MANAGEMENT_PORT = 2548


@pytest.mark.backupnet(
    requirement="BN-R6",
    also=("BN-R8",),
    direction="inbound",
    cases="management_port",
    probe=("listen",),
    title="The agent listens on its management port on a non-loopback address",
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
    verdict.observe(state.observed, ", ".join(map(str, state.sockets)) or "no socket", port=case.port)
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


@pytest.mark.backupnet(
    requirement="BN-R6",
    direction="inbound",
    network=True,
    cases="management_port",
    probe=("inbound",),
    title="The runner, in Central Control's place, connects to the management port",
)
def test_agent_inbound_from_runner(case: Case, observation: HostObservation, verdict: Verdict) -> None:
    inbound = observation.inbound
    assert inbound is not None
    if inbound.outcome == "not-applicable":
        pytest.skip(f"not applicable: {inbound.detail}; run from another machine with --hosts")
    verdict.observe(inbound.outcome, f"{inbound.address}:{inbound.port} {inbound.outcome}", port=case.port)
    if inbound.outcome != "open":
        verdict.fail(
            f"observed {inbound.outcome}: the runner cannot open TCP {inbound.address}:{inbound.port} "
            f"({inbound.detail}); the host firewall or the path blocks inbound management traffic"
        )


@pytest.mark.backupnet(
    requirement="BN-R7",
    direction="inbound",
    cases="legacy_port",
    probe=("listen",),
    title="No agent listens on a legacy EVault port",
)
def test_agent_legacy_port(case: Case, listening_sockets: list[Listener], verdict: Verdict) -> None:
    assert case.port is not None
    state = port_state(listening_sockets, case.port)
    verdict.observe(state.observed, ", ".join(map(str, state.sockets)) or "no socket", port=case.port)
    if state.observed == "listening":
        verdict.fail(
            f"observed listening: something listens on legacy port {case.port} "
            f"({', '.join(map(str, state.sockets))}): an old EVault agent, or a port the firewall "
            "and Central Control were not told about"
        )
