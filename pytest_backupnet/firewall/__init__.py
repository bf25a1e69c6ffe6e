"""Host firewall verdicts the kernel agrees with: every rule source, every hook, both packets.

`read_host_firewall` parses what the probe gathered (see `sources`) once per host; `judge` gives,
for a flow, the peer addresses cut into ranges with one verdict each and the deciding rule.
"""

from __future__ import annotations

from .judge import Flow, HostFirewall, Judgement, Segment, judge, read_host_firewall
from .sources import FIREWALL_COMMANDS, FIREWALL_FILES, Captured

__all__ = [
    "FIREWALL_COMMANDS",
    "FIREWALL_FILES",
    "Captured",
    "Flow",
    "HostFirewall",
    "Judgement",
    "Segment",
    "judge",
    "read_host_firewall",
]
