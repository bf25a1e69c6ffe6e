"""The parametrisation of the compliance suite: one case per host and what a check looks at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .profile import Profile

RUNNER = "runner"
CASE_KINDS = (
    "host", "endpoint", "endpoint_port", "egress_port", "management_port", "legacy_port", "runner_dns",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """What one test item checks. `host` is the target's name, or `runner`."""

    host: str
    endpoint: str | None = None
    port: int | None = None
    dns_server: str | None = None

    @property
    def id(self) -> str:
        parts = [self.host if self.dns_server is None else f"{self.host}@{self.dns_server}"]
        if self.endpoint and self.port is not None:
            parts.append(f"{self.endpoint}:{self.port}")
        elif self.endpoint:
            parts.append(self.endpoint)
        elif self.port is not None:
            parts.append(str(self.port))
        return "-".join(parts)


def build_cases(kind: str, profile: Profile, hosts: Sequence[str], dns_servers: Sequence[str]) -> list[Case]:
    if kind == "runner_dns":
        return [Case(RUNNER, e.fqdn, dns_server=s) for s in dns_servers for e in profile.endpoints]
    cases: list[Case] = []
    for host in hosts:
        if kind == "host":
            cases.append(Case(host))
        elif kind == "endpoint":
            cases += [Case(host, e.fqdn) for e in profile.endpoints]
        elif kind == "endpoint_port":
            cases += [Case(host, e.fqdn, p) for e in profile.endpoints for p in e.ports]
        elif kind == "egress_port":
            cases += [Case(host, port=p) for p in profile.egress.ports]
        elif kind == "management_port":
            cases.append(Case(host, port=profile.agent.management_port))
        elif kind == "legacy_port":
            cases += [Case(host, port=p) for p in profile.agent.legacy_ports]
        else:
            raise ValueError(f"unknown case kind {kind!r} (known: {', '.join(CASE_KINDS)})")
    return cases


def host_of_nodeid(nodeid: str, hosts: Sequence[str]) -> str | None:
    """The host a compliance item belongs to, from its id alone (the xdist controller's view)."""
    _, bracket, params = nodeid.partition("[")
    if not bracket:
        return None
    for host in sorted(hosts, key=len, reverse=True):
        if params.startswith((f"{host}-", f"{host}]")):
            return host
    return None


def buckets(hosts: Sequence[str], count: int) -> list[list[str]]:
    """Hosts split into `count` groups, round robin: each group is observed concurrently."""
    count = max(1, min(count, len(hosts)))
    return [list(hosts[i::count]) for i in range(count)]
