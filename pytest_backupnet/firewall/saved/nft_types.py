"""nft's datatypes of the expressions a rule compares: how a constant of each is read and written.

A rule's left side fixes the datatype of its right side (`tcp dport ssh` is a port, `meta l4proto
tcp` a protocol, `ct state new` a bit of a bitmask); the constant is written in nft's JSON the way
`nft -j` writes it, so the live path's JSON reader gives both paths the same meaning.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import values as v

# kind of each payload field, per protocol
PAYLOAD: dict[str, dict[str, str]] = {
    "ip": {
        "saddr": "ipv4",
        "daddr": "ipv4",
        "protocol": "proto",
        "version": "int",
        "hdrlength": "int",
        "dscp": "dscp",
        "ecn": "ecn",
        "length": "int",
        "id": "int",
        "frag-off": "int",
        "ttl": "int",
        "checksum": "int",
    },
    "ip6": {
        "saddr": "ipv6",
        "daddr": "ipv6",
        "nexthdr": "proto",
        "hoplimit": "int",
        "flowlabel": "int",
        "dscp": "dscp",
        "ecn": "ecn",
        "length": "int",
        "version": "int",
        "priority": "int",
    },
    "tcp": {
        "sport": "port",
        "dport": "port",
        "flags": "tcpflags",
        "sequence": "int",
        "ackseq": "int",
        "doff": "int",
        "window": "int",
        "checksum": "int",
        "urgptr": "int",
        "reserved": "int",
    },
    "udp": {"sport": "port", "dport": "port", "length": "int", "checksum": "int"},
    "udplite": {"sport": "port", "dport": "port", "csumcov": "int", "checksum": "int"},
    "sctp": {"sport": "port", "dport": "port", "vtag": "int", "checksum": "int"},
    "dccp": {"sport": "port", "dport": "port", "type": "int"},
    "th": {"sport": "port", "dport": "port"},
    "icmp": {
        "type": "icmptype",
        "code": "int",
        "checksum": "int",
        "id": "int",
        "sequence": "int",
        "gateway": "ipv4",
        "mtu": "int",
    },
    "icmpv6": {
        "type": "icmpv6type",
        "code": "int",
        "checksum": "int",
        "id": "int",
        "sequence": "int",
        "mtu": "int",
        "max-delay": "int",
        "param-problem": "int",
        "taddr": "ipv6",
        "daddr": "ipv6",
    },
    "ether": {"saddr": "ether", "daddr": "ether", "type": "ethertype"},
    "vlan": {"id": "int", "cfi": "int", "dei": "int", "pcp": "int", "type": "ethertype"},
    "arp": {"htype": "int", "ptype": "ethertype", "hlen": "int", "plen": "int", "operation": "arpop"},
    "ah": {"nexthdr": "proto", "hdrlength": "int", "reserved": "int", "spi": "int", "sequence": "int"},
    "esp": {"spi": "int", "sequence": "int"},
    "comp": {"nexthdr": "proto", "flags": "int", "cpi": "int"},
    "igmp": {"type": "int", "mrt": "int", "checksum": "int", "group": "ipv4"},
    "gre": {"version": "int", "flags": "int", "protocol": "ethertype"},
}
META_KEYS: dict[str, str] = {
    "length": "int",
    "protocol": "ethertype",
    "priority": "int",
    "mark": "mark",
    "iif": "ifindex",
    "iifname": "ifname",
    "iiftype": "iftype",
    "oif": "ifindex",
    "oifname": "ifname",
    "oiftype": "iftype",
    "skuid": "uid",
    "skgid": "gid",
    "nftrace": "int",
    "rtclassid": "int",
    "ibriport": "ifname",
    "obriport": "ifname",
    "ibrname": "ifname",
    "obrname": "ifname",
    "pkttype": "pkttype",
    "cpu": "int",
    "iifgroup": "int",
    "oifgroup": "int",
    "cgroup": "int",
    "random": "int",
    "nfproto": "nfproto",
    "l4proto": "proto",
    "secmark": "string",
    "secpath": "bool",
    "ipsec": "bool",
    "iifkind": "ifname",
    "oifkind": "ifname",
    "time": "time",
    "day": "day",
    "hour": "hour",
    "sdif": "ifindex",
    "sdifname": "ifname",
    "broute": "int",
}
BARE_META = (
    "mark",
    "iif",
    "iifname",
    "iiftype",
    "oif",
    "oifname",
    "oiftype",
    "skuid",
    "skgid",
    "nftrace",
    "rtclassid",
    "ibriport",
    "obriport",
    "ibrname",
    "obrname",
    "pkttype",
    "cpu",
    "iifgroup",
    "oifgroup",
    "cgroup",
)
CT_KEYS: dict[str, str] = {
    "state": "ctstate",
    "status": "ctstatus",
    "mark": "mark",
    "expiration": "time",
    "helper": "string",
    "l3proto": "nfproto",
    "protocol": "proto",
    "bytes": "int",
    "packets": "int",
    "avgpkt": "int",
    "zone": "int",
    "direction": "ctdir",
    "event": "ctevent",
    "label": "int",
    "id": "int",
    "proto-src": "port",
    "proto-dst": "port",
    "saddr": "addr",
    "daddr": "addr",
    "secmark": "string",
}
BITMASKS = ("ctstate", "ctstatus", "tcpflags", "ctevent")
TYPE_NAMES: dict[str, str] = {
    "ipv4_addr": "ipv4",
    "ipv6_addr": "ipv6",
    "ether_addr": "ether",
    "inet_proto": "proto",
    "inet_service": "port",
    "mark": "mark",
    "ifname": "ifname",
    "iface_index": "ifindex",
    "ct_state": "ctstate",
    "ct_status": "ctstatus",
    "ct_dir": "ctdir",
    "verdict": "verdict",
    "integer": "int",
    "string": "string",
    "icmp_type": "icmptype",
    "icmpv6_type": "icmpv6type",
    "pkt_type": "pkttype",
    "tcp_flag": "tcpflags",
    "nf_proto": "nfproto",
    "ether_type": "ethertype",
    "uid": "uid",
    "gid": "gid",
    "time": "time",
    "day": "day",
    "hour": "hour",
    "iface_type": "iftype",
    "ipsec_spi": "int",
    "dscp": "dscp",
    "ecn": "ecn",
    "fib_addrtype": "fibtype",
    "boolean": "bool",
    "classid": "int",
    "realm": "int",
    "devgroup": "int",
    "arp_op": "arpop",
    "cgroupsv2": "int",
    "ct_label": "int",
    "ct_event": "ctevent",
    "icmp_code": "int",
    "icmpv6_code": "int",
    "icmpx_code": "int",
    "vlan_id": "int",
    "secmark": "string",
    "ct_helper": "string",
    "counter": "string",
    "quota": "string",
    "limit": "string",
    "ether_addr_type": "ether",
}
SERVICES: dict[str, int] = {
    **v.SERVICES,
    "ftp": 21,
    "http": 80,
    "https": 443,
    "imap": 143,
    "pop3": 110,
    "smtp": 25,
    "ssh": 22,
    "dns": 53,
    "ldap": 389,
    "kerberos": 88,
    "nntp": 119,
    "irc": 194,
    "snmp-trap": 162,
    "snmptrap": 162,
    "bgp": 179,
    "openvpn": 1194,
    "ms-sql-s": 1433,
    "mysql": 3306,
    "rdp": 3389,
    "ms-wbt-server": 3389,
    "x11": 6000,
    "sip": 5060,
    "xmpp-client": 5222,
    "git": 9418,
    "zabbix-agent": 10050,
    "zabbix-trapper": 10051,
    "nfs": 2049,
    "postgres": 5432,
    "redis": 6379,
    "mdns": 5353,
    "llmnr": 5355,
    "isakmp": 500,
    "ipsec-nat-t": 4500,
    "submissions": 465,
    "imaps": 993,
    "pop3s": 995,
    "ldaps": 636,
    "echo": 7,
    "discard": 9,
    "daytime": 13,
    "time": 37,
    "whois": 43,
    "finger": 79,
    "auth": 113,
    "sftp": 115,
    "printer": 515,
    "route": 520,
    "domain-s": 853,
    "rsync": 873,
}


class TypeError_(ValueError):
    """A constant that is not of the datatype its expression compares."""


def service_port(name: str, extra: Mapping[str, int]) -> int:
    if name in extra:
        return extra[name]
    if name in SERVICES:
        return SERVICES[name]
    raise TypeError_(f"unknown service name {name!r} (not in /etc/services)")


def parse_services(text: str) -> dict[str, int]:
    """/etc/services: `name port/proto aliases...` -> name -> port."""
    found: dict[str, int] = {}
    for line in text.splitlines()[:50_000]:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or "/" not in fields[1]:
            continue
        port, _, _ = fields[1].partition("/")
        if port.isdigit() and 0 <= int(port) <= 65535:
            for name in (fields[0], *fields[2:]):
                found.setdefault(name, int(port))
    return found


def parse_ids(text: str) -> dict[str, int]:
    """/etc/passwd or /etc/group: name -> uid or gid."""
    found: dict[str, int] = {}
    for line in text.splitlines()[:100_000]:
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            found.setdefault(fields[0], int(fields[2]))
    return found
