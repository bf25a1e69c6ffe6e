"""One audit run, built once from the command line: every bad option is a usage error naming it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .dnsquery import split_server
from .firewall_view import AUTO
from .profile import Profile, ProfileError, load_profile
from .redaction import redact_args
from .sanitize import terminal_text
from .targets import Target, TargetError, TargetOptions, build_targets
from .timeouts import Timeouts
from .waivers import Waiver, WaiverError, load_waivers


@dataclass
class Audit:
    """What is audited (profile, targets), with which limits and exceptions."""

    profile: Profile
    targets: list[Target]
    timeouts: Timeouts
    waivers: tuple[Waiver, ...]
    dns_servers: tuple[str, ...]
    implementation: str
    command_line: tuple[str, ...]  # as typed, credentials masked: it is printed to reproduce the run
    today: dt.date
    control_dir: Path
    firewall: str = AUTO  # --backupnet-firewall: live | saved | both | auto (firewall_view)

    @property
    def host_names(self) -> list[str]:
        return [t.name for t in self.targets]


AUDIT_KEY = pytest.StashKey[Audit]()


def profile_search_dirs(config: pytest.Config) -> list[Path]:
    dirs = [Path(p).expanduser() for p in config.getoption("backupnet_profile_path")]
    return dirs + list(config.getini("backupnet_profile_path"))


def build_audit(config: pytest.Config, profile_ref: str) -> Audit:
    """Load and check everything the run needs before any host is contacted."""
    try:
        profile = load_profile(profile_ref, profile_search_dirs(config))
    except (ProfileError, FileNotFoundError) as exc:
        shown = terminal_text(profile_ref, one_line=True)[:300]
        raise pytest.UsageError(f"--profile {shown}: {exc}") from None
    waiver_path = config.getoption("backupnet_waivers")
    try:
        waivers = tuple(load_waivers(Path(waiver_path))) if waiver_path else ()
    except WaiverError as exc:
        raise pytest.UsageError(f"--waivers: {exc}") from None
    timeouts = Timeouts(
        probe=config.getoption("backupnet_timeout"),
        ssh_connect=config.getoption("backupnet_connect_timeout"),
        host_deadline=config.getoption("backupnet_host_deadline"),
    )
    control_dir = Path(tempfile.mkdtemp(prefix="bn-"))
    try:
        targets = build_targets(target_options(config, timeouts, control_dir))
    except TargetError as exc:
        control_dir.rmdir()
        raise pytest.UsageError(str(exc)) from None
    return Audit(
        profile=profile,
        targets=targets,
        timeouts=timeouts,
        waivers=waivers,
        dns_servers=tuple(config.getoption("dns_server")),
        implementation=config.getoption("backupnet_probe"),
        command_line=tuple(redact_args(config.invocation_params.args)),
        today=dt.datetime.now(dt.UTC).date(),
        control_dir=control_dir,
        firewall=config.getoption("backupnet_firewall", None) or AUTO,
    )


def target_options(config: pytest.Config, timeouts: Timeouts, control_dir: Path) -> TargetOptions:
    hosts = config.getoption("hosts", None)
    return TargetOptions(
        hosts=tuple(h.strip() for h in hosts.split(",") if h.strip()) if hosts else ("local://",),
        connection=config.getoption("connection", None),
        ssh_config=config.getoption("ssh_config", None),
        ssh_identity_file=config.getoption("ssh_identity_file", None),
        ansible_inventory=config.getoption("ansible_inventory", None),
        sudo=bool(config.getoption("sudo", False)),
        sudo_user=config.getoption("sudo_user", None),
        connect_timeout=timeouts.ssh_connect,
        control_dir=str(control_dir),
    )


def dns_server(text: str) -> str:
    """`--dns-server IP[:PORT]` (IPv6 as `[IP]:PORT`), checked when the option is parsed."""
    try:
        host, port = split_server(text)
        ipaddress.ip_address(host)
        if not 1 <= port <= 65535:
            raise ValueError(port)
    except ValueError:
        raise pytest.UsageError(f"--dns-server: {text!r} is not IP[:PORT] (IPv6 as [IP]:PORT)") from None
    return text
