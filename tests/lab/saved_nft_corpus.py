"""nftables scripts to prove the parser equal to `nft -j` on: Debian's examples, every script of the
kernel labs, generated ones, and scripts nft refuses (the parser must refuse them too).

`same_meaning` compares two rulesets as the evaluator sees them: the chains and base chains with
every step, but without the texts of the evidence (labels, rule texts).
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

from pytest_backupnet.firewall.model import Concat, KeyTest, Nat, Opaque, Ruleset, Taint, Verdict, VerdictMap

EXAMPLES = Path("/usr/share/doc/nftables/examples")
EXAMPLES_REFUSED_HERE = {  # file -> why this kernel refuses it (as the kernel lab notes)
    "load_balancing.nft": "its nat chain at priority -300 is refused by this kernel",
    "secmark.nft": "needs SELinux secmark contexts, which this kernel does not have",
}
EXAMPLES_PREPARED = {"sets_and_maps.nft": "table ip filter {}\n"}  # the example adds to an existing table


def _step(step: Any) -> Any:
    if isinstance(step, KeyTest | Concat):
        return dataclasses.replace(step, text="")
    if isinstance(step, Opaque):
        return Opaque("")
    if isinstance(step, Taint):
        return Taint("")
    if isinstance(step, Verdict):
        return Verdict(step.kind, "tcp reset" if "tcp" in step.detail and "reset" in step.detail else "")
    if isinstance(step, VerdictMap):  # one lookup: the order nft lists a map's elements in does not count
        return VerdictMap(Opaque(""), tuple(sorted(((_step(m), v) for m, v in step.entries), key=repr)), "")
    if isinstance(step, Nat) and step.by_map:
        return dataclasses.replace(step, by_map=tuple((_step(m), a) for m, a in step.by_map))
    return step


def _compared(steps: tuple[Any, ...]) -> tuple[Any, ...]:
    """nft lists a `reject with tcp reset` rule without the protocol match the kernel holds for it
    (`ip protocol tcp` is gone from the listing, and so is the one nft adds): that match is left out
    of the comparison."""
    found = tuple(_step(s) for s in steps)
    if found and found[-1] == Verdict("reject", "tcp reset"):
        found = tuple(
            s
            for s in found
            if not (
                isinstance(s, KeyTest) and s.key == "l4proto" and not s.negate and s.values.ints == ((6, 6),)
            )
        )
    return found


def meaning(ruleset: Ruleset) -> tuple[dict[str, list[tuple[Any, ...]]], list[tuple[Any, ...]]]:
    chains = {
        ident: [_compared(rule.steps) for rule in chain.rules] for ident, chain in ruleset.chains.items()
    }
    base = sorted((b.chain, b.family, b.hook, b.priority, b.kind, b.policy, b.devices) for b in ruleset.base)
    return chains, base


def difference(left: Ruleset, right: Ruleset) -> str:
    """ "" when both mean the same, else the first difference."""
    (left_chains, left_base), (right_chains, right_base) = meaning(left), meaning(right)
    if left_base != right_base:
        return f"base chains differ: {left_base} != {right_base}"
    for ident in sorted(set(left_chains) | set(right_chains)):
        mine, theirs = left_chains.get(ident), right_chains.get(ident)
        if mine != theirs:
            if mine is None or theirs is None or len(mine) != len(theirs):
                return f"chain {ident}: {len(mine or [])} rules != {len(theirs or [])}"
            index = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
            return f"chain {ident} rule {index}: {mine[index]} != {theirs[index]}"
    return ""


# scripts nft refuses: the parser must refuse each too (a file nft refuses loads nothing at boot)

REFUSED = {
    "no separator before }": "table inet t {\n chain c { type filter hook input priority 0; policy drop }\n}",
    "no separator after a chain": "table inet t {\n chain a { accept; } chain b { accept; }\n}\n",
    "jump to a missing chain": "table inet t {\n chain a { type filter hook input priority 0; jump b;}\n}\n",
    "undefined variable": "table inet t {\n chain a { tcp dport $nope accept;}\n}\n",
    "icmpx in an ip table": "table ip t {\n chain a { reject with icmpx type admin-prohibited;}\n}\n",
    "nat in a filter chain": "table ip t {\n chain a { type filter hook input priority 0; "
    "dnat to 1.2.3.4;}\n}\n",
    "conflicting protocols": "table ip t {\n chain a { ip6 saddr ::1 accept;}\n}\n",
    "nfproto outside inet": "table ip t {\n chain a { meta nfproto ipv4 accept;}\n}\n",
    "range without interval": "table ip t {\n set s { type ipv4_addr; elements = { 10.0.0.0/8 } }\n}\n",
    "unknown statement": "table ip t {\n chain a { frobnicate 3 accept;}\n}\n",
    "missing set": "table ip t {\n chain a { ip saddr @nope accept;}\n}\n",
    "nat port without transport": "table ip t {\n chain n { type nat hook prerouting priority -100; "
    "dnat to 1.2.3.4:80;}\n}\n",
    "unterminated table": "table ip t {\n chain a { accept;}\n",
}


# generated scripts: random tables, chains and rules over everything the evaluator reads

_MATCHES = (
    "ip saddr {net}",
    "ip daddr {net}",
    "ip saddr != {net}",
    "ip daddr {{ {net}, {net} }}",
    "tcp dport {port}",
    "tcp dport {{ {port}, {port} }}",
    "tcp sport {port}",
    "tcp dport {port}-{port2}",
    "udp dport 53",
    "th dport {port}",
    "meta l4proto tcp",
    "meta l4proto {{ tcp, udp }}",
    "ct state new",
    "ct state established,related",
    "ct state {{ established, related }}",
    "ct state != invalid",
    'iifname "eth0"',
    'oifname "eth*"',
    'iifname {{ "eth0", "eth1" }}',
    "meta mark 0x{mark:x}",
    "meta mark & 0xff == 0x{mark:x}",
    "ct mark 0x{mark:x}",
    "tcp flags syn",
    "tcp flags & (syn|ack) == syn",
    "tcp flags syn / syn,ack",
    "fib daddr type local",
    "fib saddr . iif oif missing",
    "meta skuid {uid}",
    "ct status dnat",
    "meta pkttype host",
    "ip protocol tcp",
    "icmp type echo-request",
    "ip saddr . tcp dport {{ {addr} . {port} }}",
    "tcp dport > {port}",
    "ct direction original",
)
_VERDICTS = (
    "accept",
    "drop",
    "reject",
    "reject with tcp reset",
    "counter accept",
    'log prefix "x " drop',
    "continue",
    "return",
    "jump {chain}",
    "goto {chain}",
    "meta mark set 0x{mark:x}",
    "ct mark set meta mark",
    "notrack",
    "limit rate 10/second accept",
    "counter",
)
_HOOKS = {
    "ip": ("input", "output", "prerouting", "postrouting", "forward"),
    "inet": ("input", "output", "prerouting", "postrouting", "forward"),
    "ip6": ("input", "output"),
}


def generated(seed: int) -> str:
    """A random script: 1-3 tables, base and regular chains, named sets, defines and vmaps."""
    rng = random.Random(seed)
    lines = [
        "flush ruleset",
        f"define net = 198.19.{rng.randrange(256)}.0/24",
        f"define port = {rng.randrange(1, 65535)}",
    ]
    for table_index in range(rng.randrange(1, 4)):
        family = rng.choice(("ip", "inet", "inet"))
        lines.append(f"table {family} t{table_index} {{")
        if rng.random() < 0.1:
            lines.append("    flags dormant")
        elements = f"{_net(rng)}, {_addr(rng)}"
        lines.append(f"    set allowed {{ type ipv4_addr; flags interval; elements = {{ {elements} }} }}")
        regular = [f"r{i}" for i in range(rng.randrange(0, 3))]
        for name in regular:
            lines.append(f"    chain {name} {{")
            lines += [f"        {_rule(rng, family, [], False)}" for _ in range(rng.randrange(1, 4))]
            lines.append("    }")
        for index, hook in enumerate(rng.sample(_HOOKS[family], rng.randrange(1, 3))):
            kind = "filter"
            priority = rng.choice(("filter", "0", "-150", "raw", "mangle", "filter + 10", "security", "-5"))
            policy = rng.choice(("accept", "drop"))
            lines.append(f"    chain b{index} {{")
            lines.append(f"        type {kind} hook {hook} priority {priority}; policy {policy};")
            lines += [f"        {_rule(rng, family, regular, True)}" for _ in range(rng.randrange(1, 7))]
            if rng.random() < 0.3:
                lines.append("        ip daddr vmap { " + f"{_net(rng)} : accept, {_net(rng)} : drop" + " }")
            lines.append("    }")
        lines.append("}")
    return "\n".join(lines) + "\n"


def _rule(rng: random.Random, family: str, chains: list[str], base: bool) -> str:
    values = {
        "net": _net(rng),
        "port": rng.randrange(1, 30000),
        "port2": rng.randrange(30000, 65535),
        "mark": rng.randrange(1, 256),
        "uid": rng.randrange(0, 5000),
        "addr": _addr(rng),
    }
    matches = [m.format(**values) for m in rng.sample(_MATCHES, rng.randrange(0, 3))]
    if family == "ip":
        matches = [m for m in matches if "nfproto" not in m]
    matches = _compatible(matches)
    if rng.random() < 0.2:
        matches.append("ip saddr @allowed")
    if rng.random() < 0.2:
        matches.append("ip saddr $net")
    verdicts = [v for v in _VERDICTS if chains or "{chain}" not in v]
    verdict = rng.choice(verdicts).format(chain=rng.choice(chains) if chains else "", mark=values["mark"])
    return " ".join([*matches, verdict])


def _compatible(matches: list[str]) -> list[str]:
    """Keep the matches of one transport protocol (nft refuses tcp and udp matches in one rule)."""
    kept: list[str] = []
    transport = ""
    for match in matches:
        found = next(
            (
                p
                for p in ("tcp", "udp", "icmp")
                if match.startswith(p)
                or f"l4proto {p}" in match
                or f"protocol {p}" in match
                or f". {p}" in match
            ),
            "",
        )
        if "{ tcp, udp }" in match or "th dport" in match:
            found = "th"
        if found and transport and found != transport:
            continue
        transport = transport or found
        kept.append(match)
    return kept


def _net(rng: random.Random) -> str:
    return f"198.19.{rng.randrange(256)}.0/{rng.choice((24, 25, 28))}"


def _addr(rng: random.Random) -> str:
    return f"198.19.{rng.randrange(256)}.{rng.randrange(1, 255)}"
