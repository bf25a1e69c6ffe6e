"""The host configurations the evaluator is proved on, each set up the way its users do it.

Egress flows go to 198.19.0.0/16 on 8086 and 8087, the inbound flow comes from there to 2548.
Each configuration has faults in some parts of that range (drops, rejects, bans, ...), so that
one comparison covers several verdicts. `real_tool` configurations are what a real firewall
manager produced: no "unknown" may remain there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

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

    @property
    def needs(self) -> tuple[str, ...]:
        """The tools its loading runs, beside nft and iptables (which every lab needs)."""
        for prefix, tools in _TOOLS.items():
            if self.name.startswith(prefix):
                return tools
        return ()


_TOOLS = {  # the first prefix that fits
    "fail2ban-iptables-ipset": ("fail2ban-server", "fail2ban-client", "ipset"),
    "firewalld-fail2ban": ("firewalld", "firewall-cmd", "dbus-daemon", "fail2ban-server", "ipset"),
    "firewalld-": ("firewalld", "firewall-cmd", "dbus-daemon"),
    "ufw-": ("ufw",),
    "fail2ban-": ("fail2ban-server", "fail2ban-client"),
}


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


# The configurations register themselves on import; they need CONFIGS and config() defined above.
from tests.lab import firewall_configs_managed, firewall_configs_nft  # noqa: E402, F401

# What each configuration is built to give, beside agreeing with the kernel: proof that it loaded.
E, IN = "egress", "inbound"
EXPECT: dict[str, tuple[tuple[str, int, str, str], ...]] = {
    "firewalld-fail2ban-ipset": ((IN, 2548, "198.19.5.5", "reject"), (IN, 2548, "198.19.5.6", "accept")),
    "fail2ban-iptables-ipset": ((IN, 2548, "198.19.5.5", "reject"), (IN, 2548, "198.19.7.7", "reject"),
                                (IN, 2548, "198.19.5.6", "accept")),
    "ebtables-bridged-host-drops": ((IN, 2548, "198.19.50.1", "unknown"), (E, 8086, "198.19.60.1", "unknown"),
                                    (IN, 2548, "198.19.70.1", "drop")),
    "ebtables-bridged-host-empty": ((IN, 2548, "198.19.70.1", "drop"), (E, 8086, "198.19.60.1", "accept")),
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
    "iptables-reversed-ranges-nft": ((IN, 2548, "198.19.92.15", "accept"),
                                     (E, 8086, "198.19.94.15", "accept"),
                                     (IN, 2548, "198.19.96.15", "reject")),
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
