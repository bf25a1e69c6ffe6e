"""Listening sockets from /proc/net/tcp{,6}: addresses decoded, wildcards and loopback judged right."""

from __future__ import annotations

import ipaddress

import pytest

from pytest_backupnet.listeners import Listener, parse_proc_net_tcp, port_state

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
TCP = HEADER + (
    "   0: 00000000:0994 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
    "   1: 0100007F:0328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
    "   2: 0B0012C6:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1\n"
    "   3: 0B0012C6:0016 0E0012C6:D431 01 00000000:00000000 00:00000000 00000000     0        0 4 1\n"
)
TCP6 = HEADER + (
    "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 0 0 0 0 0 5 1\n"
    "   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 0 0 0 0 0 6 1\n"
    "   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 0 0 0 0 0 7 1\n"
)


def test_decodes_ipv4_listeners_only_in_listen_state() -> None:
    assert [str(s) for s in parse_proc_net_tcp(TCP)] == ["0.0.0.0:2452", "127.0.0.1:808", "198.18.0.11:22"]


def test_decodes_ipv6_wildcard_loopback_and_v4_mapped() -> None:
    mapped = ipaddress.ip_address("::ffff:127.0.0.1")
    assert [str(s) for s in parse_proc_net_tcp(TCP6)] == ["[::]:8080", "[::1]:8081", f"[{mapped}]:8082"]


@pytest.mark.parametrize(
    ("port", "observed"),
    [(2452, "listening"), (808, "loopback-only"), (22, "listening"), (9999, "not-listening"),
     (8080, "listening"), (8081, "loopback-only"), (8082, "loopback-only")],
)  # fmt: skip
def test_port_state(port: int, observed: str) -> None:
    sockets = parse_proc_net_tcp(TCP) + parse_proc_net_tcp(TCP6)
    assert port_state(sockets, port).observed == observed


def test_loopback_plus_wildcard_is_listening() -> None:
    sockets = [Listener(ipaddress.ip_address("127.0.0.1"), 2548), Listener(ipaddress.ip_address("::"), 2548)]
    assert port_state(sockets, 2548).observed == "listening"
