"""Commands of firewalld's nftables backend, executed as its set_rules and nft execute them."""

from __future__ import annotations

import json
from typing import Any

from .firewalld_names import TABLE, Command, GenerateError
from .nft_rules import without_implied
from .nft_state import NftChain, NftRule, NftSet, NftState, NftTable

JSON = Any


def execute(commands: list[Command]) -> NftState:
    state = NftState()
    table = NftTable("inet", TABLE, "firewalld", source="firewalld")
    state.tables[("inet", TABLE)] = table
    seen: set[str] = set()
    rich_counts: dict[str, dict[int, int]] = {}
    policy_counts: dict[str, dict[int, int]] = {}
    zone_sources: list[tuple[str, str]] = []
    for command in commands:
        body = dict(command.body)
        if command.kind == "chain":
            name = body["name"]
            if name not in table.chains:
                hook: dict[str, JSON] = {k: body[k] for k in ("type", "hook", "prio", "policy") if k in body}
                table.chains[name] = NftChain(name, command.origin, hook or None)
            continue
        if command.kind == "set":
            kept = {k: v for k, v in body.items() if k != "name"}
            table.sets[body["name"]] = NftSet(body["name"], kept, command.origin)
            continue
        chain_name = body["chain"]
        expr = listing_form([e for e in body["expr"] if e])
        key = json.dumps([chain_name, expr], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        chain = table.chains.get(chain_name)
        if chain is None:
            raise GenerateError(f"firewalld would add a rule to chain {chain_name}, which does not exist")
        verb, index = command.verb, body.get("index")
        for token, counts in (("rich_priority", rich_counts), ("policy_priority", policy_counts)):
            if token in body:
                verb, index = _by_priority(counts.setdefault(chain_name, {}), int(body[token]), verb)
        if body.get("zone_source"):
            if body["zone_source"] not in zone_sources:
                zone_sources.append(body["zone_source"])
                zone_sources.sort(key=lambda pair: pair[0])
            position = zone_sources.index(body["zone_source"])
            verb, index = ("insert", None) if position == 0 else ("add", position - 1)
        elif body.get("zone_interface"):
            position = len(zone_sources)
            verb, index = ("insert", None) if position == 0 else ("add", position - 1)
        rule = NftRule(expr, command.text, command.origin)
        if index is None:
            chain.rules.append(rule) if verb == "add" else chain.rules.insert(0, rule)
        else:
            where = index + 1 if verb == "add" else index
            chain.rules.insert(min(where, len(chain.rules)), rule)
    return state


def listing_form(expr: list[JSON]) -> list[JSON]:
    """A rule as nft lists it back: one-element sets are plain values, `in` a set is `==`, and a
    protocol match the next match implies is left out."""
    written: list[JSON] = []
    for statement in expr:
        match = statement.get("match") if isinstance(statement, dict) else None
        if isinstance(match, dict) and isinstance(match.get("right"), dict) and "set" in match["right"]:
            members = match["right"]["set"]
            if isinstance(members, list) and len(members) == 1:
                statement = {"match": {**match, "right": members[0]}}
            elif match.get("op") == "in":
                statement = {"match": {**match, "op": "=="}}
        written.append(statement)
    return without_implied(written, "inet")


def _by_priority(counts: dict[int, int], priority: int, verb: str) -> tuple[str, int | None]:
    counts.setdefault(priority, 0)
    index = 0
    for known in sorted(counts):
        if known == priority and verb == "insert":
            break
        index += counts[known]
        if known == priority and verb == "add":
            break
    counts[priority] += 1
    return ("insert", None) if index == 0 else ("add", index - 1)
