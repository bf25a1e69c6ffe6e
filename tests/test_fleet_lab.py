"""Fleet behaviour on real hosts: one connection per host, pre-flight errors, hard deadlines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.lab.network import Lab
from tests.lab.suite_run import SuiteRun, run_suite

# Address space for a whole audit run of a few hosts: pytest, paramiko, ansible and the threads'
# stacks fit in it; a host's endless answer kept whole would not.
RUNNER_MEMORY = 2 * 2**30


def ssh_masters() -> set[str]:
    """The shared SSH connections that audit runs keep open (pid and command line)."""
    processes = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    return {line for line in processes.splitlines() if "[mux]" in line and "/bn-" in line}


def test_one_ssh_connection_per_host(lab: Lab, tmp_path: Path) -> None:
    before = lab.ssh_logins("good")
    masters_before = ssh_masters()
    run = run_suite(tmp_path, [*lab.pytest_args(["good"]), "--backupnet-timeout", "1"])
    assert run.rc == 0, run.stdout[-2000:]
    assert len([r for r in run.records if r["host"] == "good"]) == 31
    assert lab.ssh_logins("good") - before == 1, "one SSH connection per host"
    assert ssh_masters() - masters_before == set(), "the run must close the SSH connections it opened"


def run_beside_a_good_host(
    lab: Lab, tmp_path: Path, trouble: str, *options: str
) -> tuple[SuiteRun, dict[str, Any]]:
    """Audit a troubled host next to a good one; the good one must not suffer for it, and the
    runner stays within a time and memory bound whatever the troubled host does."""
    run = run_suite(
        tmp_path,
        [*lab.pytest_args([trouble, "good"]), "--backupnet-timeout", "1", *options],
        timeout=60,
        memory_limit=RUNNER_MEMORY,
    )
    assert {r["outcome"] for r in run.records if r["host"] == "good"} == {"pass"}, run.stdout[-2000:]
    assert run.rc == 6
    return run, run.record("test_host_reachable", trouble)


def test_refused_authentication_is_one_error_naming_the_reason(lab: Lab, tmp_path: Path) -> None:
    _, primary = run_beside_a_good_host(lab, tmp_path, "noauth")
    assert (primary["outcome"], primary["observed"]) == ("error", "auth-failed")
    assert "Permission denied" in primary["message"]


def test_silent_ssh_port_costs_the_connect_timeout_once(lab: Lab, tmp_path: Path) -> None:
    run, primary = run_beside_a_good_host(lab, tmp_path, "blackhole", "--backupnet-connect-timeout", "2")
    assert (primary["outcome"], primary["observed"]) == ("error", "unreachable")
    assert "timed out" in primary["message"]
    assert primary["host_wall_s"] >= 2, "ssh waited for its connect timeout"
    others = [r["duration_s"] for r in run.records if r["host"] == "blackhole" and r is not primary]
    assert sum(others) < 2, "no other check of the host waits on it again"
    blackhole = [r for r in run.records if r["host"] == "blackhole"]
    assert len(blackhole) == 31 and {r["outcome"] for r in blackhole} == {"error"}


def test_host_deadline_stops_a_hanging_host(lab: Lab, tmp_path: Path) -> None:
    _, primary = run_beside_a_good_host(lab, tmp_path, "hang", "--backupnet-host-deadline", "3")
    assert (primary["outcome"], primary["observed"]) == ("error", "host-deadline")


def test_an_endless_answer_is_cut_off_and_the_host_not_evaluated(lab: Lab, tmp_path: Path) -> None:
    _, primary = run_beside_a_good_host(lab, tmp_path, "endless")
    assert (primary["outcome"], primary["observed"]) == ("error", "answer-too-large")
    assert "exceeded 64 MiB" in primary["message"]


def test_an_endless_answer_over_paramiko_is_cut_off_too(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(f"Host endless\n  HostName {lab.hosts['endless'].address}\n  User root\n")
    run = run_suite(
        tmp_path,
        ["--profile", str(lab.profile_path), "--hosts", "paramiko://endless", "-W", "ignore::UserWarning",
         "--ssh-config", str(config), "--ssh-identity-file", str(lab.identity), "--backupnet-timeout", "1"],
        timeout=60,
    )  # fmt: skip
    primary = run.record("test_host_reachable", "endless")
    assert (primary["outcome"], primary["observed"]) == ("error", "answer-too-large"), run.stdout[-2000:]


def test_ansible_inventory_selects_the_fleet(lab: Lab, lab_run: SuiteRun, tmp_path: Path) -> None:
    names = ["good", "fw", "legacy"]
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[backup]\n"
        + "".join(f"{n} ansible_host={lab.hosts[n].address}\n" for n in names)
        + "[backup:vars]\nansible_user=root\n"
        + f"ansible_ssh_private_key_file={lab.identity}\n"
        + "ansible_ssh_common_args=-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
        + "-o BatchMode=yes -o KexAlgorithms=curve25519-sha256 -o LogLevel=ERROR\n"
    )
    run = run_suite(
        tmp_path,
        ["--profile", str(lab.profile_path), "--ansible-inventory", str(inventory),
         "--hosts", "ansible://backup", "--backupnet-timeout", "1"],
    )  # fmt: skip
    assert sorted(run.document["run"]["hosts"]) == sorted(names), run.stdout[-2000:]
    assert run.verdicts(names) == lab_run.verdicts(names)


def test_paramiko_backend_and_identity_file(lab: Lab, lab_run: SuiteRun, tmp_path: Path) -> None:
    """testinfra's other SSH transport, with the key given by --ssh-identity-file, not the config."""
    config = tmp_path / "ssh_config"
    config.write_text(
        "".join(f"Host {n}\n  HostName {lab.hosts[n].address}\n  User root\n" for n in ("good", "fw"))
    )
    run = run_suite(
        tmp_path,
        ["--profile", str(lab.profile_path), "--hosts", "paramiko://good,paramiko://fw",
         "--ssh-config", str(config), "--ssh-identity-file", str(lab.identity), "--backupnet-timeout", "1"],
    )  # fmt: skip
    assert run.verdicts(["good", "fw"]) == lab_run.verdicts(["good", "fw"]), run.stdout[-3000:]
    reachable = run.record("test_host_reachable", "good")
    assert "via paramiko" in reachable["evidence"]


def test_an_endless_answer_through_a_local_command_backend_is_cut_off(lab: Lab, tmp_path: Path) -> None:
    """Backends that run a local command (docker, podman, kubectl, lxc, chroot) are read chunk by
    chunk too: here chroot, into a root whose shell answers without end."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    busybox = shutil.which("busybox")
    assert busybox is not None, "scripts/install-deps installs busybox-static"
    shutil.copy(busybox, root / "bin" / "busybox")
    (root / "bin" / "sh").write_text("#!/bin/busybox sh\nexec /bin/busybox yes endless\n")
    (root / "bin" / "sh").chmod(0o755)
    run = run_suite(
        tmp_path,
        [
            "--profile",
            str(lab.profile_path),
            "--hosts",
            str(root),
            "--connection",
            "chroot",
            "--backupnet-timeout",
            "1",
        ],
        timeout=60,
        memory_limit=RUNNER_MEMORY,
    )
    [primary] = [r for r in run.records if r["check"] == "test_host_reachable"]
    assert (primary["outcome"], primary.get("observed")) == ("error", "answer-too-large"), primary["message"]
    assert run.rc == 6
