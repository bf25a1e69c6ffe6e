"""The repository's own conftest.py is the self-tests' set-up; a compliance run is the same with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_backupnet

REPO = Path(pytest_backupnet.__file__).resolve().parent.parent


def compliance_run(tmp_path: Path, cwd: Path, *extra: str) -> tuple[int, str, list[dict[str, object]]]:
    agent = tmp_path / "agent"
    agent.mkdir(exist_ok=True)
    (agent / "buagent.cfg").write_text(
        "<Portal>portal.example.test</Portal>\n<Director>192.0.2.10</Director>\n"
    )
    profile = tmp_path / "site.yaml"
    profile.write_text(f"name: site\nextends: commercial\nagent:\n  config_files: [{agent}/*.cfg]\n")
    evidence = tmp_path / f"evidence-{len(extra)}.json"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", str(profile),
         "-m", "not network", "-k", "not firewall", "--backupnet-json", str(evidence),
         "--trace-config", *extra],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    records = json.loads(evidence.read_text())["records"]
    outcome = [{k: r.get(k) for k in ("nodeid", "control", "status", "observed", "message")} for r in records]
    return completed.returncode, completed.stdout, outcome


def test_compliance_run_from_the_repository_is_the_same_with_its_conftest(tmp_path: Path) -> None:
    if not (REPO / "conftest.py").exists() or "site-packages" in str(REPO):
        pytest.skip("not an editable install of this repository")
    rc, stdout, with_it = compliance_run(tmp_path, REPO)
    assert f"{REPO / 'conftest.py'}" in stdout, "the repository's conftest.py was loaded"
    rc_without, stdout_without, without_it = compliance_run(tmp_path, REPO, "--noconftest")
    assert f"{REPO / 'conftest.py'}" not in stdout_without
    assert (rc, with_it) == (rc_without, without_it)
    assert rc == 1 and any(r["observed"] == "ip-literal" for r in with_it)
