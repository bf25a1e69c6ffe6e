"""The nftables ruleset a boot leaves in the kernel, built command by command, and its JSON.

Tables, chains, sets and rules keep the file and line they came from; `items()` writes them as
`nft -j list ruleset` does, so the live path's reader (nft_json.parse_nft) reads both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = Any


@dataclass
class NftRule:
    expr: list[JSON]
    text: str  # the rule as written, for the evidence
    origin: str  # file:line


@dataclass
class NftChain:
    name: str
    origin: str
    hook: dict[str, JSON] | None = None  # type, hook, prio, policy, dev of a base chain
    rules: list[NftRule] = field(default_factory=list)


@dataclass
class NftSet:
    name: str
    body: dict[str, JSON]  # type/map/flags/elem as nft -j writes a set
    origin: str
    is_map: bool = False


@dataclass
class NftTable:
    family: str
    name: str
    origin: str
    flags: list[str] = field(default_factory=list)
    chains: dict[str, NftChain] = field(default_factory=dict)
    sets: dict[str, NftSet] = field(default_factory=dict)
    source: str = "nftables"  # which configuration made it


@dataclass
class NftState:
    tables: dict[tuple[str, str], NftTable] = field(default_factory=dict)

    def copy(self) -> NftState:
        copied = NftState()
        for key, table in self.tables.items():
            new = NftTable(table.family, table.name, table.origin, list(table.flags), source=table.source)
            for name, chain in table.chains.items():
                new.chains[name] = NftChain(
                    chain.name, chain.origin, dict(chain.hook) if chain.hook else None, list(chain.rules)
                )
            for name, found in table.sets.items():
                new.sets[name] = NftSet(found.name, dict(found.body), found.origin, found.is_map)
            copied.tables[key] = new
        return copied

    def items(self) -> list[JSON]:
        """The ruleset as `nft -j list ruleset` lists it (handles numbered in order of creation)."""
        items: list[JSON] = []
        for (family, name), table in self.tables.items():
            handle = 0

            def next_handle() -> int:
                nonlocal handle
                handle += 1
                return handle

            items.append(
                {
                    "table": {
                        "family": family,
                        "name": name,
                        "handle": len(items) + 1,
                        **({"flags": list(table.flags)} if table.flags else {}),
                    }
                }
            )
            for found in table.sets.values():
                body = {
                    "family": family,
                    "name": found.name,
                    "table": name,
                    **found.body,
                    "handle": next_handle(),
                }
                items.append({"map" if found.is_map else "set": body})
            for chain in table.chains.values():
                body = {"family": family, "table": name, "name": chain.name, "handle": next_handle()}
                if chain.hook:
                    body.update(chain.hook)
                items.append({"chain": body})
            for chain in table.chains.values():
                for rule in chain.rules:
                    items.append(
                        {
                            "rule": {
                                "family": family,
                                "table": name,
                                "chain": chain.name,
                                "handle": next_handle(),
                                "expr": rule.expr,
                            }
                        }
                    )
        return items
