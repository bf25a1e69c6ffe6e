"""The host facts that decide host-dependent matches: interfaces, addresses, routes, policy rules,
the local port range, and the user the agent runs as. Parsed from `ip -o ...` (iproute2 4.11 and
later, busybox) or /proc; what cannot be read stays unknown (None), never guessed."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .intervals import Interval
from .model import ADDRESS_TYPES, IF_TYPES

MAX_ROUTES = 50_000
MAX_LINES = 200_000
AGENT_PROCESS_NAMES = ("vvagent", "buagent")
_LINK_TYPES = {
    "ether": IF_TYPES["ether"],
    "loopback": IF_TYPES["loopback"],
    "none": 65534,
    "ppp": IF_TYPES["ppp"],
    "ipip": IF_TYPES["ipip"],
    "sit": IF_TYPES["sit"],
    "gre": IF_TYPES["ipgre"],
    "tunnel6": 769,
    "void": 65535,
}
_ROUTE_TYPES = (
    "unicast",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "nat",
)
_TABLE_IDS = {"local": 255, "main": 254, "default": 253, "unspec": 0}


@dataclass(frozen=True)
class Address:
    interface: str
    family: int
    value: int
    prefix: int
    secondary: bool = False
    scope: str = "global"

    @property
    def network(self) -> Interval:
        bits = 32 if self.family == 4 else 128
        host = bits - self.prefix
        low = (self.value >> host) << host
        return (low, low + (1 << host) - 1)


@dataclass(frozen=True)
class Route:
    family: int
    table: int
    kind: str  # unicast | local | broadcast | blackhole | unreachable | prohibit | throw | ...
    network: Interval
    prefix: int
    interface: str | None  # None: more than one (multipath) or not known
    gateway: int | None = None
    source: int | None = None
    metric: int = 0


@dataclass(frozen=True)
class PolicyRule:
    priority: int
    negate: bool
    source: Interval | None  # None: from all
    destination: Interval | None
    fwmark: tuple[int, int] | None  # (value, mask)
    iif: str | None
    oif: str | None
    uid: Interval | None
    action: str  # lookup | unreachable | blackhole | prohibit | goto | nop
    table: int = 0
    suppress_prefix: int = -1
    unknown: str = ""  # a selector not evaluated here


@dataclass
class HostFacts:
    interfaces: dict[str, int] = field(default_factory=dict)  # name -> link type (ARPHRD)
    addresses: list[Address] = field(default_factory=list)
    routes: dict[int, list[Route] | None] = field(default_factory=dict)  # family -> routes; None unknown
    rules: dict[int, list[PolicyRule] | None] = field(default_factory=dict)
    addresses_known: dict[int, bool] = field(default_factory=dict)
    port_range: tuple[int, int] | None = None
    agent_uid: int | None = None
    agent_gid: int | None = None
    agent_note: str = ""
    early_demux: bool | None = None
    # whether an interface is enslaved to another (a bridge's port, or a bond's); None: not known
    enslaved: bool | None = None
    tcp_loose: bool | None = None  # nf_conntrack_tcp_loose: mid-stream packets start a connection
    notes: list[str] = field(default_factory=list)

    def local_values(self, family: int) -> list[int]:
        return [a.value for a in self.addresses if a.family == family]


def read_facts(texts: Mapping[str, str | None]) -> HostFacts:
    """`texts` maps a source id (see sources.py) to its text, or None when it could not be read."""
    facts = HostFacts()
    _links(texts.get("ip-link"), facts)
    for family, ip_addr in ((4, texts.get("ip-addr")), (6, texts.get("ip-addr"))):
        facts.addresses_known[family] = ip_addr is not None
    if texts.get("ip-addr") is not None:
        facts.addresses = _addresses(texts["ip-addr"] or "")
    else:
        facts.addresses = _proc_addresses(texts.get("/proc/net/fib_trie"), texts.get("/proc/net/if_inet6"))
        facts.addresses_known[4] = texts.get("/proc/net/fib_trie") is not None
        facts.addresses_known[6] = texts.get("/proc/net/if_inet6") is not None
    for family, route_id, rule_id, proc in (
        (4, "ip-route4", "ip-rule4", "/proc/net/route"),
        (6, "ip-route6", "ip-rule6", "/proc/net/ipv6_route"),
    ):
        text = texts.get(route_id)
        if text is not None:
            facts.routes[family] = _routes(text, family)
        elif texts.get(proc) is not None:
            facts.routes[family] = _proc_routes(texts[proc] or "", family, facts)
        else:
            facts.routes[family] = None
        rules_text = texts.get(rule_id)
        facts.rules[family] = _rules(rules_text) if rules_text is not None else None
    facts.port_range = _port_range(texts.get("/proc/sys/net/ipv4/ip_local_port_range"))
    demux = [texts.get("/proc/sys/net/ipv4/ip_early_demux"), texts.get("/proc/sys/net/ipv4/tcp_early_demux")]
    if all(d is not None and d.strip() in ("0", "1") for d in demux):
        facts.early_demux = all(d is not None and d.strip() == "1" for d in demux)
    loose = texts.get("/proc/sys/net/netfilter/nf_conntrack_tcp_loose")
    if loose is not None and loose.strip() in ("0", "1"):
        facts.tcp_loose = loose.strip() == "1"
    _agent(
        texts.get("processes"),
        texts.get("processes-busybox"),
        texts.get("/etc/passwd"),
        texts.get("/etc/group"),
        facts,
    )
    return facts


def _lines(text: str | None) -> list[str]:
    return (text or "").splitlines()[:MAX_LINES]


_MASTER = re.compile(r"\smaster\s+\S")
_LINK = re.compile(r"^\d+:\s+([^:@\s]+)(?:@\S+)?:\s.*?link/(\S+)")


def _links(text: str | None, facts: HostFacts) -> None:
    if text is not None:
        facts.enslaved = False
    for line in _lines(text):
        found = _LINK.match(line)
        if found:
            facts.interfaces[found.group(1)] = _LINK_TYPES.get(found.group(2), 0)
        if _MASTER.search(line.split("\\")[0]):
            facts.enslaved = True


_ADDR = re.compile(r"^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)(?:/(\d+))?(.*)$")


def _addresses(text: str) -> list[Address]:
    found: list[Address] = []
    for line in _lines(text):
        match = _ADDR.match(line.split("\\")[0].strip())
        if not match:
            continue
        interface, kind, address, prefix, rest = match.groups()
        interface = interface.split("@")[0]
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            continue
        family = 4 if kind == "inet" else 6
        if parsed.version != family:
            continue
        length = int(prefix) if prefix else (32 if family == 4 else 128)
        scope = rest.split("scope", 1)[1].split()[0] if "scope" in rest else "global"
        found.append(
            Address(
                interface,
                family,
                int(parsed),
                min(length, 32 if family == 4 else 128),
                " secondary" in f" {rest}",
                scope,
            )
        )
    return found


def _proc_addresses(fib_trie: str | None, if_inet6: str | None) -> list[Address]:
    found: list[Address] = []
    section = ""
    last = ""
    for line in _lines(fib_trie):
        if not line.startswith(" "):
            section = line.strip().rstrip(":")
            continue
        stripped = line.strip()
        if stripped.startswith("|--"):
            last = stripped[3:].strip()
        elif stripped.startswith("/32 host LOCAL") and section == "Local" and last:
            with contextlib.suppress(ValueError):
                found.append(Address("", 4, int(ipaddress.IPv4Address(last)), 32))
    for line in _lines(if_inet6):
        parts = line.split()
        if len(parts) >= 6 and len(parts[0]) == 32:
            try:
                found.append(Address(parts[5], 6, int(parts[0], 16), int(parts[2], 16)))
            except ValueError:
                continue
    return found


def _network(text: str, family: int) -> tuple[Interval, int] | None:
    if text == "default":
        return ((0, (1 << (32 if family == 4 else 128)) - 1), 0)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if network.version != family:
        return None
    return (int(network.network_address), int(network.broadcast_address)), network.prefixlen


def _address_value(text: str) -> int | None:
    try:
        return int(ipaddress.ip_address(text))
    except ValueError:
        return None


def _routes(text: str, family: int) -> list[Route]:
    routes: list[Route] = []
    lines = _lines(text)
    for index, line in enumerate(lines):
        if not line or line[0].isspace() or len(routes) >= MAX_ROUTES:
            continue
        tokens = line.split()
        kind = "unicast"
        if tokens and tokens[0] in _ROUTE_TYPES:
            kind = tokens.pop(0)
        if not tokens:
            continue
        network = _network(tokens[0], family)
        if network is None:
            continue
        options = _pairs(tokens[1:])
        multipath = index + 1 < len(lines) and lines[index + 1].strip().startswith("nexthop")
        table_text = options.get("table", "main")
        table = _TABLE_IDS.get(table_text, int(table_text) if table_text.isdigit() else -1)
        routes.append(
            Route(
                family,
                table,
                kind,
                network[0],
                network[1],
                None if multipath else options.get("dev"),
                _address_value(options.get("via", "")),
                _address_value(options.get("src", "")),
                int(options["metric"]) if options.get("metric", "").isdigit() else 0,
            )
        )
    return routes


def _pairs(tokens: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in itertools.pairwise(tokens):
        if key in ("via", "dev", "table", "src", "metric", "proto", "scope") and key not in found:
            found[key] = value
    return found


def _proc_routes(text: str, family: int, facts: HostFacts) -> list[Route]:
    routes: list[Route] = []
    for line in _lines(text)[1 if family == 4 else 0 :]:
        parts = line.split()
        try:
            if family == 4 and len(parts) >= 8:
                destination = int.from_bytes(bytes.fromhex(parts[1]), "little")
                mask = int.from_bytes(bytes.fromhex(parts[7]), "little")
                gateway = int.from_bytes(bytes.fromhex(parts[2]), "little")
                prefix = bin(mask).count("1")
                low = destination & mask
                flags = int(parts[3], 16)
                kind = "unreachable" if flags & 0x0200 else "unicast"
                routes.append(
                    Route(
                        4,
                        254,
                        kind,
                        (low, low | (~mask & 0xFFFFFFFF)),
                        prefix,
                        parts[0],
                        gateway or None,
                        None,
                        int(parts[6]),
                    )
                )
            elif family == 6 and len(parts) >= 10:
                prefix = int(parts[1], 16)
                destination = int(parts[0], 16)
                host = 128 - prefix
                low = (destination >> host) << host
                flags = int(parts[8], 16)
                kind = "local" if flags & 0x80000000 else ("unreachable" if flags & 0x0200 else "unicast")
                gateway = int(parts[4], 16)
                routes.append(
                    Route(
                        6,
                        255 if kind == "local" else 254,
                        kind,
                        (low, low + (1 << host) - 1),
                        prefix,
                        parts[9],
                        gateway or None,
                        None,
                        int(parts[5], 16),
                    )
                )
        except ValueError:
            continue
        if len(routes) >= MAX_ROUTES:
            break
    if family == 4:  # /proc/net/route has only the main table: local addresses from fib_trie
        for address in facts.addresses:
            if address.family == 4:
                routes.append(
                    Route(4, 255, "local", (address.value, address.value), 32, "lo", None, address.value)
                )
    return routes


_RULE = re.compile(r"^(\d+):\s+(.*)$")


def _rules(text: str) -> list[PolicyRule]:
    rules: list[PolicyRule] = []
    for line in _lines(text):
        found = _RULE.match(line.strip())
        if not found:
            continue
        tokens = found.group(2).split()
        rule = _rule(int(found.group(1)), tokens)
        rules.append(rule)
    return sorted(rules, key=lambda r: r.priority)


def _rule(priority: int, tokens: list[str]) -> PolicyRule:
    negate = bool(tokens) and tokens[0] == "not"
    if negate:
        tokens = tokens[1:]
    source: Interval | None = None
    destination: Interval | None = None
    fwmark: tuple[int, int] | None = None
    interfaces: dict[str, str | None] = {"iif": None, "oif": None}
    uid: Interval | None = None
    action, table, suppress, unknown = "nop", 0, -1, ""
    position = 0
    while position < len(tokens):
        token = tokens[position]
        argument = tokens[position + 1] if position + 1 < len(tokens) else ""
        position += 2
        if token in ("from", "to") and argument != "all":
            network = _network(argument, 6 if ":" in argument else 4)
            if network is None:
                unknown = f"{token} {argument}"
            elif token == "from":
                source = network[0]
            else:
                destination = network[0]
        elif token == "fwmark":
            mark, _, mask = argument.partition("/")
            try:
                fwmark = (int(mark, 0), int(mask, 0) if mask else 0xFFFFFFFF)
            except ValueError:
                unknown = f"fwmark {argument}"
        elif token in ("iif", "oif"):
            interfaces[token] = argument
            if position < len(tokens) and tokens[position] == "[detached]":
                position += 1
        elif token == "uidrange":
            first, _, last = argument.partition("-")
            if first.isdigit() and (not last or last.isdigit()):
                uid = (int(first), int(last or first))
            else:
                unknown = f"uidrange {argument}"
        elif token in ("lookup", "table"):
            action = "lookup"
            table = _TABLE_IDS.get(argument, int(argument) if argument.isdigit() else -1)
        elif token == "suppress_prefixlength":
            suppress = int(argument) if argument.isdigit() else -1
        elif token in ("unreachable", "blackhole", "prohibit"):
            action = token
            position -= 1
        elif token == "goto":
            action, unknown = "goto", "goto"
        elif token in ("from", "to", "pref", "priority", "realms", "protocol", "proto"):
            continue
        elif token in ("ipproto", "sport", "dport", "tos", "dsfield", "l3mdev", "suppress_ifgroup"):
            unknown = f"{token} {argument}"
        else:
            unknown = token
            position -= 1
    return PolicyRule(
        priority,
        negate,
        source,
        destination,
        fwmark,
        interfaces["iif"],
        interfaces["oif"],
        uid,
        action,
        table,
        suppress,
        unknown,
    )


def _port_range(text: str | None) -> tuple[int, int] | None:
    parts = (text or "").split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        low, high = int(parts[0]), int(parts[1])
        if 0 < low <= high <= 65535:
            return (low, high)
    return None


def _agent(
    procps: str | None, busybox: str | None, passwd: str | None, group: str | None, facts: HostFacts
) -> None:
    """The user and group of the agent's processes; unknown when none runs or they differ."""
    owners: set[tuple[int, int]] = set()
    if procps is not None:
        for line in _lines(procps):
            parts = line.split(None, 2)
            agent = len(parts) == 3 and parts[2].strip().lower() in AGENT_PROCESS_NAMES
            if agent and parts[0].isdigit() and parts[1].isdigit():
                owners.add((int(parts[0]), int(parts[1])))
    elif busybox is not None:
        users = _ids(passwd)
        groups = _ids(group)
        for line in _lines(busybox)[1:]:
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[2].strip().lower() in AGENT_PROCESS_NAMES:
                uid = int(parts[0]) if parts[0].isdigit() else users.get(parts[0])
                gid = int(parts[1]) if parts[1].isdigit() else groups.get(parts[1])
                if uid is not None and gid is not None:
                    owners.add((uid, gid))
    else:
        facts.agent_note = "the processes could not be listed"
        return
    if len(owners) == 1:
        facts.agent_uid, facts.agent_gid = next(iter(owners))
    elif not owners:
        facts.agent_note = f"no agent process ({', '.join(AGENT_PROCESS_NAMES)}) runs"
    else:
        facts.agent_note = "the agent's processes run as different users"


def _ids(text: str | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in _lines(text):
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            found.setdefault(parts[0], int(parts[2]))
    return found


LOCAL = ADDRESS_TYPES["local"]
UNICAST = ADDRESS_TYPES["unicast"]
BROADCAST = ADDRESS_TYPES["broadcast"]
MULTICAST = ADDRESS_TYPES["multicast"]
UNREACHABLE = ADDRESS_TYPES["unreachable"]
