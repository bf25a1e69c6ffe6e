"""Controls: each compliance check declared once, with a stable id, its requirements and its cases."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from .cases import CASE_KINDS
from .requirements import REQUIREMENTS

PREFLIGHT = "preflight.host-reachable"
DIRECTIONS = ("outbound", "inbound")
_ID = re.compile(r"^(BN-R[1-9]|preflight)\.[a-z0-9]+(-[a-z0-9]+)*$")
_ATTRIBUTE = "backupnet_control"
# Run options a control may need to apply (`only_with`); collection.ONLY_WITH says when each holds.
RUN_OPTIONS = ("firewall-both",)
CheckFunction = TypeVar("CheckFunction", bound=Callable[..., None])


@dataclass(frozen=True)
class Control:
    """One compliance check as an auditor reads it; `id` names the check, never a host."""

    id: str
    requirements: tuple[str, ...]
    title: str
    rationale: str
    cases: str  # which items it has: one per host, per endpoint and port, ... (cases.CASE_KINDS)
    direction: str | None
    where: str  # the test function, as a pytest node id relative to the package
    only_with: str = ""  # a run option it needs (collection.ONLY_WITH), else one skipped item

    @property
    def markers(self) -> list[str]:
        names = ["backupnet", *(r.lower().replace("-", "_") for r in self.requirements)]
        if self.direction:
            names.append(self.direction)
        if self.id == PREFLIGHT:
            names.append("preflight")
        return names


def control(
    control_id: str,
    *,
    requirements: Sequence[str],
    title: str,
    rationale: str,
    cases: str,
    direction: str | None = None,
    only_with: str = "",
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a test function a compliance control; its markers follow from the declaration."""

    def declare(function: CheckFunction) -> CheckFunction:
        if not _ID.match(control_id):
            raise ValueError(f"control id {control_id!r}: use REQUIREMENT.name, e.g. BN-R4.egress-firewall")
        unknown = [r for r in requirements if r not in REQUIREMENTS]
        if unknown or not requirements or control_id.split(".")[0] != requirements[0]:
            raise ValueError(f"control {control_id}: requirements {list(requirements)} (first names the id)")
        if (
            cases not in CASE_KINDS
            or direction not in (None, *DIRECTIONS)
            or only_with not in ("", *RUN_OPTIONS)
        ):
            raise ValueError(
                f"control {control_id}: cases {cases!r}, direction {direction!r}, only_with {only_with!r}"
            )
        module = inspect.getmodule(function)
        path = Path(module.__file__ if module and module.__file__ else "?")
        where = f"{path.parent.parent.name}/{path.parent.name}/{path.name}::{function.__name__}"
        declared = Control(
            control_id, tuple(requirements), title, rationale, cases, direction, where, only_with
        )
        setattr(function, _ATTRIBUTE, declared)
        for name in declared.markers:
            function = getattr(pytest.mark, name)(function)
        return function

    return declare


def control_of(item: Any) -> Control | None:
    """The control a test item (or function) runs, if it is a compliance check."""
    function = getattr(item, "function", item)
    found = getattr(function, _ATTRIBUTE, None)
    return found if isinstance(found, Control) else None


def all_controls() -> list[Control]:
    """Every control of the packaged suite, importing its modules (which touches no host)."""
    from . import checks

    found = []
    for module in pkgutil.iter_modules(checks.__path__, f"{checks.__name__}."):
        for _, function in inspect.getmembers(importlib.import_module(module.name), inspect.isfunction):
            declared = control_of(function)
            if declared is not None:
                found.append(declared)
    return sorted(found, key=lambda c: (_requirement_order(c.requirements[0]), c.id))


def _requirement_order(requirement: str) -> int:
    return int(requirement[4:]) if requirement.startswith("BN-R") else 0


def format_controls(controls: Sequence[Control]) -> str:
    """The list printed by --backupnet-list-checks: id, requirements, direction, title, where."""
    width = max(len(c.id) for c in controls)
    lines = []
    for declared in controls:
        requirements = ",".join(declared.requirements)
        lines.append(
            f"{declared.id.ljust(width)}  {requirements:<12} {declared.direction or '-':<9} {declared.title}"
        )
        lines.append(f"{''.ljust(width)}  {declared.where}")
    return "\n".join(lines)
