"""Verdicts against real hosts: every fault predicts its check, and the good host passes all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.fleet_specs import AUDITED
from tests.lab.network import Lab
from tests.lab.suite_run import SuiteRun, run_suite


@pytest.mark.parametrize("host", ["good", "dualstack", "nopython"])
def test_good_host_passes_every_check(lab_run: SuiteRun, host: str) -> None:
    good = [r for r in lab_run.records if r["host"] == host]
    assert len(good) == 1 + 12 + 10 + 2 + 1 + 2 + 3  # pre-flight, TCP, DNS, R6 x2, R7, R1 x2, firewall
    assert {r["outcome"] for r in good} == {"pass"}, [r for r in good if r["outcome"] != "pass"]


def test_host_without_python_is_probed_with_the_sh_probe(lab_run: SuiteRun) -> None:
    reachable = lab_run.record("test_host_reachable", "nopython")
    assert "probe: sh" in reachable["evidence"]
    assert "probe: python" in lab_run.record("test_host_reachable", "good")["evidence"]


def test_ipv6_wildcard_listener_counts_as_listening(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_agent_listening", "dualstack")
    assert (record["observed"], record["evidence"]) == ("listening", "[::]:2548")


def test_dropped_port_is_a_timeout(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_outbound_tcp", "fw", endpoint="amp03.lab.backupnet.test")
    assert (record["outcome"], record["observed"], record["requirement"]) == (
        "fail",
        "timeout",
        "BN-R2,BN-R3",
    )
    assert "drops" in record["message"] and "198.19.2.13" in record["message"]


def test_rejected_port_is_refused(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_outbound_tcp", "fw", endpoint="amp04.lab.backupnet.test")
    assert (record["outcome"], record["observed"]) == ("fail", "refused")


def test_other_ports_of_the_firewalled_host_stay_open(lab_run: SuiteRun) -> None:
    others = [
        r for r in lab_run.records
        if r["host"] == "fw" and r["check"] == "test_outbound_tcp"
        and r["endpoint"] not in ("amp03.lab.backupnet.test", "amp04.lab.backupnet.test")
    ]  # fmt: skip
    assert len(others) == 10 and {r["observed"] for r in others} == {"open"}


def test_host_firewall_drop_is_found_in_the_ruleset(lab_run: SuiteRun) -> None:
    egress = lab_run.record("test_egress_firewall", "fw", port=8087)
    assert (egress["outcome"], egress["observed"], egress["requirement"]) == ("fail", "dropped", "BN-R4")
    assert (
        '198.19.2.13 dropped by inet bnlab output handle 3 "ip daddr 198.19.2.13 tcp dport 8087 drop" '
        "(syn path)" in egress["evidence"]
    )
    assert "198.19.2.14 rejected by inet bnlab output handle 4" in egress["evidence"]
    assert lab_run.record("test_egress_firewall", "fw", port=8086)["observed"] == "allowed"
    inbound = lab_run.record("test_agent_firewall_inbound", "fw")
    assert (inbound["outcome"], inbound["observed"], inbound["requirement"]) == ("fail", "dropped", "BN-R6")


def test_minimum_subnets_only_pass_with_a_warning(lab_run: SuiteRun) -> None:
    for port in (8086, 8087):
        record = lab_run.record("test_egress_firewall", "narrow", port=port)
        assert (record["outcome"], record["observed"]) == ("pass", "minimum-only")
        assert any("may be lost when the infrastructure grows" in w for w in record["warnings"])
    outbound = [r for r in lab_run.records if r["host"] == "narrow" and r["check"] == "test_outbound_tcp"]
    assert {r["observed"] for r in outbound} == {"open"}


def test_a_mark_from_outside_the_ruleset_is_not_evaluated_naming_the_rule(lab_run: SuiteRun) -> None:
    """Dropped if something outside the ruleset marks the packet, allowed if not: never a guess."""
    record = lab_run.record("test_egress_firewall", "marked", port=8087)
    assert (record["outcome"], record["status"]) == ("error", "not-evaluated"), record
    message = record["message"]
    assert 'output handle 3 "meta mark 0x0000002a tcp dport 8087 drop"' in message, message
    assert "(a mark set outside the ruleset) (the verdict would be accept or drop)" in message, message
    assert lab_run.record("test_egress_firewall", "marked", port=8086)["outcome"] == "pass"


def test_inbound_drop_seen_from_the_runner(lab_run: SuiteRun) -> None:
    inbound = lab_run.record("test_agent_inbound_from_runner", "fw")
    assert (inbound["outcome"], inbound["observed"]) == ("fail", "timeout")
    listening = lab_run.record("test_agent_listening", "fw")
    assert (listening["outcome"], listening["observed"]) == ("pass", "listening")


def test_ip_literal_in_agent_config(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_agent_config_no_ip_literal", "pinned")
    assert (record["outcome"], record["observed"], record["requirement"]) == ("fail", "ip-literal", "BN-R1")
    assert "/opt/BUAgent/buagent.cfg:2: 198.19.1.1" in record["evidence"]


def test_hosts_file_pin(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_hosts_file_no_pin", "pinned")
    assert (record["outcome"], record["observed"]) == ("fail", "hosts-pin")
    assert "amp05.lab.backupnet.test" in record["evidence"]
    dns = lab_run.record("test_dns_resolution", "pinned", endpoint="amp05.lab.backupnet.test")
    assert dns["outcome"] == "pass" and "from /etc/hosts" in dns["evidence"]


def test_agent_on_legacy_port(lab_run: SuiteRun) -> None:
    legacy = lab_run.record("test_agent_legacy_port", "legacy")
    assert (legacy["outcome"], legacy["observed"], legacy["requirement"]) == ("fail", "listening", "BN-R7")
    management = lab_run.record("test_agent_listening", "legacy")
    assert (management["outcome"], management["observed"]) == ("fail", "not-listening")
    assert "legacy port 808" in management["message"]


def test_agent_on_loopback_only(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_agent_listening", "loopback")
    assert (record["outcome"], record["observed"]) == ("fail", "loopback-only")
    assert "127.0.0.1:2548" in record["evidence"]


def test_missing_dns_record(lab_run: SuiteRun) -> None:
    dns = lab_run.record("test_dns_resolution", "loopback", endpoint="amp06.lab.backupnet.test")
    assert (dns["outcome"], dns["observed"], dns["requirement"]) == ("fail", "unresolved", "BN-R5")
    tcp = lab_run.record("test_outbound_tcp", "loopback", endpoint="amp06.lab.backupnet.test")
    assert (tcp["outcome"], tcp["observed"]) == ("fail", "unresolved")


def test_drift_is_a_warning_not_a_failure(lab_run: SuiteRun) -> None:
    record = lab_run.record("test_dns_resolution", "good", endpoint="amp08.lab.backupnet.test")
    assert record["outcome"] == "pass"
    assert any("drift" in w and "198.19.2.99" in w for w in record["warnings"])


def test_runner_side_dns(lab_run: SuiteRun) -> None:
    records = [r for r in lab_run.records if r["check"] == "test_dns_from_runner"]
    assert len(records) == 10 and {r["outcome"] for r in records} == {"pass"}
    assert {r["host"] for r in records} == {"runner"}


def test_dead_host_is_one_clear_error_and_others_run(lab_run: SuiteRun) -> None:
    dead = [r for r in lab_run.records if r["host"] == "dead"]
    assert {r["outcome"] for r in dead} == {"error"}
    primary = lab_run.record("test_host_reachable", "dead")
    assert primary["observed"] == "unreachable" and "Connection refused" in primary["message"]
    assert all("reported once by its pre-flight check" in r["message"] for r in dead if r is not primary)
    assert lab_run.rc == 6, "errors (a host not evaluated) have their own exit status"
    assert "not evaluated: host dead unreachable: ssh: connect to host" in lab_run.stdout
    assert "its 30 other checks are errors pointing here" in lab_run.stdout
    others = [r for r in lab_run.records if r["host"] not in ("dead", "runner", "marked")]
    assert "error" not in {r["outcome"] for r in others}


def test_failures_alone_exit_1(lab: Lab, tmp_path: Path) -> None:
    run = run_suite(tmp_path, [*lab.pytest_args(["good", "legacy"]), "--backupnet-timeout", "1"])
    assert run.rc == 1, run.stdout[-2000:]
    good = [r for r in run.records if r["host"] == "good"]
    assert good and {r["outcome"] for r in good} == {"pass"}


def test_every_record_carries_the_contract_properties(lab_run: SuiteRun) -> None:
    for record in lab_run.records:
        for key in ("requirement", "host", "check", "outcome", "nodeid", "start", "duration_s"):
            assert key in record, (key, record)
        if record["outcome"] in ("pass", "fail"):
            assert record["observed"], record
    run = lab_run.document["run"]
    assert run["profile"]["name"] == "lab" and len(run["profile"]["sha256"]) == 64
    assert run["hosts"] == [
        "good", "fw", "pinned", "legacy", "loopback", "dead", "dualstack", "nopython", "narrow", "marked",
    ]  # fmt: skip


def test_ids_name_the_host_not_the_transport(lab_run: SuiteRun) -> None:
    nodeids = [r["nodeid"] for r in lab_run.records]
    assert "test_bn_r2_r3_outbound_tcp.py::test_outbound_tcp[good-amp03.lab.backupnet.test:8087]" in nodeids
    assert not any("ssh://" in n for n in nodeids)


def test_sh_probe_gives_the_same_verdicts(lab: Lab, lab_run: SuiteRun, tmp_path: Path) -> None:
    """Hosts without python3: the POSIX sh probe must see exactly what the Python one sees."""
    run = run_suite(
        tmp_path,
        [*lab.pytest_args(AUDITED), "--dns-server", "198.18.0.1", "--backupnet-timeout", "1",
         "--backupnet-probe", "sh"],
    )  # fmt: skip
    assert run.verdicts() == lab_run.verdicts()
    reachable = run.record("test_host_reachable", "good")
    assert "probe: sh" in reachable["evidence"]


@pytest.mark.parametrize("workers", ["2"])
def test_xdist_gives_the_same_verdicts(lab: Lab, lab_run: SuiteRun, tmp_path: Path, workers: str) -> None:
    reachable = [name for name in AUDITED if name != "dead"]
    before = {name: lab.ssh_logins(name) for name in reachable}
    run = run_suite(
        tmp_path,
        [*lab.pytest_args(AUDITED), "--dns-server", "198.18.0.1", "--backupnet-timeout", "1", "-n", workers],
    )
    assert run.verdicts() == lab_run.verdicts()
    assert run.rc == lab_run.rc
    logins = {name: lab.ssh_logins(name) - before[name] for name in reachable}
    assert logins == dict.fromkeys(reachable, 1), "each host is probed once, by one worker"


def test_changed_management_port_is_followed_and_reported(lab: Lab, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(f"name: site\nextends: {lab.profile_path}\nagent:\n  management_port: 2600\n")
    run = run_suite(tmp_path, ["--profile", str(site), "--hosts", "ssh://port2600,ssh://good",
                               "--ssh-config", str(lab.ssh_config), "--backupnet-timeout", "1"])  # fmt: skip
    moved = run.record("test_agent_listening", "port2600")
    assert (moved["outcome"], moved["observed"], moved["requirement"]) == ("pass", "listening", "BN-R6,BN-R8")
    assert any("not the default 2548 (BN-R8)" in w for w in moved["warnings"])
    assert run.record("test_agent_inbound_from_runner", "port2600")["observed"] == "open"
    stale = run.record("test_agent_listening", "good")
    assert (stale["outcome"], stale["observed"]) == ("fail", "not-listening")
