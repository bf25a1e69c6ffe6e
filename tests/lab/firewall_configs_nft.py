"""Hand-written nftables rulesets (hardened hosts and every hook, family and feature), and the
nftables files Debian ships, loaded with nft -f."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import firewall_tools as tools
from tests.lab.firewall_configs import CONFIGS, EXAMPLE_LINKS, TWO_LINKS, Config, config
from tests.lab.firewall_lab import HostSetup, LabHost

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
