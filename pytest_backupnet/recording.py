"""Each check's outcome, decided where it happens and put on its test report for every reader."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from .audit import Audit
from .check_record import RECORD_KEY, CheckRecord, inert
from .outcome import CheckFailed, HostNotEvaluated, NotEvaluated, Status
from .waivers import find_waiver


class ShortReports:
    """A check that failed or could not be evaluated reports its one-line reason.

    It runs before pytest's own report maker, which would format a traceback with source for
    each (milliseconds each, most of the run for a fleet of dead hosts) only to be replaced.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        if call.excinfo is None or RECORD_KEY not in item.stash or call.when == "collect":
            return None
        if not isinstance(call.excinfo.value, NotEvaluated | CheckFailed):
            return None
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed",
            inert(str(call.excinfo.value)),
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )


class OutcomeRecorder:
    """Turns each phase of a check into its status (waivers applied) and attaches its record."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        record = item.stash.get(RECORD_KEY, None)
        if record is None:
            return report
        undecided = record.status is None or record.status in (Status.PASS, Status.WARN)
        if undecided and self._decide(record, report, call) is Status.FAIL:
            self._waive(record, report)
        report.backupnet = record.as_dict()  # type: ignore[attr-defined]
        return report

    def _decide(
        self, record: CheckRecord, report: pytest.TestReport, call: pytest.CallInfo[None]
    ) -> Status | None:
        """Set the record's status from this phase (if it decides one) and return it."""
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, NotEvaluated):
            record.observed = record.observed or error.observed
            if isinstance(error, HostNotEvaluated):
                record.details["host_wall_s"] = round(error.elapsed_s, 3)
            record.status, record.message = Status.NOT_EVALUATED, error.reason
        elif isinstance(error, CheckFailed):
            record.status, record.message = Status.FAIL, str(error)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            record.status, record.message = Status.SKIPPED, reason.removeprefix("Skipped: ")
        elif report.failed:  # a fault of the suite, never counted against the host
            what = f"{type(error).__name__}: {error}" if error is not None else report.longreprtext.strip()
            record.status, record.message = Status.NOT_EVALUATED, f"internal error: {what}"
        elif report.when == "call":
            record.status = Status.WARN if record.warnings else Status.PASS
        return record.status

    def _waive(self, record: CheckRecord, report: pytest.TestReport) -> None:
        case = record.case
        host, endpoint = (case.host, case.endpoint) if case else ("", None)
        waiver = find_waiver(self.audit.waivers, record.control.requirements, host, endpoint)
        if waiver is None:
            return
        if waiver.expired(self.audit.today):
            record.details["waiver"] = f"expired: {waiver.describe()}"
            record.message += (
                f"\nwaiver expired on {waiver.expires.isoformat()}, so this failure counts again: "
                f"{waiver.describe()}"
            )
            report.longrepr = inert(record.message)
            return
        record.details["waiver"] = waiver.describe()
        record.status, record.message = Status.WAIVED, f"waived: {waiver.describe()}"
        report.outcome = "skipped"
        report.wasxfail = inert(record.message)
        report.longrepr = None
