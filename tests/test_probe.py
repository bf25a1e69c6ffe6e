"""The probe: its command quotes every value, its output parses, and both implementations agree."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_backupnet.probe import (
    ProbeOutputError,
    ProbeReport,
    ProbeRequest,
    parse_probe_output,
    remote_command,
)
from pytest_backupnet.probe.records import PROC_NET_TCP
from pytest_backupnet.timeouts import Timeouts

FAST = Timeouts(probe=1)
IMPLEMENTATIONS = ["python", "sh"]


def run_probe(request: ProbeRequest, implementation: str = "auto", **env: str) -> ProbeReport:
    out = subprocess.run(
        remote_command(request, implementation), shell=True, capture_output=True, text=True,
        env={**os.environ, **env} if env else None, timeout=30,
    )  # fmt: skip
    return parse_probe_output(out.stdout)


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
        f"read\t/etc/hosts\t{b64}\t",
        "command\tnft\t\tnot installed",
        "end\t0",
    ])  # fmt: skip
    report = parse_probe_output(text)
    assert report.implementation == "python 3.11" and report.complete
    assert report.resolutions["gone.example"].status == "nxdomain"
    outcomes = [c.outcome for c in report.connections_to("amp.example", 8087)]
    assert outcomes == ["open", "timeout"]
    assert report.files[0].text == "<Server>x.example</Server>\n"
    assert report.reads["/etc/hosts"].text == "<Server>x.example</Server>\n"
    assert report.commands["nft"].error == "not installed"


def test_a_missing_connect_result_is_a_timeout_not_a_pass() -> None:
    report = parse_probe_output("probe\tbash\t5.2\th\nresolve\ta.example\tok\t1\t198.19.2.11\n")
    [connection] = report.connections_to("a.example", 8087)
    assert connection.outcome == "timeout" and not report.complete


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Welcome to web1!\n",
        "probe\tpython\t3\th\nconnect\tbroken\n",
        "probe\tpython\t3\th\nread\t/x\t!!\t\n",
    ],
)
def test_output_that_is_not_the_probe_is_refused(text: str) -> None:
    with pytest.raises(ProbeOutputError):
        parse_probe_output(text)


def test_listing_commands_name_a_plain_program() -> None:
    with pytest.raises(ValueError, match="plain id and program"):
        ProbeRequest(FAST, commands={"x": ("nft;reboot", "list")})


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_listing_command_keeps_its_words(implementation: str) -> None:
    """A word may hold spaces and shell syntax: it reaches the program as one argument, not run."""
    script = "printf '%s|' \"$@\"; echo"
    request = ProbeRequest(FAST, commands={"words": ("sh", "-c", script, "sh", "a b", "$(reboot)", "c;d")})
    assert run_probe(request, implementation).commands["words"].text == "a b|$(reboot)|c;d|\n"


def test_a_command_word_may_not_hold_the_separator() -> None:
    with pytest.raises(ValueError, match="separator"):
        ProbeRequest(FAST, commands={"x": ("nft", "list\x1fruleset")})


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_values_reach_the_shell_quoted(tmp_path: Path, implementation: str) -> None:
    marker = tmp_path / "pwned"
    request = ProbeRequest(FAST, globs=[f"/nonexistent/$(touch {marker})*"], read=[f"/x;touch {marker}"])
    report = run_probe(request, implementation)
    assert report.complete and not marker.exists()


@pytest.fixture
def loopback_listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_probe_on_loopback(implementation: str, loopback_listener: int, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    (tmp_path / "a.cfg").write_text("Server=localhost\n")
    request = ProbeRequest(
        FAST, resolve={"localhost": [loopback_listener, closed_port]}, read=PROC_NET_TCP,
        globs=[str(tmp_path / "*.cfg")], commands={"echo": ("echo", "listed"), "gone": ("no-such-tool-x",)},
    )  # fmt: skip
    report = run_probe(request, implementation)
    assert report.implementation.startswith(implementation) and report.complete
    by_port = {c.port: c.outcome for c in report.connections.values() if c.address == "127.0.0.1"}
    assert by_port == {loopback_listener: "open", closed_port: "refused"}
    listeners, errors = report.listeners()
    assert not errors and any(s.port == loopback_listener for s in listeners)
    assert [f.text for f in report.files] == ["Server=localhost\n"]
    assert report.commands["echo"].text == "listed\n"
    assert report.commands["gone"].error == "not installed"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_file_over_the_limit_is_not_read_in_part(implementation: str, tmp_path: Path) -> None:
    """An IP literal after the limit must not pass unseen: the whole file is refused, with why."""
    big = tmp_path / "big.cfg"
    big.write_text("x" * 2000 + "\nServer=192.0.2.1\n")
    report = run_probe(ProbeRequest(FAST, globs=[str(big)], max_bytes=1000), implementation)
    [content] = report.files
    assert content.text == "" and "larger than 1000 bytes" in content.error


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_a_fifo_or_device_is_not_read(implementation: str, tmp_path: Path) -> None:
    fifo = tmp_path / "agent.cfg"
    os.mkfifo(fifo)  # a reader that opened it plainly would block for ever
    report = run_probe(ProbeRequest(FAST, globs=[str(fifo)], read=["/dev/zero"]), implementation)
    assert report.files[0].error == "not a regular file"
    assert report.reads["/dev/zero"].error == "not a regular file"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_globs_never_read_under_proc(implementation: str) -> None:
    report = run_probe(ProbeRequest(FAST, globs=["/proc/self/environ"]), implementation)
    assert report.files[0].text == "" and "under /proc" in report.files[0].error


def test_auto_falls_back_to_the_shell_probe_when_python3_is_missing(tmp_path: Path) -> None:
    """A PATH that offers only what the shell probe needs: python3 is not found (exit 127)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash", "timeout", "true", "getent", "head", "wc", "base64", "tr", "tail", "uname"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    request = ProbeRequest(FAST, resolve={"localhost": []}, read=PROC_NET_TCP)
    report = run_probe(request, PATH=str(bin_dir))
    assert report.implementation.startswith("sh (connect: bash") and report.complete
    assert report.resolutions["localhost"].status == "ok"


def test_shell_probe_writes_no_temporary_file(tmp_path: Path) -> None:
    """Read-only on hosts: with no usable TMPDIR, a probe that needed a scratch file would fail."""
    (tmp_path / "a.cfg").write_text("Server=localhost\n")
    request = ProbeRequest(
        FAST, resolve={"localhost": [1]}, read=PROC_NET_TCP, globs=[str(tmp_path / "*.cfg")]
    )
    report = run_probe(request, "sh", PATH="/usr/bin:/bin", TMPDIR=str(tmp_path / "no-such-dir"))
    assert report.complete
    assert [c.outcome for c in report.connections.values()] == ["refused"]
    assert [f.text for f in report.files] == ["Server=localhost\n"]
