"""From the nftables ruleset a boot leaves (NftState) to the evaluator's model, with evidence labels.

Both ways of reading a script meet here: the parser's state, and the real nft's listing turned
into the same state. The chains are read by the live path's reader (nft_json.parse_nft), then
each rule and base chain is labelled with the file and line it came from.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ..model import BaseChain, Chain, Rule
from ..nft_json import chain_id, load_json, parse_nft
from ..nft_text import parse_text
from .nft_state import NftChain, NftRule, NftSet, NftState, NftTable


def state_chains(state: NftState) -> tuple[dict[str, Chain], list[BaseChain], list[str]]:
    """(chains, base chains, notes) of the state, labelled with where each rule was written."""
    parsed = parse_nft(state.items(), None)
    chains: dict[str, Chain] = {}
    for ident, chain in parsed.chains.items():
        _, family, table_name, name = ident.split(" ", 3)
        table = state.tables.get((family, table_name))
        source = table.chains.get(name) if table else None
        if source is None or len(source.rules) != len(chain.rules):
            chains[ident] = chain
            continue
        rules = tuple(
            Rule(r.steps, f'{s.origin} "{s.text}" ({family} {table_name} {name})')
            for r, s in zip(chain.rules, source.rules, strict=True)
        )
        chains[ident] = Chain(ident, chain.label, rules)
    base: list[BaseChain] = []
    for found in parsed.base:
        _, family, table_name, name = found.chain.split(" ", 3)
        table = state.tables.get((family, table_name))
        source = table.chains.get(name) if table else None
        origin = f" ({source.origin})" if source else ""
        base.append(
            replace(found, source=table.source if table else found.source, label=f"{found.label}{origin}")
        )
    return chains, base, list(parsed.notes)


def state_from_listing(json_text: str, text: str, written: NftState | None) -> NftState:
    """The real nft's listing as a state; rules keep the labels of the parser's state where it agrees.
    Raises JsonError when the listing is not JSON (nft 1.0.6 writes a table's flags as garbage)."""
    items = load_json(json_text)  # an unreadable listing is never an empty ruleset
    listing = parse_text(text)
    state = NftState()
    for item in items:
        for kind in ("table", "chain", "set", "map", "rule"):
            body = item.get(kind)
            if not isinstance(body, dict):
                continue
            family = str(body.get("family", ""))
            table_name = str(body.get("table", body.get("name", "")))
            if kind == "table":
                text_table = listing.tables.get((family, table_name))
                flags = list(text_table.flags) if text_table else []
                origin = _origin_of_table(written, family, table_name)
                state.tables[(family, table_name)] = NftTable(family, table_name, origin, flags)
                continue
            table = state.tables.get((family, table_name))
            if table is None:
                continue
            if kind == "chain":
                name = str(body.get("name", ""))
                hook = None
                if "hook" in body:
                    hook = {k: body[k] for k in ("type", "hook", "prio", "policy") if k in body}
                    text_table = listing.tables.get((family, table_name))
                    devices = text_table.chain_devices.get(name) if text_table else None
                    if devices:
                        hook["dev"] = devices[0] if len(devices) == 1 else list(devices)
                origin = _origin_of_chain(written, family, table_name, name)
                table.chains[name] = NftChain(name, origin, hook)
            elif kind in ("set", "map"):
                name = str(body.get("name", ""))
                kept = {k: v for k, v in body.items() if k not in ("family", "name", "table", "handle")}
                table.sets[name] = NftSet(name, kept, "nft listing", kind == "map")
            else:
                chain = table.chains.get(str(body.get("chain", "")))
                if chain is None:
                    continue
                handle = body.get("handle")
                text_table = listing.tables.get((family, table_name))
                rule_text = (
                    text_table.rule_text.get((chain.name, handle), "")
                    if text_table and isinstance(handle, int)
                    else ""
                )
                expr: list[Any] = body.get("expr") if isinstance(body.get("expr"), list) else []  # type: ignore[assignment]
                chain.rules.append(
                    NftRule(expr, rule_text or json.dumps(expr)[:200], f"nft listing handle {handle}")
                )
    if written is not None:
        _adopt_labels(state, written)
    return state


def _origin_of_table(written: NftState | None, family: str, name: str) -> str:
    table = written.tables.get((family, name)) if written else None
    return table.origin if table else "nft listing"


def _origin_of_chain(written: NftState | None, family: str, table_name: str, name: str) -> str:
    table = written.tables.get((family, table_name)) if written else None
    chain = table.chains.get(name) if table else None
    return chain.origin if chain else "nft listing"


def _adopt_labels(state: NftState, written: NftState) -> None:
    """Where the parser read the same chain with as many rules, its file:line labels are the evidence."""
    for key, table in state.tables.items():
        source_table = written.tables.get(key)
        if source_table is None:
            continue
        table.source = source_table.source
        for name, chain in table.chains.items():
            source = source_table.chains.get(name)
            if source is None or len(source.rules) != len(chain.rules):
                continue
            chain.rules = [
                NftRule(r.expr, s.text, s.origin) for r, s in zip(chain.rules, source.rules, strict=True)
            ]


_ = chain_id
