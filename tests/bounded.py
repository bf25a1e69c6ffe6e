"""Run Python code in a child process under an address-space cap and a deadline.

A test of "bounded time and memory" must not take the test run down with it when the bound is
missing: the child is killed at the deadline, and an allocation beyond the cap fails in the child.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_bounded(code: str, *, timeout: float, memory_mb: int = 512) -> subprocess.CompletedProcess[str]:
    """`python -c code` importing this worktree's package, failing the test at the deadline."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    try:
        return subprocess.run(
            [sys.executable, "-c", code],
            preexec_fn=cap_memory,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout}s (a bound is missing)")
