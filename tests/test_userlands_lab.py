"""Every observation, right on every host userland: lab hosts whose probe runs on an older root.

Each userland (tests/lab/userland.py) serves two hosts (tests/lab/fleet_specs.py USERLAND_HOSTS):
NAME drops, resets and rejects with ICMP some AMP proxy ports, routes one proxy to nowhere,
asks a resolver that lacks one name, and names its portal by IP address; NAME-lo has a clean
network and its agent on loopback only (and something on the legacy port).

`busybox-nonc` has no python3, no bash and no nc: no TCP connect can be made there, so its TCP
checks are not evaluated (errors pointing at the pre-flight, which says what is missing), and
everything else is observed as on the others.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.lab.fleet_specs import USERLAND_HOST_NAMES
from tests.lab.network import DOMAIN, Lab
from tests.lab.require import need
from tests.lab.suite_run import SuiteRun, run_suite

USERLAND_IDS = list(USERLAND_HOST_NAMES)
# The host's neighbour discovery gives up about 1.75 s after a SYN (tests/lab/network.py); a SYN
# rejected by the host's own nftables with host-unreachable fails a blocking connect (bash's
# /dev/tcp) only at its first retransmission, 1 s after it: both before, the first close to, this.
PROBE_TIMEOUT = "2"


def endpoint(name: str) -> str:
    return f"{name}.{DOMAIN}"


# (check, host suffix, record match, outcome, observed): what the probe must see on every userland.
EXPECTED: dict[str, tuple[str, str, dict[str, Any], str, str]] = {
    "open": ("test_outbound_tcp", "", {"endpoint": endpoint("amp01"), "port": 8087}, "pass", "open"),
    "open-8086": ("test_outbound_tcp", "", {"endpoint": endpoint("portal"), "port": 8086}, "pass", "open"),
    "timeout": ("test_outbound_tcp", "", {"endpoint": endpoint("amp03")}, "fail", "timeout"),
    "refused": ("test_outbound_tcp", "", {"endpoint": endpoint("amp04")}, "fail", "refused"),
    "unreachable": ("test_outbound_tcp", "", {"endpoint": endpoint("amp05")}, "fail", "unreachable"),
    # Host-unreachable 1.75 s into a 2 s timeout: late, but unreachable.
    "unreachable-late": ("test_outbound_tcp", "", {"endpoint": endpoint("amp07")}, "fail", "unreachable"),
    "unresolved": ("test_dns_resolution", "", {"endpoint": endpoint("amp06")}, "fail", "unresolved"),
    "unresolved-tcp": ("test_outbound_tcp", "", {"endpoint": endpoint("amp06")}, "fail", "unresolved"),
    "resolved": ("test_dns_resolution", "", {"endpoint": endpoint("amp01")}, "pass", "resolved"),
    "listening": ("test_agent_listening", "", {}, "pass", "listening"),
    "loopback-only": ("test_agent_listening", "-lo", {}, "fail", "loopback-only"),
    "not-listening": ("test_agent_legacy_port", "", {}, "pass", "not-listening"),
    "legacy-listening": ("test_agent_legacy_port", "-lo", {}, "fail", "listening"),
    "ip-literal": ("test_agent_config_no_ip_literal", "", {}, "fail", "ip-literal"),
    "fqdn-only": ("test_agent_config_no_ip_literal", "-lo", {}, "pass", "fqdn-only"),
    "no-pin": ("test_hosts_file_no_pin", "", {}, "pass", "no-pin"),
}
# Checks that read no live network, so also run (and say the same) under -m "not network".
OFFLINE = ("ip-literal", "fqdn-only", "no-pin")


def userland_hosts() -> list[str]:
    return [h for name in USERLAND_HOST_NAMES.values() for h in (name, f"{name}-lo")]


@pytest.fixture(scope="session")
def userland_lab(lab: Lab, userland_problem: str | None) -> Lab:
    need(userland_problem)
    return lab


@pytest.fixture(scope="session")
def userland_run(userland_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """One audit of every userland host."""
    workdir = tmp_path_factory.mktemp("userland-run")
    return run_suite(
        workdir, [*userland_lab.pytest_args(userland_hosts()), "--backupnet-timeout", PROBE_TIMEOUT]
    )


@pytest.fixture(scope="session")
def userland_offline_run(userland_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The image-build gate: `-m "not network"` on every userland host."""
    workdir = tmp_path_factory.mktemp("userland-offline")
    args = [*userland_lab.pytest_args(userland_hosts()), "--backupnet-timeout", PROBE_TIMEOUT]
    return run_suite(workdir, [*args, "-m", "not network"])


# Where a host cannot make TCP connects, its TCP checks are errors: never a pass, never a guess.
NOT_EVALUATED = ("error", "not-evaluated")
# Its unresolved name still fails its TCP check (unresolved): knowing that needs no connect.
NO_CONNECTS = {
    "busybox-nonc": {k for k, v in EXPECTED.items() if v[0] == "test_outbound_tcp" and k != "unresolved-tcp"}
}


def expected(userland: str, key: str) -> tuple[str, str]:
    _, _, _, outcome, observed = EXPECTED[key]
    return NOT_EVALUATED if key in NO_CONNECTS.get(userland, ()) else (outcome, observed)


def _check(run: SuiteRun, userland: str, key: str) -> None:
    check, suffix, match, _, _ = EXPECTED[key]
    outcome, observed = expected(userland, key)
    host = USERLAND_HOST_NAMES[userland] + suffix
    record = run.record(check, host, **match)
    assert (record["outcome"], record.get("observed")) == (outcome, observed), (
        f"{host} ({userland}) {check} {match}: {record['outcome']} {record.get('observed')}: "
        f"{record.get('message', '')[:600]} | {record.get('evidence', '')}"
    )


@pytest.mark.parametrize("key", list(EXPECTED))
@pytest.mark.parametrize("userland", USERLAND_IDS)
def test_observation_on_userland(userland_run: SuiteRun, userland: str, key: str) -> None:
    _check(userland_run, userland, key)


@pytest.mark.parametrize("key", OFFLINE)
@pytest.mark.parametrize("userland", USERLAND_IDS)
def test_offline_observation_on_userland(userland_offline_run: SuiteRun, userland: str, key: str) -> None:
    _check(userland_offline_run, userland, key)


PROBES = {
    "debian11": "probe: python 3.9",
    "debian11-nopython": "probe: sh (connect: bash 5.1.4 /dev/tcp; resolve: getent ahosts)",
    "busybox-bash": "probe: sh (connect: bash 5.1.4 /dev/tcp; resolve: /etc/hosts, then nslookup)",
    "busybox": "probe: sh (connect: busybox nc -e; resolve: /etc/hosts, then nslookup)",
}


@pytest.mark.parametrize("userland", [u for u in USERLAND_IDS if u in PROBES])
def test_host_is_reached_and_its_probe_says_how(userland_run: SuiteRun, userland: str) -> None:
    for host in (USERLAND_HOST_NAMES[userland], USERLAND_HOST_NAMES[userland] + "-lo"):
        record = userland_run.record("test_host_reachable", host)
        assert (record["outcome"], record["observed"]) == ("pass", "reachable"), record.get("message")
        assert PROBES[userland] in record["evidence"], record["evidence"]


def test_host_without_a_way_to_connect_is_one_clear_error(userland_run: SuiteRun) -> None:
    """No python3, bash or nc: the pre-flight names what was found and what is needed, once."""
    record = userland_run.record("test_host_reachable", "bbnonc")
    assert (record["outcome"], record["observed"]) == ("error", "probe-limited")
    assert "found no python3, no bash and no busybox nc with -e" in record["message"]
    assert (
        "TCP connects need python3 3.6+, bash 4.2+ (its /dev/tcp) or busybox nc built with -e"
        in (record["message"])
    )
    tcp = [r for r in userland_run.records if r["host"] == "bbnonc" and r["check"] == "test_outbound_tcp"]
    resolved = [r for r in tcp if r.get("observed") != "unresolved"]
    assert len(resolved) == 11 and {r["outcome"] for r in resolved} == {"error"}
    assert all("reported once by test_host_reachable[bbnonc]" in r["message"] for r in resolved)


@pytest.mark.parametrize("userland", USERLAND_IDS)
def test_offline_run_touches_no_network(userland_offline_run: SuiteRun, userland: str) -> None:
    host = USERLAND_HOST_NAMES[userland]
    checks = {r["check"] for r in userland_offline_run.records if r["host"] == host}
    assert checks and not checks & {
        "test_outbound_tcp",
        "test_dns_resolution",
        "test_agent_inbound_from_runner",
    }
    # Asked for no connect, a host that cannot make one has nothing missing.
    record = userland_offline_run.record("test_host_reachable", host)
    assert record["outcome"] == "pass", record.get("message")


def test_clean_host_passes_every_network_check(userland_run: SuiteRun) -> None:
    """NAME-lo has nothing in its way: every outbound and DNS check passes on every userland."""
    for userland, name in USERLAND_HOST_NAMES.items():
        network = [
            r for r in userland_run.records
            if r["host"] == f"{name}-lo" and r["check"] in ("test_outbound_tcp", "test_dns_resolution")
        ]  # fmt: skip
        assert len(network) == 22, name
        for record in network:
            tcp = record["check"] == "test_outbound_tcp"
            want = NOT_EVALUATED if tcp and userland in NO_CONNECTS else ("pass", record["observed"])
            assert (record["outcome"], record["observed"]) == want, record


# What each host's login runs, seen over its own SSH: the old userland's binaries, not the runner's.
FINGERPRINTS = {
    "debian11": {
        "python3 -c 'import sys; print(sys.version_info[:2])'": "(3, 9)",
        "echo ${BASH_VERSION%.*}": "5.1",
        "nft --version | cut -d' ' -f2": "v0.9.8",
        "readlink -f /bin/sh": "/usr/bin/dash",
        "date +%N | grep -c '^[0-9]'": "1",
    },
    "debian11-nopython": {
        "python3 -V >/dev/null 2>&1; echo $?": "127",
        "echo ${BASH_VERSION%.*}": "5.1",
        "timeout 1 sleep 3; echo $?": "124",
    },
    "busybox-bash": {
        "python3 -V >/dev/null 2>&1; echo $?": "127",
        "echo ${BASH_VERSION%.*}": "5.1",
        "for f in /bin/date /usr/bin/timeout /bin/sh; do readlink $f; done | sort -u": "/bin/busybox",
        "date +%s%3N | grep -c '%3N'": "1",
        "timeout 1 sleep 3; echo $?": "143",
        "command -v getent nft || echo none": "none",
    },
    "busybox-nonc": {
        "for p in python3 bash getent nc; do command -v $p; done; echo none": "none",
        "readlink /bin/sh": "dash",
        "timeout 1 sleep 3; echo $?": "143",
    },
    "busybox": {
        "for p in python3 bash getent; do command -v $p; done; echo none": "none",
        "readlink /bin/sh": "/bin/busybox",
        "echo ${BASH_VERSION:-ash}": "ash",
        "timeout 1 sleep 3; echo $?": "143",
    },
}


@pytest.mark.parametrize("userland", USERLAND_IDS)
def test_host_runs_its_own_userland(userland_lab: Lab, userland: str) -> None:
    host = USERLAND_HOST_NAMES[userland]
    for command, expected in FINGERPRINTS[userland].items():
        assert _ssh(userland_lab, host, command) == expected, command


def _ssh(lab: Lab, host: str, command: str) -> str:
    completed = subprocess.run(
        ["ssh", "-F", str(lab.ssh_config), host, command], capture_output=True, text=True, timeout=30
    )
    return completed.stdout.strip() or f"(rc {completed.returncode}) {completed.stderr.strip()}"


# The host's own nft reads the ruleset (nftables 0.9.8 on Debian 11); a busybox host has no nft,
# so its firewall checks are errors that say so, never a pass.
FIREWALL = {
    "debian11": ("pass", "allowed", "fail", "dropped"),
    "debian11-nopython": ("pass", "allowed", "fail", "dropped"),
    "busybox-bash": ("error", "unreadable", "error", "unreadable"),
    "busybox": ("error", "unreadable", "error", "unreadable"),
    "busybox-nonc": ("error", "unreadable", "error", "unreadable"),
}


@pytest.mark.parametrize("userland", USERLAND_IDS)
def test_firewall_read_by_the_hosts_own_tools(userland_run: SuiteRun, userland: str) -> None:
    host = USERLAND_HOST_NAMES[userland]
    open_port = userland_run.record("test_egress_firewall", host, port=8086)
    filtered = userland_run.record("test_egress_firewall", host, port=8087)
    observed = (open_port["outcome"], open_port["observed"], filtered["outcome"], filtered["observed"])
    assert observed == FIREWALL[userland], (open_port.get("message"), filtered.get("message"))
    if FIREWALL[userland][0] == "error":
        # No nft, no iptables and no python3 to ask the kernel: never "nothing filters".
        assert "no firewall tool on the host" in filtered["message"]
        assert "no python3 to ask it" in filtered["message"]
    else:
        assert '198.19.2.13 dropped by inet bnlab output handle 3 "ip daddr' in filtered["evidence"]
