"""The probe: its command quotes every value, its output parses, and both implementations agree."""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_backupnet.probe import ProbeOutputError, ProbeRequest, parse_probe_output, remote_command


def test_parses_every_record_kind() -> None:
    b64 = base64.b64encode(b"<Server>x.example</Server>\n").decode()
    text = "\n".join([
        "probe\tpython\t3.11\tweb1",
        "resolve\tamp.example\tok\t3\t198.19.2.11,198.19.2.12",
        "resolve\tgone.example\tnxdomain\t2\tName or service not known",
        "connect\tamp.example\t198.19.2.11\t8087\topen\t1\t",
        "connect\tamp.example\t198.19.2.12\t8087\ttimeout\t1000\tno answer",
        "glob\t/opt/BUAgent/*.cfg\t1",
        f"file\t/opt/BUAgent/*.cfg\t/opt/BUAgent/buagent.cfg\t{b64}\t",
        "end\t0",
    ])  # fmt: skip
    report = parse_probe_output(text)
    assert report.implementation == "python 3.11" and report.complete
    assert report.resolutions["gone.example"].status == "nxdomain"
    outcomes = [c.outcome for c in report.connections_to("amp.example", 8087)]
    assert outcomes == ["open", "timeout"]
    assert report.files[0].text == "<Server>x.example</Server>\n"


def test_a_missing_connect_result_is_a_timeout_not_a_pass() -> None:
    report = parse_probe_output("probe\tbash\t5.2\th\nresolve\ta.example\tok\t1\t198.19.2.11\n")
    [connection] = report.connections_to("a.example", 8087)
    assert connection.outcome == "timeout" and not report.complete


@pytest.mark.parametrize("text", ["", "Welcome to web1!\n", "probe\tpython\t3\th\nconnect\tbroken\n"])
def test_output_that_is_not_the_probe_is_refused(text: str) -> None:
    with pytest.raises(ProbeOutputError):
        parse_probe_output(text)


def test_values_reach_the_shell_quoted(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    request = ProbeRequest(timeout=1, files=[f"/nonexistent/$(touch {marker})*"])
    for implementation in ("python", "bash"):
        subprocess.run(remote_command(request, implementation), shell=True, capture_output=True, check=True)
    assert not marker.exists()


@pytest.fixture
def loopback_listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("implementation", ["python", "bash"])
def test_probe_on_loopback(implementation: str, loopback_listener: int, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    (tmp_path / "a.cfg").write_text("Server=localhost\n")
    request = ProbeRequest(
        timeout=1, resolve={"localhost": [loopback_listener, closed_port]}, listen=True,
        files=[str(tmp_path / "*.cfg")],
    )  # fmt: skip
    out = subprocess.run(remote_command(request, implementation), shell=True, capture_output=True, text=True)
    report = parse_probe_output(out.stdout)
    assert report.implementation.startswith(implementation) and report.complete
    by_port = {c.port: c.outcome for c in report.connections.values() if c.address == "127.0.0.1"}
    assert by_port == {loopback_listener: "open", closed_port: "refused"}
    assert any(s.port == loopback_listener for s in report.listeners)
    assert [f.text for f in report.files] == ["Server=localhost\n"]


def test_auto_falls_back_to_bash_when_python3_is_missing(tmp_path: Path) -> None:
    """A PATH that offers only what the bash probe needs: python3 is not found (exit 127)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "timeout", "getent", "mktemp", "date", "awk", "paste", "sort", "head",
                 "base64", "cat", "rm", "uname"):  # fmt: skip
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    request = ProbeRequest(timeout=1, resolve={"localhost": []}, listen=True)
    out = subprocess.run(
        remote_command(request), shell=True, capture_output=True, text=True, env={"PATH": str(bin_dir)}
    )
    report = parse_probe_output(out.stdout)
    assert report.implementation.startswith("bash") and report.complete
    assert report.resolutions["localhost"].status == "ok"


def test_bash_probe_writes_no_temporary_file(tmp_path: Path) -> None:
    """Read-only on hosts: with no usable TMPDIR, a probe that needed a scratch file would fail."""
    (tmp_path / "a.cfg").write_text("Server=localhost\n")
    request = ProbeRequest(
        timeout=1, resolve={"localhost": [1]}, listen=True, files=[str(tmp_path / "*.cfg")]
    )
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path / "no-such-dir")}
    out = subprocess.run(remote_command(request, "bash"), shell=True, capture_output=True, text=True, env=env)
    report = parse_probe_output(out.stdout)
    assert report.complete, out.stderr
    assert [c.outcome for c in report.connections.values()] == ["refused"]
    assert [f.text for f in report.files] == ["Server=localhost\n"]
