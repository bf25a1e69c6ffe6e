"""Test ids and host buckets: built from the host's name, never its transport."""

from __future__ import annotations

from pytest_backupnet.cases import Case, buckets, build_cases, host_of_nodeid
from pytest_backupnet.profile import load_profile


def test_ids_follow_the_result_contract() -> None:
    cases = build_cases("endpoint_port", load_profile("commercial"), ["web1"], [])
    assert len(cases) == 12
    assert "web1-evwebamp0903.service.softlayer.com:8087" in [c.id for c in cases]
    assert Case("web1", port=2548).id == "web1-2548"
    assert build_cases("runner_dns", load_profile("usgov"), ["web1"], ["198.18.0.1"])[0].id == (
        "runner@198.18.0.1-webcc.service.usgov.softlayer.com"
    )


def test_host_of_nodeid_prefers_the_longest_name() -> None:
    hosts = ["web", "web-1", "db"]
    assert host_of_nodeid("test_outbound.py::test_outbound_tcp[web-1-amp.example:8087]", hosts) == "web-1"
    assert host_of_nodeid("test_outbound.py::test_outbound_tcp[web-amp.example:8087]", hosts) == "web"
    assert host_of_nodeid("test_reachability.py::test_host_reachable[db]", hosts) == "db"
    assert host_of_nodeid("test_dns.py::test_dns_from_runner[runner@x-a.example]", hosts) is None


def test_buckets_round_robin() -> None:
    assert buckets(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert buckets(["a"], 4) == [["a"]]
