"""Fixtures of the compliance suite."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .cases import Case
from .firewall.nft import Flow, Segment, Unevaluable, evaluate
from .fleet import HostObservation
from .listeners import Listener
from .probe import FileContent
from .profile import IPNetwork, Profile
from .session import HOSTS_FILE, BackupnetSession, session_of
from .verdict import HostNotEvaluated, NotEvaluated, Verdict


@pytest.fixture(scope="session")
def backupnet_session(request: pytest.FixtureRequest) -> BackupnetSession:
    """The run: profile, targets and the fleet of observations."""
    return session_of(request.config)


@pytest.fixture(scope="session")
def backupnet_profile(backupnet_session: BackupnetSession) -> Profile:
    return backupnet_session.profile


@pytest.fixture
def observation(
    case: Case, backupnet_session: BackupnetSession, request: pytest.FixtureRequest
) -> HostObservation:
    """What the batched probe saw on this case's host; an error if the host could not be observed."""
    observed = backupnet_session.fleet.observe(case.host)
    if observed.error is not None:
        primary = request.node.originalname == "test_host_reachable"
        raise HostNotEvaluated(observed.error, primary, observed.wall_s)
    return observed


# What each limit of the probe leaves unobserved, in the words of a check's error.
_LIMITED = {"resolve": "resolve names", "connect": "open TCP connections"}


@pytest.fixture
def probe_limits(case: Case, observation: HostObservation) -> None:
    """The pre-flight's one error for a host where the probe could not observe everything."""
    report = observation.report
    if report is not None and report.limits:
        raise NotEvaluated(
            "probe-limited",
            f"host {case.host}: the probe ran ({report.implementation}) but could not "
            + " nor ".join(_LIMITED.get(k, k) for k in sorted(report.limits))
            + ": "
            + "; ".join(report.limits[k] for k in sorted(report.limits))
            + ". The checks that need it are not evaluated; every other check of the host was.",
        )


@pytest.fixture
def host_resolves(case: Case, observation: HostObservation) -> None:
    """An error, not a verdict, where the probe could not resolve names on the host."""
    _require(case, observation, "resolve")


@pytest.fixture
def host_connects(case: Case, observation: HostObservation) -> None:
    """An error, not a verdict, where the probe could not resolve names or connect on the host.

    A name the host could not resolve still fails its TCP check (unresolved): that needs no connect.
    """
    _require(case, observation, "resolve")
    report = observation.report
    resolution = report.resolutions.get(case.endpoint) if report and case.endpoint else None
    if resolution is None or resolution.status == "ok":
        _require(case, observation, "connect")


def _require(case: Case, observation: HostObservation, *needs: str) -> None:
    limits = observation.report.limits if observation.report else {}
    for need in needs:
        if need in limits:
            raise NotEvaluated(
                "not-evaluated",
                f"not evaluated: the probe cannot {_LIMITED[need]} on host {case.host} "
                f"(reported once by test_host_reachable[{case.host}])",
            )


@pytest.fixture
def verdict(
    case: Case, record_property: Callable[[str, Any], None], request: pytest.FixtureRequest
) -> Verdict:
    marker = request.node.get_closest_marker("backupnet")
    requirement = marker.kwargs["requirement"] if marker else "unknown"
    return Verdict(record_property, case, requirement)


@pytest.fixture
def listening_sockets(observation: HostObservation) -> list[Listener]:
    """The host's listening TCP sockets; an error if /proc/net/tcp could not be read."""
    report = observation.report
    listeners, errors = report.listeners() if report else ([], ["no probe result"])
    if errors:
        raise NotEvaluated("unreadable", f"cannot read listening sockets: {'; '.join(errors)}")
    return listeners


@pytest.fixture
def agent_config(observation: HostObservation, backupnet_profile: Profile) -> list[FileContent]:
    """The agent's configuration files on the host; an error if none is found or readable."""
    patterns = backupnet_profile.agent.config_files
    report = observation.report
    files = [f for f in report.files if f.pattern in patterns] if report else []
    if not files:
        raise NotEvaluated(
            "no-config",
            f"no agent configuration found: {', '.join(patterns) or 'agent.config_files'} "
            "matched nothing (is the agent installed?)",
        )
    unreadable = [f"{f.path}: {f.error}" for f in files if f.error]
    if unreadable:
        raise NotEvaluated("unreadable", f"cannot read agent configuration: {'; '.join(unreadable)}")
    return files


@pytest.fixture
def hosts_file(observation: HostObservation) -> str:
    """The text of the host's /etc/hosts."""
    report = observation.report
    found = report.reads.get(HOSTS_FILE) if report else None
    if found is None or found.error:
        raise NotEvaluated("unreadable", f"cannot read {HOSTS_FILE}")
    return found.text


@pytest.fixture
def nft_ruleset(observation: HostObservation) -> dict[str, Any]:
    """The host's nftables ruleset; an error when it cannot be read or is not all there is."""
    report = observation.report
    found = report.commands if report else {}
    nft = found.get("nft")
    if nft is None or nft.error:
        reason = nft.error if nft else "not read"
        hint = " (reading it needs root: --sudo)" if "not permitted" in reason.lower() else ""
        raise NotEvaluated("unreadable", f"cannot read the nftables ruleset: {reason}{hint}")
    legacy = found.get("iptables-legacy")
    if legacy is not None and any(line.startswith("-A ") for line in legacy.text.splitlines()):
        raise NotEvaluated("unevaluable", "iptables-legacy rules are loaded; only nftables is evaluated")
    try:
        ruleset: dict[str, Any] = json.loads(nft.text)
    except ValueError as exc:
        raise NotEvaluated("unreadable", f"nft -j output is not JSON: {exc}") from None
    return ruleset


def _segments(ruleset: dict[str, Any], flow_of: Callable[[IPNetwork], Flow], subnets: Any) -> list[Segment]:
    try:
        return [s for net in subnets for s in evaluate(ruleset, flow_of(net), net)]
    except Unevaluable as exc:
        raise NotEvaluated("unevaluable", f"cannot evaluate the host firewall: {exc}") from None


@pytest.fixture
def egress_segments(
    case: Case, nft_ruleset: dict[str, Any], backupnet_profile: Profile
) -> dict[str, list[Segment]]:
    """Verdicts of the host firewall for new TCP connections out to the egress subnets."""
    assert case.port is not None
    port = case.port
    egress = backupnet_profile.egress
    return {
        kind: _segments(nft_ruleset, lambda net: Flow("output", port, net.version), subnets)
        for kind, subnets in (("recommended", egress.recommended), ("minimum", egress.minimum))
    }


@pytest.fixture
def inbound_segments(case: Case, nft_ruleset: dict[str, Any], backupnet_profile: Profile) -> list[Segment]:
    """Verdicts of the host firewall for new TCP connections in from the private network."""
    assert case.port is not None
    port = case.port
    subnets = backupnet_profile.agent.inbound_from
    return _segments(nft_ruleset, lambda net: Flow("input", port, net.version), subnets)
