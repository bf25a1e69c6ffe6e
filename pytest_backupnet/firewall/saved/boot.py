"""Which firewall services start at boot: systemd's `wants` links and masks, sysvinit's rc links.

systemd starts a unit at boot when a link to it sits in the `.wants` directory of a target that a
normal boot reaches (under /etc/systemd/system, or under /lib|/usr/lib/systemd/system for what the
vendor enables), unless /etc/systemd/system/<unit> masks it (a link to /dev/null: an empty file).
Under sysvinit only /etc/rc<level>.d/S* links count; under systemd those links are ignored for
units that have a native unit file, which every firewall service here has.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from .files import HostFiles

UNITS = (
    "nftables.service",
    "iptables.service",
    "ip6tables.service",
    "netfilter-persistent.service",
    "ufw.service",
    "firewalld.service",
)
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
)
VENDOR_DIRS = ("/lib/systemd/system", "/usr/lib/systemd/system")
BOOT_TARGETS = (
    "sysinit.target",
    "basic.target",
    "multi-user.target",
    "graphical.target",
    "default.target",
    "network-pre.target",
    "network.target",
    "network-online.target",
    "local-fs.target",
)
SYSV_SCRIPTS = {  # the unit -> names of its init script
    "ufw.service": ("ufw",),
    "netfilter-persistent.service": ("netfilter-persistent", "iptables-persistent"),
    "iptables.service": ("iptables",),
    "ip6tables.service": ("ip6tables",),
    "firewalld.service": ("firewalld",),
    "nftables.service": ("nftables",),
}
SYSTEMD_MARKERS = ("/etc/systemd/system.conf", "/usr/lib/systemd/system.conf")
SYSV_MARKERS = ("/etc/inittab",)
_INITDEFAULT = re.compile(r"^[^#:]*:(\d):initdefault:", re.MULTILINE)


@dataclass(frozen=True)
class Unit:
    name: str
    enabled: bool | None  # None: whether it starts at boot is not known
    why: str  # the link (or mask, or missing link) that decides
    text: str = ""  # the unit file and its drop-ins, as systemd reads them ("" when not found)
    path: str = ""  # where the unit file is
    exec_start: tuple[tuple[str, ...], ...] = ()  # each ExecStart= command, split as systemd does


@dataclass(frozen=True)
class BootServices:
    init: str  # systemd | sysvinit | unknown
    init_why: str
    units: dict[str, Unit] = field(default_factory=dict)

    def unit(self, name: str) -> Unit:
        return self.units.get(name) or Unit(name, False, "not installed")


def boot_services(files: HostFiles) -> BootServices:
    init, why = _init_system(files)
    units: dict[str, Unit] = {}
    for name in UNITS:
        path, text = _unit_file(files, name)
        if init == "sysvinit":
            enabled, reason = _sysv_enabled(files, name)
        elif init == "systemd":
            enabled, reason = _systemd_enabled(files, name, text)
        else:
            systemd = _systemd_enabled(files, name, text)
            sysv = _sysv_enabled(files, name)
            if systemd[0] == sysv[0]:
                enabled, reason = systemd[0], f"{systemd[1]}; {sysv[1]}"
            else:
                enabled, reason = None, f"the init system is not known ({why}): {systemd[1]}; {sysv[1]}"
        if init == "systemd" and text is None and enabled is not False:
            enabled, reason = False, f"{reason}, but its unit file is not installed"
        units[name] = Unit(name, enabled, reason, text or "", path, _exec_start(text or ""))
    return BootServices(init, why, units)


def _init_system(files: HostFiles) -> tuple[str, str]:
    init = files.text("readlink:/sbin/init")
    if init is not None and init.strip():
        target = init.strip()
        if target.endswith("/systemd"):
            return "systemd", f"/sbin/init is a link to {target}"
        if files.has("/etc/inittab") and target.rsplit("/", 1)[-1] in ("init", "busybox"):
            return "sysvinit", f"/sbin/init is a link to {target} and /etc/inittab exists"
    if files.under("/etc/runlevels"):
        return "unknown", "OpenRC (/etc/runlevels) is not evaluated"
    inittab = next((m for m in SYSV_MARKERS if files.has(m)), None)
    systemd = next((m for m in SYSTEMD_MARKERS if files.has(m)), None)
    if inittab and not systemd:
        return "sysvinit", f"{inittab} exists and systemd's {SYSTEMD_MARKERS[0]} does not"
    if systemd and not inittab:
        return "systemd", f"{systemd} exists and {SYSV_MARKERS[0]} does not"
    if systemd and inittab:
        return "unknown", f"both {systemd} and {inittab} exist"
    return "unknown", f"neither {SYSTEMD_MARKERS[0]} nor {SYSV_MARKERS[0]} exists"


def _unit_file(files: HostFiles, name: str) -> tuple[str, str | None]:
    """(path, text with drop-ins appended) of the unit systemd would load; ("", None) when none."""
    main_path, main = "", None
    for directory in UNIT_DIRS:
        path = f"{directory}/{name}"
        if files.has(path):
            main_path, main = path, files.text(path) or ""
            break
    if main is None:
        return "", None
    dropins: dict[str, str] = {}
    for directory in reversed(UNIT_DIRS):  # later directories override earlier ones of the same name
        for path in files.glob(f"{directory}/{name}.d/*.conf"):
            dropins[posixpath.basename(path)] = files.text(path) or ""
    return main_path, "\n".join([main, *(dropins[k] for k in sorted(dropins))])


def _systemd_enabled(files: HostFiles, name: str, text: str | None) -> tuple[bool | None, str]:
    mask = f"/etc/systemd/system/{name}"
    if files.has(mask) and files.text(mask) is None:
        return None, f"{mask} could not be read: whether it masks {name} is not known"
    if files.has(mask) and not (files.text(mask) or "").strip():
        return False, f"masked ({mask} is empty: a link to /dev/null)"
    names = [name, *_aliases(text or "")]
    links: list[str] = []
    other: list[str] = []
    for directory in ("/etc/systemd/system", *VENDOR_DIRS):
        for unit_name in names:
            for path in files.glob(f"{directory}/*.wants/{unit_name}"):
                target = posixpath.basename(posixpath.dirname(path))[: -len(".wants")]
                (links if target in BOOT_TARGETS else other).append(path)
    if links:
        return True, f"enabled: {links[0]}"
    if other:
        return None, f"wanted only by {other[0]}, which a normal boot may not reach"
    return False, f"not enabled (no link to {name} in any .wants directory of a boot target)"


def _aliases(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "Alias":
            found += value.split()
    return found


def _sysv_enabled(files: HostFiles, name: str) -> tuple[bool | None, str]:
    inittab = files.text("/etc/inittab") or ""
    found = _INITDEFAULT.search(inittab)
    level = found.group(1) if found else "2"
    for script in SYSV_SCRIPTS.get(name, ()):
        for directory in ("S", level):
            links = [
                p
                for p in files.glob(f"/etc/rc{directory}.d/S[0-9][0-9]{script}")
                if files.text(p) is not None
            ]
            if links:
                return True, f"enabled: {links[0]}"
    return (
        False,
        f"not enabled (no /etc/rcS.d or /etc/rc{level}.d/S??{SYSV_SCRIPTS.get(name, ('?',))[0]} link)",
    )


def _exec_start(text: str) -> tuple[tuple[str, ...], ...]:
    commands: list[tuple[str, ...]] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line
            continue
        if section != "[Service]" or not line.startswith("ExecStart"):
            continue
        key, _, value = line.partition("=")
        if key.strip() != "ExecStart":
            continue
        value = value.strip()
        if not value:
            commands = []  # an empty ExecStart= resets the list (drop-ins)
            continue
        value = value.lstrip("-@:+!")
        try:
            commands.append(tuple(shlex.split(value)))
        except ValueError:
            commands.append(tuple(value.split()))
    return tuple(commands)
