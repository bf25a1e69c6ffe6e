"""Every rule source of a host in one ruleset: native nftables, iptables-nft, iptables-legacy.

iptables-nft tables live in nftables, but `nft -j` drops the parameters of compatibility matches
and targets: a rule nft prints with them is read from iptables-nft-save's line at the same place
(nft's own translation is exact for the others, and native rules in iptables-named tables are only
nft's). Without nft's listing, iptables-nft-save alone gives the rules, at the standard priorities.
Legacy x_tables chains apply besides nftables, with their policies even without rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ipt_save import (
    BUILTIN_HOOKS,
    NAT_PRIORITY,
    TABLE_PRIORITY,
    SavedRuleset,
    parse_ipsets,
    parse_save,
)
from .kernel_tables import unproven_silence
from .model import BaseChain, Chain, Jump, Rule, Ruleset, Step, Taint, make_rule
from .nft_json import JsonError, chain_id, load_json, load_table_documents, parse_nft
from .nft_text import TextRuleset, parse_text, table_names
from .sources import Captured, is_missing, is_permission_error, text_of

IPTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")
REMEDY = "run with --sudo (or as root): the firewall rules can only be listed by root"


@dataclass(frozen=True)
class Assembled:
    ruleset: Ruleset
    unreadable: str  # "" or why the rules cannot be read, with the remedy
    tooling: bool  # some firewall tool is installed


def assemble(captured: Mapping[str, Captured]) -> Assembled:
    nft = _read_nft(captured)
    iptables = _read_iptables(captured, nft.items)
    problems = nft.problems + iptables.problems
    if not nft.have_json and nft.listing is not None:
        covered = {
            ("ip" if k.startswith("iptables") else "ip6", t)
            for k, s in iptables.saved.items()
            if "-nft-" in k
            for t in s.tables
        }
        unseen = [f"{f} {n}" for f, n in table_names(nft.listing) if (f, n) not in covered]
        if unseen:
            problems.append(
                f"the nftables tables {', '.join(unseen[:5])} cannot be evaluated without "
                f"`nft -j` ({nft.json_error or 'no JSON listing'})"
            )
    tooling = nft.tooling or iptables.tooling
    if not tooling:
        silence = unproven_silence(captured)
        if silence:
            problems.append(silence)
    permission = [p for p in problems if any(w in p.lower() for w in ("permission", "not permitted", "root"))]
    if permission:
        return Assembled(Ruleset(), f"{'; '.join(permission)}: {REMEDY}", True)
    if problems:
        return Assembled(Ruleset(), "; ".join(problems), tooling)

    chains: dict[str, Chain] = {}
    base: list[BaseChain] = []
    notes: list[str] = []
    saved_rules: dict[tuple[str, str, str], list[Rule]] = {}
    for key, found in iptables.saved.items():
        family_name = "ip" if key.startswith("iptables") else "ip6"
        legacy = "-legacy-" in key
        new_chains, new_base = _saved_chains(found, family_name, legacy, nft.have_json)
        notes += found.notes
        if legacy or not nft.have_json:
            chains.update(new_chains)
            base += new_base
        else:  # its rules stand in for nft's rules with compatibility expressions
            for chain in new_chains.values():
                _, family_of, table_of, chain_of = chain.id.split(" ", 3)
                saved_rules[(family_of, table_of, chain_of)] = list(chain.rules)

    def xt_rule(family: str, table: str, chain: str, index: int, count: int) -> Rule | None:
        found_rules = saved_rules.get((family, table, chain))
        return found_rules[index] if found_rules is not None and len(found_rules) == count else None

    parsed = parse_nft(nft.items, nft.text, xt_rule)
    chains.update(parsed.chains)
    base += parsed.base
    notes += parsed.notes
    sources = tuple(dict.fromkeys(b.source for b in base))
    return Assembled(Ruleset(chains, tuple(base), sources, tuple(notes)), "", tooling)


@dataclass
class _NftRead:
    items: list[dict[str, Any]] = field(default_factory=list)
    listing: str | None = None
    text: TextRuleset | None = None
    have_json: bool = False
    json_error: str = ""
    tooling: bool = False
    problems: list[str] = field(default_factory=list)


def _read_nft(captured: Mapping[str, Captured]) -> _NftRead:
    read = _NftRead()
    json_key = "nft-json" if not is_missing(captured, "nft-json") else "nft-json-libnftables"
    text_key = "nft-text" if not is_missing(captured, "nft-text") else "nft-text-libnftables"
    read.listing = text_of(captured, text_key)
    read.text = parse_text(read.listing) if read.listing is not None else None
    if is_missing(captured, json_key):
        return read
    read.tooling = True
    json_text = text_of(captured, json_key)
    if json_text is None:
        failed = captured[json_key]
        read.json_error = failed.error
        if read.listing is None or is_permission_error(failed):
            read.problems.append(f"nft -j list ruleset: {failed.error}")
        return read
    try:
        read.items = load_json(json_text)
        read.have_json = True
        return read
    except JsonError as exc:
        read.json_error = str(exc)
    by_table = text_of(captured, "nft-json-tables")
    if by_table is None:
        read.problems.append(read.json_error)
        return read
    # nft 1.0.6 corrupts the listing of a table with flags: read table by table
    read.items, broken = load_table_documents(by_table)
    read.have_json = True
    for family, name in broken:
        table = read.text.tables.get((family, name)) if read.text else None
        if table is None or "dormant" not in table.flags:
            read.problems.append(f"{read.json_error}; and `nft -j list table {family} {name}` too")
    return read


@dataclass
class _IptablesRead:
    saved: dict[str, SavedRuleset] = field(default_factory=dict)
    tooling: bool = False
    problems: list[str] = field(default_factory=list)


def _read_iptables(captured: Mapping[str, Captured], items: list[dict[str, Any]]) -> _IptablesRead:
    read = _IptablesRead()
    ipsets = parse_ipsets(text_of(captured, "ipset") or "")
    for family, nft_key, legacy_key, plain_key in (
        (4, "iptables-nft-save", "iptables-legacy-save", "iptables-save"),
        (6, "ip6tables-nft-save", "ip6tables-legacy-save", "ip6tables-save"),
    ):
        for key in (nft_key, legacy_key, plain_key):
            if is_missing(captured, key):
                continue
            read.tooling = True
            text = text_of(captured, key)
            if key == plain_key:  # only where the host lacks the backend's own tool (RHEL 7: legacy)
                if text is not None:
                    parsed = parse_save(text, family, ipsets)
                    target = nft_key if parsed.backend == "nf_tables" else legacy_key
                    if parsed.backend and target not in read.saved and is_missing(captured, target):
                        read.saved[target] = parsed
                elif nft_key in read.saved or legacy_key in read.saved:
                    continue
            elif text is not None:
                read.saved[key] = parse_save(text, family, ipsets)
            if text is None and not _harmless(captured, key, family, items):
                read.problems.append(f"{key}: {captured[key].error}")
    return read


def _harmless(captured: Mapping[str, Captured], key: str, family: int, items: list[dict[str, Any]]) -> bool:
    """A failing iptables tool on a host that has no such tables (no module, no table) is no problem."""
    found = captured[key]
    if is_permission_error(found):
        return False
    if "legacy" in key or key in ("iptables-save", "ip6tables-save"):
        names = text_of(
            captured, "/proc/net/ip_tables_names" if family == 4 else "/proc/net/ip6_tables_names"
        )
        return names is not None and not names.strip()
    family_name = "ip" if family == 4 else "ip6"
    for item in items:
        table = item.get("table")
        if (
            isinstance(table, dict)
            and table.get("family") == family_name
            and table.get("name") in IPTABLES_TABLES
        ):
            return False
    return bool(items)


def _saved_chains(
    saved: SavedRuleset, family_name: str, legacy: bool, have_json: bool
) -> tuple[dict[str, Chain], list[BaseChain]]:
    chains: dict[str, Chain] = {}
    base: list[BaseChain] = []
    tool = "iptables" if family_name == "ip" else "ip6tables"
    for table in saved.tables.values():
        label_prefix = f"{tool}-legacy {table.name}" if legacy else f"{family_name} {table.name}"

        def ident(name: str, table_name: str = table.name) -> str:
            return (
                f"legacy {family_name} {table_name} {name}"
                if legacy
                else chain_id(family_name, table_name, name)
            )

        rules_by_chain: dict[str, list[Rule]] = {name: [] for name in table.chains}
        for rule in table.rules:
            steps: list[Step] = []
            for step in rule.steps:
                if isinstance(step, Jump):
                    if step.target in table.chains:
                        steps.append(Jump(ident(step.target), step.goto))
                    else:
                        steps.append(Taint(f"-j {step.target} is not evaluated"))
                else:
                    steps.append(step)
            label = f'{label_prefix} {rule.chain} "{rule.text}"'
            rules_by_chain.setdefault(rule.chain, []).append(make_rule(tuple(steps), label))
        for name, rules in rules_by_chain.items():
            chains[ident(name)] = Chain(ident(name), f"{label_prefix} {name}", tuple(rules))
            if name in BUILTIN_HOOKS and (legacy or not have_json):
                hook = BUILTIN_HOOKS[name]
                if hook == "forward":
                    continue
                priority = (
                    NAT_PRIORITY.get(hook, 0) if table.name == "nat" else TABLE_PRIORITY.get(table.name)
                )
                if priority is None:
                    continue
                base.append(
                    BaseChain(
                        chain=ident(name),
                        source=f"{tool}-legacy" if legacy else f"{tool}-nft",
                        family=family_name,
                        hook=hook,
                        priority=priority,
                        kind="nat" if table.name == "nat" else "filter",
                        policy=table.policies.get(name, "ACCEPT").lower(),
                        label=f"{label_prefix} {name}",
                    )
                )
    return chains, base
