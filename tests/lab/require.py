"""Lab tests skip without what they need, but fail in CI (BACKUPNET_REQUIRE_LAB=1): nothing is left out."""

from __future__ import annotations

import os

import pytest

from tests.lab.network import lab_available

REQUIRE_LAB = os.environ.get("BACKUPNET_REQUIRE_LAB") == "1"


def need(reason: str | None) -> None:
    """Skip with `reason`, or fail when BACKUPNET_REQUIRE_LAB=1 (CI)."""
    if reason is None:
        return
    if REQUIRE_LAB:
        pytest.fail(f"BACKUPNET_REQUIRE_LAB=1 but {reason}")
    pytest.skip(reason)


def need_lab() -> None:
    need(lab_available())
