"""Firewall evaluation benchmark: one host with a 5,000-rule real-world-style ruleset.

Run by hand from the repository (no root needed, nothing is loaded into a kernel):

    python3 bench/firewall_eval.py                 # 5,000 rules, 5 rounds
    python3 bench/firewall_eval.py --rules 20000 --rounds 3

The host has what real servers pile up: a hand-written nftables table (a 3,000-element blocklist
set in a raw prerouting chain, ct-state verdict maps, 50 per-service chains reached by jumps),
ufw's chains in iptables-nft form (conntrack, multiport, comment, limit, recent), Docker's chains,
and fail2ban's iptables-legacy chain with a thousand banned addresses. It prints the time to read
the host once and to judge one host's flows (egress to 3 subnets on 4 ports, inbound on one port).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_backupnet.firewall import Captured, Flow, judge, read_host_firewall  # noqa: E402
from pytest_backupnet.firewall.sources import FIREWALL_COMMANDS, NOT_INSTALLED  # noqa: E402

# The service's side is 240.0.0.0/8 (reserved, never a destination): the flows are only judged, no
# packet is sent, and it is wide enough for a blocklist of thousands of /24 networks.
EGRESS_SUBNETS = (
    ipaddress.ip_network("240.0.0.0/8"),
    ipaddress.ip_network("240.2.118.0/24"),
    ipaddress.ip_network("240.200.16.0/20"),
)
EGRESS_PORTS = (8086, 8087, 443, 22)
INBOUND = Flow("inbound", 2548, (ipaddress.ip_network("240.0.0.0/8"),))


def address(generator: random.Random) -> str:
    return str(ipaddress.IPv4Address(generator.randrange(0xF0000000, 0xF0FFFFFF)))  # in 240.0.0.0/8


def match(left: dict[str, Any], right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def payload(protocol: str, field: str) -> dict[str, Any]:
    return {"payload": {"protocol": protocol, "field": field}}


def prefix(network: str) -> dict[str, Any]:
    base, length = network.split("/")
    return {"prefix": {"addr": base, "len": int(length)}}


def nftables(generator: random.Random, services: int, per_service: int, blocklist: int, egress: int) -> str:
    """A hand-written inet filter table, as `nft -j list ruleset` prints it."""
    items: list[dict[str, Any]] = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]
    table = {"family": "inet", "table": "filter"}
    items.append({"table": {"family": "inet", "name": "filter", "handle": 1}})
    elements = sorted({int(ipaddress.IPv4Address(address(generator))) & ~0xFF for _ in range(blocklist)})
    items.append(
        {
            "set": {
                **table,
                "name": "blocklist",
                "type": "ipv4_addr",
                "flags": ["interval"],
                "elem": [prefix(f"{ipaddress.IPv4Address(e)}/24") for e in elements],
            }
        }
    )
    chains = [
        ("raw_pre", {"type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}),
        ("input", {"type": "filter", "hook": "input", "prio": 0, "policy": "drop"}),
        ("output", {"type": "filter", "hook": "output", "prio": 0, "policy": "drop"}),
    ]
    chains += [(f"svc{n}", {}) for n in range(services)]
    for name, attributes in chains:
        items.append({"chain": {**table, "name": name, **attributes}})
    handle = 10

    def rule(chain: str, *expr: dict[str, Any]) -> None:
        nonlocal handle
        handle += 1
        items.append({"rule": {**table, "chain": chain, "handle": handle, "expr": list(expr)}})

    rule("raw_pre", match(payload("ip", "saddr"), "@blocklist"), {"counter": None}, {"drop": None})
    vmap = {
        "vmap": {
            "key": {"ct": {"key": "state"}},
            "data": {
                "set": [
                    ["established", {"accept": None}],
                    ["related", {"accept": None}],
                    ["invalid", {"drop": None}],
                ]
            },
        }
    }
    rule("input", vmap)
    rule("input", match({"meta": {"key": "iifname"}}, "lo"), {"accept": None})
    for n in range(services):
        port = 3000 + n
        rule(
            "input",
            match(payload("tcp", "dport"), {"set": [port, port + 1000]}),
            {"jump": {"target": f"svc{n}"}},
        )
        for _ in range(per_service):
            source = f"{address(generator)}/{generator.choice((16, 24, 28, 32))}"
            verdict = generator.choice(({"accept": None}, {"drop": None}, {"reject": {"type": "tcp reset"}}))
            rule(
                f"svc{n}",
                match(payload("ip", "saddr"), prefix(str(ipaddress.ip_network(source, strict=False)))),
                verdict,
            )
        rule(f"svc{n}", {"return": None})
    rule(
        "input",
        match(payload("tcp", "dport"), 2548),
        match(payload("ip", "saddr"), prefix("240.0.0.0/8")),
        {"accept": None},
    )
    rule("output", vmap)
    rule("output", match({"meta": {"key": "oifname"}}, "lo"), {"accept": None})
    for _ in range(egress):
        network = ipaddress.ip_network(f"{address(generator)}/24", strict=False)
        ports = {"set": generator.sample((22, 80, 443, 8086, 8087, 9000), 2)}
        rule(
            "output",
            match(payload("ip", "daddr"), prefix(str(network))),
            match(payload("tcp", "dport"), ports),
            {"accept": None},
        )
    rule(
        "output",
        match(payload("tcp", "dport"), {"set": [8086, 8087]}),
        match(payload("ip", "daddr"), prefix("240.0.0.0/8")),
        {"accept": None},
    )
    return json.dumps({"nftables": items})


def ufw_and_docker(generator: random.Random, user_rules: int) -> str:
    """ufw's chains and Docker's as iptables-nft-save prints them."""
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    chains = [
        "ufw-before-input",
        "ufw-before-output",
        "ufw-user-input",
        "ufw-user-output",
        "ufw-user-limit",
        "ufw-user-limit-accept",
        "ufw-track-output",
        "DOCKER",
        "DOCKER-USER",
        "DOCKER-ISOLATION-STAGE-1",
    ]
    lines += [f":{c} - [0:0]" for c in chains]
    lines += [
        "-A INPUT -j ufw-before-input",
        "-A OUTPUT -j ufw-before-output",
        "-A FORWARD -j DOCKER-USER",
        "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
        "-A ufw-before-input -i lo -j ACCEPT",
        "-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A ufw-before-input -m conntrack --ctstate INVALID -j DROP",
        "-A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        "-A ufw-before-input -m addrtype --dst-type MULTICAST -j ACCEPT",
        "-A ufw-before-input -j ufw-user-input",
        "-A ufw-before-output -o lo -j ACCEPT",
        "-A ufw-before-output -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A ufw-before-output -j ufw-user-output",
        "-A ufw-before-output -j ufw-track-output",
        "-A ufw-track-output -p tcp -m conntrack --ctstate NEW -j ACCEPT",
        '-A ufw-user-limit -m limit --limit 3/min -j LOG --log-prefix "[UFW LIMIT BLOCK] "',
        "-A ufw-user-limit -j REJECT --reject-with icmp-port-unreachable",
        "-A ufw-user-limit-accept -j ACCEPT",
        "-A ufw-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW "
        "-m recent --set --name DEFAULT",
        "-A ufw-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW "
        "-m recent --update --seconds 30 --hitcount 6 --name DEFAULT -j ufw-user-limit",
        "-A ufw-user-input -p tcp -m tcp --dport 22 -j ufw-user-limit-accept",
        "-A DOCKER-ISOLATION-STAGE-1 -j RETURN",
        "-A DOCKER-USER -j RETURN",
    ]
    for n in range(user_rules):
        source = f"{address(generator)}/32"
        ports = ",".join(str(p) for p in generator.sample((80, 443, 3306, 5432, 6379, 9000, 9100), 3))
        target = generator.choice(("ACCEPT", "DROP", "REJECT --reject-with icmp-port-unreachable"))
        if n % 3 == 0:
            lines.append(
                f"-A ufw-user-input -s {source} -p tcp -m multiport --dports {ports} "
                f'-m comment --comment "rule {n}" -j {target}'
            )
        elif n % 3 == 1:
            lines.append(
                f"-A ufw-user-output -d {source} -p tcp -m tcp --dport {ports.split(',')[0]} -j {target}"
            )
        else:
            lines.append(
                f"-A ufw-user-input -m iprange --src-range {address(generator)}-{address(generator)} "
                f"-m conntrack --ctstate NEW -j {target}"
            )
    lines += [
        "COMMIT",
        "*nat",
        ":PREROUTING ACCEPT [0:0]",
        ":INPUT ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
        "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
        "-A DOCKER -i docker0 -j RETURN",
        "COMMIT",
    ]
    return (
        "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Mon Jan  1 00:00:00 2024\n"
        + "\n".join(lines)
        + "\n"
    )


def iptables_nft_listing(saved: str) -> list[dict[str, Any]]:
    """What `nft -j` shows of iptables-nft's tables: the chains, and rules as compatibility expressions."""
    hooks = {
        "INPUT": ("input", 0),
        "OUTPUT": ("output", 0),
        "FORWARD": ("forward", 0),
        "PREROUTING": ("prerouting", -100),
        "POSTROUTING": ("postrouting", 100),
    }
    items: list[dict[str, Any]] = []
    table = ""
    handle = 1000
    for line in saved.splitlines():
        if line.startswith("*"):
            table = line[1:]
            items.append({"table": {"family": "ip", "name": table, "handle": len(items) + 10}})
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            chain: dict[str, Any] = {"family": "ip", "table": table, "name": name}
            if name in hooks:
                hook, priority = hooks[name]
                if table == "nat" and name == "INPUT":
                    priority = 100
                if table == "nat" and name == "OUTPUT":
                    priority = -100
                chain.update(
                    type="nat" if table == "nat" else "filter",
                    hook=hook,
                    prio=priority,
                    policy=policy.lower(),
                )
            items.append({"chain": chain})
        elif line.startswith("-A "):
            handle += 1
            expr = [{"xt": {"type": "match", "name": "compat"}}, {"counter": {"packets": 0, "bytes": 0}}]
            items.append(
                {
                    "rule": {
                        "family": "ip",
                        "table": table,
                        "chain": line.split()[1],
                        "handle": handle,
                        "expr": expr,
                    }
                }
            )
    return items


def fail2ban(generator: random.Random, bans: int) -> str:
    lines = [
        "*filter",
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":f2b-sshd - [0:0]",
        "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd",
    ]
    lines += [
        f"-A f2b-sshd -s {address(generator)}/32 -j REJECT --reject-with icmp-port-unreachable"
        for _ in range(bans)
    ]
    lines += ["-A f2b-sshd -j RETURN", "COMMIT"]
    return "# Generated by iptables-save v1.8.9 on Mon Jan  1 00:00:00 2024\n" + "\n".join(lines) + "\n"


def captured_host(rules: int, seed: int = 1) -> tuple[dict[str, Captured], int]:
    generator = random.Random(seed)
    services, per_service = 50, max(1, rules // 200)
    egress, user_rules, bans = rules // 10, rules * 4 // 10, rules // 5
    blocklist = rules * 3 // 5
    count = services * (per_service + 2) + egress + 8 + user_rules + 25 + bans + 3
    captured = {key: Captured(error=NOT_INSTALLED) for key in FIREWALL_COMMANDS}
    captured["nft-json"] = Captured(nftables(generator, services, per_service, blocklist, egress))
    captured["nft-text"] = Captured("table inet filter {\n}\n")
    saved = ufw_and_docker(generator, user_rules)
    captured["iptables-nft-save"] = Captured(saved)
    document = json.loads(captured["nft-json"].text)
    document["nftables"] += iptables_nft_listing(saved)
    captured["nft-json"] = Captured(json.dumps(document))
    captured["iptables-legacy-save"] = Captured(fail2ban(generator, bans))
    captured["ip6tables-nft-save"] = Captured("")
    captured["ip6tables-legacy-save"] = Captured("")
    captured["ip-link"] = Captured(
        "1: lo: <LOOPBACK,UP> mtu 65536\\    link/loopback 00:00:00:00:00:00\n"
        "2: eth0: <BROADCAST,UP> mtu 1500\\    link/ether 52:54:00:12:34:56\n"
    )
    captured["ip-addr"] = Captured(
        "1: lo    inet 127.0.0.1/8 scope host lo\n"
        "2: eth0    inet 198.18.30.40/24 brd 198.18.30.255 scope global eth0\n"
    )
    captured["ip-route4"] = Captured(
        "default via 198.18.30.1 dev eth0\n"
        "198.18.30.0/24 dev eth0 proto kernel scope link src 198.18.30.40\n"
        "local 198.18.30.40 dev eth0 table local proto kernel scope host src 198.18.30.40\n"
    )
    captured["ip-rule4"] = Captured("0:\tfrom all lookup local\n32766:\tfrom all lookup main\n")
    captured["/proc/sys/net/ipv4/ip_local_port_range"] = Captured("32768\t60999\n")
    captured["processes"] = Captured("    0     0 VVAgent\n")
    return captured, count + blocklist


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    captured, count = captured_host(args.rules)
    flows = [Flow("egress", port, EGRESS_SUBNETS) for port in EGRESS_PORTS] + [INBOUND]
    reads, judgements = [], []
    segments = 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        host = read_host_firewall(captured)
        read = time.perf_counter()
        results = [judge(host, flow) for flow in flows]
        done = time.perf_counter()
        reads.append(read - started)
        judgements.append(done - read)
        segments = sum(len(r.segments) for r in results)
        assert not any(r.unreadable for r in results), results[0].unreadable
    chains = len(host.ruleset.chains)
    rules = sum(len(c.rules) for c in host.ruleset.chains.values())
    print(
        f"host: {rules} rules in {chains} chains from {', '.join(host.ruleset.sources)} "
        f"(asked for {args.rules}; {count} items incl. set elements)"
    )
    print(
        f"flows: {len(flows)} ({len(EGRESS_PORTS)} egress ports x {len(EGRESS_SUBNETS)} subnets, 1 inbound); "
        f"{segments} segments"
    )
    median, least = statistics.median(reads) * 1000, min(reads) * 1000
    print(f"read the host once:      median {median:7.1f} ms   min {least:7.1f} ms")
    print(
        f"judge all its flows:     median {statistics.median(judgements) * 1000:7.1f} ms   "
        f"min {min(judgements) * 1000:7.1f} ms"
    )
    total = [r + j for r, j in zip(reads, judgements, strict=True)]
    print(f"per host (read + judge): median {statistics.median(total) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
