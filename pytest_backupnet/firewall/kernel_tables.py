"""What the kernel itself says is loaded, for a host with no firewall tool at all.

Such a host cannot list its rules, so "nothing filters" must be proven: the kernel's own list of
nftables tables (a netlink dump, the query `nft` itself makes, run by the probe's python3) is
empty and no x_tables table is loaded (/proc/net/ip{,6}_tables_names). Anything else is a reason
the firewall cannot be evaluated, never "allowed".
"""

from __future__ import annotations

from collections.abc import Mapping

from .sources import NETLINK_TABLES, Captured, is_missing, is_permission_error, text_of

NO_TOOL = "no firewall tool on the host (nft, iptables-save)"


def unproven_silence(captured: Mapping[str, Captured]) -> str:
    """Empty when the kernel shows that nothing is loaded, else why that cannot be said."""
    legacy = [
        name
        for path in ("/proc/net/ip_tables_names", "/proc/net/ip6_tables_names")
        for name in (text_of(captured, path) or "").split()
    ]
    if legacy:
        loaded = ", ".join(sorted(set(legacy)))
        return f"{NO_TOOL}, yet x_tables tables are loaded ({loaded}): install iptables"
    listing = text_of(captured, NETLINK_TABLES)
    if listing is None:
        found = captured.get(NETLINK_TABLES)
        if found is not None and is_permission_error(found):
            return f"{NO_TOOL}, and the kernel would not say which tables are loaded: permission denied"
        missing = is_missing(captured, NETLINK_TABLES)
        why = "no python3 to ask it" if missing or found is None else found.error
        return f"{NO_TOOL}, and the kernel could not be asked which tables are loaded ({why})"
    tables = [line.split(None, 1)[1] for line in listing.splitlines() if line.startswith("table ")]
    if tables:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        return f"{NO_TOOL} lists the nftables tables the kernel has loaded ({shown}): install nftables"
    return ""
