"""The evidence of the run: every check's record as its reports arrive, written as JSON at the end."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from .audit import Audit


def utc(timestamp: float | dt.datetime) -> str:
    moment = timestamp if isinstance(timestamp, dt.datetime) else dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class Evidence:
    """Collects the records on the process that reports (never an xdist worker)."""

    def __init__(self, config: pytest.Config, audit: Audit) -> None:
        self.config = config
        self.audit = audit
        self.started = dt.datetime.now(dt.UTC)
        self._records: dict[str, dict[str, Any]] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "backupnet", None)
        if data is None:
            return
        record = self._records.setdefault(
            report.nodeid, {"nodeid": report.nodeid, "start": utc(report.start), "duration_s": 0.0}
        )
        record.update(data)
        record["duration_s"] = round(record["duration_s"] + report.duration, 3)

    def records(self) -> list[dict[str, Any]]:
        """The records of the checks that have an outcome so far."""
        return [r for r in self._records.values() if "status" in r]

    def run_metadata(self) -> dict[str, Any]:
        profile = self.audit.profile
        try:
            version = metadata.version("pytest-backupnet")
        except metadata.PackageNotFoundError:
            version = "unknown"
        return {
            "tool": f"pytest-backupnet {version}",
            "started": utc(self.started),
            "finished": utc(dt.datetime.now(dt.UTC)),
            "runner": {"host": platform.node(), "user": getpass.getuser()},
            "command": ["pytest", *self.audit.command_line],
            "profile": {
                "name": profile.name,
                "title": profile.title,
                "source": profile.source,
                "sha256": profile.sha256,
                "files": [{"path": str(s.path), "sha256": s.sha256} for s in profile.sources],
            },
            "hosts": self.audit.host_names,
            "timeouts_s": {
                "probe": self.audit.timeouts.probe,
                "ssh_connect": self.audit.timeouts.ssh_connect,
                "host_deadline": self.audit.timeouts.host_deadline,
            },
        }

    # trylast: after the exit status is final.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        path = self.config.getoption("backupnet_json")
        if not path:
            return
        run = {**self.run_metadata(), "exit_status": int(session.exitstatus)}
        Path(path).write_text(json.dumps({"run": run, "records": self.records()}, indent=1), encoding="utf-8")


EVIDENCE_KEY = pytest.StashKey[Evidence]()
