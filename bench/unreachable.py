"""Benchmark: a fleet of unreachable hosts. How long the run takes, and how much of it goes into
formatting tracebacks for checks that could not be evaluated.

Run by hand from the repository (no root needed; every host is a closed port on loopback):

    python3 bench/unreachable.py                 # 60 hosts
    python3 bench/unreachable.py --hosts-count 200
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Where pytest builds the traceback report of a failed or errored item (both the setup and the call
# paths go through it, so its cumulative time counts each formatting once).
TRACEBACK_FUNCTION = "_repr_failure_py"


def ssh_config(folder: Path, count: int) -> Path:
    """Hosts h001... all at 127.0.0.1 port 9, where nothing listens: each connect is refused at once."""
    path = folder / "ssh_config"
    path.write_text(
        "".join(f"Host h{i:03d}\n  HostName 127.0.0.1\n  Port 9\n" for i in range(1, count + 1))
        + "Host *\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    )
    return path


def pytest_args(folder: Path, count: int) -> list[str]:
    hosts = ",".join(f"ssh://h{i:03d}" for i in range(1, count + 1))
    return ["-p", "no:cacheprovider", "-q", "--profile", "commercial", "--hosts", hosts,
            "--ssh-config", str(ssh_config(folder, count)), "--backupnet-timeout", "1"]  # fmt: skip


def wall_time(folder: Path, count: int) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args(folder, count)],
                          cwd=folder, capture_output=True, text=True, check=False)  # fmt: skip
    return time.perf_counter() - start, done.returncode


def traceback_seconds(folder: Path, count: int) -> tuple[float, float]:
    """(seconds in traceback formatting, total profiled seconds) of one in-process run."""
    import pytest

    profiler = cProfile.Profile()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        profiler.enable()
        pytest.main(pytest_args(folder, count))
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
    formatting = sum(
        v[3]
        for (filename, _, name), v in stats.stats.items()  # type: ignore[attr-defined]
        if name == TRACEBACK_FUNCTION and "_pytest" in filename
    )
    return formatting, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts-count", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        wall, rc = wall_time(Path(folder), args.hosts_count)
        formatting, total = traceback_seconds(Path(folder), args.hosts_count)
    print(f"{args.hosts_count} unreachable hosts: wall {wall:.2f}s (exit {rc})")
    print(f"profiled run: {total:.2f}s, of which formatting tracebacks {formatting:.2f}s "
          f"({100 * formatting / total:.0f}%)")  # fmt: skip


if __name__ == "__main__":
    main()
