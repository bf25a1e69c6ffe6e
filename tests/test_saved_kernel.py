"""Saved configurations against the kernel: each image's files, written by the real tools, judged from
the files alone, then booted (the enabled services' own start) and compared with real connects.

Costs about a minute on 2 cores (the images run side by side; most of the time is spent waiting for
dropped connects to time out).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.lab.firewall_lab import lab_reason, write_summary
from tests.lab.require import need
from tests.lab.saved_configs import SAVED_CONFIGS
from tests.lab.saved_lab import SavedComparison, SavedConfig, compare_saved, image_host

WORKERS = 6
BY_NAME = {c.name: c for c in SAVED_CONFIGS}
UNKNOWN_BY_DESIGN = {  # the boot itself is uncertain here: the verdict must say so, not guess
    "nft-iif-at-boot": "nft refuses the file when eth0 does not exist yet",
    "ufw-and-persistent-order": "netfilter-persistent's restore replaces ufw's filter table if it runs last",
    "ufw-and-firewalld": "firewalld flushes ufw's chains (not its DROP policies) if it starts last",
}


def _run(config: SavedConfig, index: int, workdir: Path) -> SavedComparison | str:
    started = time.monotonic()
    host = image_host(f"i{index:02d}", workdir / config.name, config.setup)
    try:
        config.write(host)
        result = compare_saved(host, config)
    except Exception as exc:  # reported by the configuration's own test
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SavedComparison | str]]:
    need(lab_reason())
    workdir = Path(tempfile.mkdtemp(dir=tmp_path_factory.mktemp("saved-kernel")))
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {c.name: pool.submit(_run, c, i, workdir) for i, c in enumerate(SAVED_CONFIGS)}
        results = {name: future.result() for name, future in futures.items()}
    write_summary("BACKUPNET_SAVED_SUMMARY", results)
    yield results


@pytest.mark.parametrize("name", list(BY_NAME))
def test_saved_verdicts_agree_with_the_booted_kernel(
    images: dict[str, SavedComparison | str], name: str
) -> None:
    config = BY_NAME[name]
    result = images[name]
    assert isinstance(result, SavedComparison), f"{name} could not be built: {result}"
    assert result.checks >= 20, f"{name}: only {result.checks} addresses compared"
    assert not result.wrong, f"{name}: {len(result.wrong)} wrong verdicts:\n" + "\n".join(result.wrong[:20])
    if name in UNKNOWN_BY_DESIGN:
        assert result.unknown, f"{name}: {UNKNOWN_BY_DESIGN[name]}, yet every verdict is certain"
        assert all("depends on the boot" in u for u in result.unknowns), result.unknowns[:5]
    else:
        assert not result.unknown, f"{name}: {result.unknown} unknown:\n" + "\n".join(result.unknowns[:10])
    for direction, port, address, verdict in config.expect:
        assert result.verdict_at(direction, port, address) == verdict, (
            f"{name}: {direction} {address}:{port} is {result.verdict_at(direction, port, address)}, "
            f"the image is built to give {verdict}"
        )
    if config.runner_nft:
        for key, judgement in result.judgements.items():
            with_nft = result.judged_with_nft[key]
            assert [(s.first, s.last, s.verdict) for s in with_nft.segments] == [
                (s.first, s.last, s.verdict) for s in judgement.segments
            ], f"{name} {key}: the parser and the runner's nft disagree"


def test_the_evidence_names_the_saved_file_and_line(images: dict[str, SavedComparison | str]) -> None:
    agent = images["nft-agent-open"]
    assert isinstance(agent, SavedComparison)
    accepted = [s for s in agent.judgements[("inbound", 2548)].segments if s.verdict == "accept"]
    assert accepted and accepted[0].decided_by.startswith(
        '/etc/nftables.d/agent.nft:1 "ip saddr $backup_nets'
    )
    ufw = images["ufw-agent-open"]
    assert isinstance(ufw, SavedComparison)
    assert any("/etc/ufw/user.rules:" in s.decided_by for s in ufw.judgements[("inbound", 2548)].segments)
    firewalld = images["firewalld-default"]
    assert isinstance(firewalld, SavedComparison)
    (segment,) = firewalld.judgements[("inbound", 2548)].segments
    assert segment.decided_by.startswith("/usr/lib/firewalld/zones/public.xml: zone public") and (
        "target default" in segment.decided_by
    )
