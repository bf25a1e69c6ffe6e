"""Audited hosts: testinfra backends, commands bounded by deadlines, one SSH connection each."""

from __future__ import annotations

import concurrent.futures
import os
import re
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import testinfra.backend

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
    except Exception as exc:  # testinfra and Ansible raise their own errors for a bad selection
        option = "--ansible-inventory" if options.ansible_inventory else "--hosts"
        raise TargetError(
            f"{option}: cannot select hosts: {_first_line(str(exc)) or type(exc).__name__}"
        ) from None


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
        name = str(backend.get_hostname())
        if name in seen:
            name = f"{name}@{backend.get_connection_type()}"
        seen.add(name)
        targets.append(Target(name, _direct_backend(backend)))
    return targets


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
    """Run `command` on the host and give up after `deadline` seconds, whatever the backend."""
    backend = target.backend
    transport = target.transport
    if transport in ("ssh", "local"):
        wrapped = backend.get_command(command)
        if transport == "ssh":
            parts, args = backend._build_ssh_command(wrapped)
            shell_command = backend.quote(" ".join(parts), *args)
        else:
            shell_command = wrapped
        try:
            return _run_local(target.name, shell_command, deadline, transport == "ssh")
        except HostUnavailable as exc:
            if exc.observed == "host-deadline":
                close_connection(target)  # ends the remote session that overran, too
            raise
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(backend.run, command)
    try:
        result = future.result(timeout=deadline)
    except concurrent.futures.TimeoutError:
        raise HostUnavailable(target.name, "host-deadline", f"no answer within {deadline:g}s") from None
    except Exception as exc:  # the backends raise their transport's own errors
        raise HostUnavailable(target.name, _classify(str(exc)), _first_line(str(exc))) from exc
    finally:
        pool.shutdown(wait=False)
    return CommandOutput(result.rc, result.stdout, result.stderr)


def _run_local(name: str, shell_command: str, deadline: float, over_ssh: bool) -> CommandOutput:
    process = subprocess.Popen(
        shell_command,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        try:
            process.communicate(timeout=2)
        except subprocess.TimeoutExpired:  # a detached ssh master may still hold the pipes
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
            process.wait()
        raise HostUnavailable(name, "host-deadline", f"no answer within {deadline:g}s") from None
    out = CommandOutput(process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace"))
    if over_ssh and out.rc == 255:
        raise HostUnavailable(name, _classify(out.stderr), _first_line(out.stderr) or "ssh exit 255")
    return out


def _classify(message: str) -> str:
    return "auth-failed" if _AUTH_FAILURE.search(message) else "unreachable"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def management_address(target: Target) -> str | None:
    """The address by which the runner reaches the host, or None for local://."""
    backend = target.backend
    transport = target.transport
    if transport == "local":
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
