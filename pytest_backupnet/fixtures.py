"""Fixtures of the compliance suite. Each observation fixture declares what it reads from the host,
so what a check reads follows from the fixtures it uses, whatever the selection."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from .audit import AUDIT_KEY, Audit
from .cases import Case
from .check_record import RECORD_KEY
from .configscan import hosts_file_names as names_in_hosts_file
from .controls import PREFLIGHT
from .dnsquery import RunnerResolution, query_addresses
from .firewall import FIREWALL_FILES, Flow, HostFirewall, Judgement, read_host_firewall
from .firewall.saved import SavedFirewall, files_from_probe, read_saved_firewall
from .firewall_view import JudgedFirewall, boot_firewall, choose_firewall
from .fleet import HostObservation, InboundResult
from .listeners import Listener
from .needs import Need, observes
from .observing import OBSERVING_KEY
from .outcome import HostNotEvaluated, NotEvaluated
from .planning import HOSTS_FILE
from .probe import Connection, FileContent, Resolution
from .profile import IPNetwork, Profile
from .verdict import Verdict


@pytest.fixture(scope="session")
def backupnet_audit(request: pytest.FixtureRequest) -> Audit:
    """The run: profile, targets, limits and waivers."""
    return request.config.stash[AUDIT_KEY]


@pytest.fixture(scope="session")
def backupnet_profile(backupnet_audit: Audit) -> Profile:
    return backupnet_audit.profile


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    return Verdict(request.node.stash[RECORD_KEY])


@pytest.fixture
def observation(case: Case, request: pytest.FixtureRequest) -> HostObservation:
    """What the batched probe saw on this case's host; not evaluated if the host could not be observed."""
    observed = request.config.stash[OBSERVING_KEY].fleet.observe(case.host)
    preflight = request.node.stash[RECORD_KEY].control.id == PREFLIGHT
    if observed.error is not None:
        raise HostNotEvaluated(observed.error, preflight, observed.wall_s)
    report = observed.report
    if preflight and report is not None and report.limits:
        # The one error for a host where the probe could not observe everything (no python3, bash
        # or nc to connect with, ...); the checks that need what is missing point here.
        raise NotEvaluated(
            "probe-limited",
            f"host {case.host}: the probe ran ({report.implementation}) but could not "
            + " nor ".join(_LIMITED.get(k, k) for k in sorted(report.limits))
            + ": "
            + "; ".join(report.limits[k] for k in sorted(report.limits))
            + ". The checks that need it are not evaluated; every other check of the host was.",
        )
    return observed


# What each limit of the probe leaves unobserved, in the words of a check's error.
_LIMITED = {"resolve": "resolve names", "connect": "open TCP connections"}


def _require(case: Case, observation: HostObservation, need: str) -> None:
    """Not evaluated, never a verdict, where the probe could not make this observation on the host."""
    if observation.report is not None and need in observation.report.limits:
        raise NotEvaluated(
            "not-evaluated",
            f"not evaluated: the probe cannot {_LIMITED[need]} on host {case.host} "
            f"(reported once by test_host_reachable[{case.host}])",
        )


@observes(Need.RESOLVE)
def resolution(case: Case, observation: HostObservation) -> Resolution | None:
    """The host resolver's answer for the case's endpoint; None when none came in time."""
    assert observation.report is not None and case.endpoint
    _require(case, observation, "resolve")
    return observation.report.resolutions.get(case.endpoint)


@observes(Need.RESOLVE, Need.CONNECT)
def connections(case: Case, observation: HostObservation) -> list[Connection]:
    """The host's TCP connects to each resolved address of the case's endpoint and port.

    A name the host could not resolve still fails its TCP check (unresolved): that needs no connect.
    """
    assert observation.report is not None and case.endpoint and case.port is not None
    _require(case, observation, "resolve")
    resolved = observation.report.resolutions.get(case.endpoint)
    if resolved is None or resolved.status == "ok":
        _require(case, observation, "connect")
    return observation.report.connections_to(case.endpoint, case.port)


@observes(Need.HOSTS_FILE)
def hosts_file_names(observation: HostObservation) -> set[str]:
    """The names /etc/hosts answers for (none when it cannot be read: then DNS answered)."""
    found = observation.report.reads.get(HOSTS_FILE) if observation.report else None
    return names_in_hosts_file(found.text) if found and not found.error else set()


@observes(Need.HOSTS_FILE)
def hosts_file(observation: HostObservation) -> str:
    """The text of the host's /etc/hosts."""
    found = observation.report.reads.get(HOSTS_FILE) if observation.report else None
    if found is None or found.error:
        raise NotEvaluated("unreadable", f"cannot read {HOSTS_FILE}: {found.error if found else 'not read'}")
    return found.text


@observes(Need.LISTEN)
def listening_sockets(observation: HostObservation) -> list[Listener]:
    """The host's listening TCP sockets; not evaluated if /proc/net/tcp could not be read."""
    report = observation.report
    listeners, errors = report.listeners() if report else ([], ["no probe result"])
    if errors:
        raise NotEvaluated("unreadable", f"cannot read listening sockets: {'; '.join(errors)}")
    return listeners


@observes(Need.CONFIG)
def agent_config(observation: HostObservation, backupnet_profile: Profile) -> list[FileContent]:
    """The agent's configuration files on the host; not evaluated if none is found or readable."""
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


@observes(Need.FIREWALL)
def host_firewall(observation: HostObservation) -> HostFirewall:
    """The host's firewall rules and the facts they depend on, parsed once per host."""
    found = observation.derived.get("firewall")
    if not isinstance(found, HostFirewall):
        report = observation.report
        assert report is not None
        reads = {path: report.reads[path] for path in FIREWALL_FILES if path in report.reads}
        found = read_host_firewall({**report.commands, **reads})
        observation.derived["firewall"] = found
    return found


def _saved_firewall(observation: HostObservation) -> SavedFirewall:
    """The saved configurations the host boots with, read once per host, when a check needs them."""
    found = observation.derived.get("saved_firewall")
    if not isinstance(found, SavedFirewall):
        report = observation.report
        assert report is not None
        # The runner's own nft loads nftables scripts where it may, in a namespace made for it.
        found = read_saved_firewall(files_from_probe(report.files, report.commands), runner_nft=True)
        observation.derived["saved_firewall"] = found
    return found


@pytest.fixture
def judged_firewall(
    observation: HostObservation, host_firewall: HostFirewall, backupnet_audit: Audit, verdict: Verdict
) -> JudgedFirewall:
    """The firewall the checks judge (--backupnet-firewall), named in the record whatever the outcome."""
    chosen = choose_firewall(backupnet_audit.firewall, host_firewall, lambda: _saved_firewall(observation))
    verdict.note(firewall=chosen.source, **({"firewall_why": chosen.why} if chosen.why else {}))
    return chosen


def _judged(firewall: JudgedFirewall, direction: str, port: int, subnets: Sequence[IPNetwork]) -> Judgement:
    judgement = firewall.judge(Flow(direction, port, tuple(subnets)))
    if judgement.unreadable:
        raise NotEvaluated("unreadable", firewall.cannot_read(judgement))
    return judgement


@pytest.fixture
def egress_judgements(
    case: Case, judged_firewall: JudgedFirewall, backupnet_profile: Profile
) -> dict[str, Judgement]:
    """The judged firewall's verdicts for the agent's connections out to the egress subnets, by kind."""
    assert case.port is not None
    egress = backupnet_profile.egress
    return {
        kind: _judged(judged_firewall, "egress", case.port, subnets)
        for kind, subnets in (("recommended", egress.recommended), ("minimum", egress.minimum))
    }


@pytest.fixture
def inbound_judgement(case: Case, judged_firewall: JudgedFirewall, backupnet_profile: Profile) -> Judgement:
    """The judged firewall's verdicts for connections in to the management port from the private network."""
    assert case.port is not None
    return _judged(judged_firewall, "inbound", case.port, backupnet_profile.agent.inbound_from)


@pytest.fixture
def firewall_pair(
    observation: HostObservation, host_firewall: HostFirewall, verdict: Verdict
) -> tuple[JudgedFirewall, JudgedFirewall]:
    """The running rules and the configuration the host boots with, for drift (--backupnet-firewall both)."""
    verdict.note(firewall="both")
    saved = _saved_firewall(observation)
    return JudgedFirewall("live", "", host_firewall), boot_firewall(host_firewall, saved)


@observes(Need.INBOUND)
def inbound_connect(observation: HostObservation) -> InboundResult:
    """The runner's own TCP connect to the host's management port, in Central Control's place."""
    assert observation.inbound is not None
    return observation.inbound


@observes(Need.RUNNER_DNS)
def runner_answer(case: Case, backupnet_audit: Audit) -> RunnerResolution:
    """The named DNS server's answers (A and AAAA) for the case's endpoint, asked from the runner."""
    assert case.endpoint and case.dns_server
    return query_addresses(case.endpoint, case.dns_server, backupnet_audit.timeouts.probe)
