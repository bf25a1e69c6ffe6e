"""Run Python code in a child process under an address-space cap and a deadline.

A test of "bounded time and memory" must not take the test run down with it when the bound is
missing: the child is killed at the deadline, and an allocation beyond the cap fails in the child.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_bounded(
    code: str,
    *,
    timeout: float,
    memory_mb: int = 512,
    args: Sequence[str] = (),
    cwd: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -c code args...` importing this worktree's package, failing the test at the deadline."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            preexec_fn=cap_memory,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout}s (a bound is missing)")


def run_pytest_bounded(
    args: list[str], *, cwd: Path, timeout: float = 60, memory_mb: int = 1024
) -> subprocess.CompletedProcess[str]:
    """pytest with the plugin, as a user runs it, under the same caps as `run_bounded`."""
    code = "import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"
    return run_bounded(
        code, timeout=timeout, memory_mb=memory_mb, args=["-p", "no:cacheprovider", *args], cwd=cwd
    )
