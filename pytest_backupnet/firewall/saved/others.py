"""Whatever else may load firewall rules at boot and is not evaluated here: it is found and named,
so that the boot's firewall is "could not evaluate", never "nothing filters".

Other firewall managers (SuSEfirewall2, shorewall, ferm, firehol, csf, apf, arno), OpenRC's
iptables/nftables services, enabled units of the host's own that run iptables/nft/ufw/firewall-cmd,
and boot scripts that do (ifupdown hooks, rc.local).
"""

from __future__ import annotations

import re

from .boot import BOOT_TARGETS, UNITS, BootServices
from .configs import SavedConfiguration
from .files import HostFiles

MANAGERS = {  # tool -> its units / init scripts
    "SuSEfirewall2": ("SuSEfirewall2", "SuSEfirewall2_init", "SuSEfirewall2_setup"),
    "shorewall": ("shorewall", "shorewall6", "shorewall-lite"),
    "ferm": ("ferm",),
    "firehol": ("firehol", "fireqos"),
    "csf": ("csf", "lfd"),
    "apf": ("apf",),
    "arno-iptables-firewall": ("arno-iptables-firewall",),
    "iptables (OpenRC)": (),
}
OPENRC = ("iptables", "ip6tables", "nftables", "ufw", "firewalld")
SCRIPTS = (
    "/etc/rc.local",
    "/etc/rc.d/rc.local",
    "/etc/network/interfaces",
    "/etc/network/interfaces.d/*",
    "/etc/network/if-pre-up.d/*",
    "/etc/network/if-up.d/*",
    "/etc/NetworkManager/dispatcher.d/*",
)
_COMMAND = re.compile(
    r"^\s*(?:(?:pre-)?up\s+)?(?:\S*/)?(?:iptables|ip6tables|iptables-restore|ip6tables-restore|iptables-legacy|"
    r"iptables-nft|nft|ufw|firewall-cmd|ipset)\b(?!-save)",
    re.MULTILINE,
)
_EXEC = re.compile(r"^\s*Exec(?:Start|StartPre|StartPost)\s*=\s*[-@:+!]*(.*)$", re.MULTILINE)


def others(files: HostFiles, boot: BootServices) -> list[SavedConfiguration]:
    found: list[SavedConfiguration] = []
    for tool, names in MANAGERS.items():
        for name in names:
            why = _enabled(files, boot, name)
            if why:
                found.append(
                    SavedConfiguration(
                        tool,
                        f"{name}.service",
                        (),
                        True,
                        why,
                        f"{tool} is not evaluated; its rules load at boot",
                    )
                )
                break
    for name in OPENRC:
        for path in files.glob(f"/etc/runlevels/*/{name}"):
            found.append(
                SavedConfiguration(
                    f"{name} (OpenRC)",
                    name,
                    (path,),
                    True,
                    f"enabled: {path}",
                    "OpenRC's firewall services are not evaluated",
                )
            )
    for path in _enabled_units(files):
        text = files.text(path) or ""
        commands = [m.group(1).strip() for m in _EXEC.finditer(text) if _COMMAND.match(m.group(1))]
        if commands:
            found.append(
                SavedConfiguration(
                    "a unit of the host's own",
                    path.rsplit("/", 1)[-1],
                    (path,),
                    True,
                    f"enabled: {path}",
                    f"{path} runs {commands[0][:100]!r} at boot, which is not evaluated",
                )
            )
    for pattern in SCRIPTS:
        for path in files.glob(pattern):
            line = next((m.group(0).strip() for m in _COMMAND.finditer(_code(files.text(path) or ""))), "")
            if line:
                found.append(
                    SavedConfiguration(
                        "a boot script",
                        path,
                        (path,),
                        None,
                        f"{path} runs {line[:100]!r}",
                        f"{path} runs {line[:100]!r} (at boot or when an interface comes "
                        "up), which is not evaluated",
                    )
                )
    return found


def _enabled(files: HostFiles, boot: BootServices, name: str) -> str:
    if boot.init != "sysvinit":
        for directory in ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"):
            for path in files.glob(f"{directory}/*.wants/{name}.service"):
                target = path.split("/")[-2][: -len(".wants")]
                masked = (
                    files.has(f"/etc/systemd/system/{name}.service")
                    and not (files.text(f"/etc/systemd/system/{name}.service") or "").strip()
                )
                if target in BOOT_TARGETS and not masked and files.text(path) is not None:
                    return f"enabled: {path}"
    if boot.init != "systemd":
        for path in files.glob(f"/etc/rc[S2345].d/S[0-9][0-9]{name}"):
            return f"enabled: {path}"
    return ""


def _enabled_units(files: HostFiles) -> list[str]:
    """The host's own units that a boot target wants (the firewall services evaluated here aside)."""
    found: dict[str, str] = {}
    for path in files.glob("/etc/systemd/system/*.wants/*.service"):
        name = path.rsplit("/", 1)[-1]
        target = path.split("/")[-2][: -len(".wants")]
        if target in BOOT_TARGETS and name not in UNITS and files.text(path):
            found.setdefault(name, path)
    return sorted(found.values())


def _code(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
