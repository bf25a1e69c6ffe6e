"""Listening TCP sockets from /proc/net/tcp and /proc/net/tcp6, with wildcard semantics."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from .profile import IPAddress

_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    address: IPAddress
    port: int

    @property
    def is_loopback(self) -> bool:
        address = self.address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return address.is_loopback

    def __str__(self) -> str:
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class PortState:
    """How a host listens on one port: `listening`, `loopback-only` or `not-listening`."""

    port: int
    observed: str
    sockets: tuple[Listener, ...]


def _decode_address(hex_address: str) -> IPAddress:
    raw = bytes.fromhex(hex_address)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return ipaddress.IPv4Address(words)
    address = ipaddress.IPv6Address(words)
    return address


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """The listening sockets in the text of /proc/net/tcp or /proc/net/tcp6."""
    listeners = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != _LISTEN:
            continue
        hex_address, _, hex_port = fields[1].partition(":")
        try:
            listeners.append(Listener(_decode_address(hex_address), int(hex_port, 16)))
        except ValueError:
            continue
    return listeners


def port_state(listeners: Iterable[Listener], port: int) -> PortState:
    """Whether `port` is reachable from other hosts, by the sockets that listen on it.

    `0.0.0.0` and `::` count as every address (`::` also takes IPv4 unless the
    socket is v6-only, which /proc does not tell; either way it is not loopback).
    """
    sockets = tuple(sorted({s for s in listeners if s.port == port}, key=str))
    if not sockets:
        return PortState(port, "not-listening", sockets)
    if all(s.is_loopback for s in sockets):
        return PortState(port, "loopback-only", sockets)
    return PortState(port, "listening", sockets)
