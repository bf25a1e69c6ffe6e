"""Hosts x requirements: the worst status of each host's checks per requirement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .outcome import Status

_NOT_PASSED = (Status.FAIL, Status.NOT_EVALUATED, Status.WAIVED)


@dataclass(frozen=True)
class Cell:
    worst: Status
    not_passed: int
    total: int

    @property
    def label(self) -> str:
        name = "error" if self.worst is Status.NOT_EVALUATED else self.worst.value
        return f"{name} {self.not_passed}/{self.total}" if self.not_passed else name


@dataclass(frozen=True)
class Matrix:
    hosts: tuple[str, ...]
    requirements: tuple[str, ...]
    cells: Mapping[tuple[str, str], Cell]


def requirement_matrix(records: Iterable[Mapping[str, Any]], host_order: Sequence[str]) -> Matrix:
    """A check counts under its primary requirement (BN-R2 for BN-R2,BN-R3)."""
    cells: dict[tuple[str, str], Cell] = {}
    for record in records:
        key = (record["host"], record["requirement"].split(",")[0])
        status = Status(record["status"])
        cell = cells.get(key, Cell(Status.SKIPPED, 0, 0))
        cells[key] = Cell(
            status if status.rank < cell.worst.rank else cell.worst,
            cell.not_passed + (status in _NOT_PASSED),
            cell.total + 1,
        )
    hosts = tuple(h for h in dict.fromkeys(host_order) if any(k[0] == h for k in cells))
    requirements = tuple(sorted({k[1] for k in cells}, key=requirement_order))
    return Matrix(hosts, requirements, cells)


def requirement_order(requirement: str) -> tuple[int, str]:
    digits = requirement.removeprefix("BN-R")
    return (int(digits), requirement) if digits.isdigit() else (-1, requirement)
