"""Each saved firewall configuration an image can carry: its files, whether it boots, how it loads.

A reader returns what it found (SavedConfiguration, public) and, when it boots, a Loader that
replays the boot of that service onto the boot state. Readers never raise: what cannot be read
becomes the configuration's `unreadable` reason, with the file and line.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from ..nft_json import JsonError
from .boot import BootServices, Unit
from .files import HostFiles
from .nft_flatten import flatten
from .nft_rules import Context
from .nft_ruleset import state_from_listing
from .nft_runner import load_in_namespace
from .nft_script import Loaded, ScriptError, clean_sets, load_script
from .nft_state import NftState
from .nft_types import parse_ids, parse_services
from .state import BootState
from .ufw import CONF_FILE, DEFAULTS_FILE, ufw_boot, user_path
from .ufw import load as ufw_load
from .xtables import XTables, to_chains

NFT_FILES = ("/etc/nftables.conf", "/etc/sysconfig/nftables.conf", "/etc/nftables.nft")
SYSCONFIG = {4: "/etc/sysconfig/iptables", 6: "/etc/sysconfig/ip6tables"}
PERSISTENT = {4: "/etc/iptables/rules.v4", 6: "/etc/iptables/rules.v6"}
PERSISTENT_PLUGINS = {
    4: "/usr/share/netfilter-persistent/plugins.d/15-ip4tables",
    6: "/usr/share/netfilter-persistent/plugins.d/25-ip6tables",
}
PERSISTENT_DEFAULTS = "/etc/default/netfilter-persistent"


@dataclass(frozen=True)
class SavedConfiguration:
    """One saved configuration found on the host."""

    tool: str  # nftables | iptables-services | netfilter-persistent | ufw | firewalld
    service: str  # the unit (or init script) that loads it at boot
    files: tuple[str, ...]  # the files it reads at boot, in order
    boots: bool | None  # None: whether it loads at boot is not known
    why: str  # the enable link, mask, ENABLED=no ... that decides
    unreadable: str = ""  # "" or why it could not be evaluated (file:line and reason)
    how: str = ""  # how it was read: "nft on the runner", "the nftables parser", ...

    def __str__(self) -> str:
        state = {True: "boots", False: "does not boot", None: "may boot"}[self.boots]
        text = f"{self.tool} ({', '.join(self.files) or 'no files'}) {state}: {self.why}"
        return text + (f"; could not evaluate: {self.unreadable}" if self.unreadable else "")


@dataclass(frozen=True)
class Loader:
    tool: str
    unit: str
    apply: Callable[[BootState], None]
    may_fail: str = ""  # why loading may fail at boot: judged both with and without it
    uses_iptables: bool = False


Found = tuple[SavedConfiguration, Loader | None]


def _boots(unit: Unit) -> tuple[bool | None, str]:
    return unit.enabled, unit.why


def context_of(files: HostFiles) -> Context:
    return Context(
        services=parse_services(files.text("/etc/services") or ""),
        users=parse_ids(files.text("/etc/passwd") or ""),
        groups=parse_ids(files.text("/etc/group") or ""),
    )


# nftables


def nftables(files: HostFiles, boot: BootServices, runner_nft: bool) -> Found | None:
    unit = boot.unit("nftables.service")
    path, include_paths = _nft_command(unit)
    present = [p for p in NFT_FILES if files.has(p)]
    if not present and not (unit.enabled and path):
        return None
    path = path or present[0]
    enabled, why = _boots(unit)
    if not files.has(path):
        if enabled:
            return SavedConfiguration(
                "nftables",
                unit.name,
                (),
                False,
                f"{why}, but {path} does not exist: the service fails and loads nothing",
            ), None
        return SavedConfiguration("nftables", unit.name, tuple(present), False, why), None
    loaded, how, problem = read_nft_script(files, path, include_paths, runner_nft)
    config_files = tuple(loaded.files) if loaded else (path,)
    if enabled is False:
        return SavedConfiguration("nftables", unit.name, config_files, False, why, problem, how), None
    config = SavedConfiguration("nftables", unit.name, config_files, enabled, why, problem, how)
    if problem or loaded is None:
        return config, None
    needed = sorted(loaded.interfaces_needed - {"lo"})
    may_fail = ""
    if needed:
        may_fail = (
            f"{path} names interface {', '.join(needed[:3])} by index (iif/oif/device): nft refuses "
            f"the whole file when {'it' if len(needed) == 1 else 'one'} does not exist yet when "
            f"{unit.name} runs, early in the boot (iifname/oifname do not need it)"
        )
    state = loaded.state

    def apply(boot_state: BootState) -> None:
        if loaded.flushes_all:
            boot_state.flush_nft_ruleset()
        for key in loaded.touched:
            iptables = {4: "ip", 6: "ip6"}
            by_iptables = any(
                iptables[f] == key[0] and key[1] in x.tables for f, x in boot_state.xtables.items()
            )
            if key in boot_state.nft.tables or by_iptables:
                boot_state.problems.append(
                    f"{path} flushes or deletes table {key[0]} {key[1]}, which another service loaded"
                )
        for key, table in state.copy().tables.items():
            if key in boot_state.nft.tables:
                boot_state.problems.append(
                    f"{path} adds to table {key[0]} {key[1]}, which another service loaded"
                )
            family = {"ip": 4, "ip6": 6}.get(key[0])
            shared = boot_state.xtables.get(family, None) if family else None
            if shared is not None and boot_state.iptables_backend != "legacy":
                chains = set(table.chains) & set(shared.tables.get(key[1], {}))
                if chains:  # iptables-nft's chains live in the same nftables table
                    boot_state.problems.append(
                        f"{path}: chain {sorted(chains)[0]} of table {key[0]} {key[1]} is iptables' too"
                    )
            table.source = "nftables"
            boot_state.nft.tables[key] = table

    return config, Loader("nftables", unit.name, apply, may_fail)


def _nft_command(unit: Unit) -> tuple[str, tuple[str, ...]]:
    """The file `nft -f FILE` loads in the unit's ExecStart, and its -I include directories."""
    for command in unit.exec_start:
        if not command or not command[0].endswith("nft"):
            continue
        path = ""
        includes: list[str] = []
        arguments = list(command[1:])
        while arguments:
            argument = arguments.pop(0)
            if argument in ("-f", "--file") and arguments:
                path = arguments.pop(0)
            elif argument.startswith("--file="):
                path = argument.split("=", 1)[1]
            elif argument in ("-I", "--includepath") and arguments:
                includes.append(arguments.pop(0))
            elif argument.startswith("--includepath="):
                includes.append(argument.split("=", 1)[1])
        if path:
            return path, (*includes, "/etc")
    return "", ("/etc",)


def read_nft_script(
    files: HostFiles, path: str, include_paths: tuple[str, ...], runner_nft: bool, cwd: str = "/"
) -> tuple[Loaded | None, str, str]:
    """(loaded, how it was read, problem) of `nft -f path` at boot."""
    written: Loaded | None = None
    problem = ""
    try:
        written = load_script(files, path, context_of(files), include_paths, cwd)
        clean_sets(written.state)
    except ScriptError as exc:
        problem = str(exc)
    if not runner_nft or problem.startswith("could not evaluate: include") or "not read" in problem:
        if problem:
            return None, "the nftables parser", _could_not(problem)
        return written, "the nftables parser", ""
    try:
        flat = flatten(files, path, include_paths, cwd)
    except ScriptError as exc:
        return None, "the nftables parser", _could_not(str(exc))
    listing = load_in_namespace(flat, written.interfaces_needed if written else set())
    if listing.unavailable:
        if problem:
            return None, "the nftables parser", _could_not(f"{problem} (and {listing.unavailable})")
        return written, f"the nftables parser ({listing.unavailable})", ""
    if listing.refused:
        return (
            None,
            "nft on the runner",
            (
                f"nft refuses {path}: {listing.refused}; its service then loads "
                "nothing at boot, if the host's nft refuses it too"
            ),
        )
    try:
        state = state_from_listing(listing.json, listing.text, written.state if written else None)
    except JsonError as exc:
        if written is not None:
            return (
                written,
                f"the nftables parser (nft loads the file, but its listing cannot be read: {exc})",
                "",
            )
        return (
            None,
            "nft on the runner",
            f"nft loads {path}, but its listing cannot be read ({exc}); {problem}",
        )
    loaded = Loaded(
        state,
        written.files if written else list(flat.files),
        written.interfaces_needed if written else set(),
        _flushes(flat.text) if not written else written.flushes_all,
        written.touched if written else set(),
    )
    return loaded, "nft on the runner", ""


def _flushes(text: str) -> bool:
    return any(" ".join(line.split()[:2]) == "flush ruleset" for line in text.splitlines())


def _could_not(problem: str) -> str:
    return problem.removeprefix("could not evaluate: ")


# iptables-services (RHEL) and netfilter-persistent (Debian)


def iptables_services(files: HostFiles, boot: BootServices) -> list[Found]:
    found: list[Found] = []
    for family, unit_name in ((4, "iptables.service"), (6, "ip6tables.service")):
        path = SYSCONFIG[family]
        unit = boot.unit(unit_name)
        if "netfilter-persistent" in unit.text:
            unit = Unit(unit_name, False, f"{unit_name} is netfilter-persistent's alias here")
        if not files.has(path):
            if unit.enabled and unit.text:
                found.append(
                    (
                        SavedConfiguration(
                            "iptables-services",
                            unit_name,
                            (),
                            False,
                            f"{unit.why}, but {path} does not exist: nothing to load",
                        ),
                        None,
                    )
                )
            continue
        enabled, why = _boots(unit)
        text = files.text(path)
        if text is None:
            found.append(
                (
                    SavedConfiguration(
                        "iptables-services", unit_name, (path,), enabled, why, f"{path} could not be read"
                    ),
                    None,
                )
            )
            continue
        problem = _check_restore(text, path, family, noflush=False)
        fallback = f"{path}.fallback"
        config = SavedConfiguration(
            "iptables-services", unit_name, (path,), enabled, why, problem, "iptables-restore, replayed"
        )
        if enabled is False or problem:
            found.append((config, None))
            continue
        del fallback

        def apply(state: BootState, text: str = text, path: str = path, family: int = family) -> None:
            target = state.iptables(family, "iptables-services")
            if not target.restore(text, path, noflush=False):
                state.problems.append(target.problems[-1])

        found.append((config, Loader("iptables-services", unit_name, apply, uses_iptables=True)))
    return found


def netfilter_persistent(files: HostFiles, boot: BootServices) -> Found | None:
    unit = boot.unit("netfilter-persistent.service")
    present = {f: p for f, p in PERSISTENT.items() if files.has(p)}
    if not present:
        return None
    enabled, why = _boots(unit)
    settings = _shell_settings(files.text(PERSISTENT_DEFAULTS) or "")
    read: list[tuple[int, str, str, bool]] = []
    problems: list[str] = []
    for family, path in present.items():
        plugin = PERSISTENT_PLUGINS[family]
        if not files.has(plugin):
            problems_note = f"{plugin} is not installed: {path} is not loaded"
            why = f"{why}; {problems_note}"
            continue
        text = files.text(path)
        if text is None:
            problems.append(f"{path} could not be read")
            continue
        key = "IPTABLES_RESTORE_NOFLUSH" if family == 4 else "IP6TABLES_RESTORE_NOFLUSH"
        noflush = settings.get(key) == "yes"
        problem = _check_restore(text, path, family, noflush)
        if problem:
            problems.append(problem)
        read.append((family, path, text, noflush))
    config = SavedConfiguration(
        "netfilter-persistent",
        unit.name,
        tuple(present.values()),
        enabled if read else False,
        why if read else f"{why}; nothing it loads",
        "; ".join(problems),
        "iptables-restore, replayed",
    )
    if not read or enabled is False or problems:
        return config, None

    def apply(state: BootState) -> None:
        for family, path, text, noflush in read:
            target = state.iptables(family, "netfilter-persistent")
            if not target.restore(text, path, noflush=noflush):
                state.problems.append(target.problems[-1])

    return config, Loader("netfilter-persistent", unit.name, apply, uses_iptables=True)


def _check_restore(text: str, path: str, family: int, noflush: bool) -> str:
    """Why iptables-restore may refuse the file (then its service loads nothing): "" if it is fine."""
    trial = XTables(family)
    if not trial.restore(text, path, noflush):
        return f"iptables-restore would refuse {trial.problems[-1]}"
    chains = to_chains(trial, "check", "check")
    if chains.unreadable:
        return f"cannot read {chains.unreadable[0]} (iptables-restore may refuse the file)"
    return ""


def _shell_settings(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.isidentifier() and not line.lstrip().startswith("#"):
            try:
                parts = shlex.split(value, comments=True)
            except ValueError:
                continue
            found[key] = parts[0] if parts else ""
    return found


# ufw


def ufw(files: HostFiles, boot: BootServices) -> Found | None:
    if not (files.has(CONF_FILE) or files.has(DEFAULTS_FILE)):
        return None
    unit = boot.unit("ufw.service")
    enabled, why = _boots(unit)
    ufw_state = ufw_boot(files)
    users = user_path(files)
    paths = tuple(
        p
        for p in (
            DEFAULTS_FILE,
            CONF_FILE,
            "/etc/ufw/before.rules",
            "/etc/ufw/after.rules",
            f"{users}/user.rules",
            "/etc/ufw/before6.rules",
            "/etc/ufw/after6.rules",
            f"{users}/user6.rules",
        )
        if files.has(p)
    )
    if not ufw_state.enabled:
        return SavedConfiguration("ufw", unit.name, paths, False, f"{ufw_state.why} ({why})"), None
    trial = BootState()
    ufw_load(ufw_state, files, trial.iptables(4, "ufw"), trial.iptables(6, "ufw"))
    problem = "; ".join(ufw_state.problems)
    for family in (4, 6):
        if not problem:
            chains = to_chains(trial.xtables[family], "ufw", "check")
            if chains.unreadable:
                problem = f"cannot read {chains.unreadable[0]} (iptables-restore may refuse the file)"
    config = SavedConfiguration(
        "ufw", unit.name, paths, enabled, f"{why}; {ufw_state.why}", problem, "ufw-init's boot, replayed"
    )
    if enabled is False or problem:
        return config, None

    def apply(state: BootState) -> None:
        again = ufw_boot(files)
        ufw_load(again, files, state.iptables(4, "ufw"), state.iptables(6, "ufw"))
        state.problems += again.problems

    return config, Loader("ufw", unit.name, apply, uses_iptables=True)


__all__ = ["NftState"]
