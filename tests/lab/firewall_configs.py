"""The host configurations the evaluator is proved on, each set up the way its users do it.

Egress flows go to 198.19.0.0/16 on 8086 and 8087, the inbound flow comes from there to 2548.
Each configuration has faults in some parts of that range (drops, rejects, bans, ...), so that
one comparison covers several verdicts. `real_tool` configurations are what a real firewall
manager produced: no "unknown" may remain there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tests.lab import firewall_tools as tools
from tests.lab.firewall_lab import HostSetup, LabHost


@dataclass(frozen=True)
class Config:
    name: str
    load: Callable[[LabHost], None]
    setup: HostSetup = field(default_factory=HostSetup)
    extra: tuple[str, ...] = ()  # addresses probed besides the segments' edges
    real_tool: bool = True
    # (direction, port, address, verdict) the configuration is built to give: proof that it loaded
    expect: tuple[tuple[str, int, str, str], ...] = ()


CONFIGS: list[Config] = []


def config(
    name: str,
    setup: HostSetup | None = None,
    extra: tuple[str, ...] = (),
    real_tool: bool = True,
    expect: tuple[tuple[str, int, str, str], ...] = (),
) -> Callable[[Callable[[LabHost], None]], Callable[[LabHost], None]]:
    def register(load: Callable[[LabHost], None]) -> Callable[[LabHost], None]:
        CONFIGS.append(Config(name, load, setup or HostSetup(), extra, real_tool, expect))
        return load

    return register


TWO_LINKS = HostSetup(interfaces=("eth0", "eth1"))
EXAMPLE_LINKS = ("eth2", "eth3", "bond0", "bond1")

# hand-written nftables


@config("nft-hardened", HostSetup(port_range=(40000, 49999)), ("198.19.1.1", "198.19.64.1"))
def _nft_hardened(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state invalid drop
    ct state established,related accept
    iif lo accept
    tcp dport 22 accept
    ip saddr 198.19.0.0/17 tcp dport 2548 ct state new accept
  }
  chain output {
    type filter hook output priority filter; policy drop;
    ct state established,related accept
    oif lo accept
    tcp sport 22 accept
    ip daddr 198.19.0.0/18 tcp dport { 8086, 8087 } accept
    ip daddr 198.19.64.0/18 tcp dport 8087 reject with tcp reset
    udp dport 53 accept
  }
}
""",
    )


@config("nft-stateless-replies", extra=("198.19.3.3",))
def _nft_stateless(host: LabHost) -> None:
    tools.nft(
        host,
        """
table ip filter {
  chain INPUT {
    type filter hook input priority 0; policy drop;
    tcp dport 2548 accept
    tcp dport 22 accept
  }
  chain OUTPUT {
    type filter hook output priority 0; policy drop;
    tcp dport { 8086, 8087 } accept
    tcp sport 2548 ip daddr 198.19.0.0/17 accept
  }
}
""",
    )


@config("nft-hooks-everywhere", extra=("198.19.100.1", "198.19.50.9", "198.19.60.7", "198.19.61.1"))
def _nft_hooks(host: LabHost) -> None:
    tools.nft(
        host,
        """
table ip raw {
  set blocklist { type ipv4_addr; flags interval; elements = { 198.19.60.0/24, 198.19.62.1-198.19.62.9 } }
  chain PREROUTING { type filter hook prerouting priority raw; policy accept; ip saddr @blocklist drop; }
}
table inet mangle {
  chain prerouting { type filter hook prerouting priority mangle; policy accept;
    ip saddr 198.19.100.0/24 counter drop
  }
}
table inet post {
  chain postrouting { type filter hook postrouting priority 100; policy accept;
    ip daddr 198.19.50.0/24 tcp dport 8087 drop
    ip daddr 198.19.51.0/24 tcp sport 2548 drop
  }
}
table netdev edge {
  chain in0 { type filter hook ingress device "eth0" priority -500; policy accept;
    ip saddr 198.19.61.0/24 drop
  }
  chain out0 { type filter hook egress device "eth0" priority 0; policy accept;
    ip daddr 198.19.63.0/24 tcp dport 8086 drop
  }
}
""",
    )


@config("nft-netdev-drops-arp")
def _nft_netdev_arp(host: LabHost) -> None:
    tools.nft(
        host,
        """
table netdev edge {
  chain in0 { type filter hook ingress device "eth0" priority 0; policy drop;
    ip protocol tcp accept
  }
}
""",
    )


@config("nft-arp-filter")
def _nft_arp_filter(host: LabHost) -> None:
    tools.nft(
        host,
        """
table arp filter {
  chain input { type filter hook input priority 0; policy accept; arp operation reply drop; }
}
""",
    )


@config("nft-dormant", extra=("198.19.9.9",))
def _nft_dormant(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet asleep {
  flags dormant
  chain input { type filter hook input priority -10; policy drop; }
  chain output { type filter hook output priority -10; policy drop; }
}
table inet awake {
  chain output { type filter hook output priority 0; policy accept; ip daddr 198.19.9.0/24 drop; }
}
""",
    )


@config("nft-interfaces", TWO_LINKS, ("198.19.200.1", "198.19.2.2"))
def _nft_interfaces(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    iifname "eth1" tcp dport 2548 accept
    iifname "eth0" ip saddr 198.19.0.0/18 tcp dport 2548 accept
  }
  chain output { type filter hook output priority 0; policy accept;
    oifname "eth1" tcp dport 8087 drop
    oifname "eth*" ip daddr 198.19.100.0/24 reject
  }
}
""",
    )


@config("nft-marks", extra=("198.19.70.1", "198.19.71.1", "198.19.72.1"))
def _nft_marks(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet mangle {
  chain output { type route hook output priority mangle; policy accept;
    ip daddr 198.19.70.0/24 meta mark set 0x10
    ip daddr 198.19.71.0/24 meta mark set meta mark | 0x20
    ip daddr 198.19.72.0/24 ct mark set 0x5
  }
  chain prerouting { type filter hook prerouting priority mangle; policy accept;
    ip saddr 198.19.73.0/24 meta mark set 0x40
  }
}
table inet filter {
  chain output { type filter hook output priority 0; policy accept;
    meta mark 0x10 tcp dport 8087 drop
    meta mark & 0x20 == 0x20 reject
  }
  chain input { type filter hook input priority 0; policy accept;
    ct mark 0x5 drop
    meta mark 0x40 drop
  }
}
""",
    )


@config("nft-owner", HostSetup(agent_uid=4242, agent_gid=4242), ("198.19.20.1",))
def _nft_owner(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  chain output { type filter hook output priority 0; policy drop;
    oif lo accept
    meta skuid 4242 ip daddr != 198.19.20.0/24 accept
    meta skuid != 4242 tcp dport 8087 reject
  }
  chain input { type filter hook input priority 0; policy accept;
    meta skuid 4242 ip saddr 198.19.21.0/24 tcp sport { 8086, 8087 } drop
  }
}
""",
    )


@config("nft-notrack", extra=("198.19.80.1", "198.19.81.1", "198.19.82.1"))
def _nft_notrack(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet raw {
  chain output { type filter hook output priority raw; policy accept;
    ip daddr { 198.19.80.0/24, 198.19.81.0/24 } notrack
  }
  chain prerouting { type filter hook prerouting priority raw; policy accept;
    ip saddr 198.19.81.0/24 notrack
    ip saddr 198.19.82.0/24 tcp dport 2548 notrack
  }
}
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established accept
    ct state untracked accept
    tcp dport 2548 ct state new accept
  }
  chain output { type filter hook output priority 0; policy accept;
    ct state untracked tcp sport 2548 drop
  }
}
""",
    )


@config("nft-maps-and-sets", extra=("198.19.7.7", "198.19.8.8", "198.19.9.1", "198.19.10.1"))
def _nft_maps(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  set service { type ipv4_addr . inet_service; flags interval;
    elements = { 198.19.1.0/24 . 8086-8087, 198.19.2.0/24 . 8087 } }
  map decide { type ipv4_addr : verdict; flags interval;
    elements = { 198.19.7.0/24 : drop, 198.19.8.0/24 : jump audit, 198.19.10.0/24 : accept } }
  chain audit { tcp dport 8086 reject; return; }
  chain output { type filter hook output priority 0; policy accept;
    ip daddr . tcp dport @service accept
    ip daddr vmap @decide
    ip daddr vmap { 198.19.9.0/24 : drop, 198.19.11.1 : drop }
  }
  chain input { type filter hook input priority 0; policy accept;
    ct state vmap { established : accept, related : accept, invalid : drop }
    ip saddr . tcp dport { 198.19.12.0/24 . 2548 } reject with tcp reset
  }
}
""",
    )


@config("nft-fib", extra=("198.19.30.1",))
def _nft_fib(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  chain prerouting { type filter hook prerouting priority -300; policy accept;
    fib saddr . iif oif missing drop
  }
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    fib daddr type local tcp dport 2548 ip saddr != 198.19.30.0/24 accept
  }
  chain output { type filter hook output priority 0; policy accept;
    fib daddr type local accept
    fib daddr type != unicast drop
  }
}
""",
    )


@config("nft-nat", extra=("198.19.40.1",))
def _nft_nat(host: LabHost) -> None:
    tools.nft(
        host,
        """
table ip nat {
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to 198.18.0.2:80
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" masquerade
  }
  chain output { type nat hook output priority -100; policy accept;
    ip daddr 198.19.40.0/24 tcp dport 8087 drop
  }
}
table inet filter {
  chain input { type filter hook input priority 0; policy accept; ct status dnat drop; }
}
""",
    )


@config("nft-reject-answers", extra=("198.19.90.1", "198.19.91.1"))
def _nft_reject_answers(host: LabHost) -> None:
    tools.nft(
        host,
        """
table inet filter {
  chain input { type filter hook input priority 0; policy drop;
    ct state established accept
    ip saddr 198.19.90.0/24 tcp dport 2548 reject with tcp reset
    ip saddr 198.19.91.0/24 tcp dport 2548 reject
    tcp dport 2548 accept
  }
  chain output { type filter hook output priority 0; policy drop;
    ct state established accept
    ct state related tcp flags rst accept
    ip daddr 198.19.90.0/24 tcp dport 8086 reject
    ip daddr 198.19.91.0/24 tcp dport 8086 reject with tcp reset
    tcp dport { 8086, 8087 } accept
  }
}
""",
    )


# the nftables files Debian ships


def _example(file: str, prepare: str = "") -> Callable[[LabHost], None]:
    def load(host: LabHost) -> None:
        if prepare:
            tools.nft(host, prepare, name="prepare.nft")
        host.run("sh", "-c", f"cd {tools.EXAMPLES} && nft -f {file}")  # its includes are ./relative

    return load


EXAMPLE_FILES = {  # file -> why it is left out, or ""
    "all-in-one.nft": "", "arp-filter.nft": "", "bridge-filter.nft": "", "ct_helpers.nft": "",
    "inet-filter.nft": "", "inet-nat.nft": "", "ipv4-filter.nft": "", "ipv4-mangle.nft": "",
    "ipv4-nat.nft": "", "ipv4-raw.nft": "", "ipv6-filter.nft": "", "ipv6-mangle.nft": "",
    "ipv6-nat.nft": "", "ipv6-raw.nft": "", "nat.nft": "", "netdev-ingress.nft": "", "overview.nft": "",
    "sets_and_maps.nft": "", "workstation.nft": "",
    "load_balancing.nft": "this kernel refuses its nat chain at priority -300 (Operation not supported)",
    "secmark.nft": "needs SELinux secmark contexts, which this kernel does not have",
}  # fmt: skip
for _file, _why in EXAMPLE_FILES.items():
    if not _why:
        CONFIGS.append(
            Config(
                f"debian-example-{_file.removesuffix('.nft')}",
                _example(_file, "table ip filter {}\n" if _file == "sets_and_maps.nft" else ""),
                HostSetup(interfaces=("eth0", "eth1"), extra_links=EXAMPLE_LINKS),
            )
        )
CONFIGS.append(Config("debian-nftables-conf", lambda h: tools.nft_file(h, "/etc/nftables.conf")))


# iptables-save files loaded with iptables-restore, on both backends

RHEL_SYSCONFIG_IPTABLES = """\
# sample configuration for iptables service (RHEL /etc/sysconfig/iptables), port 2548 opened
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -s 198.19.0.0/17 -p tcp -m state --state NEW -m tcp --dport 2548 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""

PERSISTENT_RULES_V4 = """\
# /etc/iptables/rules.v4 of a hardened Debian host (netfilter-persistent)
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -s 198.19.90.0/24 -j DROP
-A OUTPUT -d 198.19.91.0/24 -p tcp -m tcp --dport 8087 -j CT --notrack
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m iprange --src-range 198.19.92.10-198.19.92.20 -j DROP
-A OUTPUT -d 198.19.93.0/24 -j MARK --set-xmark 0x7/0xffffffff
-A OUTPUT -m mark --mark 0x7 -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A POSTROUTING -d 198.19.94.0/24 -p tcp -m multiport --dports 8086,8090:8099 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
:LOGDROP - [0:0]
:AGENT - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "ssh from anywhere" -j ACCEPT
-A INPUT -p tcp -m tcp --dport 2548 -m conntrack --ctstate NEW -j AGENT
-A INPUT -j LOGDROP
-A AGENT -s 198.19.95.0/24 -p tcp -j REJECT --reject-with tcp-reset
-A AGENT -m connmark --mark 0x7 -j DROP
-A AGENT -s 198.19.0.0/17 -j ACCEPT
-A AGENT -m addrtype --src-type LOCAL -j ACCEPT
-A LOGDROP -m limit --limit 5/min -j LOG --log-prefix "dropped: "
-A LOGDROP -j DROP
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A OUTPUT -p tcp -m tcp --sport 22 -j ACCEPT
-A OUTPUT -d 198.19.0.0/17 -p tcp -m multiport --dports 8086,8087 -m conntrack --ctstate NEW -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 8087 -m conntrack --ctstate NEW -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 8086 -j REJECT --reject-with icmp-admin-prohibited
COMMIT
"""

STATELESS_RULES_V4 = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 2548 -j ACCEPT
-A INPUT -p tcp -m tcp --sport 8086 ! -s 198.19.128.0/17 -j ACCEPT
COMMIT
"""

OWNER_RULES_V4 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT DROP [0:0]
-A OUTPUT -o lo -j ACCEPT
-A OUTPUT -m owner --uid-owner 4242 -d 198.19.0.0/17 -j ACCEPT
-A OUTPUT -m owner ! --uid-owner 4242 -p tcp -m tcp --sport 2548 -j ACCEPT
-A OUTPUT -m owner --gid-owner 4242 -p tcp -m tcp --sport 2548 -j ACCEPT
-A OUTPUT -p tcp -m tcp --dport 8087 -j REJECT --reject-with tcp-reset
COMMIT
"""

for _backend in ("nft", "legacy"):
    CONFIGS.append(
        Config(
            f"iptables-services-{_backend}",
            lambda h, b=_backend: tools.iptables_restore(h, RHEL_SYSCONFIG_IPTABLES, b),
            extra=("198.19.128.1",),
        )
    )
    CONFIGS.append(
        Config(
            f"netfilter-persistent-{_backend}",
            lambda h, b=_backend: tools.iptables_restore(h, PERSISTENT_RULES_V4, b),
            HostSetup(port_range=(32768, 60999)),
            ("198.19.90.1", "198.19.91.1", "198.19.92.15", "198.19.93.1", "198.19.94.1", "198.19.95.1"),
        )
    )
    CONFIGS.append(
        Config(
            f"iptables-stateless-{_backend}",
            lambda h, b=_backend: tools.iptables_restore(h, STATELESS_RULES_V4, b),
            extra=("198.19.200.1",),
        )
    )
    CONFIGS.append(
        Config(
            f"iptables-owner-{_backend}",
            lambda h, b=_backend: tools.iptables_restore(h, OWNER_RULES_V4, b),
            HostSetup(agent_uid=4242, agent_gid=4242),
        )
    )


@config("legacy-policy-drop-no-rules")
def _legacy_policy(host: LabHost) -> None:
    tools.iptables(host, "legacy", "-P", "OUTPUT", "DROP")
    tools.nft(
        host,
        "table inet filter {\n  chain output { type filter hook output priority 0; policy accept; }\n}\n",
    )


@config("legacy-and-nft-together", extra=("198.19.10.1", "198.19.11.1", "198.19.12.1"))
def _legacy_and_nft(host: LabHost) -> None:
    tools.iptables_restore(
        host,
        """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 198.19.10.0/24 -j DROP
-A OUTPUT -d 198.19.11.0/24 -p tcp -m tcp --dport 8086 -j REJECT
COMMIT
""",
        "legacy",
    )
    tools.iptables_restore(
        host,
        """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 198.19.12.0/24 -p tcp -m tcp --dport 2548 -j DROP
COMMIT
""",
        "nft",
    )
    tools.nft(
        host,
        """
table inet filter {
  chain output { type filter hook output priority 10; policy accept; ip daddr 198.19.13.0/24 drop; }
}
""",
    )


# Docker's chains, as dockerd (24-27, iptables backend) creates them for the default bridge and one
# container publishing 8080: dockerd cannot run in this lab, so its rules are loaded as it writes them.
DOCKER_RULES = """\
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
"""

for _backend in ("nft", "legacy"):
    CONFIGS.append(
        Config(f"docker-{_backend}", lambda h, b=_backend: tools.iptables_restore(h, DOCKER_RULES, b))
    )


# ufw, as an admin configures it, on both iptables backends

UFW_SERVER = (
    "default deny incoming",
    "default allow outgoing",
    "allow 22/tcp",
    "limit 22/tcp",
    "allow from 198.19.0.0/17 to any port 2548 proto tcp",
    "deny from 198.19.50.0/24",
    "reject out to 198.19.60.0/24 port 8087 proto tcp",
)
UFW_LOCKED_DOWN = (
    "default deny incoming",
    "default deny outgoing",
    "allow out 53",
    "allow out to 198.19.0.0/18 port 8086:8087 proto tcp",
    "deny out to 198.19.20.0/24",
    "allow in on eth0 to any port 2548 proto tcp",
    "reject in on eth1 to any port 2548 proto tcp",
)
for _backend in ("nft", "legacy"):
    _setup = HostSetup(legacy_iptables=_backend == "legacy")
    CONFIGS.append(
        Config(
            f"ufw-server-{_backend}",
            lambda h: tools.ufw(h, *UFW_SERVER),
            _setup,
            ("198.19.50.1", "198.19.60.1", "198.19.128.1"),
        )
    )
    CONFIGS.append(
        Config(
            f"ufw-locked-down-{_backend}",
            lambda h: tools.ufw(h, *UFW_LOCKED_DOWN),
            HostSetup(interfaces=("eth0", "eth1"), legacy_iptables=_backend == "legacy"),
            ("198.19.20.1", "198.19.200.1"),
        )
    )


# firewalld, its daemon running inside the host, configured with firewall-cmd


@config("firewalld-default", extra=("198.19.1.1",))
def _firewalld_default(host: LabHost) -> None:
    tools.firewalld(host, "--zone=public --add-interface=eth0", "--add-port=2548/tcp")


@config("firewalld-closed")
def _firewalld_closed(host: LabHost) -> None:
    tools.firewalld(host)


@config("firewalld-zones-by-source", extra=("198.19.10.1", "198.19.20.1", "198.19.30.1", "198.19.40.1"))
def _firewalld_sources(host: LabHost) -> None:
    tools.firewalld(
        host,
        "--zone=public --add-interface=eth0",
        "--zone=trusted --add-source=198.19.10.0/24",
        "--zone=drop --add-source=198.19.20.0/24",
        "--zone=block --add-source=198.19.30.0/24",
        "--zone=internal --add-source=198.19.40.0/23",
        "--zone=internal --add-port=2548/tcp",
    )


@config("firewalld-zones-by-interface", TWO_LINKS, ("198.19.200.1",))
def _firewalld_interfaces(host: LabHost) -> None:
    tools.firewalld(
        host,
        "--zone=public --add-interface=eth0",
        "--zone=public --add-port=2548/tcp",
        "--zone=drop --add-interface=eth1",
    )


@config("firewalld-rich-rules", extra=("198.19.5.1", "198.19.6.1", "198.19.7.1", "198.19.8.1"))
def _firewalld_rich(host: LabHost) -> None:
    tools.firewalld(
        host,
        "--add-rich-rule='rule family=ipv4 source address=198.19.5.0/24 port port=2548 protocol=tcp reject'",
        "--add-rich-rule='rule family=ipv4 source address=198.19.6.0/24 drop'",
        "--add-rich-rule='rule family=ipv4 source address=198.19.0.0/17 port port=2548 protocol=tcp accept'",
        "--add-rich-rule='rule family=ipv4 source address=198.19.7.0/24 port port=2548 protocol=tcp log "
        "prefix=agent level=info accept'",
        "--add-rich-rule='rule family=ipv4 source address=198.19.8.0/24 service name=ssh accept'",
    )


@config("firewalld-services")
def _firewalld_services(host: LabHost) -> None:
    tools.firewalld_config(
        host,
        "services/buagent.xml",
        """<?xml version="1.0" encoding="utf-8"?>
<service>
  <short>BUAgent</short>
  <description>IBM Cloud Backup agent management port</description>
  <port protocol="tcp" port="2548"/>
</service>
""",
    )
    tools.firewalld(host, "--add-service=buagent", "--add-service=http", "--remove-service=ssh")


@config("firewalld-outbound-policy", extra=("198.19.1.1", "198.19.70.1", "198.19.100.1"))
def _firewalld_policy(host: LabHost) -> None:
    tools.firewalld(
        host,
        "--permanent --new-policy=egress",
        "--permanent --policy=egress --add-ingress-zone=HOST",
        "--permanent --policy=egress --add-egress-zone=ANY",
        "--permanent --policy=egress --set-target=REJECT",
        "--permanent --policy=egress --add-rich-rule='rule family=ipv4 destination address=198.19.0.0/18 "
        "port port=8086-8087 protocol=tcp accept'",
        "--permanent --policy=egress --add-rich-rule='rule family=ipv4 destination "
        "address=198.19.70.0/24 drop'",
        "--permanent --add-port=2548/tcp",
        "--reload",
    )


@config("firewalld-iptables-backend", extra=("198.19.20.1",))
def _firewalld_iptables(host: LabHost) -> None:
    conf = (host.workdir / "etc" / "firewalld" / "firewalld.conf").read_text()
    tools.firewalld_config(
        host, "firewalld.conf", conf.replace("FirewallBackend=nftables", "FirewallBackend=iptables")
    )
    tools.firewalld(host, "--add-port=2548/tcp", "--zone=drop --add-source=198.19.20.0/24")


# fail2ban's sshd jail with a banned address in the peer range

JAIL_LOCAL = """\
[DEFAULT]
banaction = {action}
banaction_allports = {action}
backend = polling
[sshd]
enabled = true
port = {ports}
logpath = /var/log/auth.log
"""


@config("fail2ban-nftables", extra=("198.19.5.5", "198.19.5.6"))
def _fail2ban_nft(host: LabHost) -> None:
    tools.fail2ban(host, JAIL_LOCAL.format(action="nftables-allports", ports="ssh"), {"sshd": ["198.19.5.5"]})


@config("fail2ban-nftables-multiport", extra=("198.19.5.5", "198.19.6.6"))
def _fail2ban_nft_multiport(host: LabHost) -> None:
    tools.fail2ban(
        host,
        JAIL_LOCAL.format(action="nftables-multiport", ports="ssh,2548"),
        {"sshd": ["198.19.5.5", "198.19.6.6"]},
    )


@config("fail2ban-iptables", extra=("198.19.5.5",))
def _fail2ban_iptables(host: LabHost) -> None:
    tools.fail2ban(host, JAIL_LOCAL.format(action="iptables-allports", ports="ssh"), {"sshd": ["198.19.5.5"]})


@config("fail2ban-iptables-multiport", HostSetup(legacy_iptables=True), ("198.19.5.5",))
def _fail2ban_iptables_multiport(host: LabHost) -> None:
    tools.fail2ban(
        host, JAIL_LOCAL.format(action="iptables-multiport", ports="ssh,2548"), {"sshd": ["198.19.5.5"]}
    )


# What each configuration is built to give, beside agreeing with the kernel: proof that it loaded.
E, IN = "egress", "inbound"
EXPECT: dict[str, tuple[tuple[str, int, str, str], ...]] = {
    "nft-hardened": ((E, 8086, "198.19.1.1", "accept"), (E, 8087, "198.19.64.1", "reject"),
                     (E, 8086, "198.19.200.1", "drop"), (IN, 2548, "198.19.1.1", "accept"),
                     (IN, 2548, "198.19.200.1", "drop")),
    "nft-stateless-replies": ((E, 8086, "198.19.3.3", "drop"), (IN, 2548, "198.19.1.1", "accept"),
                              (IN, 2548, "198.19.200.1", "drop")),
    "nft-hooks-everywhere": ((IN, 2548, "198.19.100.1", "drop"), (E, 8087, "198.19.50.9", "drop"),
                             (IN, 2548, "198.19.60.7", "drop"), (IN, 2548, "198.19.61.1", "drop"),
                             (E, 8086, "198.19.63.1", "drop"), (E, 8086, "198.19.1.1", "accept")),
    "nft-dormant": ((E, 8086, "198.19.9.9", "drop"), (E, 8086, "198.19.1.1", "accept")),
    "nft-netdev-drops-arp": ((E, 8086, "198.19.1.1", "drop"), (IN, 2548, "198.19.1.1", "drop")),
    "nft-arp-filter": ((E, 8086, "198.19.1.1", "drop"), (IN, 2548, "198.19.1.1", "drop")),
    "nft-interfaces": ((E, 8087, "198.19.200.1", "drop"), (IN, 2548, "198.19.200.1", "accept"),
                       (IN, 2548, "198.19.100.1", "drop"), (E, 8086, "198.19.100.1", "reject")),
    "nft-marks": ((E, 8087, "198.19.70.1", "drop"), (E, 8086, "198.19.71.1", "reject"),
                  (E, 8086, "198.19.72.1", "drop"), (IN, 2548, "198.19.73.1", "drop")),
    "nft-owner": ((E, 8086, "198.19.1.1", "accept"), (E, 8086, "198.19.20.1", "drop"),
                  (IN, 2548, "198.19.1.1", "accept"), (E, 8086, "198.19.21.1", "drop")),
    "nft-notrack": ((E, 8086, "198.19.80.1", "drop"), (E, 8086, "198.19.81.1", "accept"),
                    (IN, 2548, "198.19.82.1", "accept"), (IN, 2548, "198.19.81.1", "drop")),
    "nft-maps-and-sets": ((E, 8086, "198.19.1.1", "accept"), (E, 8086, "198.19.7.7", "drop"),
                          (E, 8086, "198.19.8.8", "reject"), (E, 8087, "198.19.8.8", "accept"),
                          (E, 8086, "198.19.9.1", "drop"), (IN, 2548, "198.19.12.1", "reject")),
    "nft-fib": ((IN, 2548, "198.19.30.1", "drop"), (IN, 2548, "198.19.1.1", "accept")),
    "nft-nat": ((E, 8087, "198.19.40.1", "drop"), (E, 8086, "198.19.40.1", "accept")),
    "nft-reject-answers": ((IN, 2548, "198.19.90.1", "reject"), (IN, 2548, "198.19.91.1", "drop"),
                           (E, 8086, "198.19.90.1", "drop")),
    "iptables-services-nft": ((IN, 2548, "198.19.128.1", "reject"), (IN, 2548, "198.19.1.1", "accept")),
    "netfilter-persistent-nft": ((IN, 2548, "198.19.90.1", "drop"), (E, 8087, "198.19.91.1", "drop"),
                                 (IN, 2548, "198.19.92.15", "drop"), (E, 8086, "198.19.94.1", "drop"),
                                 (IN, 2548, "198.19.95.1", "reject"), (E, 8086, "198.19.200.1", "reject"),
                                 (E, 8087, "198.19.1.1", "accept"), (IN, 2548, "198.19.1.1", "accept")),
    "iptables-stateless-nft": ((E, 8086, "198.19.200.1", "drop"), (E, 8086, "198.19.1.1", "accept")),
    "iptables-owner-nft": ((E, 8086, "198.19.1.1", "accept"), (E, 8087, "198.19.200.1", "reject"),
                           (IN, 2548, "198.19.1.1", "accept")),
    "legacy-policy-drop-no-rules": ((E, 8086, "198.19.1.1", "drop"), (IN, 2548, "198.19.1.1", "drop")),
    "legacy-and-nft-together": ((IN, 2548, "198.19.10.1", "drop"), (E, 8086, "198.19.11.1", "reject"),
                                (IN, 2548, "198.19.12.1", "drop"), (E, 8086, "198.19.13.1", "drop")),
    "docker-nft": ((IN, 2548, "198.19.1.1", "accept"), (E, 8086, "198.19.1.1", "accept")),
    "ufw-server-nft": ((E, 8087, "198.19.60.1", "reject"), (IN, 2548, "198.19.128.1", "drop"),
                       (IN, 2548, "198.19.1.1", "accept")),
    "ufw-locked-down-nft": ((E, 8086, "198.19.1.1", "accept"), (E, 8086, "198.19.100.1", "drop"),
                            (IN, 2548, "198.19.200.1", "reject"), (IN, 2548, "198.19.1.1", "accept")),
    "firewalld-default": ((IN, 2548, "198.19.1.1", "accept"),),
    "firewalld-closed": ((IN, 2548, "198.19.1.1", "reject"), (E, 8086, "198.19.1.1", "accept")),
    "firewalld-zones-by-source": ((IN, 2548, "198.19.10.1", "accept"), (IN, 2548, "198.19.20.1", "drop"),
                                  (IN, 2548, "198.19.30.1", "reject"), (IN, 2548, "198.19.40.1", "accept"),
                                  (IN, 2548, "198.19.1.1", "reject")),
    "firewalld-zones-by-interface": ((IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.200.1", "drop")),
    "firewalld-rich-rules": ((IN, 2548, "198.19.5.1", "reject"), (IN, 2548, "198.19.6.1", "drop"),
                             (IN, 2548, "198.19.1.1", "accept"), (IN, 2548, "198.19.200.1", "reject")),
    "firewalld-services": ((IN, 2548, "198.19.1.1", "accept"),),
    "firewalld-outbound-policy": ((E, 8086, "198.19.1.1", "accept"), (E, 8086, "198.19.70.1", "drop"),
                                  (E, 8086, "198.19.100.1", "reject")),
    "firewalld-iptables-backend": ((IN, 2548, "198.19.20.1", "drop"), (IN, 2548, "198.19.1.1", "accept")),
    "fail2ban-nftables": ((IN, 2548, "198.19.5.5", "reject"), (IN, 2548, "198.19.5.6", "accept")),
    "fail2ban-nftables-multiport": ((IN, 2548, "198.19.5.5", "reject"), (IN, 2548, "198.19.6.6", "reject")),
    "fail2ban-iptables": ((IN, 2548, "198.19.5.5", "reject"), (IN, 2548, "198.19.5.6", "accept")),
    "fail2ban-iptables-multiport": ((IN, 2548, "198.19.5.5", "reject"),),
    "debian-example-workstation": ((IN, 2548, "198.19.1.1", "drop"), (E, 8086, "198.19.1.1", "accept")),
}  # fmt: skip
for _name, _twin in (
    ("iptables-services", ""),
    ("netfilter-persistent", ""),
    ("iptables-stateless", ""),
    ("iptables-owner", ""),
    ("docker", ""),
    ("ufw-server", ""),
    ("ufw-locked-down", ""),
):
    EXPECT[f"{_name}-legacy"] = EXPECT[f"{_name}-nft"]
CONFIGS[:] = [replace(c, expect=EXPECT.get(c.name, ())) for c in CONFIGS]
