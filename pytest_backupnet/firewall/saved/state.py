"""What the boot leaves in the kernel as the services load their saved files one after another."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Ruleset
from .nft_ruleset import state_chains
from .nft_state import NftState
from .xtables import XTables, to_chains


@dataclass
class BootState:
    nft: NftState = field(default_factory=NftState)
    xtables: dict[int, XTables] = field(default_factory=dict)  # family -> the system's iptables
    iptables_backend: str = "unknown"  # nft | legacy: `nft flush ruleset` wipes iptables-nft rules too
    tools: dict[int, list[str]] = field(default_factory=dict)  # family -> tools that loaded iptables rules
    problems: list[str] = field(default_factory=list)

    def iptables(self, family: int, tool: str) -> XTables:
        if family not in self.xtables:
            self.xtables[family] = XTables(family)
        tools = self.tools.setdefault(family, [])
        if tool not in tools:
            tools.append(tool)
        return self.xtables[family]

    def flush_nft_ruleset(self) -> None:
        self.nft = NftState()
        if self.iptables_backend == "nft":
            self.xtables.clear()
            self.tools.clear()

    def ruleset(self) -> Ruleset:
        chains, base, notes = state_chains(self.nft)
        for family, state in self.xtables.items():
            source = "+".join(self.tools.get(family, [])) or "iptables"
            found = to_chains(state, source, "iptables")
            chains.update(found.chains)
            base += found.base
        sources = tuple(dict.fromkeys(b.source for b in base))
        return Ruleset(chains, tuple(base), sources, tuple(notes))
