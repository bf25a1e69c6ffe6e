"""Running the installed plugin as a user would, in its own process, and reading its evidence."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SuiteRun:
    workdir: Path
    rc: int
    stdout: str
    document: dict[str, Any]

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.document.get("records", []))

    def record(self, check: str, host: str, **match: Any) -> dict[str, Any]:
        found = [
            r
            for r in self.records
            if r["check"] == check and r["host"] == host and all(r.get(k) == v for k, v in match.items())
        ]
        assert len(found) == 1, f"{check} {host} {match}: {len(found)} records\n{self.stdout[-3000:]}"
        return found[0]

    def verdicts(self, hosts: Sequence[str] | None = None) -> dict[str, tuple[str, str | None]]:
        """Status and observation per node id, of every check or of these hosts' checks."""
        return {
            r["nodeid"]: (r["status"], r.get("observed"))
            for r in self.records
            if hosts is None or r["host"] in hosts
        }


def run_suite(
    workdir: Path,
    args: Sequence[str],
    timeout: float = 240,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    memory_limit: int | None = None,
) -> SuiteRun:
    """Run the compliance suite in its own process (from `workdir`, or `cwd`) and read its evidence.

    `memory_limit` (bytes of address space) and `timeout` bound the run: a hostile host must not
    be able to make the runner grow or hang.
    """
    evidence = workdir / "evidence.json"
    evidence.unlink(missing_ok=True)
    if not any(a.startswith("--backupnet-firewall") for a in args):
        # The lab's hosts share this machine's /etc, where installing firewalld enabled it: by default
        # a host with no rules loaded would be judged on that saved configuration. These runs are
        # about the running rules; tests/test_saved_suite_lab.py runs the default on images of its own.
        args = [*args, "--backupnet-firewall", "live"]

    def limit_memory() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "--backupnet-json", str(evidence), *args],
        cwd=cwd or workdir, capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **env} if env else None, preexec_fn=limit_memory,
    )  # fmt: skip
    document = json.loads(evidence.read_text()) if evidence.exists() else {}
    return SuiteRun(workdir, completed.returncode, completed.stdout + completed.stderr, document)
