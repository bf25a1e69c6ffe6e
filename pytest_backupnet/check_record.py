"""The evidence of one check item, filled where it is observed and decided, read by every report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from .cases import Case
from .controls import Control
from .outcome import Status
from .sanitize import shorten, terminal_text


@dataclass
class CheckRecord:
    control: Control
    case: Case | None
    check: str  # the test function's name
    observed: str = ""
    evidence: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # endpoint, port, host_wall_s, waiver ...
    warnings: list[str] = field(default_factory=list)
    status: Status | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data: it travels on the test report, also from xdist workers to the controller."""
        record: dict[str, Any] = {
            "control": self.control.id,
            "requirement": ",".join(self.control.requirements),
            "host": self.case.host if self.case else "",
            "check": self.check,
        }
        if self.case is not None:
            if self.case.endpoint:
                record["endpoint"] = self.case.endpoint
            if self.case.port is not None:
                record["port"] = self.case.port
            if self.case.dns_server:
                record["dns_server"] = self.case.dns_server
        if self.observed:
            record["observed"] = self.observed
        if self.evidence:
            record["evidence"] = self.evidence
        record.update(self.details)
        if self.warnings:
            record["warnings"] = list(self.warnings)
        if self.status is not None:
            record["status"] = self.status.value
            record["outcome"] = self.status.contract
            record["message"] = self.message
        return {key: inert(value) for key, value in record.items()}


# The most of one text a record keeps: evidence names a few findings, not a whole file.
MAX_TEXT = 20_000


def inert(value: Any) -> Any:
    """Texts from hosts made harmless for a terminal, JUnit and HTML, and bounded in size."""
    if isinstance(value, str):
        return terminal_text(shorten(value, MAX_TEXT))
    if isinstance(value, list):
        return [inert(v) for v in value]
    return value


RECORD_KEY = pytest.StashKey[CheckRecord]()


def report_record(report: pytest.TestReport) -> dict[str, Any]:
    """The record a check's report carries (plain data, see `CheckRecord.as_dict`); {} for others."""
    record = getattr(report, "backupnet", None)
    return record if isinstance(record, dict) else {}


def is_error_in_call(report: pytest.TestReport) -> bool:
    """A check found not evaluable while it ran: pytest says "failed" (it calls only set-up and
    tear-down failures errors), the reports say error, as for every check the suite could not
    evaluate (DESIGN.md): a failure is the host breaking a requirement, nothing else."""
    return (
        report.when == "call"
        and report.failed
        and report_record(report).get("status") == Status.NOT_EVALUATED.value
    )
