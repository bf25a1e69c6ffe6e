"""How a check states what it observed, and why it fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import pytest

from .cases import Case
from .targets import HostUnavailable


class NotEvaluated(Exception):
    """The suite could not evaluate a check (an error, never a pass or a fail)."""

    def __init__(self, observed: str, message: str) -> None:
        super().__init__(message)
        self.observed = observed


class HostNotEvaluated(NotEvaluated):
    """A check that could not run because its host could not be observed (an error, not a verdict)."""

    def __init__(self, error: HostUnavailable, primary: bool, elapsed_s: float | None = None) -> None:
        if primary:
            message = f"host {error.host} {error.observed}: {error.reason}"
            if elapsed_s is not None:
                message += f" (after {elapsed_s:.1f}s)"
        else:
            message = (
                f"not evaluated: host {error.host} {error.observed} "
                f"(reported once by test_host_reachable[{error.host}])"
            )
        super().__init__(error.observed, message)
        self.elapsed_s = elapsed_s


class Verdict:
    """Records the observation of one check as test properties, and fails with a reason."""

    def __init__(self, record: Callable[[str, Any], None], case: Case, requirement: str) -> None:
        self._record = record
        self.case = case
        self.requirement = requirement

    def observe(self, observed: str, evidence: str = "", **extra: Any) -> None:
        self._record("observed", observed)
        if evidence:
            self._record("evidence", evidence)
        for key, value in extra.items():
            self._record(key, value)

    def warn(self, message: str) -> None:
        """A finding that does not fail the check (drift, a non-default port, ...)."""
        self._record("warning", message)

    def fail(self, message: str) -> NoReturn:
        pytest.fail(f"{message} [{self.requirement}]", pytrace=False)
