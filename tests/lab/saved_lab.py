"""A lab host as an image: its saved firewall files written by the real tools, judged from the files
alone, then booted (the enabled services' own start commands) and measured with real connects.

The host's /etc and /usr are overlays on a tmpfs inside its own mount namespace: `ufw`,
`firewall-offline-cmd`, `systemctl enable`, `iptables-save > /etc/iptables/rules.v4` write there as
in an image build, and nothing reaches the machine's own files. The kernel lab (firewall_lab) does
the rest: namespaces, the agent's stand-in, the peers, sampling and real connects.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pytest_backupnet.firewall import Flow, HostFirewall, Judgement, read_host_firewall
from pytest_backupnet.firewall.saved import SAVED_FILE_GLOBS, SavedFirewall, judge_saved, read_saved_firewall
from tests.lab import firewall_tools as tools
from tests.lab.firewall_lab import (
    PEER_NET,
    Comparison,
    HostSetup,
    LabHost,
    expected,
    observed,
    samples,
    segment_of,
)

FIREWALL_UNITS = ("nftables", "ufw", "firewalld", "netfilter-persistent", "iptables", "ip6tables")
OVERLAY = (
    "mkdir -p /run/image && mount -t tmpfs tmpfs /run/image && "
    "for d in etc usr; do mkdir -p /run/image/$d/upper /run/image/$d/work && "
    "mount -t overlay overlay -o lowerdir=/$d,upperdir=/run/image/$d/upper,workdir=/run/image/$d/work /$d; "
    "done"
)
READER = (
    "import glob,json,sys\nout={}\nfor p in sys.argv[1:]:\n for f in sorted(glob.glob(p)):\n"
    "  try: out[f]=open(f,errors='replace').read()\n  except OSError: out[f]=None\nprint(json.dumps(out))"
)
# Stand-ins for packages the lab machine does not install (installing them would load rules into its
# own network namespace): their unit files as the distributions ship them, and netfilter-persistent's
# plugins; at boot the lab runs what their start does, `iptables-restore` of the saved file.
UNIT_FILES = {
    "netfilter-persistent.service": "[Unit]\nDescription=netfilter persistent configuration\n"
    "DefaultDependencies=no\n"
    "Before=network-pre.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
    "ExecStart=/usr/sbin/netfilter-persistent start\n\n[Install]\nWantedBy=multi-user.target\n",
    "iptables.service": "[Unit]\nDescription=IPv4 firewall with iptables\nBefore=network-pre.target\n\n"
    "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/libexec/iptables/iptables.init start\n"
    "ExecStop=/usr/libexec/iptables/iptables.init stop\n\n[Install]\nWantedBy=basic.target\n",
}
PLUGINS = {4: "15-ip4tables", 6: "25-ip6tables"}
BOOT_COMMANDS = {
    "nftables.service": ("nft", "-f", "/etc/nftables.conf"),
    "ufw.service": ("/lib/ufw/ufw-init", "start", "quiet"),
    "netfilter-persistent.service": ("sh", "-c", "iptables-restore < /etc/iptables/rules.v4"),
    "iptables.service": ("iptables-restore", "/etc/sysconfig/iptables"),
}


@dataclass(frozen=True)
class SavedConfig:
    name: str
    write: Callable[[LabHost], None]  # writes the image's files, as its tools do
    boot: tuple[str, ...]  # the units its boot starts, in this order
    setup: HostSetup = field(default_factory=HostSetup)
    extra: tuple[str, ...] = ()
    runner_nft: bool = False  # also judge with the real nft on the runner (nftables configurations)
    expect: tuple[tuple[str, int, str, str], ...] = ()  # verdicts it is built to give


@dataclass
class SavedComparison(Comparison):
    saved: SavedFirewall | None = None
    judged_with_nft: dict[tuple[str, int], Judgement] = field(default_factory=dict)
    boot_seconds: float = 0.0


def image_host(name: str, workdir: Path, setup: HostSetup) -> LabHost:
    """A lab host whose /etc and /usr are writable overlays, with no firewall service enabled."""
    host = LabHost(name, workdir, setup).start()
    try:
        host.run("sh", "-c", OVERLAY)
        if setup.legacy_iptables:
            for tool in ("iptables", "ip6tables"):
                for suffix in ("", "-restore", "-save"):
                    host.run(
                        "ln", "-sfn", f"/usr/sbin/{tool}-legacy{suffix}", f"/etc/alternatives/{tool}{suffix}"
                    )
        host.run("systemctl", "disable", *FIREWALL_UNITS, check=False)
    except BaseException:
        host.stop()
        raise
    return host


def install_stand_in(host: LabHost, unit: str) -> None:
    host.write(f"/etc/systemd/system/{unit}", UNIT_FILES[unit])
    if unit == "netfilter-persistent.service":
        for family, plugin in PLUGINS.items():
            tool = "iptables" if family == 4 else "ip6tables"
            rules = f"/etc/iptables/rules.v{family}"
            host.write(
                f"/usr/share/netfilter-persistent/plugins.d/{plugin}",
                f"#!/bin/sh\n[ -f {rules} ] && {tool}-restore < {rules}\n",
            )


def saved_files(host: LabHost) -> dict[str, str | None]:
    """Exactly what the probe reads: every path of SAVED_FILE_GLOBS, inside the host."""
    found: dict[str, str | None] = json.loads(
        host.run(sys.executable, "-c", READER, *SAVED_FILE_GLOBS).stdout
    )
    return found


_BUILTIN_CHAINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
}


def reset_firewall(host: LabHost) -> None:
    """What a reboot leaves before the services start: no rules on either backend."""
    host.run("nft", "flush", "ruleset")
    tables = "".join(
        f"*{table}\n" + "".join(f":{chain} ACCEPT [0:0]\n" for chain in chains) + "COMMIT\n"
        for table, chains in _BUILTIN_CHAINS.items()
    )
    for tool in ("iptables-legacy-restore", "ip6tables-legacy-restore"):
        host.run(tool, stdin=tables)


def boot(host: LabHost, units: tuple[str, ...]) -> None:
    """Start each unit as systemd would at boot: its own start command (firewalld: the daemon)."""
    for unit in units:
        if unit == "firewalld.service":
            tools.firewalld(host)
        else:
            host.run(*BOOT_COMMANDS[unit])


def flows(host: LabHost) -> list[Flow]:
    found = [Flow("egress", port, (PEER_NET,)) for port in host.setup.egress_ports]
    return [*found, Flow("inbound", host.setup.inbound_port, (PEER_NET,))]


def compare_saved(host: LabHost, config: SavedConfig) -> SavedComparison:
    """Judge from the files alone (with the host's live facts, nothing loaded), boot, connect, compare."""
    facts: HostFirewall = read_host_firewall(host.gather())
    files = saved_files(host)
    saved = read_saved_firewall(files, runner_nft=False)
    judgements = {(f.direction, f.port): judge_saved(saved, facts, f) for f in flows(host)}
    result = SavedComparison(config.name, judgements=judgements, saved=saved)
    if config.runner_nft:
        with_nft = read_saved_firewall(files, runner_nft=True)
        result.judged_with_nft = {(f.direction, f.port): judge_saved(with_nft, facts, f) for f in flows(host)}
    started = time.monotonic()
    boot(host, config.boot)
    result.boot_seconds = time.monotonic() - started
    plan = {key: samples(j, config.extra, f"{config.name}-{key}") for key, j in judgements.items()}
    egress = [(a, port) for (d, port), addresses in plan.items() if d == "egress" for a in addresses]
    inbound = [(a, port) for (d, port), addresses in plan.items() if d == "inbound" for a in addresses]
    kernel = host.measure(egress, inbound)
    for (direction, port), addresses in plan.items():
        for label, found in (("parser", judgements), ("nft", result.judged_with_nft)):
            if not found:
                continue
            judgement = found[(direction, port)]
            if judgement.unreadable:
                result.wrong.append(f"{label} {direction} {port}: could not evaluate: {judgement.unreadable}")
                continue
            for address in addresses:
                segment = segment_of(judgement, address)
                seen = observed(kernel[(direction, address, port)])
                found_want = expected(segment) if segment else "unknown"  # one outcome, or a set of them
                wants = set(found_want) if isinstance(found_want, set | frozenset) else {found_want}
                if "unknown" in wants:
                    result.unknown += 1
                    result.unknowns.append(f"{label} {direction} {address}:{port}: {segment}")
                elif seen in wants:
                    result.right += 1
                else:
                    result.wrong.append(
                        f"{label} {direction} {address}:{port}: judged {segment}, kernel: "
                        f"{kernel[(direction, address, port)]}"
                    )
    return result
