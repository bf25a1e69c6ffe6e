"""The requirement ids every check traces to (docs/REQUIREMENTS.md), with one line each."""

from __future__ import annotations

REQUIREMENTS = {
    "preflight": "The suite reaches the host (the condition for every other check).",
    "BN-R1": "Agents register with the portal and Directors by FQDN, never by IP address.",
    "BN-R2": "Every server reaches the portal and every AMP proxy server.",
    "BN-R3": "Portal and registration on TCP 8086 and 8087; AMP proxies on TCP 8087.",
    "BN-R4": "Firewalls let TCP 8086/8087 out to 10.0.0.0/8, at least the minimum subnets.",
    "BN-R5": "Each name resolves, to an address inside the allowed subnets.",
    "BN-R6": "The agent accepts inbound TCP 2548 on the private network.",
    "BN-R7": "Older EVault agents used port 808.",
    "BN-R8": "The management port can be changed (AgentPortNumber).",
    "BN-R9": "More AMP proxies and subnets may be added later (profiles are data).",
}
