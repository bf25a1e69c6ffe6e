"""One probe per host, asking for just what the selected checks read (their fixtures' needs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from .cases import RUNNER
from .check_record import RECORD_KEY
from .firewall import FIREWALL_COMMANDS, FIREWALL_FILES
from .firewall.saved import SAVED_COMMANDS, SAVED_FILE_GLOBS
from .needs import Need, needs_of
from .probe import ProbeRequest
from .probe.records import PROC_NET_TCP
from .profile import Profile
from .timeouts import Timeouts

HOSTS_FILE = "/etc/hosts"


@dataclass
class _HostPlan:
    resolve: dict[str, set[int]] = field(default_factory=dict)
    needs: set[Need] = field(default_factory=set)


def plan_probes(
    items: Sequence[pytest.Item], profile: Profile, timeouts: Timeouts, firewall: str = "live"
) -> dict[str, ProbeRequest]:
    """The probe request of every host that a selected, runnable item checks.

    `firewall` (--backupnet-firewall): the saved configurations are read unless only the running
    rules are judged.
    """
    plans: dict[str, _HostPlan] = {}
    for item in items:
        record = item.stash.get(RECORD_KEY, None)
        if record is None or record.case is None or record.case.host == RUNNER:
            continue
        if item.get_closest_marker("skip"):
            continue
        case = record.case
        needs = needs_of(getattr(item, "fixturenames", ()))
        plan = plans.setdefault(case.host, _HostPlan())
        plan.needs |= needs
        if Need.RESOLVE in needs and case.endpoint:
            ports = plan.resolve.setdefault(case.endpoint, set())
            if Need.CONNECT in needs and case.port is not None:
                ports.add(case.port)
    return {host: _request(plan, profile, timeouts, firewall) for host, plan in plans.items()}


def _request(plan: _HostPlan, profile: Profile, timeouts: Timeouts, firewall: str) -> ProbeRequest:
    read = [HOSTS_FILE] if Need.HOSTS_FILE in plan.needs else []
    if Need.LISTEN in plan.needs:
        read += PROC_NET_TCP
    globs = list(profile.agent.config_files) if Need.CONFIG in plan.needs else []
    commands: dict[str, Sequence[str]] = {}
    if Need.FIREWALL in plan.needs:
        read += [path for path in FIREWALL_FILES if path not in read]
        commands.update(FIREWALL_COMMANDS)
        if firewall != "live":
            globs += [pattern for pattern in SAVED_FILE_GLOBS if pattern not in globs]
            commands.update(SAVED_COMMANDS)
    return ProbeRequest(
        timeouts,
        resolve={name: sorted(ports) for name, ports in plan.resolve.items()},
        globs=globs,
        read=read,
        commands=commands,
    )


def plan_inbound(items: Sequence[pytest.Item]) -> dict[str, int]:
    """The management port the runner connects to, per host whose inbound check is selected."""
    ports = {}
    for item in items:
        record = item.stash.get(RECORD_KEY, None)
        if record is None or record.case is None or record.case.port is None:
            continue
        if Need.INBOUND in needs_of(getattr(item, "fixturenames", ())) and not item.get_closest_marker(
            "skip"
        ):
            ports[record.case.host] = record.case.port
    return ports
