"""What became of one check: the statuses every report reads, and how a check or fixture says so."""

from __future__ import annotations

import enum

from .targets import HostUnavailable


class Status(enum.StrEnum):
    """The outcome of one check, decided where it happens and read by every report."""

    PASS = "pass"
    WARN = "warn"  # passed, with a finding that does not fail it (drift, a non-default port)
    FAIL = "fail"  # the host breaks the requirement
    WAIVED = "waived"  # a failure that a current accepted exception covers
    NOT_EVALUATED = "not-evaluated"  # the suite could not evaluate it: never a pass, never hidden
    SKIPPED = "skipped"  # not applicable to this run (no --dns-server, nothing in the profile)

    @property
    def contract(self) -> str:
        """The evidence file's `outcome` (DESIGN.md): pass, fail, error, waived or skipped."""
        return {"warn": "pass", "not-evaluated": "error"}.get(self.value, self.value)

    @property
    def rank(self) -> int:
        """Worst first: a cell of the matrix shows the worst status of its checks."""
        return _WORST_FIRST.index(self)


_WORST_FIRST = (Status.NOT_EVALUATED, Status.FAIL, Status.WAIVED, Status.WARN, Status.PASS, Status.SKIPPED)


class NotEvaluated(Exception):
    """The suite could not evaluate a check; `observed` names what stood in the way."""

    def __init__(self, observed: str, reason: str) -> None:
        super().__init__(reason)
        self.observed = observed
        self.reason = reason


class HostNotEvaluated(NotEvaluated):
    """The check's host could not be observed: said in full once, by the pre-flight check."""

    def __init__(self, error: HostUnavailable, preflight: bool, elapsed_s: float) -> None:
        if preflight:
            reason = f"host {error.host} {error.observed}: {error.reason} (after {elapsed_s:.1f}s)"
        else:
            reason = (
                f"not evaluated: host {error.host} {error.observed} (reported once by its pre-flight check)"
            )
        super().__init__(error.observed, reason)
        self.elapsed_s = elapsed_s


class CheckFailed(Exception):
    """The host breaks the requirement (raised by `Verdict.fail`)."""
