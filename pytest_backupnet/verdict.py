"""How a check states what it observed, warns, and fails with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from .cases import Case
from .check_record import CheckRecord
from .outcome import CheckFailed


class Verdict:
    """Writes a check's observation into its record; `fail` ends the check as a failure."""

    def __init__(self, record: CheckRecord) -> None:
        self._record = record

    @property
    def case(self) -> Case:
        assert self._record.case is not None
        return self._record.case

    def observe(self, observed: str, evidence: str = "", **details: Any) -> None:
        self._record.observed = observed
        if evidence:
            self._record.evidence = evidence
        self._record.details.update(details)

    def note(self, **details: Any) -> None:
        """Details of the record that are no observation (which firewall was judged, ...)."""
        self._record.details.update(details)

    def warn(self, message: str) -> None:
        """A finding that does not fail the check (drift, a non-default port, ...)."""
        self._record.warnings.append(message)

    def fail(self, message: str) -> NoReturn:
        raise CheckFailed(f"{message} [{','.join(self._record.control.requirements)}]")


def listing(findings: Sequence[object], limit: int = 10) -> str:
    """The first `limit` findings, and how many more there are: evidence, not a dump."""
    shown = "; ".join(map(str, findings[:limit]))
    return f"{shown}; and {len(findings) - limit} more" if len(findings) > limit else shown
