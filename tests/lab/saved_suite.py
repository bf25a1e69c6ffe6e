"""The compliance suite run inside a lab image host, as an image build's `RUN pytest ...` step runs it.

The host's /etc and /usr are the image's (saved_lab.image_host); the suite runs there with the
default target (local://), so its probe reads the image's own files and the host's own rules.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.firewall_lab import LabHost

WORKTREE = str(Path(__file__).resolve().parent.parent.parent)
AGENT_CONFIG = """<?xml version="1.0"?>
<agentdata:Configuration xmlns:agentdata="urn:lab">
  <agentdata:Portal>register.lab.backupnet.test</agentdata:Portal>
</agentdata:Configuration>
"""


def image_profile(workdir: Path) -> Path:
    """The lab's egress (198.19.0.0/16 on 8086, 8087) and management port; no endpoints to resolve."""
    agent = workdir / "agent"
    agent.mkdir(parents=True, exist_ok=True)
    (agent / "agent.cfg").write_text(AGENT_CONFIG)
    profile = workdir / "image-lab.yaml"
    profile.write_text(
        "name: image-lab\n"
        "title: the image-build gate in the lab\n"
        "source: tests/lab/saved_suite.py\n"
        "endpoints: []\n"
        "egress:\n"
        "  ports: [8086, 8087]\n"
        "  recommended: [198.19.0.0/16]\n"
        "  minimum: [198.19.1.0/24]\n"
        "agent:\n"
        "  management_port: 2548\n"
        "  legacy_ports: []\n"
        "  inbound_from: [198.19.1.0/24]\n"
        f"  config_files: [{agent}/*.cfg]\n"
    )
    return profile


@dataclass
class InsideRun:
    rc: int
    output: str
    records: list[dict[str, Any]]
    junit: Path

    def statuses(self) -> dict[str, str]:
        return {r["nodeid"].split("::")[-1]: r["status"] for r in self.records}

    def record(self, check: str) -> dict[str, Any]:
        found = [r for r in self.records if r["nodeid"].split("::")[-1] == check]
        assert len(found) == 1, f"{check}: {len(found)} records\n{self.output[-3000:]}"
        return found[0]


def run_inside(
    host: LabHost, workdir: Path, name: str, *args: str, prefix: tuple[str, ...] = ()
) -> InsideRun:
    """`pytest --profile image-lab.yaml -m "not network" ARGS` inside the host, from `workdir`, run
    by `prefix` (e.g. `unshare --user --map-root-user`: root without the right to list the rules,
    as in a container build)."""
    evidence = workdir / f"{name}.json"
    evidence.unlink(missing_ok=True)
    result = host.run(
        "sh",
        "-c",
        'cd "$1" && shift && exec "$@"',
        "sh",
        str(workdir),
        *prefix,
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--profile",
        str(image_profile(workdir)),
        "-m",
        "not network",
        "--backupnet-json",
        str(evidence),
        "--junitxml",
        str(workdir / f"{name}.xml"),
        *args,
        check=False,
        timeout=120,
        env={"PYTHONPATH": WORKTREE},
    )
    records = json.loads(evidence.read_text())["records"] if evidence.exists() else []
    return InsideRun(result.returncode, result.stdout + result.stderr, records, workdir / f"{name}.xml")
