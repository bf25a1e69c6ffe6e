"""pytest-html: Control, Requirement, Host and Observed columns, the evidence per row, the matrix."""

from __future__ import annotations

import html
from typing import Any

import pytest

from .check_record import is_error_in_call, report_record
from .evidence import Evidence
from .matrix import requirement_matrix
from .requirements import REQUIREMENTS

CELL_STYLE = {
    "not-evaluated": "background:#f4cccc;color:#7f0000",
    "fail": "background:#e06666;color:#000",
    "waived": "background:#ffe599;color:#000",
    "warn": "background:#fff2cc;color:#000",
    "pass": "background:#d9ead3;color:#000",
    "skipped": "background:#eeeeee;color:#000",
}
TEST_ID_CELL = '<td class="col-testId">'
RESULT_CELL = '<td class="col-result">'
COLUMNS = (("Control", "control"), ("Requirement", "requirement"), ("Host", "host"), ("Observed", "observed"))


class HtmlReport:
    """Hooks called only when pytest-html is active."""

    def __init__(self, evidence: Evidence, config: pytest.Config) -> None:
        self.evidence = evidence
        self.config = config
        self._counts: dict[str, dict[str, Any]] | None = None  # pytest-html's, found on first use

    @pytest.hookimpl
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        for offset, (title, _) in enumerate(COLUMNS, start=1):
            cells.insert(offset, f"<th>{title}</th>")

    @pytest.hookimpl
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        # pytest-html puts the test id into its cell unescaped, and a host's name is part of it.
        test_id = report.nodeid if report.when == "call" else f"{report.nodeid}::{report.when}"
        for index, cell in enumerate(cells):
            if cell.startswith(TEST_ID_CELL):
                cells[index] = f"{TEST_ID_CELL}{html.escape(test_id)}</td>"
        if is_error_in_call(report):
            self._as_error(cells)
        record = report_record(report)
        for offset, (_, key) in enumerate(COLUMNS, start=1):
            cells.insert(offset, f"<td>{html.escape(str(record.get(key, '')))}</td>")

    def _as_error(self, cells: list[str]) -> None:
        """pytest-html calls a failure in a test's call "Failed" and counts it so right after this
        hook; the suite could not evaluate the check, which the report calls an error."""
        if self._counts is None:
            self._counts = _html_outcome_counts(self.config)
        counts = self._counts
        if counts is None:
            return
        for index, cell in enumerate(cells):
            if cell.startswith(RESULT_CELL):
                cells[index] = f"{RESULT_CELL}Error</td>"
                counts["failed"]["value"] -= 1
                counts["error"]["value"] += 1

    @pytest.hookimpl
    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        record = report_record(report)
        if not record:
            return
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in record.items()
        )
        data.insert(0, f"<table class='backupnet-evidence'>{rows}</table>")

    @pytest.hookimpl
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        meta = self.evidence.run_metadata()
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
        matrix = requirement_matrix(self.evidence.records(), [*self.evidence.audit.host_names, "runner"])
        head = "".join(
            f"<th title='{html.escape(REQUIREMENTS.get(r, ''))}'>{html.escape(r)}</th>"
            for r in matrix.requirements
        )
        body = ""
        for host in matrix.hosts:
            row = f"<th style='text-align:left'>{html.escape(host)}</th>"
            for requirement in matrix.requirements:
                cell = matrix.cells.get((host, requirement))
                if cell is None:
                    row += "<td>-</td>"
                    continue
                label = cell.label if cell.not_passed else f"{cell.label} ({cell.total})"
                style = f"{CELL_STYLE[cell.worst.value]};padding:2px 8px;font-weight:bold"
                row += f"<td class='bn-{cell.worst.value}' style='{style}'>{html.escape(label)}</td>"
            body += f"<tr>{row}</tr>"
        legend = "".join(
            f"<li><b>{html.escape(r)}</b>: {html.escape(REQUIREMENTS.get(r, ''))}</li>"
            for r in matrix.requirements
        )
        return (
            "<h2>Hosts x requirements</h2><table class='backupnet-matrix' border='1' "
            f"style='border-collapse:collapse'><tr><th>host</th>{head}</tr>{body}</table>"
            "<p>A cell is the worst outcome of the host's checks for the requirement, with how many "
            "of them did not pass. <i>error</i>: the suite could not evaluate it; <i>warn</i>: passed "
            "with a finding.</p>"
            f"<ul class='backupnet-legend'>{legend}</ul>"
        )


def _html_outcome_counts(config: pytest.Config) -> dict[str, dict[str, Any]] | None:
    """pytest-html's counts by outcome (its summary's "1 Failed, 2 Errors"), None if not found."""
    for plugin in config.pluginmanager.get_plugins():
        counts = getattr(getattr(plugin, "_report", None), "outcomes", None)
        if isinstance(counts, dict) and {"failed", "error"} <= counts.keys():
            return counts
    return None
