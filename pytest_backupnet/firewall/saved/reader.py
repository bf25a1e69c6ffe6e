"""Every saved firewall configuration of a host, which of them boot, and the rulesets a boot can leave.

Services that boot are replayed onto one boot state in every order systemd could run them (none
orders them against each other), with and without those whose start is not certain (a unit of
unknown state, a script that names an interface which may not exist yet, a pair that conflicts);
identical results count once. One outcome is the usual case; several are judged each, and only
where they agree is the verdict certain.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..model import Ruleset
from .boot import boot_services
from .configs import Found, Loader, SavedConfiguration, iptables_services, netfilter_persistent, nftables, ufw
from .files import HostFiles
from .firewalld_boot import CONFLICTS, firewalld
from .others import others
from .state import BootState

MAX_OUTCOMES = 32
MAX_RUNS = 720
NOTHING_SAVED = "no saved firewall configuration: nothing will filter at boot"


@dataclass(frozen=True)
class BootOutcome:
    """One ruleset the boot can leave, and what makes it this one ("" when it is the only one)."""

    ruleset: Ruleset
    how: str = ""


@dataclass(frozen=True)
class SavedFirewall:
    configurations: tuple[SavedConfiguration, ...]  # everything found, booting or not
    outcomes: tuple[BootOutcome, ...]  # the rulesets a boot can leave (empty: nothing loads)
    unreadable: str  # "" or why the boot's firewall cannot be evaluated
    init: str  # systemd | sysvinit | unknown
    init_why: str

    @property
    def booting(self) -> tuple[SavedConfiguration, ...]:
        return tuple(c for c in self.configurations if c.boots is not False)

    @property
    def nothing_saved(self) -> bool:
        return not self.configurations

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset of the boot when there is one outcome; else the first (see `outcomes`)."""
        return self.outcomes[0].ruleset if self.outcomes else Ruleset()

    @property
    def summary(self) -> str:
        if self.nothing_saved:
            return NOTHING_SAVED
        booting = [c for c in self.configurations if c.boots]
        maybe = [c for c in self.configurations if c.boots is None]
        parts = []
        if booting:
            parts.append("boots with " + ", ".join(f"{c.tool} ({c.service})" for c in booting))
        if maybe:
            parts.append("may boot with " + ", ".join(f"{c.tool} ({c.why})" for c in maybe))
        idle = [c for c in self.configurations if c.boots is False]
        if idle:
            # The short reason; `configurations` keeps the whole of it (the link, the line).
            parts.append(
                "saved but not loaded at boot: "
                + ", ".join(f"{c.tool} ({c.why.split(' (')[0]})" for c in idle)
            )
        if not booting and not maybe:
            parts.insert(0, "no saved firewall configuration loads at boot: nothing will filter")
        return "; ".join(parts)


def read_saved_firewall(files: Mapping[str, str | None], runner_nft: bool) -> SavedFirewall:
    """What the host's saved configurations will load at boot. Never raises on odd input."""
    host = HostFiles.of(files)
    boot = boot_services(host)
    found: list[Found] = []
    readers: tuple[Callable[[], Found | None], ...] = (
        lambda: nftables(host, boot, runner_nft),
        lambda: firewalld(host, boot),
        lambda: netfilter_persistent(host, boot),
        lambda: ufw(host, boot),
    )
    for reader in readers:
        result = reader()
        if result is not None:
            found.append(result)
    found += iptables_services(host, boot)
    found += [(c, None) for c in others(host, boot)]
    configurations = tuple(c for c, _ in found)
    unreadable = [
        f"{c.tool}: {c.unreadable}" for c in configurations if c.unreadable and c.boots is not False
    ]
    if unreadable:
        return SavedFirewall(configurations, (), "; ".join(unreadable), boot.init, boot.init_why)
    loaders = [(c, loader) for c, loader in found if loader is not None and c.boots is not False]
    outcomes, problem = _outcomes(loaders, _iptables_backend(host))
    return SavedFirewall(configurations, tuple(outcomes), problem, boot.init, boot.init_why)


@dataclass(frozen=True)
class _Step:
    loader: Loader
    stop: bool = False  # the unit's stop (systemd stops it when a conflicting unit starts)


def _iptables_backend(files: HostFiles) -> str:
    """nft | legacy when the probe read where /etc/alternatives/iptables points; "" when not known."""
    target = (files.text("readlink:/etc/alternatives/iptables") or "").strip()
    if target.endswith("-nft") or target.endswith("xtables-nft-multi"):
        return "nft"
    if target.endswith("-legacy") or target.endswith("xtables-legacy-multi"):
        return "legacy"
    return ""


def _outcomes(
    loaders: list[tuple[SavedConfiguration, Loader]], known_backend: str = ""
) -> tuple[list[BootOutcome], str]:
    if not loaders:
        return [], ""
    optional = [
        (loader, c.why if c.boots is None else loader.may_fail)
        for c, loader in loaders
        if c.boots is None or loader.may_fail
    ]
    certain = [loader for c, loader in loaders if not (c.boots is None or loader.may_fail)]
    results: list[tuple[Ruleset, str]] = []
    runs = 0
    for chosen in itertools.product((True, False), repeat=len(optional)):
        running = certain + [loader for (loader, _), keep in zip(optional, chosen, strict=True) if keep]
        skipped = [
            f"without {loader.unit} ({why})"
            for (loader, why), keep in zip(optional, chosen, strict=True)
            if not keep
        ]
        for variant, conflict_note in _conflict_variants(running):
            for backend in [known_backend] if known_backend else _backends(variant):
                for order in itertools.permutations(variant):
                    if not _stops_in_place(order):
                        continue
                    runs += 1
                    if runs > MAX_RUNS:
                        return [], f"more than {MAX_RUNS} possible boot sequences"
                    state = BootState(iptables_backend=backend)
                    for step in order:
                        if step.stop:
                            _stop(step.loader, state)
                        else:
                            step.loader.apply(state)
                    if state.problems:
                        return [], "; ".join(dict.fromkeys(state.problems))
                    how = ", ".join(
                        filter(
                            None,
                            [
                                *skipped,
                                conflict_note,
                                _order_text(order, len(loaders)),
                                f"iptables on its {backend} backend" if backend != "unknown" else "",
                            ],
                        )
                    )
                    results.append((state.ruleset(), how))
    unique: list[BootOutcome] = []
    for ruleset, how in results:
        if not any(u.ruleset == ruleset for u in unique):
            unique.append(BootOutcome(ruleset, how))
    if len(unique) > MAX_OUTCOMES:
        return [], f"{len(unique)} different rulesets are possible at boot"
    if len(unique) == 1:
        unique = [BootOutcome(unique[0].ruleset, "")]
    return unique, ""


def _conflict_variants(running: list[Loader]) -> list[tuple[list[_Step], str]]:
    """firewalld conflicts with nftables.service and iptables.service: systemd runs one side, or starts
    the other first and stops it (its stop flushes) when firewalld starts."""
    steps = [_Step(loader) for loader in running]
    fire = [s for s in steps if s.loader.unit == "firewalld.service"]
    others = [s for s in steps if s.loader.unit in CONFLICTS]
    if not fire or not others:
        return [(steps, "")]
    names = ", ".join(s.loader.unit for s in others)
    rest = [s for s in steps if s not in fire and s not in others]
    return [
        ([*rest, *fire], f"firewalld.service wins over {names} (they conflict)"),
        ([*rest, *others], f"{names} win over firewalld.service (they conflict)"),
        (
            [*rest, *others, *(_Step(s.loader, stop=True) for s in others), *fire],
            f"{names} start, then stop when firewalld.service starts (they conflict)",
        ),
    ]


def _stops_in_place(order: tuple[_Step, ...]) -> bool:
    """A stop comes after its unit's start and before firewalld's."""
    for index, step in enumerate(order):
        if not step.stop:
            continue
        started = any(o.loader is step.loader and not o.stop for o in order[:index])
        firewalld_after = any(o.loader.unit == "firewalld.service" for o in order[index + 1 :])
        if not started or not firewalld_after:
            return False
    return True


def _stop(loader: Loader, state: BootState) -> None:
    if loader.unit == "nftables.service":  # ExecStop=nft flush ruleset
        state.flush_nft_ruleset()
    elif loader.unit in (
        "iptables.service",
        "ip6tables.service",
    ):  # iptables.init stop: ACCEPT, flush, delete
        family = 4 if loader.unit == "iptables.service" else 6
        state.xtables.pop(family, None)
        state.tools.pop(family, None)


def _backends(steps: list[_Step]) -> list[str]:
    """iptables' backend decides whether `nft flush ruleset` also wipes iptables rules."""
    flushing = any(s.loader.tool == "nftables" for s in steps)
    iptables = any(s.loader.uses_iptables and s.loader.tool != "firewalld" for s in steps)
    return ["nft", "legacy"] if flushing and iptables else ["unknown"]


def _order_text(order: tuple[_Step, ...], loaders: int) -> str:
    if loaders < 2 or len(order) < 2:
        return ""
    return " then ".join(("stop " if s.stop else "") + s.loader.unit for s in order)
