"""Constants of rulesets (addresses, ports, names) as `Values`; bounded, never raising on odd input."""

from __future__ import annotations

import ipaddress

from .intervals import Interval, normalize

SERVICES = {
    "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "www": 80, "pop3": 110, "ntp": 123,
    "imap": 143, "imap2": 143, "snmp": 161, "ldap": 389, "https": 443, "smtps": 465, "submission": 587,
    "ldaps": 636, "imaps": 993, "pop3s": 995, "mysql": 3306, "postgresql": 5432, "ftp": 21, "ftp-data": 20,
    "bootps": 67, "bootpc": 68, "tftp": 69, "kerberos": 88, "microsoft-ds": 445, "rsync": 873,
    "dhcpv6-client": 546, "dhcpv6-server": 547, "ipp": 631, "nfs": 2049, "sunrpc": 111, "netbios-ns": 137,
    "netbios-dgm": 138, "netbios-ssn": 139, "syslog": 514, "webcache": 8080, "http-alt": 8080,
}  # fmt: skip
ICMP_TYPES = {
    "echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
    "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11, "parameter-problem": 12,
    "timestamp-request": 13, "timestamp-reply": 14, "info-request": 15, "info-reply": 16,
    "address-mask-request": 17, "address-mask-reply": 18,
}  # fmt: skip
ICMPV6_TYPES = {
    "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
    "echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "mld-listener-report": 131,
    "mld-listener-done": 132, "mld-listener-reduction": 132, "nd-router-solicit": 133,
    "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136, "nd-redirect": 137,
    "router-renumbering": 138, "ind-neighbor-solicit": 141, "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}  # fmt: skip


class BadValue(ValueError):
    """A constant that cannot be read (the rule that holds it then matches an unknown set)."""


def address_interval(text: str, family: int = 0) -> tuple[Interval, int]:
    """`10.0.0.0/8`, `10.0.0.1`, `fe80::/64` (host bits allowed) -> (interval, family)."""
    quick = _ipv4_quick(text) if family != 6 else None
    if quick is not None:
        return quick, 4
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise BadValue(f"not an address: {text[:80]!r}") from exc
    if family and network.version != family:
        raise BadValue(f"{text[:80]} is not IPv{family}")
    return (int(network.network_address), int(network.broadcast_address)), network.version


def _ipv4_quick(text: str) -> Interval | None:
    """The common `a.b.c.d[/n]` without the ipaddress module (thousands of rules); None otherwise."""
    address, _, length = text.partition("/")
    octets = address.split(".")
    if (
        len(octets) != 4
        or not all(o.isdigit() and len(o) <= 3 for o in octets)
        or (length and not length.isdigit())
    ):
        return None
    value = 0
    for octet in octets:
        number = int(octet)
        if number > 255:
            return None
        value = value << 8 | number
    bits = int(length) if length else 32
    if bits > 32:
        return None
    host = 32 - bits
    low = value >> host << host
    return (low, low + (1 << host) - 1)


def address_range(first: str, last: str, family: int = 0) -> tuple[Interval, int]:
    try:
        low, high = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
    except ValueError as exc:
        raise BadValue(f"not an address range: {first[:60]!r}-{last[:60]!r}") from exc
    if low.version != high.version or (family and low.version != family):
        raise BadValue(f"mixed families in {first}-{last}")
    return (int(low), int(high)), low.version


def port_number(value: object) -> int:
    if isinstance(value, bool):
        raise BadValue(f"not a port: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, str) and value.strip() in SERVICES:
        number = SERVICES[value.strip()]
    else:
        raise BadValue(f"not a port: {str(value)[:60]!r}")
    if not 0 <= number <= 65535:
        raise BadValue(f"port {number} out of range")
    return number


def port_intervals(text: str, separator: str = ":") -> tuple[Interval, ...]:
    """iptables port lists: `22`, `1024:65535`, `:1023`, `80,443,8000:8100` (multiport)."""
    pairs: list[Interval] = []
    for item in text.split(","):
        if separator in item:
            first, last = item.split(separator, 1)
            pairs.append((port_number(first) if first else 0, port_number(last) if last else 65535))
        else:
            number = port_number(item)
            pairs.append((number, number))
    return normalize(pairs)


def integer(value: object) -> int:
    """Numbers as nft and iptables print them: 42, "42", "0x2a"."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0)
        except ValueError:
            pass
    raise BadValue(f"not a number: {str(value)[:60]!r}")


def mark_and_mask(text: str) -> tuple[int, int]:
    """`0x10/0xff` or `16` -> (value, mask)."""
    if "/" in text:
        value, mask = text.split("/", 1)
        return integer(value) & 0xFFFFFFFF, integer(mask) & 0xFFFFFFFF
    return integer(text) & 0xFFFFFFFF, 0xFFFFFFFF
