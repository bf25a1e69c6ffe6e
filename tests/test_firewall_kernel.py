"""The evaluator against the kernel: each configuration, loaded by its real tool inside a lab host,
judged from what the probe gathers there, and compared with real connects on every sampled address.

Costs about 30 s on 2 cores: the configurations run side by side (most of the time is spent
waiting for dropped connects to time out).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.lab.firewall_configs import CONFIGS, Config
from tests.lab.firewall_lab import TOOL_PATH, Comparison, LabHost, compare, lab_reason, write_summary
from tests.lab.require import need

WORKERS = 6
BY_NAME = {c.name: c for c in CONFIGS}


def _run(config: Config, index: int, workdir: Path) -> Comparison | str:
    started = time.monotonic()
    host = LabHost(f"k{index:02d}", workdir / config.name, config.setup)
    try:
        host.start()
        config.load(host)
        result = compare(host, extra=config.extra, seed=config.name)
    except Exception as exc:  # reported by the configuration's own test
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()
    result.name = config.name
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Comparison | str]]:
    need(lab_reason())
    workdir = tmp_path_factory.mktemp("firewall-kernel")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {c.name: pool.submit(_run, c, i, workdir) for i, c in enumerate(CONFIGS)}
        results = {name: future.result() for name, future in futures.items()}
    write_summary("BACKUPNET_FIREWALL_SUMMARY", results)
    yield results


@pytest.mark.parametrize("name", list(BY_NAME))
def test_verdicts_agree_with_the_kernel(kernel: dict[str, Comparison | str], name: str) -> None:
    config = BY_NAME[name]
    missing = [tool for tool in config.needs if shutil.which(tool, path=TOOL_PATH) is None]
    need(f"{name} needs {', '.join(missing)} (scripts/install-deps installs it)" if missing else None)
    result = kernel[name]
    assert isinstance(result, Comparison), f"{name} could not be built: {result}"
    assert result.checks >= 20, f"{name}: only {result.checks} addresses compared"
    assert not result.wrong, f"{name}: {len(result.wrong)} wrong verdicts:\n" + "\n".join(result.wrong[:20])
    if config.real_tool:
        assert not result.unknown, f"{name}: {result.unknown} unknown:\n" + "\n".join(result.unknowns[:10])
    for direction, port, address, verdict in config.expect:
        assert result.verdict_at(direction, port, address) == verdict, (
            f"{name}: {direction} {address}:{port} is {result.verdict_at(direction, port, address)}, "
            f"the configuration is built to give {verdict}"
        )
