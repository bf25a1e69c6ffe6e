"""The fleet on local targets: each host observed once, many hosts without starving the pool."""

from __future__ import annotations

import threading

import pytest
import testinfra.backend

from pytest_backupnet.fleet import Fleet, tcp_connect
from pytest_backupnet.probe import ProbeRequest
from pytest_backupnet.probe.records import PROC_NET_TCP
from pytest_backupnet.targets import HostUnavailable, Target, run_bounded
from pytest_backupnet.timeouts import Timeouts

TIMEOUTS = Timeouts(probe=1, ssh_connect=5, host_deadline=30)


def local_targets(count: int) -> list[Target]:
    backend = testinfra.backend.get_backend("local://")
    return [Target(f"node{i:03d}", backend) for i in range(count)]


def test_more_hosts_than_threads_with_inbound_checks_complete() -> None:
    targets = local_targets(80)
    names = [t.name for t in targets]
    fleet = Fleet(
        targets,
        {n: ProbeRequest(TIMEOUTS, read=PROC_NET_TCP) for n in names},
        dict.fromkeys(names, 2548),
        TIMEOUTS,
        lambda _name: names,
    )
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.extend(fleet.observe(n) for n in names), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "observing 80 hosts with inbound checks deadlocked"
    fleet.close()
    assert len(results) == 80
    observation = fleet.observe("node079")
    assert observation.error is None and observation.report is not None and observation.report.complete
    assert observation.inbound is not None and observation.inbound.outcome == "not-applicable"


def test_each_host_is_observed_once() -> None:
    targets = local_targets(3)
    names = [t.name for t in targets]
    fleet = Fleet(targets, {}, {}, TIMEOUTS, lambda _name: names)
    first = fleet.observe("node000")
    assert fleet.observe("node000") is first
    assert fleet.observe("node002").target.name == "node002"
    fleet.close()


def test_an_endless_answer_is_refused_at_the_cap() -> None:
    """A host may answer without end; the runner keeps at most MAX_ANSWER_BYTES of it."""
    [target] = local_targets(1)
    with pytest.raises(HostUnavailable) as raised:
        run_bounded(target, "yes", 30)
    assert raised.value.observed == "answer-too-large"


def test_a_silent_command_is_stopped_at_the_deadline() -> None:
    [target] = local_targets(1)
    with pytest.raises(HostUnavailable) as raised:
        run_bounded(target, "sleep 30", 0.5)
    assert raised.value.observed == "host-deadline"


def test_a_name_that_is_no_host_name_is_unresolved_not_a_crash() -> None:
    """A container name or a chroot path taken as the address: refused by the name codec itself,
    before any query (a label over 63 characters)."""
    outcome, detail = tcp_connect("/srv/" + "x" * 70, 2548, 1)
    assert outcome == "unresolved" and "is not a host name" in detail
