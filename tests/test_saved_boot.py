"""Which saved configuration boots: host files, globs, systemd links and masks, sysvinit links."""

from __future__ import annotations

import pytest

from pytest_backupnet.firewall.saved.boot import boot_services
from pytest_backupnet.firewall.saved.files import HostFiles

NFT_UNIT = "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n"
PERSISTENT_UNIT = (
    "[Service]\nExecStart=/usr/sbin/netfilter-persistent start\n[Install]\nAlias=iptables.service\n"
)
SYSTEMD = {"/etc/systemd/system.conf": ""}


@pytest.mark.parametrize(
    ("pattern", "paths", "found"),
    [
        (
            "/etc/nftables.d/*.nft",
            ["/etc/nftables.d/a.nft", "/etc/nftables.d/.hidden.nft", "/etc/nftables.d/x/b.nft"],
            ["/etc/nftables.d/a.nft"],
        ),
        (
            "/etc/rc?.d/S[0-9][0-9]ufw",
            ["/etc/rcS.d/S01ufw", "/etc/rc2.d/K01ufw", "/etc/rc2.d/S10ufw"],
            ["/etc/rc2.d/S10ufw", "/etc/rcS.d/S01ufw"],
        ),
        ("/etc/x/[!a]*", ["/etc/x/abc", "/etc/x/bcd"], ["/etc/x/bcd"]),
        ("/etc/nftables.conf", ["/etc//nftables.conf"], ["/etc/nftables.conf"]),
    ],
)
def test_globs_follow_the_shell(pattern: str, paths: list[str], found: list[str]) -> None:
    assert HostFiles.of(dict.fromkeys(paths, "")).glob(pattern) == found


def test_files_listed_but_unreadable_exist_without_text() -> None:
    files = HostFiles.of({"/etc/a": None, "relative": "x", "/etc/b": "text"})
    assert files.has("/etc/a") and files.text("/etc/a") is None and not files.has("relative")


@pytest.mark.parametrize(
    ("files", "unit", "enabled", "why"),
    [
        ({"/lib/systemd/system/nftables.service": NFT_UNIT}, "nftables.service", False, "not enabled"),
        (
            {
                "/lib/systemd/system/nftables.service": NFT_UNIT,
                "/etc/systemd/system/sysinit.target.wants/nftables.service": NFT_UNIT,
            },
            "nftables.service",
            True,
            "enabled: /etc/systemd/system/sysinit.target.wants/nftables.service",
        ),
        (
            {
                "/lib/systemd/system/nftables.service": NFT_UNIT,
                "/etc/systemd/system/nftables.service": "",
                "/etc/systemd/system/sysinit.target.wants/nftables.service": NFT_UNIT,
            },
            "nftables.service",
            False,
            "masked",
        ),
        (
            {
                "/usr/lib/systemd/system/nftables.service": NFT_UNIT,
                "/usr/lib/systemd/system/multi-user.target.wants/nftables.service": NFT_UNIT,
            },
            "nftables.service",
            True,
            "enabled: /usr/lib/systemd/system/multi-user.target.wants",
        ),
        (
            {
                "/lib/systemd/system/nftables.service": NFT_UNIT,
                "/etc/systemd/system/rescue.target.wants/nftables.service": NFT_UNIT,
            },
            "nftables.service",
            None,
            "wanted only by",
        ),
        (
            {"/etc/systemd/system/multi-user.target.wants/nftables.service": None},
            "nftables.service",
            False,
            "not installed",
        ),
        (
            {
                "/lib/systemd/system/netfilter-persistent.service": PERSISTENT_UNIT,
                "/etc/systemd/system/multi-user.target.wants/iptables.service": PERSISTENT_UNIT,
            },
            "netfilter-persistent.service",
            True,
            "enabled",
        ),
    ],
)
def test_systemd_starts_what_a_boot_target_wants(
    files: dict[str, str | None], unit: str, enabled: bool | None, why: str
) -> None:
    found = boot_services(HostFiles.of({**SYSTEMD, **files})).unit(unit)
    assert (found.enabled, why in found.why) == (enabled, True), found


def test_a_drop_in_replaces_the_command() -> None:
    files = {
        **SYSTEMD,
        "/lib/systemd/system/nftables.service": NFT_UNIT,
        "/etc/systemd/system/nftables.service.d/override.conf": "[Service]\nExecStart=\n"
        "ExecStart=/usr/sbin/nft -I /etc/fw -f /etc/fw/main.nft\n",
    }
    unit = boot_services(HostFiles.of(files)).unit("nftables.service")
    assert unit.exec_start == (("/usr/sbin/nft", "-I", "/etc/fw", "-f", "/etc/fw/main.nft"),)


@pytest.mark.parametrize(
    ("files", "init", "enabled"),
    [
        ({"/etc/inittab": "id:2:initdefault:\n", "/etc/rc2.d/S02ufw": "#!/bin/sh"}, "sysvinit", True),
        ({"/etc/inittab": "id:3:initdefault:\n", "/etc/rc2.d/S02ufw": "#!/bin/sh"}, "sysvinit", False),
        ({"/etc/inittab": "", "/etc/rcS.d/S01ufw": "#!/bin/sh"}, "sysvinit", True),
        (
            {**SYSTEMD, "/lib/systemd/system/ufw.service": "", "/etc/rcS.d/S01ufw": "#!/bin/sh"},
            "systemd",
            False,
        ),
        ({"/etc/rcS.d/S01ufw": "#!/bin/sh"}, "unknown", None),
    ],
)
def test_rc_links_count_only_under_sysvinit(files: dict[str, str], init: str, enabled: bool | None) -> None:
    services = boot_services(HostFiles.of(files))
    assert (services.init, services.unit("ufw.service").enabled) == (init, enabled)
