"""Shared fixtures: the namespace lab and a runner for the packaged suite against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.network import DNS_PARTIAL, HostSpec, Lab, lab_available, nft_rules
from tests.lab.userland import USERLANDS, build_all, userlands_available

REQUIRE_LAB = os.environ.get("BACKUPNET_REQUIRE_LAB") == "1"

# The faults each lab host is built with; tests/test_lab.py states the verdicts they predict.
LAB_HOSTS = [
    HostSpec("good"),
    HostSpec(
        "fw",
        nft=nft_rules(
            output=[
                "ip daddr 198.19.2.13 tcp dport 8087 drop",
                "ip daddr 198.19.2.14 tcp dport 8087 reject with tcp reset",
            ],
            input_=["tcp dport 2548 drop"],
        ),
    ),
    HostSpec(
        "pinned",
        config=(
            "<agentdata:Configuration>\n"
            "  <agentdata:Portal>198.19.1.1</agentdata:Portal>\n"
            "</agentdata:Configuration>\n"
        ),
        hosts_lines="198.19.2.15 amp05.lab.backupnet.test\n",
    ),
    HostSpec("legacy", agent=("0.0.0.0:808",)),
    HostSpec("loopback", agent=("127.0.0.1:2548",), resolver=DNS_PARTIAL),
    HostSpec("dead", sshd=False),
    HostSpec("dualstack", agent=("[::]:2548",)),
    HostSpec("nopython", without_python=True),
    HostSpec(
        "narrow",
        nft=nft_rules(
            output=[
                "ip daddr { 198.19.1.0/24, 198.19.2.0/24 } tcp dport { 8086, 8087 } accept",
                "tcp dport { 8086, 8087 } drop",
            ]
        ),
    ),
]
AUDITED = [h.name for h in LAB_HOSTS]
# Two hosts on each older userland (tests/lab/userland.py): NAME with every fault the probe must
# tell apart, NAME-lo with a clean network and the agent on loopback only.
USERLAND_HOST_NAMES = {"debian11": "deb11", "debian11-nopython": "deb11np", "busybox-bash": "bbbash",
                       "busybox": "bbox", "busybox-nonc": "bbnonc"}  # fmt: skip
USERLAND_FAULTS = nft_rules(
    output=[
        "ip daddr 198.19.2.13 tcp dport 8087 drop",
        "ip daddr 198.19.2.14 tcp dport 8087 reject with tcp reset",
        "ip daddr 198.19.2.15 tcp dport 8087 reject with icmp type host-unreachable",
    ]
)
IP_LITERAL_CONFIG = (
    "<agentdata:Configuration>\n"
    "  <agentdata:Portal>198.19.1.1</agentdata:Portal>\n"
    "</agentdata:Configuration>\n"
)
USERLAND_HOSTS = [
    spec
    for userland, name in USERLAND_HOST_NAMES.items()
    for spec in (
        HostSpec(name, userland=userland, config=IP_LITERAL_CONFIG, resolver=DNS_PARTIAL,
                 nft=USERLAND_FAULTS, dead_routes=("198.19.2.17/32",)),
        HostSpec(f"{name}-lo", userland=userland, agent=("127.0.0.1:2548", "[::]:808")),
    )
]  # fmt: skip
assert set(USERLAND_HOST_NAMES) == set(USERLANDS)
# Hosts for the pre-flight and deadline tests, kept out of the shared audit.
TROUBLE_HOSTS = [
    HostSpec("noauth", authorized=False),
    HostSpec("blackhole", nft=nft_rules(input_=["tcp dport 22 drop"])),
    HostSpec("hang", force_command="sleep 600"),
    HostSpec("port2600", agent=("0.0.0.0:2600",)),
]


def need_lab() -> None:
    need(lab_available())


def need(reason: str | None) -> None:
    """Skip with `reason`, or fail when BACKUPNET_REQUIRE_LAB=1 (CI): nothing is silently left out."""
    if reason is None:
        return
    if REQUIRE_LAB:
        pytest.fail(f"BACKUPNET_REQUIRE_LAB=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def userland_problem() -> str | None:
    """None when the older userlands' roots are ready (built now, or found in the cache), else why not."""
    reason = userlands_available()
    if reason is None:
        try:
            build_all()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            reason = f"cannot build the older userlands' roots: {exc}"
    return reason


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, userland_problem: str | None) -> Iterator[Lab]:
    need_lab()
    userland_hosts = USERLAND_HOSTS if userland_problem is None else []
    built = Lab(tmp_path_factory.mktemp("lab")).start([*LAB_HOSTS, *TROUBLE_HOSTS, *userland_hosts])
    try:
        yield built
    finally:
        built.stop()


@dataclass
class SuiteRun:
    workdir: Path
    rc: int
    stdout: str
    document: dict[str, Any]

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.document.get("records", []))

    def record(self, check: str, host: str, **match: Any) -> dict[str, Any]:
        found = [
            r
            for r in self.records
            if r["check"] == check and r["host"] == host and all(r.get(k) == v for k, v in match.items())
        ]
        assert len(found) == 1, f"{check} {host} {match}: {len(found)} records\n{self.stdout[-3000:]}"
        return found[0]

    def verdicts(self) -> dict[str, tuple[str, str | None]]:
        return {r["nodeid"]: (r["outcome"], r.get("observed")) for r in self.records}


def run_suite(workdir: Path, args: Sequence[str], timeout: float = 240) -> SuiteRun:
    """Run the installed plugin as a user would, in its own process, and read its evidence."""
    evidence = workdir / "evidence.json"
    evidence.unlink(missing_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "--backupnet-json", str(evidence), *args],
        cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    document = json.loads(evidence.read_text()) if evidence.exists() else {}
    return SuiteRun(workdir, completed.returncode, completed.stdout + completed.stderr, document)


@pytest.fixture(scope="session")
def lab_run(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """One audit of every lab host, shared by the tests that read its verdicts."""
    workdir = tmp_path_factory.mktemp("lab-run")
    return run_suite(
        workdir,
        [*lab.pytest_args(AUDITED), "--dns-server", "198.18.0.1", "--backupnet-timeout", "1",
         "--html", str(workdir / "report.html")],
    )  # fmt: skip
