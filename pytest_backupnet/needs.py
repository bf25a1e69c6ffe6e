"""What a check reads from its host follows from the fixtures it uses: each fixture declares its needs."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

import pytest


class Need(enum.StrEnum):
    RESOLVE = "resolve"  # the host's resolver answers for the case's endpoint
    CONNECT = "connect"  # TCP connects from the host to each resolved address
    LISTEN = "listen"  # the host's listening sockets
    CONFIG = "config"  # the agent's configuration files
    HOSTS_FILE = "hosts-file"  # the host's /etc/hosts
    FIREWALL = "firewall"  # the host's firewall rules and the facts they depend on
    INBOUND = "inbound"  # the runner connects to the host's management port
    RUNNER_DNS = "runner-dns"  # the runner asks a named DNS server


# Needs of the live network: packets sent (DNS, connects) or the running system's sockets. Their
# checks carry the `network` marker, so `-m "not network"` leaves what an image being built can
# answer: its files (agent configuration, /etc/hosts) and its firewall.
NETWORK = frozenset({Need.RESOLVE, Need.CONNECT, Need.INBOUND, Need.RUNNER_DNS, Need.LISTEN})
_FIXTURE_NEEDS: dict[str, frozenset[Need]] = {}


def observes(*needs: Need) -> Callable[[Callable[..., Any]], Any]:
    """A fixture of the suite that reads `needs` of its case's host."""

    def register(function: Callable[..., Any]) -> Any:
        _FIXTURE_NEEDS[function.__name__] = frozenset(needs)
        return pytest.fixture(function)

    return register


def needs_of(fixturenames: Iterable[str]) -> frozenset[Need]:
    """Everything an item reads, from its whole fixture closure."""
    return frozenset(need for name in fixturenames for need in _FIXTURE_NEEDS.get(name, ()))
