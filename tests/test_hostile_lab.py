"""A compromised host, a hostile inventory and secrets on the command line: nothing runs, leaks,
hangs or passes by accident. Judged by a real browser, the raw outputs and the run's own limits."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.lab.fleet_specs import HTML_PAYLOAD
from tests.lab.network import Lab
from tests.lab.suite_run import SuiteRun, run_suite
from tests.test_report_lab import rendered_dom

PASSWORD = "S3cr3tPassw0rd"
TOKEN = "T0kenV4lue"
CI_ENVIRONMENT = {
    "BUILD_URL": f"https://builder:{TOKEN}@ci.example.test/job/7/",
    "CI_PROJECT_URL": f"https://oauth2:{TOKEN}@gitlab.example.test/backup/audit",
}
# The inventory names a host with markup, as a compromised inventory or a careless one can.
INVENTORY_NAME = HTML_PAYLOAD.replace("bnpwned", "bnpwned2")
GIB = 2**30


@pytest.fixture(scope="module")
def hostile_run(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    workdir = tmp_path_factory.mktemp("hostile")
    hosts = {INVENTORY_NAME: "good", "hostile": "hostile", "bigconfig": "bigconfig"}
    inventory = workdir / "inventory.json"  # YAML is a superset of JSON: quoting stays exact
    inventory.write_text(json.dumps({"all": {
        "hosts": {name: {"ansible_host": lab.hosts[host].address} for name, host in hosts.items()},
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(lab.identity),
                 "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                            "-o BatchMode=yes -o KexAlgorithms=curve25519-sha256"},
    }}))  # fmt: skip
    return run_suite(
        workdir,
        ["--profile", str(lab.profile_path), "--ansible-inventory", str(inventory),
         "--hosts", f"ansible://all,ssh://root:{PASSWORD}@good", "--ssh-config", str(lab.ssh_config),
         "--backupnet-timeout", "1", "--html", str(workdir / "report.html"), "--self-contained-html",
         "--junitxml", str(workdir / "out.xml")],
        env=CI_ENVIRONMENT, memory_limit=3 * GIB, timeout=120,
    )  # fmt: skip


def outputs(run: SuiteRun) -> dict[str, str]:
    return {
        "terminal": run.stdout,
        "json": (run.workdir / "evidence.json").read_text(),
        "junit": (run.workdir / "out.xml").read_text(),
        "html": (run.workdir / "report.html").read_text(),
    }


def test_the_report_runs_no_markup_from_hosts_or_inventories(hostile_run: SuiteRun, tmp_path: Path) -> None:
    dom = rendered_dom(hostile_run.workdir / "report.html", tmp_path)
    assert "bnpwned" in dom, "the payloads must reach the report, as text"
    assert 'id="bnpwned"' not in dom, "a file name from the host ran as markup"
    assert 'id="bnpwned2"' not in dom, "a host name from the inventory ran as markup"


def test_no_secret_in_any_output(hostile_run: SuiteRun) -> None:
    for name, text in outputs(hostile_run).items():
        assert PASSWORD not in text, name
        assert TOKEN not in text, name
    command = hostile_run.document["run"]["command"]
    assert "ansible://all,ssh://root:***@good" in command, "the run stays reproducible, minus the secret"


def test_no_control_character_reaches_the_terminal_or_junit(hostile_run: SuiteRun) -> None:
    for name in ("terminal", "junit"):
        text = outputs(hostile_run)[name]
        assert not any(char in text for char in "\x1b\x07\x9b"), name
    ET.parse(hostile_run.workdir / "out.xml")
    record = hostile_run.record("test_agent_config_no_ip_literal", "hostile")
    assert (record["status"], record["observed"]) == ("fail", "ip-literal")
    assert "\\x1b]2;bnpwned\\x07" in record["evidence"], "shown, visibly escaped"


def test_a_config_over_the_limit_is_not_evaluated_never_a_pass(hostile_run: SuiteRun) -> None:
    record = hostile_run.record("test_agent_config_no_ip_literal", "bigconfig")
    assert record["status"] == "not-evaluated"
    assert "larger than 16777216 bytes" in record["message"]


def test_hostile_hosts_do_not_stop_the_others(hostile_run: SuiteRun) -> None:
    good = [r for r in hostile_run.records if r["host"] == INVENTORY_NAME]
    assert len(good) == 31 and {r["status"] for r in good} <= {"pass", "warn"}
    assert hostile_run.rc == 6
