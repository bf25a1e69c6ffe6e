"""firewalld as a saved configuration: whether its service boots, and the table it then builds."""

from __future__ import annotations

from .boot import BootServices
from .configs import Found, Loader, SavedConfiguration
from .files import HostFiles
from .firewalld_config import CONF, ETC, LIB, read_config
from .firewalld_names import GenerateError
from .firewalld_rules import generate
from .state import BootState
from .xtables import BUILTINS

# firewalld's own Conflicts= (its unit file): systemd runs only one of a conflicting pair.
CONFLICTS = ("iptables.service", "ip6tables.service", "nftables.service", "ebtables.service", "ipset.service")
_IPTABLES_PRIORITIES = {
    "mangle_PREROUTING": -150,
    "nat_PREROUTING": -100,
    "nat_POSTROUTING": 100,
    "nat_OUTPUT": -100,
    "filter_PREROUTING": 0,
    "filter_INPUT": 0,
    "filter_FORWARD": 0,
    "filter_OUTPUT": 0,
}


def firewalld(files: HostFiles, boot: BootServices) -> Found | None:
    if not (files.under(ETC) or files.under(LIB)):
        return None
    unit = boot.unit("firewalld.service")
    enabled, why = unit.enabled, unit.why
    paths = tuple(
        p
        for p in [
            CONF,
            *files.under(f"{ETC}/zones"),
            *files.under(f"{ETC}/policies"),
            *files.under(f"{ETC}/services"),
            *files.under(f"{ETC}/ipsets"),
        ]
        if files.has(p)
    )
    if not files.under(f"{LIB}/zones") and not files.under(f"{ETC}/zones"):
        return SavedConfiguration(
            "firewalld",
            unit.name,
            paths,
            False,
            f"{why}; no zones: firewalld cannot start",
            "no zone files were read (neither /usr/lib/firewalld/zones nor /etc/firewalld/zones)",
        ), None
    config = read_config(files)
    backend, backend_where = config.setting("FirewallBackend", "nftables")
    problems = list(config.problems)
    drifting, drifting_where = config.setting("AllowZoneDrifting", "")
    packaged = files.text(f"{LIB}/zones/public.xml") or ""
    if (
        packaged
        and "<forward" not in packaged
        and drifting.lower() != "no"
        and any(z.sources for z in config.zones.values())
    ):
        problems.append(
            f"firewalld before 1.0 (its packaged zones have no <forward/>) lets packets drift from a "
            f"source zone to an interface zone unless AllowZoneDrifting=no ({drifting_where}); that "
            "dispatch is not evaluated"
        )
    state = None
    if not problems:
        try:
            state = generate(config)
        except (GenerateError, KeyError, ValueError) as exc:
            problems.append(str(exc))
    how = f"firewalld's zone and policy model ({backend_where})"
    saved = SavedConfiguration("firewalld", unit.name, paths, enabled, why, "; ".join(problems[:3]), how)
    if enabled is False or problems or state is None:
        return saved, None
    generated = state

    def apply(boot_state: BootState) -> None:
        copy = generated.copy()
        # At start firewalld flushes every iptables table (-F -X -Z), whatever its backend; the built-in
        # chains keep their policies, unless its iptables backend then sets them all to ACCEPT.
        for state in boot_state.xtables.values():
            for table_name, chains in state.tables.items():
                for chain_name in list(chains):
                    if chain_name in BUILTINS.get(table_name, ()):
                        chains[chain_name].rules = []
                    else:
                        del chains[chain_name]
        if backend.lower() == "iptables":  # its chains live in x_tables, at iptables' own priorities
            boot_state.xtables.clear()
            boot_state.tools.clear()
            for table in copy.tables.values():
                for chain in table.chains.values():
                    if chain.hook is not None:
                        chain.hook["prio"] = _IPTABLES_PRIORITIES.get(chain.name, chain.hook["prio"])
        for key, table in copy.tables.items():
            boot_state.nft.tables[key] = table

    return saved, Loader("firewalld", unit.name, apply, uses_iptables=backend.lower() == "iptables")
