"""The files the probe reads for the saved firewall (see the package docstring)."""

from __future__ import annotations

from .boot import UNIT_DIRS, UNITS, VENDOR_DIRS
from .others import MANAGERS

_NFTABLES = (
    "/etc/nftables.conf",
    "/etc/sysconfig/nftables.conf",
    "/etc/nftables.nft",
    "/etc/nftables/*",
    "/etc/nftables/*/*",
    "/etc/nftables.d/*",
    "/etc/nftables.d/*/*",
    "/etc/sysconfig/nftables.d/*",
)
_IPTABLES = (
    "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables",
    "/etc/sysconfig/iptables.fallback",
    "/etc/sysconfig/ip6tables.fallback",
    "/etc/sysconfig/iptables-config",
    "/etc/sysconfig/ip6tables-config",
    "/etc/iptables/rules.v4",
    "/etc/iptables/rules.v6",
    "/etc/default/netfilter-persistent",
    "/usr/share/netfilter-persistent/plugins.d/*",
)
_UFW = (
    "/etc/ufw/ufw.conf",
    "/etc/default/ufw",
    "/etc/ufw/before.rules",
    "/etc/ufw/before6.rules",
    "/etc/ufw/after.rules",
    "/etc/ufw/after6.rules",
    "/etc/ufw/user.rules",
    "/etc/ufw/user6.rules",
    "/etc/ufw/before.init",
    "/etc/ufw/after.init",
    "/lib/ufw/user.rules",
    "/lib/ufw/user6.rules",
    "/lib/ufw/ufw-init-functions",
    "/usr/lib/ufw/ufw-init-functions",
)
_FIREWALLD = (
    "/etc/firewalld/firewalld.conf",
    "/etc/firewalld/direct.xml",
    *(
        f"{base}/{kind}/*.xml"
        for base in ("/etc/firewalld", "/usr/lib/firewalld")
        for kind in ("zones", "services", "policies", "ipsets", "icmptypes", "helpers")
    ),
    "/etc/NetworkManager/system-connections/*.nmconnection",
    "/etc/sysconfig/network-scripts/ifcfg-*",
)
_BOOT = (
    "/etc/systemd/system.conf",
    "/usr/lib/systemd/system.conf",
    "/etc/inittab",
    "/etc/runlevels/*/*",
    *(f"{directory}/{unit}" for directory in UNIT_DIRS for unit in UNITS),
    *(f"{directory}/{unit}.d/*.conf" for directory in UNIT_DIRS for unit in UNITS),
    *(
        f"{directory}/*.wants/{unit}"
        for directory in ("/etc/systemd/system", *VENDOR_DIRS)
        for unit in (*UNITS, "dbus-org.fedoraproject.FirewallD1.service")
    ),
    *(
        f"/etc/rc{level}.d/S[0-9][0-9]{name}"
        for level in "S2345"
        for name in (
            "ufw",
            "netfilter-persistent",
            "iptables-persistent",
            "iptables",
            "ip6tables",
            "firewalld",
            "nftables",
        )
    ),
)
_OTHERS = (
    "/etc/systemd/system/*.wants/*.service",
    "/etc/systemd/system/*.service",
    "/etc/rc.local",
    "/etc/rc.d/rc.local",
    "/etc/network/interfaces",
    "/etc/network/interfaces.d/*",
    "/etc/network/if-pre-up.d/*",
    "/etc/network/if-up.d/*",
    "/etc/NetworkManager/dispatcher.d/*",
    *(
        f"{d}/*.wants/{n}.service"
        for d in ("/lib/systemd/system", "/usr/lib/systemd/system")
        for names in MANAGERS.values()
        for n in names
    ),
    *(f"/etc/rc[S2345].d/S[0-9][0-9]{n}" for names in MANAGERS.values() for n in names),
)
_NAMES = ("/etc/services", "/etc/passwd", "/etc/group", "/etc/os-release")

SAVED_FILE_GLOBS: tuple[str, ...] = tuple(
    dict.fromkeys((*_NFTABLES, *_IPTABLES, *_UFW, *_FIREWALLD, *_BOOT, *_OTHERS, *_NAMES))
)
