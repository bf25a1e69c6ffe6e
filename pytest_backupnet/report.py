"""Evidence: one record per check, written as JSON, a terminal matrix and pytest-html columns."""

from __future__ import annotations

import datetime as dt
import getpass
import html
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from .requirements import REQUIREMENTS
from .session import BackupnetSession

OUTCOME_RANK = {"error": 0, "fail": 1, "waived": 2, "pass": 3, "skipped": 4}
CELL_STYLE = {
    "error": "background:#f4cccc;color:#7f0000",
    "waived": "background:#ffe599;color:#000",
    "fail": "background:#e06666;color:#000",
    "pass": "background:#d9ead3;color:#000",
    "skipped": "background:#eeeeee;color:#000",
}


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _properties(report: pytest.TestReport) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for key, value in report.user_properties:
        if key == "warning":
            props.setdefault("warnings", []).append(value)
        else:
            props[key] = value
    return props


class EvidenceRecorder:
    """Builds the records as reports arrive (on the xdist controller, from every worker)."""

    def __init__(self, config: pytest.Config, session: BackupnetSession) -> None:
        self.config = config
        self.session = session
        self.records: dict[str, dict[str, Any]] = {}
        self.started = dt.datetime.now(dt.UTC)

    def run_metadata(self) -> dict[str, Any]:
        profile = self.session.profile
        try:
            version = metadata.version("pytest-backupnet")
        except metadata.PackageNotFoundError:
            version = "unknown"
        return {
            "tool": f"pytest-backupnet {version}",
            "started": self.started.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "runner": {"host": platform.node(), "user": getpass.getuser()},
            "command": ["pytest", *self.session.reproduce],
            "profile": {
                "name": profile.name,
                "title": profile.title,
                "source": profile.source,
                "sha256": profile.sha256,
                "files": [{"path": str(s.path), "sha256": s.sha256} for s in profile.sources],
            },
            "hosts": self.session.host_names,
            "probe_timeout_s": self.session.timeouts.probe,
        }

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.records.get(report.nodeid)
        if record is None:
            record = {"nodeid": report.nodeid, "start": _utc(report.start), "duration_s": 0.0}
            self.records[report.nodeid] = record
        record["duration_s"] = round(record["duration_s"] + report.duration, 3)
        props = _properties(report)
        if not props.get("requirement"):
            return
        record.update(props)
        outcome = None
        if report.failed:
            outcome = "fail" if report.when == "call" else "error"
        elif report.skipped and str(getattr(report, "wasxfail", "")).startswith("waived"):
            outcome = "waived"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "pass"
        if outcome and (record.get("outcome") in (None, "pass") or outcome == "error"):
            record["outcome"] = outcome
            record["message"] = _message(report)

    def finished_records(self) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if "outcome" in r]

    def matrix(self) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[str, int, int]]]:
        """Hosts x requirements: (worst outcome, checks not passed, checks) per cell."""
        cells: dict[tuple[str, str], tuple[str, int, int]] = {}
        for record in self.finished_records():
            # A check counts under its primary requirement (BN-R2 for BN-R2,BN-R3).
            key = (record["host"], record["requirement"].split(",")[0])
            worst, bad, total = cells.get(key, ("skipped", 0, 0))
            outcome = record["outcome"]
            if OUTCOME_RANK[outcome] < OUTCOME_RANK[worst]:
                worst = outcome
            cells[key] = (worst, bad + (outcome in ("fail", "error", "waived")), total + 1)
        hosts = [h for h in [*self.session.host_names, "runner"] if any(k[0] == h for k in cells)]
        requirements = sorted({k[1] for k in cells}, key=_requirement_order)
        return hosts, requirements, cells

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        hosts, requirements, cells = self.matrix()
        if not hosts:
            return
        write = terminalreporter.write_line
        terminalreporter.section(f"backupnet: {self.session.profile.name}, hosts x requirements")
        width = max(len(h) for h in hosts) + 2
        write("".ljust(width) + "".join(r.ljust(12) for r in requirements))
        for host in hosts:
            row = host.ljust(width)
            for requirement in requirements:
                cell = cells.get((host, requirement))
                text = (
                    "-"
                    if cell is None
                    else f"{cell[0].upper()} {cell[1]}/{cell[2]}"
                    if cell[1]
                    else cell[0].upper()
                )
                row += text.ljust(12)
            write(row)
        records = self.finished_records()
        for record in records:
            if record["check"] == "test_host_reachable" and record["outcome"] == "error":
                others = sum(1 for r in records if r["host"] == record["host"]) - 1
                write(f"not evaluated: {record['message'].removeprefix('HostNotEvaluated: ')}; "
                      f"its {others} other checks are errors pointing here")  # fmt: skip
        grouped: dict[str, list[str]] = {}
        for record in records:
            for warning in record.get("warnings", []):
                grouped.setdefault(warning, []).append(record["host"])
        for warning, hosts in grouped.items():
            write(f"warning ({', '.join(dict.fromkeys(hosts))}): {warning}")
        self._write_json()

    def _write_json(self) -> None:
        path = self.config.getoption("backupnet_json")
        if not path:
            return
        Path(path).write_text(
            json.dumps({"run": self.run_metadata(), "records": self.finished_records()}, indent=1),
            encoding="utf-8",
        )

    # pytest-html hooks: called only when pytest-html is active.
    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, "<th>Requirement</th>")
        cells.insert(2, "<th>Host</th>")
        cells.insert(3, "<th>Observed</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        props = _properties(report)
        cells.insert(1, f"<td>{html.escape(str(props.get('requirement', '')))}</td>")
        cells.insert(2, f"<td>{html.escape(str(props.get('host', '')))}</td>")
        cells.insert(3, f"<td>{html.escape(str(props.get('observed', '')))}</td>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        props = _properties(report)
        if not props.get("requirement"):
            return
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in props.items()
        )
        data.insert(0, f"<table class='backupnet-evidence'>{rows}</table>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        meta = self.run_metadata()
        profile = meta["profile"]
        prefix.append(
            "<p class='backupnet-run'>"
            f"Profile <b>{html.escape(profile['name'])}</b> ({html.escape(profile['title'])}), "
            f"sha256 <code>{profile['sha256']}</code><br>"
            f"Source: {html.escape(profile['source'])}<br>"
            f"Run {meta['started']} to {meta['finished']} by {html.escape(meta['runner']['user'])}"
            f"@{html.escape(meta['runner']['host'])}: <code>{html.escape(' '.join(meta['command']))}</code>"
            "</p>"
        )
        prefix.append(self._matrix_html())

    def _matrix_html(self) -> str:
        hosts, requirements, cells = self.matrix()
        head = "".join(
            f"<th title='{html.escape(REQUIREMENTS.get(r, ''))}'>{html.escape(r)}</th>" for r in requirements
        )
        body = ""
        for host in hosts:
            row = f"<th style='text-align:left'>{html.escape(host)}</th>"
            for requirement in requirements:
                cell = cells.get((host, requirement))
                if cell is None:
                    row += "<td>-</td>"
                    continue
                label = f"{cell[0]} {cell[1]}/{cell[2]}" if cell[1] else f"{cell[0]} ({cell[2]})"
                style = f"{CELL_STYLE.get(cell[0], '')};padding:2px 8px;font-weight:bold"
                row += f"<td class='bn-{cell[0]}' style='{style}'>{label}</td>"
            body += f"<tr>{row}</tr>"
        legend = "".join(
            f"<li><b>{html.escape(r)}</b>: {html.escape(REQUIREMENTS.get(r, ''))}</li>" for r in requirements
        )
        return (
            "<h2>Hosts x requirements</h2><table class='backupnet-matrix' border='1' "
            f"style='border-collapse:collapse'><tr><th>host</th>{head}</tr>{body}</table>"
            "<p>A cell is the worst outcome of the host's checks for the requirement, with how many "
            "of them did not pass. <i>error</i>: the suite could not evaluate it.</p>"
            f"<ul class='backupnet-legend'>{legend}</ul>"
        )


def _requirement_order(requirement: str) -> tuple[int, str]:
    digits = requirement.rsplit("R", 1)[-1]
    return (
        (int(digits), requirement)
        if requirement.startswith("BN-") and digits.isdigit()
        else (-1, requirement)
    )


def _message(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = report.longreprtext.strip()
    return text.splitlines()[-1] if report.when != "call" and text else text


def register(config: pytest.Config, session: BackupnetSession) -> None:
    """Record evidence on the process that writes reports: never on an xdist worker."""
    if hasattr(config, "workerinput"):
        return
    config.pluginmanager.register(EvidenceRecorder(config, session), "backupnet-evidence")
