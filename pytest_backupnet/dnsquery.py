"""Resolution from the runner, against named DNS servers (never the machine's own resolver).

A and AAAA are asked independently, as a stub resolver does: a name resolves when either gives
addresses. A server that refuses or fails one type (forwarders and dnsmasq do so for AAAA) is a
note in the evidence, not a failure; when neither type gives an address, every answer is named.
"""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

RECORD_TYPES = ("A", "AAAA")


def split_server(server: str) -> tuple[str, int]:
    """`IP[:PORT]` (IPv6 as `[IP]:PORT`) -> (ip, port)."""
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, 53


@dataclass(frozen=True)
class TypeAnswer:
    """The server's answer for one record type."""

    rdtype: str
    answer: str  # an rcode (NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ...), "timeout" or "error: ..."
    addresses: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """The server did not answer this type (a NOERROR without records is an answer)."""
        return self.answer not in ("NOERROR", "NXDOMAIN")

    def describe(self) -> str:
        if self.addresses:
            return f"{self.rdtype}: {', '.join(self.addresses)}"
        if self.answer == "NOERROR":
            return f"{self.rdtype}: NOERROR, no {self.rdtype} record"
        return f"{self.rdtype}: {self.answer}"


@dataclass(frozen=True)
class RunnerResolution:
    """A and AAAA of one name at one server."""

    name: str
    server: str
    answers: tuple[TypeAnswer, ...]

    @property
    def addresses(self) -> list[str]:
        return [a for answer in self.answers for a in answer.addresses]

    @property
    def status(self) -> str:
        """ok | nxdomain | no-address | dns-timeout | dns-error, as the host's resolution says it."""
        kinds = {a.answer for a in self.answers}
        if self.addresses:
            return "ok"
        if kinds == {"NXDOMAIN"}:
            return "nxdomain"
        if kinds <= {"NOERROR", "NXDOMAIN"}:
            return "no-address"
        return "dns-timeout" if all(k.startswith("timeout") for k in kinds) else "dns-error"

    def notes(self) -> list[str]:
        """The record types the server failed to answer, for the evidence of a resolved name."""
        return [a.describe() for a in self.answers if a.failed]

    def describe(self) -> str:
        return f"{self.server} answers " + "; ".join(a.describe() for a in self.answers)


def query_addresses(name: str, server: str, timeout: float) -> RunnerResolution:
    """Ask `server` for A and AAAA of `name`, both at once, each within `timeout` seconds."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(RECORD_TYPES)) as pool:
        answers = list(pool.map(lambda rdtype: query_type(name, server, rdtype, timeout), RECORD_TYPES))
    return RunnerResolution(name, server, tuple(answers))


def query_type(name: str, server: str, rdtype: str, timeout: float) -> TypeAnswer:
    host, port = split_server(server)
    query = dns.message.make_query(name, rdtype)  # recursion desired, as a stub resolver asks
    try:
        response = dns.query.udp(query, host, timeout=timeout, port=port)
        if response.flags & dns.flags.TC:
            response = dns.query.tcp(query, host, timeout=timeout, port=port)
    except dns.exception.Timeout:
        return TypeAnswer(rdtype, f"timeout after {timeout:g}s")
    except (dns.exception.DNSException, OSError) as exc:
        return TypeAnswer(rdtype, f"error: {exc}")
    wanted = dns.rdatatype.from_text(rdtype)
    # The records of the asked type, wherever a CNAME chain led.
    addresses = tuple(r.address for rrset in response.answer if rrset.rdtype == wanted for r in rrset)
    return TypeAnswer(rdtype, dns.rcode.to_text(response.rcode()), addresses)
