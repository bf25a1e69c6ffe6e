"""The probe sees the same on every host userland it may meet, proved on this machine.

The Python probe runs under every CPython from 3.6 to 3.13 (pyenv's), the shell probe under dash,
busybox ash and bash as sh, with GNU tools, busybox applets beside bash, busybox alone, and
busybox applets without nc under dash. Each runs in a private network namespace whose own
nftables drop, reset and reject with ICMP, whose dnsmasq lacks a name, and whose /etc/hosts and
resolver are bind-mounted for it alone; each must print the same records as the runner's Python
for the same request.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

import pytest

from pytest_backupnet.probe import ProbeReport, ProbeRequest, parse_probe_output
from pytest_backupnet.probe.records import PROC_NET_TCP
from pytest_backupnet.timeouts import Timeouts
from tests.lab.network import LISTENER, lab_available, nft_rules, run
from tests.lab.require import need

ON_HOST_PY = Path(str(resources.files("pytest_backupnet.probe").joinpath("on_host.py")))
ON_HOST_SH = resources.files("pytest_backupnet.probe").joinpath("on_host.sh").read_text(encoding="utf-8")
# Not the lab's prefix: the shared lab, if it runs, is left alone and leaves this one alone.
NETNS = "bnprobes"
PORT = 8087
DNS = "127.0.0.53"
HOSTS = {"open": "127.0.0.2", "drop": "127.0.0.3", "reset": "127.0.0.4", "icmp": "127.0.0.5"}
RULES = nft_rules(
    output=[
        f"ip daddr {HOSTS['drop']} tcp dport {PORT} drop",
        f"ip daddr {HOSTS['reset']} tcp dport {PORT} reject with tcp reset",
        f"ip daddr {HOSTS['icmp']} tcp dport {PORT} reject with icmp type host-unreachable",
    ]
)
PYTHONS = [f"3.{minor}" for minor in range(6, 14)]
BUSYBOX = "/bin/busybox"
# The tools a GNU userland offers the shell probe (RHEL 7: bash 4.2, coreutils, glibc's getent).
GNU_TOOLS = ("bash", "timeout", "true", "echo", "getent", "head", "wc", "base64", "tr", "tail", "awk",
             "readlink", "uname")  # fmt: skip


def pyenv_python(version: str) -> str | None:
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}.*/bin/python{version}"))
    return str(found[-1]) if found else None


@pytest.fixture(scope="module")
def probe_netns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A network namespace with the faults, a listener and a dnsmasq; files for its own mounts."""
    need(lab_available())
    work = tmp_path_factory.mktemp("probe-netns")
    run("ip", "netns", "del", NETNS, check=False)
    run("ip", "netns", "add", NETNS)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        run("ip", "-n", NETNS, "link", "set", "lo", "up")
        (work / "rules.nft").write_text(RULES)
        run("ip", "netns", "exec", NETNS, "nft", "-f", str(work / "rules.nft"))
        listener = subprocess.Popen(
            ["ip", "netns", "exec", NETNS, sys.executable, str(LISTENER), f"{HOSTS['open']}:{PORT}"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(listener)
        assert listener.stdout is not None and listener.stdout.readline().strip() == b"ready"
        processes.append(
            subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    NETNS,
                    "dnsmasq",
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--bind-interfaces",
                    f"--listen-address={DNS}",
                    "--local=/test/",
                    "--user=root",
                    f"--pid-file={work}/dnsmasq.pid",
                    f"--host-record=dns.probe.test,{HOSTS['open']}",
                ],
                stdin=subprocess.DEVNULL,
            )
        )
        (work / "hosts").write_text(
            "127.0.0.1 localhost\n" + "".join(f"{a} {n}.probe.test\n" for n, a in HOSTS.items())
        )
        (work / "resolv.conf").write_text(f"nameserver {DNS}\noptions timeout:1 attempts:1\n")
        (work / "agent.cfg").write_text("<Portal>open.probe.test</Portal>\n")
        yield work
    finally:
        for process in processes:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()
        run("ip", "netns", "del", NETNS, check=False)


def request_for(work: Path) -> ProbeRequest:
    names = [f"{n}.probe.test" for n in HOSTS] + ["dns.probe.test", "gone.probe.test"]
    return ProbeRequest(
        Timeouts(probe=1),
        resolve={name: [PORT] for name in names},
        globs=[str(work / "*.cfg"), str(work / "none-*.cfg")],
        read=[*PROC_NET_TCP, "/etc/hosts", "/nonexistent"],
        commands={"echo": ("echo", "listed"), "gone": ("no-such-tool-x",)},
    )


def in_netns(work: Path, argv: list[str], env: dict[str, str]) -> str:
    """Run argv in the namespace, with its own /etc/hosts and resolver; its standard output."""
    mounts = f"mount --bind {work}/hosts /etc/hosts && mount --bind {work}/resolv.conf /etc/resolv.conf"
    variables = [f"{key}={value}" for key, value in env.items()]
    script = f'{mounts} && exec /usr/bin/env -i "$@"'
    command = ["ip", "netns", "exec", NETNS, "unshare", "-m", "--propagation", "private",
               "/bin/sh", "-c", script, "sh", *variables, *argv]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return out.stdout


@dataclass(frozen=True)
class ShellHost:
    """A host userland for the shell probe: the shell that runs it and the tools on PATH."""

    shell: tuple[str, ...]  # "sh" is bash started as sh (POSIX mode), as where /bin/sh is bash
    tools: str  # gnu-bash | busybox-bash | busybox | busybox-nonc


SHELL_HOSTS = {
    "dash+gnu": ShellHost(("/usr/bin/dash",), "gnu-bash"),
    "bash-as-sh+gnu": ShellHost(("sh",), "gnu-bash"),
    "ash+gnu": ShellHost((BUSYBOX, "sh"), "gnu-bash"),
    "dash+busybox+bash": ShellHost(("/usr/bin/dash",), "busybox-bash"),
    "ash+busybox+bash": ShellHost((BUSYBOX, "sh"), "busybox-bash"),
    "bash-as-sh+busybox": ShellHost(("sh",), "busybox-bash"),
    "ash+busybox": ShellHost((BUSYBOX, "sh"), "busybox"),
    "dash+busybox": ShellHost(("/usr/bin/dash",), "busybox"),
    "dash+busybox-nonc": ShellHost(("/usr/bin/dash",), "busybox-nonc"),
}


def tool_dir(base: Path, tools: str) -> Path:
    """A PATH folder holding exactly one userland's tools."""
    folder = base / tools
    if folder.exists():
        return folder
    folder.mkdir()
    if tools.startswith("busybox"):
        applets = subprocess.run(
            [BUSYBOX, "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            if not (tools == "busybox-nonc" and applet == "nc"):
                (folder / applet).symlink_to(BUSYBOX)
    else:
        for tool in GNU_TOOLS:
            found = shutil.which(tool)
            assert found, tool
            (folder / tool).symlink_to(found)
    if tools.endswith("bash"):
        (folder / "bash").unlink(missing_ok=True)
        (folder / "bash").symlink_to("/bin/bash")
    return folder


def run_shell_probe(work: Path, host: ShellHost) -> str:
    path = tool_dir(work, host.tools)
    shell = list(host.shell)
    if shell == ["sh"]:
        shell = [str(bash_as_sh(work))]
    argv = [*shell, "-c", ON_HOST_SH, "probe", *request_for(work).shell_args()]
    return in_netns(work, argv, {"PATH": str(path)})


def bash_as_sh(work: Path) -> Path:
    """A link named sh to bash: bash started by that name runs in POSIX mode, as /bin/sh."""
    link = work / "bash-as-sh" / "sh"
    if not link.exists():
        link.parent.mkdir(exist_ok=True)
        link.symlink_to("/bin/bash")
    return link


def run_python_probe(work: Path, python: str) -> str:
    # The C locale: no UTF-8 coercion on 3.6, as on an old host's plain SSH session.
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}
    return in_netns(
        work, [python, "-I", "-S", "-c", ON_HOST_PY.read_text(), request_for(work).as_json()], env
    )


@pytest.fixture(scope="module")
def outputs(probe_netns: Path) -> dict[str, str]:
    """Every probe's answer to the same request, all run at once."""
    jobs: dict[str, Callable[[], str]] = {
        "python-runner": partial(run_python_probe, probe_netns, sys.executable)
    }
    for version in PYTHONS:
        python = pyenv_python(version)
        if python:
            jobs[f"python-{version}"] = partial(run_python_probe, probe_netns, python)
    for name, host in SHELL_HOSTS.items():
        tool_dir(probe_netns, host.tools)
        jobs[f"sh-{name}"] = partial(run_shell_probe, probe_netns, host)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def observations(report: ProbeReport) -> dict[str, object]:
    """What a check reads from a report: everything but timings and the implementation's name."""
    return {
        "resolve": {n: (r.status, r.addresses) for n, r in sorted(report.resolutions.items())},
        "connect": {k: (c.outcome, c.detail) for k, c in sorted(report.connections.items())},
        "globs": report.globs,
        "files": [(f.pattern, f.path, f.text, f.error) for f in report.files],
        "reads": {p: (c.text, c.error) for p, c in report.reads.items() if p not in PROC_NET_TCP},
        "listening": sorted(map(str, report.listeners()[0])),
        "commands": report.commands,
        "complete": report.complete,
    }


def test_the_runners_python_sees_every_fault(outputs: dict[str, str]) -> None:
    """The reference every other probe is held to: first, that it is right."""
    report = parse_probe_output(outputs["python-runner"])
    outcomes = {name.split(".")[0]: c.outcome for (name, _, _), c in report.connections.items()}
    assert outcomes == {
        "open": "open", "drop": "timeout", "reset": "refused", "icmp": "unreachable", "dns": "open",
    }  # fmt: skip
    assert report.resolutions["gone.probe.test"].status == "nxdomain"
    assert report.commands["echo"].text == "listed\n" and report.commands["gone"].error == "not installed"
    assert any(s.port == PORT for s in report.listeners()[0]) and report.complete


@pytest.mark.parametrize("version", PYTHONS)
def test_python_probe_is_the_same_on_every_cpython(outputs: dict[str, str], version: str) -> None:
    key = f"python-{version}"
    need(None if key in outputs else f"no CPython {version} here (pyenv install {version})")
    report = parse_probe_output(outputs[key])
    assert report.implementation == f"python {version}"
    assert observations(report) == observations(parse_probe_output(outputs["python-runner"]))


@pytest.mark.parametrize("host", [h for h in SHELL_HOSTS if SHELL_HOSTS[h].tools != "busybox-nonc"])
def test_shell_probe_is_the_same_as_python(outputs: dict[str, str], host: str) -> None:
    report = parse_probe_output(outputs[f"sh-{host}"])
    assert report.implementation.startswith("sh (connect: "), report.implementation
    assert not report.limits
    assert observations(report) == observations(parse_probe_output(outputs["python-runner"]))


def test_shell_probe_without_a_way_to_connect_says_so(outputs: dict[str, str]) -> None:
    """dash and busybox applets without nc: every observation but the connects, and why not."""
    report = parse_probe_output(outputs["sh-dash+busybox-nonc"])
    reference = observations(parse_probe_output(outputs["python-runner"]))
    assert report.connections == {}
    assert report.limits == {
        "connect": "found no python3, no bash and no busybox nc with -e: TCP connects need python3 3.6+, "
        "bash 4.2+ (its /dev/tcp) or busybox nc built with -e"
    }
    assert {**observations(report), "connect": reference["connect"]} == reference


def test_probe_language_level_is_python_3_6() -> None:
    """vermin reads the probe as Python 3.6 would; a 3.7+ construct fails this test."""
    vermin = shutil.which("vermin")
    assert vermin, "vermin is in the dev extra (pip install -e .[dev])"
    result = subprocess.run(
        [vermin, "-t=3.6-", "--no-tips", "--violations", str(ON_HOST_PY)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
