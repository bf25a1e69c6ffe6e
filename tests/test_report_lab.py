"""What an auditor opens: report.html rendered by headless Chromium, and the JUnit XML properties."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.lab.network import Lab
from tests.lab.require import need
from tests.lab.suite_run import SuiteRun, run_suite

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def rendered_dom(page: Path, profile_dir: Path) -> str:
    """The page's DOM after its scripts ran (pytest-html builds its rows in JavaScript)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    need(None if chromium else "the report test needs Chromium (scripts/install-deps installs it)")
    assert chromium is not None
    completed = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return completed.stdout


@pytest.fixture(scope="module")
def report_dom(lab_run: SuiteRun, tmp_path_factory: pytest.TempPathFactory) -> str:
    report = lab_run.workdir / "report.html"
    assert report.exists(), lab_run.stdout[-2000:]
    return rendered_dom(report, tmp_path_factory.mktemp("chromium"))


def matrix_cells(dom: str) -> dict[tuple[str, str], str]:
    table = re.search(r"<table class=\"backupnet-matrix\".*?</table>", dom, re.S)
    assert table, "the hosts x requirements matrix is missing"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)
    header = [re.sub("<.*?>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", rows[0])]
    cells = {}
    for row in rows[1:]:
        host = re.sub("<.*?>", "", re.findall(r"<th[^>]*>(.*?)</th>", row)[0])
        for requirement, cell in zip(header[1:], re.findall(r"<td[^>]*>(.*?)</td>", row), strict=True):
            cells[(host, requirement)] = cell
    return cells


def test_matrix_shows_the_predicted_verdicts(report_dom: str) -> None:
    cells = matrix_cells(report_dom)
    assert {cells[("good", r)].split()[0] for r in ("BN-R1", "BN-R2", "BN-R6", "BN-R7")} == {"pass"}
    assert cells[("good", "BN-R5")] == "warn (10)", "amp08's documented address drifted: a warning"
    assert cells[("fw", "BN-R2")] == "fail 2/12"
    assert cells[("pinned", "BN-R1")] == "fail 2/2"
    assert cells[("legacy", "BN-R7")] == "fail 1/1"
    assert cells[("loopback", "BN-R5")] == "fail 1/10"
    assert cells[("dead", "preflight")] == "error 1/1"


def test_rows_carry_requirement_host_observed_and_evidence(report_dom: str) -> None:
    assert re.search(
        r"<th[^>]*>Control</th>\s*<th[^>]*>Requirement</th>\s*<th[^>]*>Host</th>\s*<th[^>]*>Observed</th>",
        report_dom,
    )
    row = re.search(
        r"<td>BN-R2.outbound-tcp</td>\s*<td>BN-R2,BN-R3</td>\s*<td>fw</td>\s*<td>timeout</td>.*?</tbody>",
        report_dom,
        re.S,
    )
    assert row, "the firewalled host's dropped port is not a row with its observation"
    assert "198.19.2.13:8087 timeout" in row.group(0)


def test_report_names_profile_hash_and_run(report_dom: str, lab_run: SuiteRun) -> None:
    assert lab_run.document["run"]["profile"]["sha256"] in report_dom
    assert "BN-R6</b>: The agent accepts inbound TCP 2548" in report_dom


# What the xunit2 schema (the Jenkins JUnit schema pytest follows) lets a test case hold.
XUNIT2_CASE_CHILDREN = {"skipped", "error", "failure", "system-out", "system-err"}
XUNIT2_CASE_ATTRIBUTES = {"name", "time", "classname", "group"}
CONTRACT = ("control", "requirement", "host", "check", "endpoint", "port", "observed", "evidence")


def junit_case(junit: Path, name_end: str) -> ET.Element:
    return next(c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name", "").endswith(name_end))


def test_junit_default_family_is_valid_and_carries_the_evidence(lab: Lab, tmp_path: Path) -> None:
    """pytest's default family (xunit2): no warning per check, no properties where the schema has
    none, the evidence in each case's system-out where CI readers show it."""
    junit = tmp_path / "out.xml"
    run = run_suite(
        tmp_path, [*lab.pytest_args(["fw"]), "--backupnet-timeout", "1", "--junitxml", str(junit)]
    )
    assert "record_property" not in run.stdout and "PytestWarning" not in run.stdout
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert len(cases) == len(run.records)
    for case in cases:
        assert {child.tag for child in case} <= XUNIT2_CASE_CHILDREN, case.get("name")
        assert set(case.attrib) <= XUNIT2_CASE_ATTRIBUTES, case.attrib
    record = run.record("test_outbound_tcp", "fw", endpoint="amp03.lab.backupnet.test")
    text = junit_case(junit, "amp03.lab.backupnet.test:8087]").findtext("system-out") or ""
    lines = dict(line.split(": ", 1) for line in text.splitlines())
    for key in CONTRACT:
        assert lines[key] == str(record[key]), key


def test_junit_xunit1_carries_the_same_properties(lab: Lab, tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    run = run_suite(
        tmp_path,
        [*lab.pytest_args(["fw"]), "--backupnet-timeout", "1", "--junitxml", str(junit),
         "-o", "junit_family=xunit1"],
    )  # fmt: skip
    record = run.record("test_outbound_tcp", "fw", endpoint="amp03.lab.backupnet.test")
    case = junit_case(junit, "amp03.lab.backupnet.test:8087]")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    for key in CONTRACT:
        assert props[key] == str(record[key]), key


# How each report names a status: the terminal's short summary, the JUnit element, pytest-html's
# result. A failure is the host breaking a requirement; an error, a check the suite could not
# evaluate, whichever phase of the test found that out (DESIGN.md).
REPORTED_AS = {"fail": ("FAILED", "failure", "Failed"), "not-evaluated": ("ERROR", "error", "Error")}


def html_results(dom: str) -> dict[str, str]:
    """pytest-html's result for each test id (a check found not evaluable in set-up: `::setup`)."""
    cells = r'<td class="col-result">(\w+)</td>(?:\s*<td>[^<]*</td>)*\s*<td class="col-testId">(.*?)</td>'
    rows = re.findall(cells, dom)
    return {html.unescape(test_id): result for result, test_id in rows}


def test_every_report_tells_a_failure_from_a_check_not_evaluated(lab_run: SuiteRun, report_dom: str) -> None:
    cases = {
        f"{c.get('classname', '').replace('.', '/')}.py::{c.get('name')}": c
        for c in ET.parse(lab_run.workdir / "out.xml").getroot().iter("testcase")
    }
    results = html_results(report_dom)
    # The terminal names a test by its path from where pytest ran, the evidence from its rootdir.
    summary = {
        (w, re.sub(r"^(\.\./)+", "", n))
        for w, n in re.findall(r"^(FAILED|ERROR) (\S+)", lab_run.stdout, re.M)
    }
    found_in_call = 0
    for record in lab_run.records:
        if record["status"] not in REPORTED_AS:
            continue
        word, tag, result = REPORTED_AS[record["status"]]
        nodeid = record["nodeid"]
        assert (word, nodeid) in summary, (record["status"], nodeid)
        case = next(c for key, c in cases.items() if nodeid.endswith(key))
        assert [child.tag for child in case if child.tag in ("failure", "error")] == [tag], nodeid
        in_setup = f"{nodeid}::setup" in results
        assert results.get(f"{nodeid}::setup" if in_setup else nodeid) == result, nodeid
        found_in_call += record["status"] == "not-evaluated" and not in_setup
    assert found_in_call, "no check of the lab run was found not evaluable while it ran"
    counts = ET.parse(lab_run.workdir / "out.xml").getroot()
    suite = counts if counts.tag == "testsuite" else next(counts.iter("testsuite"))
    statuses = [r["status"] for r in lab_run.records]
    assert int(suite.get("failures", -1)) == statuses.count("fail")
    assert int(suite.get("errors", -1)) == statuses.count("not-evaluated")
    assert f"{statuses.count('not-evaluated')} Errors" in report_dom
