"""What the terminal shows: the run's identity in the header, the hosts x requirements matrix after."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from .audit import Audit
from .check_record import is_error_in_call
from .controls import PREFLIGHT
from .evidence import Evidence
from .matrix import requirement_matrix
from .sanitize import terminal_text


class TerminalReport:
    def __init__(self, audit: Audit, evidence: Evidence) -> None:
        self.audit = audit
        self.evidence = evidence

    @pytest.hookimpl
    def pytest_report_header(self) -> list[str]:
        audit = self.audit
        profile = audit.profile
        lines = [
            f"backupnet: profile {profile.name} ({profile.title}), "
            f"sha256 {profile.sha256[:16]}..., from {terminal_text(str(profile.path), one_line=True)}",
            f"backupnet: hosts {', '.join(audit.host_names)}; probe timeout "
            f"{audit.timeouts.probe:g}s, host deadline {audit.timeouts.host_deadline:g}s",
            f"backupnet: reproduce with: pytest {shlex.join(audit.command_line)}",
        ]
        lines += [f"backupnet: warning: {terminal_text(w, one_line=True)}" for w in profile.warnings]
        if audit.waivers:
            expired = sum(w.expired(audit.today) for w in audit.waivers)
            lines.append(f"backupnet: {len(audit.waivers)} waiver(s), {expired} expired")
        return lines

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str] | None:
        if is_error_in_call(report):
            return "error", "E", "ERROR"
        return None

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        records = self.evidence.records()
        matrix = requirement_matrix(records, [*self.audit.host_names, "runner"])
        if not matrix.hosts:
            return
        write = terminalreporter.write_line
        terminalreporter.section(f"backupnet: {self.audit.profile.name}, hosts x requirements")
        width = max(len(h) for h in matrix.hosts) + 2
        write("".ljust(width) + "".join(r.ljust(12) for r in matrix.requirements))
        for host in matrix.hosts:
            cells = [matrix.cells.get((host, r)) for r in matrix.requirements]
            write(host.ljust(width) + "".join((c.label.upper() if c else "-").ljust(12) for c in cells))
        for record in records:
            if record["control"] == PREFLIGHT and record["status"] == "not-evaluated":
                others = sum(1 for r in records if r["host"] == record["host"]) - 1
                write(
                    f"not evaluated: {record['message']}; its {others} other checks are errors pointing here"
                )
        grouped: dict[str, list[str]] = {}
        for record in records:
            for warning in record.get("warnings", []):
                grouped.setdefault(warning, []).append(record["host"])
        for warning, hosts in grouped.items():
            write(f"warning ({', '.join(dict.fromkeys(hosts))}): {warning}")
