"""Random rulesets for the differential test: seeded, deterministic, and loadable by the real tools.

A case mixes native nftables (several tables and families, base chains at every hook and at raw,
mangle, filter, security and NAT priorities, netdev ingress/egress, a dormant table, user chains
reached by jump, goto and verdict maps, anonymous and named sets, concatenations, ct state and
status, notrack, marks and ct marks, interfaces, fib, skuid, ports and the local port range) with
iptables rules in iptables-save form for iptables-nft-restore and iptables-legacy-restore.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.lab.firewall_lab import HostSetup

HOT = ["198.19.0.0/20", "198.19.16.0/20", "198.19.128.0/20", "198.19.200.0/21"]
HOST_ADDRESSES = ("198.18.0.2", "198.18.1.2")
PORTS = (8086, 8087, 2548, 22)


@dataclass(frozen=True)
class GeneratedCase:
    seed: int
    setup: HostSetup
    nft: str
    iptables_nft: str
    iptables_legacy: str

    @property
    def name(self) -> str:
        return f"generated-{self.seed}"

    def describe(self) -> str:
        parts = [f"seed {self.seed}, {self.setup}"]
        for title, text in (
            ("nft -f", self.nft),
            ("iptables-nft-restore", self.iptables_nft),
            ("iptables-legacy-restore", self.iptables_legacy),
        ):
            if text:
                parts.append(f"--- {title}\n{text}")
        return "\n".join(parts)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.seed = seed
        self.two_links = self.random.random() < 0.4
        self.uid = self.random.choice((0, 4242))
        self.range = self.random.choice(((40000, 40999), (32768, 60999)))

    # building blocks

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def network(self) -> str:
        base = self.random.choice(HOT)
        prefix = int(base.split("/")[1])
        length = self.random.choice((prefix, prefix + 2, prefix + 4, 24, 26, 28, 32))
        first = base.split("/")[0].split(".")
        third = int(first[2]) + self.random.randrange(0, 2 ** (24 - prefix)) if prefix < 24 else int(first[2])
        fourth = self.random.randrange(0, 256)
        address = f"198.19.{third}.{fourth}"
        if length == 32:
            return address
        if length >= 24:
            mask = (0xFF << (32 - length)) & 0xFF
            return f"198.19.{third}.{fourth & mask}/{length}"
        step = 2 ** (24 - length)
        return f"198.19.{third - third % step}.0/{length}"

    def addresses(self) -> str:
        if self.chance(0.3):
            items = {self.network() for _ in range(self.random.randint(2, 4))}
            return "{ " + ", ".join(sorted(items)) + " }"
        if self.chance(0.15):
            low = self.random.randrange(0, 240)
            return f"198.19.{low}.0-198.19.{low + self.random.randrange(1, 16)}.255"
        return self.network()

    def ports(self) -> str:
        if self.chance(0.3):
            return "{ " + ", ".join(str(p) for p in self.random.sample(PORTS, 2)) + " }"
        if self.chance(0.1):
            return self.random.choice(("8000-8086", "8087-8100", "2500-2548", "2000-9000"))
        return str(self.random.choice(PORTS))

    def disjoint_networks(self, count: int) -> list[str]:
        """Networks in different hot blocks: elements of one set or map must not overlap."""
        found = []
        for base in self.random.sample(HOT, count):
            third = int(base.split(".")[2]) + self.random.randrange(0, 8)
            found.append(
                self.random.choice((f"198.19.{third}.0/24", f"198.19.{third}.{self.random.randrange(256)}"))
            )
        return found

    def source_ports(self) -> str:
        low, high = self.range
        return self.random.choice((f"{low}-{high}", "1024-65535", "30000-31000", "22", "2548", "8086"))

    # nftables

    def nft_match(self, hook: str, netdev: bool, family: str) -> str:
        """A match valid at `hook` ("user": a user chain, which any hook may reach)."""
        options = ["daddr", "saddr", "dport", "sport", "l4", "mark"]
        if family == "inet":
            options.append("ip6")
        if not netdev:
            options += ["state", "state", "status", "direction", "ctmark", "fib", "concat", "host", "skuid"]
        if hook in ("input", "prerouting", "ingress"):
            options += ["iif", "iif"]
        if hook in ("output", "postrouting", "egress"):
            options += ["oif", "oif"]
        if hook in ("input", "prerouting") and not netdev:
            options.append("rpf")
        kind = self.random.choice(options)
        negate = "!= " if self.chance(0.15) else ""
        if kind in ("daddr", "saddr"):
            return f"ip {kind} {negate}{self.addresses()}"
        if kind == "dport":
            return f"tcp dport {negate}{self.ports()}"
        if kind == "sport":
            return f"tcp sport {negate}{self.random.choice((self.ports(), self.source_ports()))}"
        if kind == "l4":
            return f"meta l4proto {self.random.choice(('tcp', 'udp', '{ tcp, udp }'))}"
        if kind == "ip6":
            return f"ip6 saddr {self.random.choice(('fe80::/64', '2001:db8::/32'))}"
        if kind == "state":
            states = self.random.sample(
                ["new", "established", "related", "invalid", "untracked"], self.random.randint(1, 2)
            )
            return (
                f"ct state {negate}{{ {', '.join(states)} }}" if len(states) > 1 else f"ct state {states[0]}"
            )
        if kind == "status":
            return f"ct status {self.random.choice(('dnat', 'snat', 'seen-reply'))}"
        if kind == "direction":
            return f"ct direction {self.random.choice(('original', 'reply'))}"
        if kind == "ctmark":
            return f"ct mark {negate}{self.random.choice(('0x0', '0x5', '0x10'))}"
        if kind == "mark":
            return self.random.choice(
                ("meta mark 0x10", "meta mark & 0xf0 == 0x10", "meta mark != 0x0", "meta mark 0x5")
            )
        if kind == "fib":
            return self.random.choice(
                ("fib daddr type local", "fib daddr type != local", "fib saddr type local")
            )
        if kind == "concat":
            items = ", ".join(f"{n} . {self.random.choice(PORTS)}" for n in self.disjoint_networks(3))
            return f"ip daddr . tcp dport {{ {items} }}"
        if kind == "host":
            return f"ip {self.random.choice(('saddr', 'daddr'))} {negate}{self.random.choice(HOST_ADDRESSES)}"
        if kind == "skuid":
            return f"meta skuid {negate}{self.random.choice((0, 4242))}"
        if kind in ("iif", "oif"):
            name = self.random.choice(("eth0", "eth1", "lo", "eth*"))
            return f'{kind}name {negate}"{name}"'
        return "fib saddr . iif oif missing"

    def nft_rule(
        self, hook: str, kind: str, priority: int, users: list[str], family: str, netdev: bool = False
    ) -> str:
        parts = [self.nft_match(hook, netdev, family) for _ in range(self.random.choice((1, 1, 2, 2, 3)))]
        ipv6 = any(p.startswith("ip6") for p in parts)
        if ipv6:  # one rule matches one address family
            parts = [p for p in parts if not p.startswith("ip ")]
        if any("tcp " in p for p in parts):  # and one transport protocol
            parts = [p for p in parts if not p.startswith("meta l4proto") or p == "meta l4proto tcp"]
        if self.chance(0.15):
            parts.append("counter")
        statement = self.random.random()
        if statement < 0.12:
            parts.append(self.random.choice(("meta mark set 0x10", "meta mark set meta mark | 0x5")))
        elif statement < 0.18 and not netdev:
            parts.append(
                self.random.choice(("ct mark set 0x5", "ct mark set meta mark", "meta mark set ct mark"))
            )
        elif statement < 0.24 and not netdev and hook in ("prerouting", "output") and priority < -200:
            parts.append("notrack")
        verdicts = ["accept", "accept", "drop", "drop", ""]
        if hook in ("input", "output") and kind == "filter" and not netdev:
            verdicts += [
                "reject",
                "meta l4proto tcp reject with tcp reset",
                "reject with icmpx admin-prohibited"
                if family == "inet"
                else "reject with icmp host-prohibited",
            ]
        if kind == "nat" and hook == "postrouting":
            verdicts += ["masquerade"] + (
                [] if ipv6 else [f"snat {'ip ' if family == 'inet' else ''}to 198.18.0.2"]
            )
        if users:
            verdicts += [f"jump {self.random.choice(users)}", f"goto {self.random.choice(users)}"]
        if self.chance(0.1) and users and not netdev:
            targets = ", ".join(
                f"{n} : {self.random.choice(['accept', 'drop', 'jump ' + users[0]])}"
                for n in self.disjoint_networks(2)
            )
            return f"ip daddr vmap {{ {targets} }}"
        return " ".join([*parts, self.random.choice(verdicts)]).strip()

    def nft(self) -> str:
        tables: list[str] = []
        for index in range(self.random.randint(1, 3)):
            family = self.random.choice(("inet", "ip", "inet"))
            lines = [f"table {family} t{index} {{"]
            if self.chance(0.1):
                lines.append("  flags dormant")
            users = [f"u{index}{n}" for n in range(self.random.randint(0, 2))]
            for position, user in enumerate(users):
                deeper = users[position + 1 :]
                rules = [
                    self.nft_rule("user", "filter", 0, deeper, family)
                    for _ in range(self.random.randint(1, 3))
                ]
                if self.chance(0.4):
                    rules.append("return")
                lines.append(f"  chain {user} {{")
                lines += [f"    {r}" for r in rules]
                lines.append("  }")
            for chain in range(self.random.randint(1, 3)):
                hook = self.random.choice(("prerouting", "input", "output", "postrouting", "input", "output"))
                kind = "filter"
                priority = self.random.choice((-300, -150, 0, 0, 10, 50, 300))
                if self.chance(0.15) and hook != "input":
                    kind, priority = "nat", self.random.choice((-100, 100))
                elif hook == "output" and self.chance(0.2):
                    kind = "route"
                policy = "drop" if self.chance(0.2) and kind != "nat" else "accept"
                rules = [
                    self.nft_rule(hook, kind, priority, users, family)
                    for _ in range(self.random.randint(1, 5))
                ]
                lines.append(f"  chain c{chain} {{")
                lines.append(f"    type {kind} hook {hook} priority {priority}; policy {policy};")
                if policy == "drop" and self.chance(0.7):
                    lines.append(
                        self.random.choice(
                            (
                                "    ct state established,related accept",
                                "    tcp dport { 8086, 8087, 2548 } accept",
                                "    ip saddr 198.19.0.0/17 accept",
                            )
                        )
                    )
                lines += [f"    {r}" for r in rules]
                lines.append("  }")
            lines.append("}")
            tables.append("\n".join(lines))
        if self.chance(0.3):
            hook = self.random.choice(("ingress", "egress"))
            rules = [
                self.nft_rule(hook, "filter", 0, [], "netdev", netdev=True)
                for _ in range(self.random.randint(1, 3))
            ]
            # ARP passes: whether a link resolves neighbours is proved by its own lab configurations
            body = "\n".join(f"    {r}" for r in ["meta protocol arp accept", *rules])
            tables.append(
                f'table netdev edge {{\n  chain c {{\n    type filter hook {hook} device "eth0" '
                f"priority {self.random.choice((-500, 0))}; policy accept;\n{body}\n  }}\n}}"
            )
        return "\n".join(tables) + "\n"

    # iptables

    def ipt_match(self, chain: str, table: str) -> str:
        options = ["s", "d", "dport", "sport", "multiport", "state", "mark", "iprange", "addrtype", "comment"]
        if table != "raw":
            options += ["conntrack", "connmark"]
        if chain in ("INPUT", "PREROUTING"):
            options.append("i")
        if chain in ("OUTPUT", "POSTROUTING"):
            options += ["o", "owner"]
        kind = self.random.choice(options)
        negate = "! " if self.chance(0.15) else ""
        if kind in ("s", "d"):
            return f"{negate}-{kind} {self.network()}"
        if kind == "i":
            return f"{negate}-i {self.random.choice(('eth0', 'eth1', 'lo', 'eth+'))}"
        if kind == "o":
            return f"{negate}-o {self.random.choice(('eth0', 'eth1', 'lo', 'eth+'))}"
        if kind == "dport":
            return f"-p tcp -m tcp {negate}--dport {self.random.choice(PORTS)}"
        if kind == "sport":
            low, high = self.range
            ports = self.random.choice((f"{low}:{high}", "2548", "30000:31000"))
            return f"-p tcp -m tcp {negate}--sport {ports}"
        if kind == "multiport":
            ports = ",".join(str(p) for p in self.random.sample(PORTS, 2))
            return f"-p tcp -m multiport {negate}--dports {ports}"
        if kind == "state":
            states = ",".join(
                self.random.sample(["NEW", "ESTABLISHED", "RELATED", "INVALID", "UNTRACKED"], 2)
            )
            return f"-m state {negate}--state {states}"
        if kind == "conntrack":
            states = ",".join(self.random.sample(["NEW", "ESTABLISHED", "RELATED", "INVALID", "DNAT"], 2))
            return f"-m conntrack {negate}--ctstate {states}"
        if kind == "mark":
            return f"-m mark {negate}--mark {self.random.choice(('0x10', '0x5', '0x10/0xf0'))}"
        if kind == "connmark":
            return f"-m connmark {negate}--mark {self.random.choice(('0x5', '0x10'))}"
        if kind == "iprange":
            low = self.random.randrange(0, 250)
            side = self.random.choice(("src", "dst"))
            return f"-m iprange {negate}--{side}-range 198.19.{low}.0-198.19.{low + 3}.255"
        if kind == "addrtype":
            side, kind = self.random.choice(("src", "dst")), self.random.choice(("LOCAL", "UNICAST"))
            return f"-m addrtype {negate}--{side}-type {kind}"
        if kind == "owner":
            return f"-m owner {negate}--uid-owner {self.random.choice((0, 4242))}"
        return '-m comment --comment "generated rule"'

    def ipt_rule(self, chain: str, table: str, users: list[str], append_to: str = "") -> str:
        """A rule for `chain` ("user": a user chain, called from several hooks), appended to `append_to`."""
        parts: list[str] = []
        for _ in range(self.random.choice((1, 1, 2))):
            match = self.ipt_match(chain, table)
            if _option_of(match) not in {_option_of(p) for p in parts}:  # each option once
                parts.append(match)
        if any(p.startswith("-p tcp") for p in parts):  # one -p per rule, first
            first = next(p for p in parts if p.startswith("-p tcp"))
            parts = [first] + [
                p.replace("-p tcp ", "") if p.startswith("-p tcp -m multiport") else p
                for p in parts
                if p is not first and not p.startswith("-p tcp -m tcp")
            ]
        targets = ["ACCEPT", "DROP", "DROP", "RETURN"] if table != "nat" else ["ACCEPT", "RETURN"]
        if table == "filter" and chain in ("INPUT", "OUTPUT", "user"):
            targets += ["REJECT", "REJECT --reject-with icmp-admin-prohibited"]
            if any(p.startswith("-p tcp") for p in parts):
                targets.append("REJECT --reject-with tcp-reset")
        if table == "mangle":
            targets += [
                "MARK --set-xmark 0x10/0xffffffff",
                "CONNMARK --set-xmark 0x5/0xffffffff",
                "CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff",
                "CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff",
            ]
        if table == "raw":
            targets += ["CT --notrack"]
        if table == "nat" and chain == "POSTROUTING":
            targets += ["MASQUERADE"]
        if users:
            targets += [self.random.choice(users)]
        target = self.random.choice(targets)
        jump = "-g" if target in users and self.chance(0.3) else "-j"
        return f"-A {append_to or chain} {' '.join(parts)} {jump} {target}".replace("  ", " ")

    def iptables(self) -> str:
        layout = {
            "raw": ("PREROUTING", "OUTPUT"),
            "mangle": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
            "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
            "filter": ("INPUT", "OUTPUT"),
        }
        blocks: list[str] = []
        for table in self.random.sample(list(layout), self.random.randint(1, 3)):
            lines = [f"*{table}"]
            chains = layout[table]
            everything = ("INPUT", "FORWARD", "OUTPUT") if table == "filter" else chains
            for chain in everything:
                policy = "DROP" if table == "filter" and chain != "FORWARD" and self.chance(0.2) else "ACCEPT"
                lines.append(f":{chain} {policy} [0:0]")
            users = [f"U{n}" for n in range(self.random.randint(0, 2))] if table != "nat" else []
            lines += [f":{u} - [0:0]" for u in users]
            rules: list[str] = []
            for position, user in enumerate(users):
                rules += [
                    self.ipt_rule("user", table, users[position + 1 :], user)
                    for _ in range(self.random.randint(1, 2))
                ]
            for chain in chains:
                rules += [self.ipt_rule(chain, table, users) for _ in range(self.random.randint(0, 3))]
            if any(
                p.startswith(":INPUT DROP") or p.startswith(":OUTPUT DROP") for p in lines
            ) and self.chance(0.7):
                rules.insert(0, "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
                rules.insert(0, "-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
            lines += rules
            lines.append("COMMIT")
            blocks.append("\n".join(lines))
        return "\n".join(blocks) + "\n"


def generate(seed: int) -> GeneratedCase:
    generator = _Generator(seed)
    mix = generator.random.random()
    nft = generator.nft() if mix < 0.75 else ""
    iptables_nft = generator.iptables() if generator.chance(0.4) or not nft else ""
    iptables_legacy = generator.iptables() if generator.chance(0.3) else ""
    setup = HostSetup(
        interfaces=("eth0", "eth1") if generator.two_links else ("eth0",),
        port_range=generator.range,
        agent_uid=generator.uid,
        agent_gid=generator.uid,
    )
    return GeneratedCase(seed, setup, nft, iptables_nft, iptables_legacy)


def _option_of(match: str) -> str:
    tokens = match.replace("! ", "").split()
    return tokens[1] if tokens[0] == "-m" else tokens[0]
