"""The firewall checks on real hosts: what the kernel does to connections decides what is right."""

from __future__ import annotations

from pathlib import Path

from tests.lab.network import Lab
from tests.lab.suite_run import SuiteRun, run_suite


def test_without_firewall_tools_only_the_kernel_proves_nothing_filters(lab: Lab, tmp_path: Path) -> None:
    run: SuiteRun = run_suite(
        tmp_path, [*lab.pytest_args(["notools", "notools-empty"]), "--backupnet-timeout", "1"]
    )
    # The kernel drops 8087 on "notools": the outbound check sees it; the firewall check must not
    # say "allowed" although no tool on the host can list the rule.
    dropped = run.record("test_outbound_tcp", "notools", endpoint="amp03.lab.backupnet.test")
    assert dropped["observed"] == "timeout"
    blind = run.record("test_egress_firewall", "notools", port=8087)
    assert blind["status"] == "not-evaluated", blind
    assert "nftables tables the kernel has loaded (inet bnlab)" in blind["message"]
    empty = run.record("test_egress_firewall", "notools-empty", port=8087)
    assert (empty["status"], empty["observed"]) == ("pass", "allowed"), empty
    assert "nothing filters" in empty["evidence"]
    inbound = run.record("test_agent_firewall_inbound", "notools-empty")
    assert (inbound["status"], inbound["observed"]) == ("pass", "allowed")
