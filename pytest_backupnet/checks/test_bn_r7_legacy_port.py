"""BN-R7: no old EVault agent listens on a legacy port instead of the management port."""

from __future__ import annotations

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.listeners import Listener, port_state
from pytest_backupnet.verdict import Verdict


@control(
    "BN-R7.legacy-port",
    requirements=["BN-R7"],
    direction="inbound",
    cases="legacy_port",
    title="No agent listens on a legacy EVault port",
    rationale="Older EVault agents used port 808: a listener there is an old agent, or a port that the "
    "firewall and Central Control were not told about.",
)
def test_agent_legacy_port(case: Case, listening_sockets: list[Listener], verdict: Verdict) -> None:
    assert case.port is not None
    state = port_state(listening_sockets, case.port)
    verdict.observe(state.observed, ", ".join(map(str, state.sockets)) or "no socket")
    if state.observed == "listening":
        verdict.fail(
            f"observed listening: something listens on legacy port {case.port} "
            f"({', '.join(map(str, state.sockets))}): an old EVault agent, or a port the firewall "
            "and Central Control were not told about"
        )
