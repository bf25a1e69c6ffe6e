"""Outcomes: decided once, read by every report; hosts that cannot be evaluated cost no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pytest.nodes import Node

from pytest_backupnet.outcome import Status


def unreachable_fleet(folder: Path, count: int) -> list[str]:
    """Hosts at a closed port on loopback: each SSH connect is refused at once."""
    config = folder / "ssh_config"
    config.write_text(
        "".join(f"Host h{i}\n  HostName 127.0.0.1\n  Port 9\n" for i in range(count))
        + "Host *\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    )
    hosts = ",".join(f"ssh://h{i}" for i in range(count))
    return ["--profile", "commercial", "--hosts", hosts, "--ssh-config", str(config)]


def test_not_evaluated_checks_build_no_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    formatted: list[str] = []
    original = Node._repr_failure_py

    def counting(self: Node, *args: object, **kwargs: object) -> object:
        formatted.append(self.nodeid)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Node, "_repr_failure_py", counting)
    evidence = pytester.path / "evidence.json"
    result = pytester.runpytest_inprocess(
        *unreachable_fleet(pytester.path, 3), "--backupnet-json", str(evidence), "-p", "no:cacheprovider"
    )
    records = json.loads(evidence.read_text())["records"]
    not_evaluated = [r for r in records if r["status"] == "not-evaluated"]
    assert len(not_evaluated) == 3 * 31
    assert formatted == [], f"{len(formatted)} tracebacks formatted"
    assert result.ret == 6
    result.stdout.fnmatch_lines(["*host h0 unreachable: ssh: connect to host 127.0.0.1 port 9*"])


def test_evidence_is_written_without_the_terminal(pytester: pytest.Pytester, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence.json"
    result = pytester.runpytest_subprocess(
        *unreachable_fleet(tmp_path, 1), "-p", "no:terminal", "--backupnet-json", str(evidence)
    )
    assert result.ret == 6
    document = json.loads(evidence.read_text())
    assert len(document["records"]) == 34 and document["run"]["exit_status"] == 6


@pytest.mark.parametrize(
    ("status", "contract"),
    [(Status.PASS, "pass"), (Status.WARN, "pass"), (Status.FAIL, "fail"), (Status.WAIVED, "waived"),
     (Status.NOT_EVALUATED, "error"), (Status.SKIPPED, "skipped")],
)  # fmt: skip
def test_every_status_has_its_contract_outcome(status: Status, contract: str) -> None:
    assert status.contract == contract


def test_worst_status_ranks_first() -> None:
    assert sorted(Status, key=lambda s: s.rank)[:3] == [Status.NOT_EVALUATED, Status.FAIL, Status.WAIVED]
