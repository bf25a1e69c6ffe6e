"""What iptables-restore leaves in the kernel after the files a host loads at boot, rule by rule.

The state of x_tables (per backend and family) is replayed the way iptables-restore replays a
file: without --noflush each table the file names starts empty (user chains gone, policies kept);
with --noflush a `:chain` line flushes an existing user chain. Each rule keeps where it came from
(file and line) for the evidence. The rules themselves are read by the live path's parser
(`ipt_save.parse_save`), so saved and running rules mean exactly the same thing.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..ipt_save import BUILTIN_HOOKS, NAT_PRIORITY, TABLE_PRIORITY, IpSet, parse_save
from ..model import BaseChain, Chain, Jump, Opaque, Rule, Step, Taint, make_rule

BUILTINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
MAX_RULES = 200_000


@dataclass
class XRule:
    text: str  # what follows "-A CHAIN "
    origin: str  # e.g. /etc/iptables/rules.v4:12


@dataclass
class XChain:
    name: str
    policy: str = ""  # builtin chains: ACCEPT | DROP
    policy_origin: str = ""
    rules: list[XRule] = field(default_factory=list)


@dataclass
class XTables:
    """The x_tables of one family on one backend, as a sequence of restores leaves them."""

    family: int
    tables: dict[str, dict[str, XChain]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why the result is not what the files say
    loaded: list[str] = field(default_factory=list)  # the files that contributed

    def table(self, name: str) -> dict[str, XChain]:
        if name not in self.tables:
            self.tables[name] = {c: XChain(c, "ACCEPT", "") for c in BUILTINS.get(name, ())}
        return self.tables[name]

    def restore(self, text: str, path: str, noflush: bool) -> bool:
        """Replay `iptables-restore [--noflush] < path`; False (and a problem) where it would fail."""
        table: dict[str, XChain] | None = None
        table_name = ""
        staged = self._copy()
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            where = f"{path}:{number}"
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                table_name = line[1:].strip()
                if table_name not in BUILTINS:
                    return self._fail(f"{where}: unknown table {table_name!r}")
                table = staged.table(table_name)
                if not noflush:
                    for name in list(table):
                        if name in BUILTINS[table_name]:
                            table[name].rules = []
                        else:
                            del table[name]
                continue
            if line == "COMMIT":
                table = None
                continue
            if table is None:
                return self._fail(f"{where}: {line[:80]!r} outside a table")
            if line.startswith(":"):
                parts = line[1:].split()
                if not parts:
                    return self._fail(f"{where}: empty chain declaration")
                name = parts[0]
                policy = parts[1] if len(parts) > 1 else "-"
                if name in BUILTINS[table_name]:
                    if policy in ("ACCEPT", "DROP"):
                        table[name].policy, table[name].policy_origin = policy, f'{where} "{line[:80]}"'
                    elif policy != "-":
                        return self._fail(f"{where}: bad policy {policy!r}")
                elif name in table:
                    table[name].rules = []
                else:
                    table[name] = XChain(name)
                continue
            if line.startswith("["):
                line = line.split("]", 1)[-1].strip()
            problem = staged._command(table, table_name, line, where)
            if problem:
                return self._fail(problem)
        self.tables = staged.tables
        self.loaded.append(path)
        return True

    def command(self, line: str, where: str) -> bool:
        """One iptables command as an init script runs it: `-t nat -P OUTPUT DROP`."""
        try:
            tokens = shlex.split(line)
        except ValueError:
            return self._fail(f"{where}: cannot read {line[:80]!r}")
        table_name = "filter"
        if len(tokens) >= 2 and tokens[0] in ("-t", "--table"):
            table_name, tokens = tokens[1], tokens[2:]
        if table_name not in BUILTINS:
            return self._fail(f"{where}: unknown table {table_name!r}")
        problem = self._command(self.table(table_name), table_name, shlex.join(tokens), where)
        return self._fail(problem) if problem else True

    def _command(self, table: dict[str, XChain], table_name: str, line: str, where: str) -> str:
        parts = line.split(None, 2)
        option = parts[0]
        chain = parts[1] if len(parts) > 1 else ""
        rest = parts[2] if len(parts) > 2 else ""
        if option in ("-A", "--append", "-I", "--insert", "-R", "--replace", "-D", "--delete"):
            if chain not in table:
                return f"{where}: chain {chain!r} does not exist in table {table_name}"
            rules = table[chain].rules
            if sum(len(c.rules) for t in self.tables.values() for c in t.values()) > MAX_RULES:
                return f"{where}: more than {MAX_RULES} rules"
            if option in ("-A", "--append"):
                rules.append(XRule(rest, where))
                return ""
            first, _, tail = rest.partition(" ")
            if option in ("-I", "--insert"):
                index, body = (int(first), tail) if first.isdigit() else (1, rest)
                if not 1 <= index <= len(rules) + 1:
                    return f"{where}: index {index} out of range"
                rules.insert(index - 1, XRule(body, where))
                return ""
            if option in ("-R", "--replace"):
                if not first.isdigit() or not 1 <= int(first) <= len(rules):
                    return f"{where}: bad rule number in {line[:80]!r}"
                rules[int(first) - 1] = XRule(tail, where)
                return ""
            if first.isdigit() and not tail:
                if not 1 <= int(first) <= len(rules):
                    return f"{where}: no rule {first} in {chain}"
                del rules[int(first) - 1]
                return ""
            matching = [i for i, r in enumerate(rules) if _same_rule(r.text, rest)]
            if not matching:
                return f"{where}: no rule {rest[:60]!r} to delete in {chain}"
            del rules[matching[0]]
            return ""
        if option in ("-N", "--new-chain", "--new"):
            if chain in table:
                return f"{where}: chain {chain!r} already exists"
            table[chain] = XChain(chain)
            return ""
        if option in ("-F", "--flush"):
            for name in [chain] if chain else list(table):
                if name not in table:
                    return f"{where}: chain {name!r} does not exist"
                table[name].rules = []
            return ""
        if option in ("-X", "--delete-chain"):
            for name in [chain] if chain else [c for c in table if c not in BUILTINS[table_name]]:
                if name not in table or name in BUILTINS[table_name]:
                    return f"{where}: cannot delete chain {name!r}"
                del table[name]
            return ""
        if option in ("-P", "--policy"):
            if chain not in BUILTINS[table_name] or rest not in ("ACCEPT", "DROP"):
                return f"{where}: bad policy {line[:80]!r}"
            table[chain].policy, table[chain].policy_origin = rest, f'{where} "{line[:80]}"'
            return ""
        if option in ("-Z", "--zero"):
            return ""
        return f"{where}: {option!r} is not an iptables command"

    def _copy(self) -> XTables:
        copy = XTables(self.family)
        copy.tables = {
            t: {n: XChain(c.name, c.policy, c.policy_origin, list(c.rules)) for n, c in chains.items()}
            for t, chains in self.tables.items()
        }
        return copy

    def _fail(self, problem: str) -> bool:
        self.problems.append(problem)
        return False


_IMPLICIT = {  # options of the match iptables loads by itself after `-p PROTOCOL`
    "tcp": (
        "tcp",
        ("--dport", "--destination-port", "--sport", "--source-port", "--syn", "--tcp-flags", "--tcp-option"),
    ),
    "udp": ("udp", ("--dport", "--destination-port", "--sport", "--source-port")),
    "icmp": ("icmp", ("--icmp-type",)),
    "ipv6-icmp": ("icmp6", ("--icmpv6-type",)),
    "icmpv6": ("icmp6", ("--icmpv6-type",)),
}


def explicit_modules(text: str) -> str:
    """`-p tcp --dport 22` as iptables-save prints it, `-p tcp -m tcp --dport 22`: a restore file may
    leave out the protocol's match, which iptables then loads by itself."""
    try:
        tokens = shlex.split(text)
    except ValueError:
        return text
    for index, token in enumerate(tokens[:-1]):
        if token not in ("-p", "--protocol") or tokens[index + 1].lower() not in _IMPLICIT:
            continue
        module, options = _IMPLICIT[tokens[index + 1].lower()]
        rest = tokens[index + 2 :]
        loaded = any(rest[i] in ("-m", "--match") and rest[i + 1] == module for i in range(len(rest) - 1))
        if not loaded and any(o in rest for o in options):
            return shlex.join([*tokens[: index + 2], "-m", module, *rest])
    return text


def _same_rule(left: str, right: str) -> bool:
    try:
        return shlex.split(left) == shlex.split(right)
    except ValueError:
        return left.split() == right.split()


@dataclass(frozen=True)
class XChains:
    chains: dict[str, Chain]
    base: tuple[BaseChain, ...]
    unreadable: tuple[str, ...]  # rules the parser could not read: the tool may refuse the file


def to_chains(
    state: XTables, source: str, backend: str, ipsets: Mapping[str, IpSet] | None = None
) -> XChains:
    """The common model of what `state` holds; chain ids are unique per backend and family."""
    family_name = "ip" if state.family == 4 else "ip6"
    chains: dict[str, Chain] = {}
    base: list[BaseChain] = []
    unreadable: list[str] = []
    for table_name, table in state.tables.items():
        if not any(c.rules or c.policy == "DROP" for c in table.values()):
            continue
        lines = [f"*{table_name}"]
        order: list[XRule] = []
        for chain in table.values():
            lines.append(f":{chain.name} {chain.policy or '-'} [0:0]")
        for chain in table.values():
            for rule in chain.rules:
                lines.append(f"-A {chain.name} {explicit_modules(rule.text)}")
                order.append(rule)
        lines.append("COMMIT")
        parsed = parse_save("\n".join(lines), state.family, ipsets).tables.get(table_name)
        rules_of: dict[str, list[Rule]] = {name: [] for name in table}

        def ident(name: str, table_name: str = table_name) -> str:
            return f"saved {backend} {family_name} {table_name} {name}"

        saved_rules = parsed.rules if parsed else []
        for saved, origin in zip(saved_rules, order, strict=True):
            steps: list[Step] = []
            for step in saved.steps:
                if isinstance(step, Jump):
                    steps.append(
                        Jump(ident(step.target), step.goto)
                        if step.target in table
                        else Taint(f"-j {step.target}: no such chain or target")
                    )
                else:
                    steps.append(step)
            if any(isinstance(s, Opaque) and s.text.startswith("cannot read") for s in steps):
                unreadable.append(f'{origin.origin} "{origin.text[:100]}"')
            label = f'{origin.origin} "-A {saved.chain} {origin.text[:200]}"'
            rules_of[saved.chain].append(make_rule(tuple(steps), label))
        for name, chain in table.items():
            label = f"{family_name} {table_name} {name}"
            chains[ident(name)] = Chain(ident(name), label, tuple(rules_of[name]))
            hook = BUILTIN_HOOKS.get(name)
            if name not in BUILTINS[table_name] or hook is None or hook == "forward":
                continue
            priority = NAT_PRIORITY.get(hook, 0) if table_name == "nat" else TABLE_PRIORITY[table_name]
            where = f" ({chain.policy_origin})" if chain.policy_origin else ""
            base.append(
                BaseChain(
                    chain=ident(name),
                    source=source,
                    family=family_name,
                    hook=hook,
                    priority=priority,
                    kind="nat" if table_name == "nat" else "filter",
                    policy=(chain.policy or "ACCEPT").lower(),
                    label=f"{label}{where}",
                )
            )
    return XChains(chains, tuple(base), tuple(unreadable))
