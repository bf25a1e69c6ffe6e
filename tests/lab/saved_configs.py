"""Images to prove the saved-configuration verdicts on: each tool's files written the way an image
build writes them (the tool itself where it writes them), enabled with `systemctl enable`.

Egress flows go to 198.19.0.0/16 on 8086 and 8087, the inbound flow comes from there to 2548, as in
the kernel lab. Per tool: its defaults, the agent's port opened, outbound restricted to the minimum
subnets, a reply-path mistake; and a disabled ufw, and two services enabled at once.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.lab.firewall_lab import HostSetup, LabHost
from tests.lab.saved_lab import SavedConfig, install_stand_in, reset_firewall

OUT, IN = "egress", "inbound"
SAVED_CONFIGS: list[SavedConfig] = []
TWO_LINKS = HostSetup(interfaces=("eth0", "eth1"))


def image(
    name: str,
    boot: tuple[str, ...],
    setup: HostSetup | None = None,
    extra: tuple[str, ...] = (),
    runner_nft: bool = False,
    expect: tuple[tuple[str, int, str, str], ...] = (),
) -> Callable[[Callable[[LabHost], None]], Callable[[LabHost], None]]:
    def register(write: Callable[[LabHost], None]) -> Callable[[LabHost], None]:
        SAVED_CONFIGS.append(SavedConfig(name, write, boot, setup or HostSetup(), extra, runner_nft, expect))
        return write

    return register


def enable(host: LabHost, *units: str) -> None:
    host.run("systemctl", "enable", *units)


# nftables: /etc/nftables.conf (Debian), loaded by nftables.service

HARDENED_NFT = """\
#!/usr/sbin/nft -f
flush ruleset
define agent_port = 2548
define backup_nets = { 198.19.0.0/17 }

table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        ct state invalid drop
        ct state established,related accept
        iifname "lo" accept
        tcp dport 22 accept
        include "/etc/nftables.d/*.nft"
    }
    chain output {
        type filter hook output priority filter; policy accept;
    }
}
"""
AGENT_RULE = "ip saddr $backup_nets tcp dport $agent_port ct state new accept\n"


@image("nft-default", ("nftables.service",), runner_nft=True, expect=((IN, 2548, "198.19.1.1", "accept"),))
def _nft_default(host: LabHost) -> None:
    enable(host, "nftables")  # Debian's own /etc/nftables.conf: empty chains, nothing filters


@image(
    "nft-agent-open",
    ("nftables.service",),
    extra=("198.19.200.1",),
    runner_nft=True,
    expect=(
        (IN, 2548, "198.19.1.1", "accept"),
        (IN, 2548, "198.19.200.1", "drop"),
        (OUT, 8086, "198.19.1.1", "accept"),
    ),
)
def _nft_agent(host: LabHost) -> None:
    host.write("/etc/nftables.conf", HARDENED_NFT)
    host.write("/etc/nftables.d/agent.nft", AGENT_RULE)
    enable(host, "nftables")


@image(
    "nft-outbound-minimum",
    ("nftables.service",),
    extra=("198.19.1.1", "198.19.2.2", "198.19.3.3"),
    runner_nft=True,
    expect=(
        (OUT, 8086, "198.19.1.1", "accept"),
        (OUT, 8087, "198.19.3.3", "drop"),
        (IN, 2548, "198.19.1.1", "accept"),
    ),
)
def _nft_minimum(host: LabHost) -> None:
    host.write(
        "/etc/nftables.conf",
        """\
flush ruleset
table inet filter {
    set backup_service {
        type ipv4_addr; flags interval
        elements = { 198.19.1.0/24, 198.19.2.0/24 }
    }
    chain input {
        type filter hook input priority 0; policy drop;
        ct state established,related accept
        iif lo accept
        tcp dport 2548 accept
    }
    chain output {
        type filter hook output priority 0; policy drop;
        ct state established,related accept
        oif lo accept
        ip daddr @backup_service tcp dport { 8086, 8087 } accept
        udp dport 53 accept
    }
}
""",
    )
    enable(host, "nftables")


@image(
    "nft-reply-mistake",
    ("nftables.service",),
    runner_nft=True,
    expect=((OUT, 8086, "198.19.1.1", "drop"), (IN, 2548, "198.19.1.1", "drop")),
)
def _nft_reply(host: LabHost) -> None:
    host.write(
        "/etc/nftables.conf",
        """\
flush ruleset
table ip filter {
    chain INPUT {
        type filter hook input priority 0; policy drop;
        tcp dport 2548 accept
    }
    chain OUTPUT {
        type filter hook output priority 0; policy drop;
        tcp dport { 8086, 8087 } accept
    }
}
""",
    )
    enable(host, "nftables")


# `iif` needs eth0 to exist when nftables.service runs, early in the boot: loaded, the agent's port is
# closed; refused, nothing filters. The verdict is honestly unknown where the two differ.
@image("nft-iif-at-boot", ("nftables.service",), runner_nft=True)
def _nft_iif(host: LabHost) -> None:
    host.write(
        "/etc/nftables.conf",
        """\
flush ruleset
table inet filter {
    chain input {
        type filter hook input priority 0; policy drop;
        ct state established,related accept
        iif "eth0" tcp dport 22 accept
    }
}
""",
    )
    enable(host, "nftables")


# iptables-services (RHEL): /etc/sysconfig/iptables, saved with iptables-save

RHEL_DEFAULT = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
{agent}-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""
AGENT_LINE = "-A INPUT -s 198.19.0.0/17 -p tcp -m state --state NEW -m tcp --dport 2548 -j ACCEPT\n"


def _saved_iptables(host: LabHost, rules: str, path: str) -> None:
    """Load the rules, `iptables-save` them where the service reads them, then forget them (a reboot)."""
    host.run("iptables-restore", stdin=rules)
    host.run("sh", "-c", f"mkdir -p $(dirname {path}) && iptables-save > {path}")
    reset_firewall(host)


def _services(agent: str) -> Callable[[LabHost], None]:
    def write(host: LabHost) -> None:
        install_stand_in(host, "iptables.service")
        _saved_iptables(host, RHEL_DEFAULT.format(agent=agent), "/etc/sysconfig/iptables")
        enable(host, "iptables")

    return write


for _backend in ("nft", "legacy"):
    _setup = HostSetup(legacy_iptables=_backend == "legacy")
    SAVED_CONFIGS.append(
        SavedConfig(
            f"iptables-services-default-{_backend}",
            _services(""),
            ("iptables.service",),
            _setup,
            expect=((IN, 2548, "198.19.1.1", "reject"), (OUT, 8086, "198.19.1.1", "accept")),
        )
    )
    SAVED_CONFIGS.append(
        SavedConfig(
            f"iptables-services-agent-{_backend}",
            _services(AGENT_LINE),
            ("iptables.service",),
            _setup,
            ("198.19.128.1",),
            expect=((IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.128.1", "reject")),
        )
    )


# netfilter-persistent (Debian): /etc/iptables/rules.v4

PERSISTENT_MINIMUM = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2548 -m conntrack --ctstate NEW -j ACCEPT
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A OUTPUT -d 198.19.0.0/18 -p tcp -m multiport --dports 8086,8087 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 8087 -j REJECT --reject-with tcp-reset
COMMIT
"""
PERSISTENT_REPLY_MISTAKE = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2548 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""


def _persistent(rules: str) -> Callable[[LabHost], None]:
    def write(host: LabHost) -> None:
        install_stand_in(host, "netfilter-persistent.service")
        _saved_iptables(host, rules, "/etc/iptables/rules.v4")
        enable(host, "netfilter-persistent")

    return write


for _backend in ("nft", "legacy"):
    _setup = HostSetup(legacy_iptables=_backend == "legacy")
    SAVED_CONFIGS.append(
        SavedConfig(
            f"persistent-minimum-{_backend}",
            _persistent(PERSISTENT_MINIMUM),
            ("netfilter-persistent.service",),
            _setup,
            ("198.19.1.1", "198.19.100.1"),
            expect=(
                (OUT, 8086, "198.19.1.1", "accept"),
                (OUT, 8086, "198.19.100.1", "drop"),
                (OUT, 8087, "198.19.100.1", "reject"),
                (IN, 2548, "198.19.1.1", "accept"),
            ),
        )
    )
SAVED_CONFIGS.append(
    SavedConfig(
        "persistent-reply-mistake",
        _persistent(PERSISTENT_REPLY_MISTAKE),
        ("netfilter-persistent.service",),
        expect=((OUT, 8086, "198.19.1.1", "drop"), (IN, 2548, "198.19.1.1", "accept")),
    )
)


# ufw: its own commands write user.rules while it is disabled; the image turns it on in ufw.conf


def _ufw(*commands: str, enabled: bool = True) -> Callable[[LabHost], None]:
    def write(host: LabHost) -> None:
        for command in commands:
            host.run("ufw", *command.split())
        if enabled:
            host.run("sed", "-i", "s/^ENABLED=.*/ENABLED=yes/", "/etc/ufw/ufw.conf")
        enable(host, "ufw")

    return write


UFW_AGENT = (
    "deny from 198.19.50.0/24",
    "allow 22/tcp",
    "allow from 198.19.0.0/17 to any port 2548 proto tcp",
)
UFW_MINIMUM = (
    "default deny outgoing",
    "allow out 53",
    "allow out to 198.19.0.0/18 port 8086:8087 proto tcp",
    "allow 2548/tcp",
    "reject out to 198.19.60.0/24",
)
SAVED_CONFIGS += [
    SavedConfig(
        "ufw-defaults",
        _ufw(),
        ("ufw.service",),
        expect=((IN, 2548, "198.19.1.1", "drop"), (OUT, 8086, "198.19.1.1", "accept")),
    ),
    SavedConfig(
        "ufw-agent-open",
        _ufw(*UFW_AGENT),
        ("ufw.service",),
        extra=("198.19.50.1", "198.19.128.1"),
        expect=(
            (IN, 2548, "198.19.1.1", "accept"),
            (IN, 2548, "198.19.50.1", "drop"),
            (IN, 2548, "198.19.128.1", "drop"),
        ),
    ),
    SavedConfig(
        "ufw-agent-open-legacy",
        _ufw(*UFW_AGENT),
        ("ufw.service",),
        HostSetup(legacy_iptables=True),
        ("198.19.50.1",),
        expect=((IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.50.1", "drop")),
    ),
    SavedConfig(
        "ufw-outbound-minimum",
        _ufw(*UFW_MINIMUM),
        ("ufw.service",),
        extra=("198.19.60.1", "198.19.100.1"),
        expect=(
            (OUT, 8086, "198.19.1.1", "accept"),
            (OUT, 8086, "198.19.100.1", "drop"),
            (IN, 2548, "198.19.1.1", "accept"),
        ),
    ),
    SavedConfig(
        "ufw-disabled",
        _ufw(*UFW_MINIMUM, enabled=False),
        ("ufw.service",),
        expect=((OUT, 8086, "198.19.100.1", "accept"), (IN, 2548, "198.19.200.1", "accept")),
    ),
]


# firewalld: firewall-offline-cmd writes the permanent configuration (the image-build tool)


def _firewalld(*commands: str) -> Callable[[LabHost], None]:
    def write(host: LabHost) -> None:
        for command in commands:
            host.run("firewall-offline-cmd", *_split(command))
        enable(host, "firewalld")

    return write


def _split(command: str) -> list[str]:
    from tests.lab.firewall_tools import _split as split

    return split(command)


SAVED_CONFIGS += [
    SavedConfig(
        "firewalld-default",
        _firewalld(),
        ("firewalld.service",),
        expect=((IN, 2548, "198.19.1.1", "reject"), (OUT, 8086, "198.19.1.1", "accept")),
    ),
    SavedConfig(
        "firewalld-agent-open",
        _firewalld(
            "--zone=public --add-port=2548/tcp",
            "--zone=drop --add-source=198.19.20.0/24",
            "--zone=public --add-rich-rule='rule family=ipv4 source address=198.19.5.0/24 port port=2548 "
            "protocol=tcp reject'",
        ),
        ("firewalld.service",),
        extra=("198.19.5.1", "198.19.20.1"),
        expect=(
            (IN, 2548, "198.19.1.1", "accept"),
            (IN, 2548, "198.19.5.1", "reject"),
            (IN, 2548, "198.19.20.1", "drop"),
        ),
    ),
    SavedConfig(
        "firewalld-outbound-minimum",
        _firewalld(
            "--new-policy=egress",
            "--policy=egress --add-ingress-zone=HOST",
            "--policy=egress --add-egress-zone=ANY",
            "--policy=egress --set-target=REJECT",
            "--policy=egress --add-rich-rule='rule family=ipv4 destination address=198.19.0.0/18 "
            "port port=8086-8087 protocol=tcp accept'",
            "--zone=public --add-port=2548/tcp",
        ),
        ("firewalld.service",),
        extra=("198.19.1.1", "198.19.100.1"),
        expect=(
            (OUT, 8086, "198.19.1.1", "accept"),
            (OUT, 8086, "198.19.100.1", "reject"),
            (IN, 2548, "198.19.1.1", "accept"),
        ),
    ),
    SavedConfig(
        "firewalld-zone-by-interface",
        _firewalld("--zone=public --add-port=2548/tcp", "--zone=drop --add-interface=eth1"),
        ("firewalld.service",),
        TWO_LINKS,
        ("198.19.200.1",),
        expect=((IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.200.1", "drop")),
    ),
]


@image(
    "firewalld-iptables-backend",
    ("firewalld.service",),
    extra=("198.19.20.1",),
    expect=((IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.20.1", "drop")),
)
def _firewalld_iptables(host: LabHost) -> None:
    host.run("sed", "-i", "s/^FirewallBackend=.*/FirewallBackend=iptables/", "/etc/firewalld/firewalld.conf")
    _firewalld("--zone=public --add-port=2548/tcp", "--zone=drop --add-source=198.19.20.0/24")(host)


# two services enabled at once


@image(
    "nftables-and-persistent",
    ("nftables.service", "netfilter-persistent.service"),
    extra=("198.19.1.1", "198.19.100.1", "198.19.30.1"),
    runner_nft=True,
    expect=(
        (OUT, 8086, "198.19.100.1", "drop"),
        (IN, 2548, "198.19.30.1", "drop"),
        (IN, 2548, "198.19.1.1", "accept"),
    ),
)
def _nft_and_persistent(host: LabHost) -> None:
    _persistent(PERSISTENT_MINIMUM)(host)
    host.write(
        "/etc/nftables.conf",
        """\
table inet blocklist {
    chain input {
        type filter hook input priority -10; policy accept;
        ip saddr 198.19.30.0/24 drop
    }
}
""",
    )
    enable(host, "nftables")


@image(
    "ufw-and-firewalld",
    ("ufw.service", "firewalld.service"),
    extra=("198.19.50.1",),
    expect=((IN, 2548, "198.19.200.1", "drop"),),
)
def _ufw_and_firewalld(host: LabHost) -> None:
    _ufw(*UFW_AGENT)(host)
    _firewalld("--zone=public --add-port=2548/tcp")(host)


@image("ufw-and-persistent-order", ("ufw.service", "netfilter-persistent.service"))
def _ufw_and_persistent(host: LabHost) -> None:
    _ufw(*UFW_AGENT)(host)
    _persistent(PERSISTENT_REPLY_MISTAKE)(host)
