"""The exit status: 6 when any check could not be evaluated, whatever else happened."""

from __future__ import annotations

import pytest

EXIT_NOT_EVALUATED = 6


class ExitStatus:
    """Counts the checks that could not be evaluated, from their records, on the reporting process."""

    def __init__(self) -> None:
        self.not_evaluated: set[str] = set()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "backupnet", None)
        if record and record.get("status") == "not-evaluated":
            self.not_evaluated.add(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.not_evaluated and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = EXIT_NOT_EVALUATED
