"""Waivers: validated like profiles, matched by requirement, host glob and endpoint, void once expired."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pytest_backupnet.waivers import WaiverError, find_waiver, load_waivers
from tests.test_profile import MINIMAL

VALID = """\
waivers:
  - requirement: BN-R1
    hosts: "web6*"
    endpoint: null
    justification: Agent re-registration scheduled, change CHG-1234
    owner: backup-team@example.com
    expires: 2027-03-31
  - requirement: BN-R2
    hosts: "*"
    endpoint: evwebamp0903.service.softlayer.com
    justification: AMP 0903 retired by the vendor, ticket 42
    owner: net-team@example.com
    expires: 2026-01-31
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def test_matching_by_requirement_host_glob_and_endpoint(tmp_path: Path) -> None:
    r1, r2 = load_waivers(write(tmp_path, VALID))
    assert find_waiver([r1, r2], ["BN-R1"], "web61", None) is r1
    assert find_waiver([r1, r2], ["BN-R1"], "db1", None) is None
    assert find_waiver([r1, r2], ["BN-R2", "BN-R3"], "db1", "evwebamp0903.service.softlayer.com") is r2
    assert find_waiver([r1, r2], ["BN-R2", "BN-R3"], "db1", "evwebamp0904.service.softlayer.com") is None
    assert not r1.expired(dt.date(2027, 3, 31)) and r1.expired(dt.date(2027, 4, 1))
    assert r2.line == 8


BAD = [
    ("    owner: backup-team@example.com\n", "", 2, "missing field 'owner'"),
    ("expires: 2027-03-31", "expires: next spring", 7, "not a date"),
    ("requirement: BN-R1", "requirement: R1", 2, "not a requirement id"),
    ("endpoint: null", "endpoint: 192.0.2.14", 4, "not an endpoint FQDN"),
    (
        "    owner: backup-team@example.com\n",
        "    owner: a\n    approved: yes\n",
        7,
        "unknown field 'approved'",
    ),
    ("    owner: backup-team@example.com\n", "    owner: a\n    owner: b\n", 7, "duplicate key"),
]


@pytest.mark.parametrize(("old", "new", "line", "words"), BAD)
def test_bad_waiver_files_are_refused_with_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(WaiverError, match=rf"^{path}:{line}: .*{words}"):
        load_waivers(path)


def run_with_waiver(pytester: pytest.Pytester, tmp_path: Path, expires: str) -> tuple[int, dict[str, str]]:
    agent = tmp_path / "agent"
    agent.mkdir(exist_ok=True)
    (agent / "buagent.cfg").write_text(
        "<Portal>portal.example.test</Portal>\n<Director>192.0.2.10</Director>\n"
    )
    profile = tmp_path / "site.yaml"
    profile.write_text(MINIMAL.replace("/opt/BUAgent/*.cfg", f"{agent}/*.cfg"))
    waivers = write(
        tmp_path,
        "waivers:\n  - requirement: BN-R1\n    hosts: 'loc*'\n    justification: Director moves in Q1\n"
        f"    owner: ops@example.com\n    expires: {expires}\n",
    )
    evidence = tmp_path / "evidence.json"
    result = pytester.runpytest_subprocess(
        "--profile", str(profile), "--waivers", str(waivers), "--backupnet-json", str(evidence),
        "-k", "config or reachable",
    )  # fmt: skip
    record = next(r for r in json.loads(evidence.read_text())["records"] if r["check"].endswith("ip_literal"))
    return result.ret, record


def test_current_waiver_turns_a_failure_into_waived(pytester: pytest.Pytester, tmp_path: Path) -> None:
    ret, record = run_with_waiver(pytester, tmp_path, "2999-12-31")
    assert ret == 0
    assert (record["outcome"], record["observed"]) == ("waived", "ip-literal")
    assert "Director moves in Q1; owner ops@example.com; expires 2999-12-31" in record["waiver"]


def test_expired_waiver_is_a_failure_again(pytester: pytest.Pytester, tmp_path: Path) -> None:
    ret, record = run_with_waiver(pytester, tmp_path, "2020-01-31")
    assert ret == 1
    assert record["outcome"] == "fail"
    assert "waiver expired on 2020-01-31" in record["message"]


def test_bad_waiver_file_is_a_usage_error_before_any_host(pytester: pytest.Pytester, tmp_path: Path) -> None:
    path = write(tmp_path, "waivers:\n  - requirement: BN-R1\n")
    result = pytester.runpytest_subprocess("--profile", "commercial", "--waivers", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{path}:2: waivers[0]: missing field 'hosts'" in result.stderr.str()
    assert "collected" not in result.stdout.str()
