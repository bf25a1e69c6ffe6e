"""What firewall managers and their users load: iptables-services and netfilter-persistent files
(both backends), Docker's chains, ufw, firewalld (its own D-Bus), fail2ban."""

from __future__ import annotations

from tests.lab import firewall_tools as tools
from tests.lab.firewall_configs import CONFIGS, TWO_LINKS, Config, config
from tests.lab.firewall_lab import HostSetup, LabHost

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

# iptables-nft loads reversed ranges ("xt_iprange: range ... is reversed and will never match"; legacy
# refuses them): they hold no address, negated every address.
REVERSED_RANGES_V4 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m iprange --src-range 198.19.92.20-198.19.92.10 -j DROP
-A INPUT -s 198.19.96.0/24 -m iprange ! --src-range 198.19.96.20-198.19.96.10 -j REJECT
-A OUTPUT -p tcp -m iprange --dst-range 198.19.94.20-198.19.94.10 -j DROP
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


@config("iptables-reversed-ranges-nft", extra=("198.19.92.15", "198.19.94.15", "198.19.96.15"))
def _reversed_ranges(host: LabHost) -> None:
    tools.iptables_restore(host, REVERSED_RANGES_V4, "nft")


# A host whose address is on a bridge: the bridge family's chains (ebtables-nft here, as libvirt and
# LXC hosts have them) see its frames. Rules there are not evaluated: an accept they may overrule
# is unknown, never "allowed".
BRIDGED = HostSetup(bridged=True)


@config(
    "ebtables-bridged-host-drops",
    BRIDGED,
    ("198.19.50.1", "198.19.60.1", "198.19.70.1"),
    real_tool=False,  # unknown by design: the bridge family is not evaluated
)
def _ebtables_drops(host: LabHost) -> None:
    host.run("ebtables-nft", "-A", "INPUT", "-p", "IPv4", "--ip-src", "198.19.50.0/24",
             "--ip-proto", "tcp", "--ip-dport", "2548", "-j", "DROP")  # fmt: skip
    host.run("ebtables-nft", "-A", "OUTPUT", "-p", "IPv4", "--ip-dst", "198.19.60.0/24",
             "--ip-proto", "tcp", "--ip-dport", "8086", "-j", "DROP")  # fmt: skip
    tools.iptables(host, "nft", "-A", "INPUT", "-s", "198.19.70.0/24", "-p", "tcp", "-j", "DROP")


@config("ebtables-bridged-host-empty", BRIDGED, ("198.19.70.1",))
def _ebtables_empty(host: LabHost) -> None:
    """The bridge family's tables as ebtables-nft makes them, empty and accepting: judged in full."""
    host.run("ebtables-nft", "-L")
    tools.iptables(host, "nft", "-A", "INPUT", "-s", "198.19.70.0/24", "-p", "tcp", "-j", "DROP")


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


# fail2ban's ipset actions (CentOS and RHEL hosts use them): the banned addresses live in an ipset
# that a `-m set --match-set` rule rejects, read with `ipset save`.
@config("fail2ban-iptables-ipset", extra=("198.19.5.5", "198.19.5.6", "198.19.7.7"))
def _fail2ban_iptables_ipset(host: LabHost) -> None:
    tools.fail2ban(
        host,
        JAIL_LOCAL.format(action="iptables-ipset-proto6-allports", ports="ssh"),
        {"sshd": ["198.19.5.5", "198.19.7.7"]},
    )


# fail2ban on a firewalld host (RHEL's way): its ipset, and a direct rule firewalld passes to
# iptables (nft backend) beside its own nftables table.
@config("firewalld-fail2ban-ipset", extra=("198.19.5.5", "198.19.5.6"))
def _firewalld_fail2ban_ipset(host: LabHost) -> None:
    tools.firewalld(host, "--zone=public --add-interface=eth0", "--add-port=2548/tcp")
    tools.fail2ban(
        host, JAIL_LOCAL.format(action="firewallcmd-ipset", ports="ssh,2548"), {"sshd": ["198.19.5.5"]}
    )


@config("fail2ban-iptables", extra=("198.19.5.5",))
def _fail2ban_iptables(host: LabHost) -> None:
    tools.fail2ban(host, JAIL_LOCAL.format(action="iptables-allports", ports="ssh"), {"sshd": ["198.19.5.5"]})


@config("fail2ban-iptables-multiport", HostSetup(legacy_iptables=True), ("198.19.5.5",))
def _fail2ban_iptables_multiport(host: LabHost) -> None:
    tools.fail2ban(
        host, JAIL_LOCAL.format(action="iptables-multiport", ports="ssh,2548"), {"sshd": ["198.19.5.5"]}
    )
