"""Audited hosts: testinfra backends, commands bounded by deadlines, one SSH connection each."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import testinfra.backend

from .redaction import redact_host_list, redact_url
from .sanitize import terminal_text

# The most a host may answer to the probe. An honest answer is far smaller: agent configuration
# files and /etc/hosts are kilobytes, a busy server's /proc/net/tcp and firewall listings a few
# megabytes; the probe itself refuses any one file or listing over 16 MiB.
MAX_ANSWER_BYTES = 64 * 2**20
_CHUNK = 65536
# ssh's own words for "the credentials were refused", as opposed to "nobody answered".
_AUTH_FAILURE = re.compile(r"Permission denied|Authentication failed|Too many authentication", re.I)


@dataclass(frozen=True)
class CommandOutput:
    rc: int
    stdout: str
    stderr: str


class HostUnavailable(Exception):
    """The suite could not observe a host at all; its checks are errors, not verdicts."""

    def __init__(self, host: str, observed: str, reason: str) -> None:
        super().__init__(f"host {host} {observed}: {reason}")
        self.host = host
        self.observed = observed
        self.reason = reason


class TargetError(ValueError):
    """The hosts cannot be selected as given (a missing file, an inventory that does not parse)."""


@dataclass(frozen=True)
class TargetOptions:
    """testinfra's own selection options, plus the project's deadlines."""

    hosts: tuple[str, ...] = ("local://",)
    connection: str | None = None
    ssh_config: str | None = None
    ssh_identity_file: str | None = None
    ansible_inventory: str | None = None
    sudo: bool = False
    sudo_user: str | None = None
    connect_timeout: float = 5.0
    control_dir: str | None = None


@dataclass(frozen=True)
class Target:
    """One audited host, named as in test ids (never by its transport)."""

    name: str
    backend: Any  # testinfra.backend.base.BaseBackend

    @property
    def transport(self) -> str:
        return str(self.backend.get_connection_type())


def build_targets(options: TargetOptions) -> list[Target]:
    """The hosts that `--hosts` (or an Ansible inventory) names; nothing is contacted."""
    for option, path in (
        ("--ssh-config", options.ssh_config),
        ("--ssh-identity-file", options.ssh_identity_file),
        ("--ansible-inventory", options.ansible_inventory),
    ):
        if path and not os.path.isfile(os.path.expanduser(path)):
            raise TargetError(f"{option} {path}: no such file")
    try:
        return _targets(options)
    except TargetError:
        raise
    except Exception as exc:  # testinfra and Ansible raise their own errors for a bad selection
        option = "--ansible-inventory" if options.ansible_inventory else "--hosts"
        reason = terminal_text(redact_url(_first_line(str(exc))), one_line=True)[:300]
        raise TargetError(f"{option}: cannot select hosts: {reason or type(exc).__name__}") from None


def _targets(options: TargetOptions) -> list[Target]:
    kwargs: dict[str, Any] = {
        "ssh_config": options.ssh_config,
        "ssh_identity_file": options.ssh_identity_file,
        "ansible_inventory": options.ansible_inventory,
        "sudo": options.sudo,
        "sudo_user": options.sudo_user,
        "timeout": max(1, round(options.connect_timeout)),
    }
    if options.connection:
        kwargs["connection"] = options.connection
    if options.control_dir:
        # testinfra formats its ssh command line with %, so ssh's own %C token is written %%C.
        kwargs["controlpath"] = os.path.join(options.control_dir, "%%C")
        kwargs["controlpersist"] = 300
    backends = testinfra.backend.get_backends(
        list(options.hosts), **{k: v for k, v in kwargs.items() if v is not None}
    )
    targets: list[Target] = []
    seen: set[str] = set()
    for backend in backends:
        # The name is shown everywhere (test ids, terminal, reports): an inventory may hold anything.
        name = terminal_text(str(backend.get_hostname()), one_line=True)
        if not name.strip():
            raise TargetError(_names_no_host(options.hosts))
        if name in seen:
            name = f"{name}@{backend.get_connection_type()}"
        seen.add(name)
        targets.append(Target(name, _direct_backend(backend)))
    return targets


def _names_no_host(specs: Sequence[str]) -> str:
    empty = [spec for spec in specs if not testinfra.backend.parse_hostspec(spec)[0]]
    shown = terminal_text(redact_host_list(",".join(empty)), one_line=True)[:200] if empty else "a host"
    return f"--hosts: {shown!r} names no host (a chroot is given as --hosts PATH --connection chroot)"


def _direct_backend(backend: Any) -> Any:
    """An Ansible inventory host as the SSH (or other) backend its variables describe.

    testinfra does the same on every command; resolving it once lets the probe's
    deadline reach the ssh process itself. `force_ansible` keeps Ansible's own transport.
    """
    if backend.get_connection_type() != "ansible" or backend.force_ansible:
        return backend
    host = backend.ansible_runner.get_host(
        backend.host, ssh_config=backend.ssh_config, ssh_identity_file=backend.ssh_identity_file
    )
    return backend if host is None else host.backend


def run_bounded(target: Target, command: str, deadline: float) -> CommandOutput:
    """Run `command` on the host; give up after `deadline` seconds or `MAX_ANSWER_BYTES` of answer.

    Bounded in time on every backend; bounded in size too on those that run a local command
    (local, ssh, docker, podman, kubectl, openshift, lxc, chroot: that command is run here, read
    chunk by chunk and killed at the deadline) and on paramiko. The others (ansible's own
    transport, salt, winrm) hand over their whole answer at once.
    """
    backend = target.backend
    transport = target.transport
    shell_command: str | None = None
    if transport == "ssh":
        parts, args = backend._build_ssh_command(backend.get_command(command))
        shell_command = backend.quote(" ".join(parts), *args)
    elif transport == "local":
        shell_command = backend.get_command(command)
    elif transport in _LOCAL_COMMAND_TRANSPORTS:
        shell_command = _local_command(backend, command)
    if shell_command is not None:
        try:
            return _run_local(target.name, shell_command, deadline, transport == "ssh")
        except HostUnavailable as exc:
            if exc.observed in ("host-deadline", "answer-too-large"):
                close_connection(target)  # ends the remote session that overran, too
            raise
    run = _run_paramiko if transport == "paramiko" else _run_backend
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run, target, command, time.monotonic() + deadline)
    try:
        return future.result(timeout=deadline + 1)
    except concurrent.futures.TimeoutError:
        raise HostUnavailable(target.name, "host-deadline", f"no answer within {deadline:g}s") from None
    except HostUnavailable:
        raise
    except Exception as exc:  # the backends raise their transport's own errors
        raise HostUnavailable(target.name, _classify(str(exc)), _first_line(str(exc))) from exc
    finally:
        pool.shutdown(wait=False)


# testinfra's backends whose `run` builds one local command and hands it to `run_local`.
_LOCAL_COMMAND_TRANSPORTS = frozenset({"docker", "podman", "kubectl", "openshift", "lxc", "chroot"})


class _LocalCommand(Exception):
    def __init__(self, shell_command: str) -> None:
        super().__init__(shell_command)
        self.shell_command = shell_command


def _local_command(backend: Any, command: str) -> str | None:
    """The local command a backend would run for `command` (`docker exec ... /bin/sh -c ...`), as
    its `run` builds it and hands it to testinfra's `run_local`; None for backends that do not."""

    def capture(local: str, *args: str) -> Any:
        raise _LocalCommand(backend.quote(local, *args))

    backend.run_local = capture  # this host's backend only; its probe runs one command at a time
    try:
        backend.run(command)
    except _LocalCommand as found:
        return found.shell_command
    except Exception:  # the backend failed before running anything: its own run says why
        return None
    finally:
        del backend.run_local
    return None


def _run_backend(target: Target, command: str, _ends: float) -> CommandOutput:
    result = target.backend.run(command)
    return CommandOutput(result.rc, result.stdout, result.stderr)


def _run_paramiko(target: Target, command: str, ends: float) -> CommandOutput:
    """testinfra's paramiko backend reads all of an answer; this reads at most the cap."""
    backend = target.backend
    transport = backend.client.get_transport()
    channel = transport.open_session()
    try:
        channel.settimeout(0.2)
        channel.exec_command(backend.encode(backend.get_command(command)))
        out, err = _Answer(target.name), _Answer(target.name)
        while not (
            channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready()
        ):
            if time.monotonic() > ends:
                raise HostUnavailable(target.name, "host-deadline", "no complete answer in time")
            if channel.recv_ready():
                out.add(channel.recv(_CHUNK))
            elif channel.recv_stderr_ready():
                err.add(channel.recv_stderr(_CHUNK))
            else:
                time.sleep(0.01)
        return CommandOutput(channel.recv_exit_status(), out.text(), err.text())
    finally:
        channel.close()


class _Answer:
    """A host's answer, refused past MAX_ANSWER_BYTES: a host may send without end."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_ANSWER_BYTES:
            raise HostUnavailable(
                self.host, "answer-too-large", f"the host's answer exceeded {MAX_ANSWER_BYTES // 2**20} MiB"
            )
        self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


def _run_local(name: str, shell_command: str, deadline: float, over_ssh: bool) -> CommandOutput:
    process = subprocess.Popen(
        shell_command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    answers = {process.stdout: _Answer(name), process.stderr: _Answer(name)}
    ends = time.monotonic() + deadline
    try:
        with selectors.DefaultSelector() as selector:
            for pipe in answers:
                selector.register(pipe, selectors.EVENT_READ)
            while selector.get_map():
                left = ends - time.monotonic()
                if left <= 0:
                    raise HostUnavailable(name, "host-deadline", f"no answer within {deadline:g}s")
                for key, _ in selector.select(timeout=left):
                    chunk = os.read(key.fd, _CHUNK)
                    if chunk:
                        answers[key.fileobj].add(chunk)  # type: ignore[index]
                    else:
                        selector.unregister(key.fileobj)
        process.wait(timeout=max(0.1, ends - time.monotonic()))
    except (HostUnavailable, subprocess.TimeoutExpired) as exc:
        _kill(process)
        if isinstance(exc, HostUnavailable):
            raise
        raise HostUnavailable(name, "host-deadline", f"no answer within {deadline:g}s") from None
    finally:
        for pipe in answers:
            pipe.close()
    out = CommandOutput(process.returncode, answers[process.stdout].text(), answers[process.stderr].text())
    if over_ssh and out.rc == 255:
        raise HostUnavailable(name, _classify(out.stderr), _first_line(out.stderr) or "ssh exit 255")
    return out


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _classify(message: str) -> str:
    return "auth-failed" if _AUTH_FAILURE.search(message) else "unreachable"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def management_address(target: Target) -> str | None:
    """The address by which the runner reaches the host; None where the runner is the host (local://,
    a chroot, which shares the runner's network)."""
    backend = target.backend
    transport = target.transport
    if transport in ("local", "chroot"):
        return None
    if transport == "ssh":
        command = ["ssh", "-G"]
        if backend.ssh_config:
            command += ["-F", backend.ssh_config]
        command.append(backend.host.name)
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return str(backend.host.name)
        for line in out.stdout.splitlines():
            if line.startswith("hostname "):
                return line.split(None, 1)[1].strip()
    host = getattr(backend, "host", None)
    if transport == "paramiko" and getattr(backend, "ssh_config", None) and host is not None:
        import paramiko

        with open(backend.ssh_config, encoding="utf-8") as handle:
            config = paramiko.SSHConfig()
            config.parse(handle)
        return str(config.lookup(host.name).get("hostname", host.name))
    return str(host.name) if host is not None else target.name


def close_connection(target: Target) -> None:
    """End the shared SSH connection to one host, if this run opened one."""
    backend = target.backend
    if target.transport == "ssh" and backend.controlpath:
        control_path = backend.controlpath.replace("%%", "%")
        command = ["ssh", "-o", f"ControlPath={control_path}", "-O", "exit"]
        if backend.ssh_config:
            command += ["-F", backend.ssh_config]
        command.append(backend.host.name)
        subprocess.run(command, capture_output=True, timeout=5, check=False)
    client = vars(backend).get("client")  # paramiko's, once its cached property has connected
    if client is not None:
        client.close()


def close_connections(targets: Sequence[Target]) -> None:
    """End the shared connections that this run opened."""
    for target in targets:
        close_connection(target)
