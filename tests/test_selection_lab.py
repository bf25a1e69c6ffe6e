"""Any selection gives an item the verdict it has in the full run: what a check reads follows from it."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

from pytest_backupnet.controls import all_controls
from pytest_backupnet.plugin import CHECKS_DIR
from tests.lab.fleet_specs import AUDITED
from tests.lab.network import Lab
from tests.lab.suite_run import SuiteRun, run_suite

CHECK_FUNCTIONS = sorted({c.where.split("::")[1] for c in all_controls()})
LAB_OPTIONS = ["--dns-server", "198.18.0.1", "--backupnet-timeout", "1"]


def by_file(verdicts: dict[str, tuple[str, str | None]]) -> dict[str, tuple[str, str | None]]:
    """Node ids relative to the checks' folder, whatever the rootdir of the run."""
    return {nodeid.rsplit("/", 1)[-1]: verdict for nodeid, verdict in verdicts.items()}


def test_each_check_alone_gives_the_full_runs_verdicts(lab: Lab, lab_run: SuiteRun, tmp_path: Path) -> None:
    def alone(check: str) -> tuple[str, dict[str, tuple[str, str | None]], str]:
        folder = tmp_path / check
        folder.mkdir()
        run = run_suite(folder, [*lab.pytest_args(AUDITED), *LAB_OPTIONS, "-k", check])
        return check, run.verdicts(), run.stdout

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(alone, CHECK_FUNCTIONS))
    for check, verdicts, stdout in runs:
        expected = {k: v for k, v in lab_run.verdicts().items() if f"::{check}[" in k}
        assert expected and verdicts == expected, f"-k {check}\n{stdout[-3000:]}"


def test_one_item_by_node_id_gives_its_full_run_verdict(lab: Lab, lab_run: SuiteRun, tmp_path: Path) -> None:
    nodeid = "test_bn_r4_egress_firewall.py::test_egress_firewall[fw-8087]"
    run = run_suite(tmp_path, [*lab.pytest_args(AUDITED), *LAB_OPTIONS, f"{CHECKS_DIR}/{nodeid}"])
    assert by_file(run.verdicts()) == {nodeid: lab_run.verdicts()[nodeid]} == {nodeid: ("fail", "dropped")}
