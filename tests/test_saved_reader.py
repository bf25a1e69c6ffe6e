"""All saved configurations together: what boots, in which orders, and the verdicts judged on each."""

from __future__ import annotations

import ipaddress

from pytest_backupnet.firewall import Flow, read_host_firewall
from pytest_backupnet.firewall.saved import NOTHING_SAVED, SAVED_FILE_GLOBS, judge_saved, read_saved_firewall

SYSTEMD = {"/etc/systemd/system.conf": ""}
NFT_UNIT = "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n[Install]\nWantedBy=sysinit.target\n"
UFW_UNIT = "[Service]\nExecStart=/lib/ufw/ufw-init start quiet\n[Install]\nWantedBy=multi-user.target\n"
NP_UNIT = "[Service]\nExecStart=/usr/sbin/netfilter-persistent start\n[Install]\nWantedBy=multi-user.target\n"
FWD_UNIT = "[Service]\nExecStart=/usr/sbin/firewalld --nofork\n[Install]\nWantedBy=multi-user.target\n"
CLOSED = (
    "flush ruleset\ntable inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n"
    " }\n}\n"
)
RULES_V4 = "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 198.19.1.0/24 -j DROP\nCOMMIT\n"
UFW = {
    "/etc/default/ufw": 'DEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n',
    "/etc/ufw/ufw.conf": "ENABLED=yes\n",
    "/etc/ufw/before.rules": "*filter\nCOMMIT\n",
    "/etc/ufw/after.rules": "*filter\nCOMMIT\n",
    "/etc/ufw/user.rules": (
        "*filter\n:ufw-user-input - [0:0]\n-A ufw-user-input -p tcp --dport 2548 -j ACCEPT\nCOMMIT\n"
    ),
}
INBOUND = Flow("inbound", 2548, (ipaddress.ip_network("198.19.0.0/16"),))
HOST = read_host_firewall({})


def _enabled(unit: str, text: str, target: str = "multi-user.target") -> dict[str, str]:
    return {f"/lib/systemd/system/{unit}": text, f"/etc/systemd/system/{target}.wants/{unit}": text}


def _persistent() -> dict[str, str]:
    return {
        **_enabled("netfilter-persistent.service", NP_UNIT),
        "/etc/iptables/rules.v4": RULES_V4,
        "/usr/share/netfilter-persistent/plugins.d/15-ip4tables": "#!/bin/sh\n",
    }


def test_nothing_saved_means_nothing_filters() -> None:
    saved = read_saved_firewall(SYSTEMD, runner_nft=False)
    assert saved.nothing_saved and saved.summary == NOTHING_SAVED and not saved.outcomes
    judgement = judge_saved(saved, HOST, INBOUND)
    assert judgement.nothing_filters and {s.verdict for s in judgement.segments} == {"accept"}


def test_a_saved_file_whose_service_is_not_enabled_does_not_boot() -> None:
    saved = read_saved_firewall(
        {**SYSTEMD, "/etc/nftables.conf": CLOSED, "/lib/systemd/system/nftables.service": NFT_UNIT},
        runner_nft=False,
    )
    (config,) = saved.configurations
    assert config.boots is False and not saved.outcomes and "does not boot" in str(config)
    assert "saved but not loaded at boot: nftables" in saved.summary
    assert {s.verdict for s in judge_saved(saved, HOST, INBOUND).segments} == {"accept"}


def test_an_enabled_saved_file_is_judged_with_its_line() -> None:
    saved = read_saved_firewall(
        {**SYSTEMD, "/etc/nftables.conf": CLOSED, **_enabled("nftables.service", NFT_UNIT, "sysinit.target")},
        runner_nft=False,
    )
    (segment,) = judge_saved(saved, HOST, INBOUND).segments
    assert (segment.verdict, segment.decided_by) == (
        "drop",
        "policy drop of inet filter input (/etc/nftables.conf:4)",
    )


def test_an_include_not_brought_back_cannot_be_evaluated() -> None:
    files = {
        **SYSTEMD,
        "/etc/nftables.conf": 'include "/etc/nftables/rules.nft"\n',
        **_enabled("nftables.service", NFT_UNIT, "sysinit.target"),
    }
    judgement = judge_saved(read_saved_firewall(files, runner_nft=False), HOST, INBOUND)
    assert not judgement.segments and "include /etc/nftables/rules.nft not read" in judgement.unreadable


def test_two_services_judged_in_every_order_they_may_run() -> None:
    files = {**SYSTEMD, **UFW, **_enabled("ufw.service", UFW_UNIT), **_persistent()}
    saved = read_saved_firewall(files, runner_nft=False)
    assert [c.tool for c in saved.booting] == ["netfilter-persistent", "ufw"] and len(saved.outcomes) == 2
    segments = judge_saved(saved, HOST, INBOUND).segments  # ufw opens 2548: open in either order
    assert [(s.first, s.verdict) for s in segments] == [
        ("198.19.0.0", "accept"),
        ("198.19.1.0", "drop"),
        ("198.19.2.0", "accept"),
    ]
    segments = judge_saved(saved, HOST, Flow("inbound", 2549, INBOUND.peers)).segments
    first = next(s for s in segments if s.first == "198.19.1.0")
    assert first.verdict == "drop", "rules.v4's drop stands in either order"
    rest = next(s for s in segments if s.first == "198.19.2.0")
    assert rest.verdict == "unknown" and "depends on the boot" in rest.unknown
    assert "ufw.service then netfilter-persistent.service" in rest.unknown


def test_outcomes_are_merged_per_address_family() -> None:
    files = {**SYSTEMD, **UFW, **_enabled("ufw.service", UFW_UNIT), **_persistent()}
    saved = read_saved_firewall(files, runner_nft=False)
    peers = (ipaddress.ip_network("198.19.1.0/24"), ipaddress.ip_network("::c613:100/120"))
    segments = judge_saved(saved, HOST, Flow("inbound", 2549, peers)).segments
    by_family = {ipaddress.ip_address(s.first).version: s for s in segments}
    assert len(segments) == 2 and by_family[4].verdict == "drop", (
        "rules.v4 drops 198.19.1.0/24 in either order"
    )
    assert by_family[6].last == "::c613:1ff" and by_family[6].verdict != "drop"


def test_conflicting_services_are_judged_as_either_side_winning() -> None:
    files = {
        **SYSTEMD,
        "/etc/nftables.conf": CLOSED,
        **_enabled("nftables.service", NFT_UNIT, "sysinit.target"),
        **_enabled("firewalld.service", FWD_UNIT),
        "/usr/lib/firewalld/zones/public.xml": '<zone><service name="ssh"/><forward/></zone>',
        "/usr/lib/firewalld/zones/trusted.xml": '<zone target="ACCEPT"><forward/></zone>',
        "/usr/lib/firewalld/services/ssh.xml": '<service><port protocol="tcp" port="22"/></service>',
    }
    saved = read_saved_firewall(files, runner_nft=False)
    hows = " | ".join(o.how for o in saved.outcomes)
    assert "wins over" in hows and "they conflict" in hows
    (segment,) = judge_saved(saved, HOST, INBOUND).segments
    assert segment.verdict != "accept"


def test_a_script_naming_an_interface_by_index_may_not_load() -> None:
    script = CLOSED.replace("policy drop;\n", 'policy drop;\n  iif "eth0" tcp dport 22 accept\n')
    files = {
        **SYSTEMD,
        "/etc/nftables.conf": script,
        **_enabled("nftables.service", NFT_UNIT, "sysinit.target"),
    }
    saved = read_saved_firewall(files, runner_nft=False)
    assert len(saved.outcomes) == 2 and "names interface eth0" in saved.outcomes[1].how
    (segment,) = judge_saved(saved, HOST, INBOUND).segments
    assert segment.verdict == "unknown" and "refuses the whole file" in segment.unknown


def test_debians_iptables_alias_is_netfilter_persistent() -> None:
    files = {
        **SYSTEMD,
        **_persistent(),
        "/etc/sysconfig/iptables": RULES_V4,
        "/etc/systemd/system/multi-user.target.wants/iptables.service": NP_UNIT,
    }
    tools = {c.tool: c.boots for c in read_saved_firewall(files, runner_nft=False).configurations}
    assert tools == {"netfilter-persistent": True, "iptables-services": False}


def test_the_probe_is_asked_for_every_file_read_here() -> None:
    globs = set(SAVED_FILE_GLOBS)
    for needed in (
        "/etc/nftables.conf",
        "/etc/iptables/rules.v4",
        "/etc/ufw/user.rules",
        "/etc/firewalld/zones/*.xml",
        "/usr/lib/firewalld/services/*.xml",
        "/etc/systemd/system/*.wants/ufw.service",
        "/usr/share/netfilter-persistent/plugins.d/*",
    ):
        assert needed in globs


def test_whatever_else_loads_rules_at_boot_makes_the_verdict_unknown() -> None:
    cases = {
        "SuSEfirewall2": {"/etc/systemd/system/multi-user.target.wants/SuSEfirewall2.service": "[Service]\n"},
        "a unit of the host's own": {
            "/etc/systemd/system/multi-user.target.wants/fw.service": (
                "[Service]\nExecStart=/sbin/iptables-restore /etc/fw.rules\n"
            )
        },
        "a boot script": {
            "/etc/network/if-pre-up.d/iptables": "#!/bin/sh\n/sbin/iptables-restore < /etc/fw\n"
        },
        "iptables (OpenRC)": {"/etc/runlevels/default/iptables": "#!/sbin/openrc-run\n"},
    }
    for tool, files in cases.items():
        saved = read_saved_firewall({**SYSTEMD, **files}, runner_nft=False)
        assert tool in saved.unreadable and "not evaluated" in saved.unreadable, (tool, saved.unreadable)
        assert judge_saved(saved, HOST, INBOUND).unreadable
    quiet = {
        "/etc/systemd/system/multi-user.target.wants/ssh.service": "[Service]\nExecStart=/usr/sbin/sshd -D\n",
        "/etc/network/if-up.d/ethtool": "#!/bin/sh\n# iptables is not used here\nethtool -K eth0 tso off\n",
    }
    assert read_saved_firewall({**SYSTEMD, **quiet}, runner_nft=False).nothing_saved


def test_link_targets_settle_the_init_and_the_iptables_backend() -> None:
    nft = CLOSED.replace("policy drop;", "policy accept;")
    files = {
        **SYSTEMD,
        "/etc/nftables.conf": nft,
        **_enabled("nftables.service", NFT_UNIT, "sysinit.target"),
        **_persistent(),
    }
    unknown = read_saved_firewall(files, runner_nft=False)
    assert (
        len(unknown.outcomes) == 2
    )  # flush ruleset wipes iptables-nft rules loaded before it, not legacy ones
    legacy = read_saved_firewall(
        {**files, "readlink:/etc/alternatives/iptables": "/usr/sbin/iptables-legacy"}, runner_nft=False
    )
    assert len(legacy.outcomes) == 1
    (segment,) = [s for s in judge_saved(legacy, HOST, INBOUND).segments if s.first == "198.19.1.0"]
    assert segment.verdict == "drop"
    sysv = read_saved_firewall(
        {"/etc/inittab": "", "/etc/systemd/system.conf": "", "readlink:/sbin/init": "/lib/systemd/systemd"},
        runner_nft=False,
    )
    assert sysv.init == "systemd"
