"""Which firewall the checks judge (`--backupnet-firewall`): the running rules, the configuration the
host boots with, or the running rules and their drift from it.

Without the option: the running rules where they can be read and could refuse a packet; else (an
image build: nothing loaded, only empty chains that accept, or no right to list the rules in a
container) the saved configuration. The record
always says which one was judged, and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .firewall import Flow, HostFirewall, Judgement, judge
from .firewall.assemble import REMEDY
from .firewall.model import Ruleset
from .firewall.saved import NOTHING_SAVED, SavedFirewall, judge_saved

FIREWALL_MODES = ("live", "saved", "both")
AUTO = "auto"
LIVE, SAVED = "live", "saved"
NOTHING_NOW = "no firewall rules are loaded now"


@dataclass(frozen=True)
class JudgedFirewall:
    """The firewall a check judges: `source` live (the running rules) or saved (the boot's)."""

    source: str
    why: str  # why this one, for the evidence ("" when the option asked for it)
    live: HostFirewall
    saved: SavedFirewall | None = None

    @property
    def name(self) -> str:
        """How a finding names it."""
        return "the host firewall" if self.source == LIVE else "the firewall the host boots with"

    def judge(self, flow: Flow) -> Judgement:
        if self.source == LIVE or self.saved is None:
            return judge(self.live, flow)
        return judge_saved(self.saved, self.live, flow)

    def judged_by(self, judgement: Judgement | None = None) -> str:
        """Which rules were judged, for the evidence (the sources in force, given the judgement)."""
        if self.source == LIVE:
            if judgement is None:
                words = "judged: the running rules"
            elif judgement.nothing_filters:
                words = "nothing filters: no firewall rules are loaded"
            else:
                words = f"judged: the running rules ({', '.join(judgement.judged)})"
        else:
            assert self.saved is not None
            summary = self.saved.summary
            if judgement is not None and judgement.nothing_filters and self.why == NOTHING_NOW:
                return f"nothing filters: {NOTHING_NOW}; {summary}"
            words = f"judged: the saved configuration the host boots with: {summary}"
            if self.saved.nothing_saved:
                words = f"judged: the saved configuration: {NOTHING_SAVED}"
        return f"{words} ({self.why})" if self.why else words

    def cannot_read(self, judgement: Judgement) -> str:
        """Why no verdict (judgement.unreadable), in the words of a check's error."""
        if self.source == LIVE:
            return f"cannot read the host firewall: {judgement.unreadable}"
        why = f" ({self.why})" if self.why else ""
        return f"{judgement.unreadable}{why}"


def choose_firewall(mode: str, live: HostFirewall, saved: Callable[[], SavedFirewall]) -> JudgedFirewall:
    """The firewall the checks judge under `mode` (live, saved, both or auto); `saved` is read on demand.

    `both` judges the running rules here; the drift controls compare them with the boot's. `auto`
    judges the saved configuration only where the running rules could refuse nothing, or where the
    host would not let them be listed at all (a container build has no right to); never where rules
    are known to be loaded but cannot be evaluated (then the check says why it cannot judge).
    """
    if mode in (LIVE, "both"):
        return JudgedFirewall(LIVE, "", live)
    if mode == SAVED:
        return JudgedFirewall(SAVED, "", live, saved())
    if live.unreadable:
        if not live.unreadable.endswith(REMEDY):
            return JudgedFirewall(LIVE, "", live)
        why = f"the running rules cannot be read: {live.unreadable}"
        return JudgedFirewall(SAVED, why, live, saved())
    if nothing_loaded(live.ruleset):
        return JudgedFirewall(SAVED, NOTHING_NOW, live, saved())
    return JudgedFirewall(LIVE, "", live)


def nothing_loaded(ruleset: Ruleset) -> bool:
    """No base chain that could refuse a packet: none at all, or only empty ones whose policy accepts
    (the tables iptables-legacy lists wherever its module is loaded, an image build's builder among
    them; the empty chains of Debian's default nftables.conf)."""
    return all(
        base.policy == "accept" and base.chain in ruleset.chains and not ruleset.chains[base.chain].rules
        for base in ruleset.base
    )


def boot_firewall(live: HostFirewall, saved: SavedFirewall) -> JudgedFirewall:
    """The configuration the host boots with, judged with the live host's facts (for drift)."""
    return JudgedFirewall(SAVED, "", live, saved)


__all__ = [
    "AUTO",
    "FIREWALL_MODES",
    "NOTHING_SAVED",
    "JudgedFirewall",
    "boot_firewall",
    "choose_firewall",
]
