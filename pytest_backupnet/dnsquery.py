"""Resolution from the runner, against named DNS servers (never the machine's own resolver)."""

from __future__ import annotations

import dns.exception
import dns.rdatatype
import dns.resolver


def split_server(server: str) -> tuple[str, int]:
    """`IP[:PORT]` (IPv6 as `[IP]:PORT`) -> (ip, port)."""
    if server.startswith("["):
        host, _, rest = server[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if server.count(":") == 1:
        host, port = server.split(":")
        return host, int(port)
    return server, 53


def query_addresses(name: str, server: str, timeout: float) -> tuple[str, list[str]]:
    """("ok", addresses) or (a reason, []) for A and AAAA of `name` at `server`."""
    resolver = dns.resolver.Resolver(configure=False)
    host, port = split_server(server)
    resolver.nameservers = [host]
    resolver.port = port
    resolver.lifetime = timeout
    addresses: list[str] = []
    status = "nxdomain"
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN:
            return "nxdomain", []
        except dns.resolver.NoAnswer:
            status = "no-address"
            continue
        except dns.exception.Timeout:
            return "dns-timeout", []
        except dns.exception.DNSException as exc:
            return f"dns-error: {exc}", []
        addresses += [r.address for r in answer]
    return ("ok", addresses) if addresses else (status, [])
