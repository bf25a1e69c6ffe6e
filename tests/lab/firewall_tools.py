"""Loading firewalls into a lab host the way their users do: nft -f, iptables-restore on either
backend, ufw, firewalld (its own D-Bus system bus), fail2ban. Everything runs inside the host."""

from __future__ import annotations

import time
from pathlib import Path

from tests.lab.firewall_lab import LabHost


def nft(host: LabHost, ruleset: str, name: str = "rules.nft", include: str = "") -> None:
    path = host.workdir / name
    path.write_text(ruleset)
    host.run("nft", *(["-I", include] if include else []), "-f", str(path))


def nft_file(host: LabHost, path: str, include: str = "") -> None:
    host.run("nft", *(["-I", include] if include else []), "-f", path)


def iptables_restore(host: LabHost, rules: str, backend: str, ipv6: bool = False) -> None:
    """`iptables-nft-restore` or `iptables-legacy-restore` of an iptables-save file (rules.v4, ...)."""
    tool = f"{'ip6tables' if ipv6 else 'iptables'}-{backend}-restore"
    host.run(tool, stdin=rules)


def iptables(host: LabHost, backend: str, *arguments: str) -> None:
    host.run(f"iptables-{backend}", *arguments)


def ufw(host: LabHost, *commands: str) -> None:
    """Each command as a user types it after `ufw`, then `ufw --force enable`."""
    for command in commands:
        host.run("ufw", *command.split())
    host.run("ufw", "--force", "enable")


def firewalld(host: LabHost, *commands: str) -> None:
    """Start D-Bus and firewalld inside the host, then run each `firewall-cmd` command line."""
    host.spawn("dbus-daemon", "--system", "--nofork", "--nopidfile", log="dbus.log")
    _wait(host, ["test", "-S", "/run/dbus/system_bus_socket"], "the D-Bus system bus")
    host.spawn("firewalld", "--nofork", "--nopid", log="firewalld.log")
    _wait(host, ["firewall-cmd", "--state"], "firewalld")
    for command in commands:
        host.run("firewall-cmd", *_split(command))


def firewalld_config(host: LabHost, relative: str, text: str) -> None:
    """A file of the host's own /etc/firewalld (written before firewalld starts)."""
    target = host.workdir / "etc" / "firewalld" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def fail2ban(host: LabHost, jail_local: str, bans: dict[str, list[str]]) -> None:
    """Start fail2ban-server with `jail_local`, then ban addresses per jail as an admin does."""
    (host.workdir / "etc" / "fail2ban" / "jail.local").write_text(jail_local)
    host.run("sh", "-c", "touch /var/log/auth.log && mkdir -p /run/fail2ban")
    host.spawn("fail2ban-server", "-f", "-x", "--logtarget", "/var/log/fail2ban.log", log="fail2ban.log")
    _wait(host, ["fail2ban-client", "ping"], "fail2ban", seconds=30)
    for jail, addresses in bans.items():
        for address in addresses:
            host.run("fail2ban-client", "set", jail, "banip", address)
    time.sleep(0.3)  # actions run in the server's own thread


def _wait(host: LabHost, argv: list[str], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.run(*argv, check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.1)
    logs = " | ".join(p.read_text(errors="replace")[-600:] for p in host.workdir.glob("*.log"))
    raise RuntimeError(f"{what} did not start in {host.name}: {logs}")


def _split(command: str) -> list[str]:
    """firewall-cmd arguments; a rich rule stays one argument: --add-rich-rule='rule ...'."""
    parts: list[str] = []
    for token in command.split("'"):
        if token.startswith("rule ") or token.startswith(" rule"):
            parts[-1] += token
        else:
            parts += token.split()
    return parts


EXAMPLES = Path("/usr/share/doc/nftables/examples")
