"""Fleet benchmark: pytest-backupnet against plain testinfra, same checks, same namespace lab.

Run by hand, as root, from the repository:

    python3 bench/fleet.py                      # 10 hosts, serial and -n 2, both suites
    python3 bench/fleet.py --hosts-count 50 --skip-testinfra

It builds N lab hosts with a mix of faults, audits them with pytest-backupnet and with a
plain-testinfra suite doing the same checks (one `nc -w 1 -z` per endpoint port, one SSH
command per check), and prints wall times, their ratio, and per-host wall time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.lab.network import (  # noqa: E402 - the lab lives with the tests
    DOMAIN,
    HostSpec,
    Lab,
    Service,
    lab_available,
    lab_services,
    nft_rules,
)

AMP = {s.fqdn.split(".")[0]: s for s in lab_services()}


def fault_mix(count: int) -> list[HostSpec]:
    """A realistic fleet: most hosts healthy, the rest with one fault each, cycling by index."""

    def drop(*names: str) -> str:
        return nft_rules(output=[f"ip daddr {AMP[n].address} tcp dport 8087 drop" for n in names])

    every_service = sorted({s.address for s in lab_services()})
    kinds = [
        lambda n: HostSpec(n),
        lambda n: HostSpec(n, nft=drop("amp03", "amp04")),
        lambda n: HostSpec(
            n, nft=nft_rules(output=[f"ip daddr {AMP['amp05'].address} tcp dport 8087 reject with tcp reset"])
        ),
        lambda n: HostSpec(n, agent=("0.0.0.0:808",)),
        lambda n: HostSpec(n, agent=("127.0.0.1:2548",)),
        lambda n: HostSpec(
            n,
            config="<Portal>198.19.1.1</Portal>\n",
            hosts_lines=f"{AMP['amp06'].address} amp06.{DOMAIN}\n",
        ),
        # Every endpoint filtered: the wall time of a host must not grow with the drops.
        lambda n: HostSpec(n, nft=nft_rules(output=[f"ip daddr {a} drop" for a in every_service])),
        lambda n: HostSpec(n),
        lambda n: HostSpec(n, nft=nft_rules(input_=["tcp dport 2548 drop"])),
        lambda n: HostSpec(n, sshd=False),
    ]
    return [kinds[i % len(kinds)](f"h{i + 1:02d}") for i in range(count)]


def testinfra_suite(services: Sequence[Service]) -> str:
    """What a team writes by hand with testinfra for the same checks."""
    ports = [(s.fqdn, p) for s in services for p in s.ports]
    names = [s.fqdn for s in services]
    return textwrap.dedent(
        f"""\
        import re
        import socket

        import pytest

        ENDPOINT_PORTS = {ports!r}
        NAMES = {names!r}
        IP = re.compile(r"\\b\\d{{1,3}}(\\.\\d{{1,3}}){{3}}\\b")


        def test_reachable(host):
            assert host.run("true").rc == 0


        @pytest.mark.parametrize(("fqdn", "port"), ENDPOINT_PORTS)
        def test_outbound(host, fqdn, port):
            assert host.run("nc -w 1 -z %s %s", fqdn, str(port)).rc == 0


        @pytest.mark.parametrize("fqdn", NAMES)
        def test_dns(host, fqdn):
            assert host.run("getent hosts %s", fqdn).rc == 0


        def test_listening(host):
            assert host.socket("tcp://0.0.0.0:2548").is_listening


        def test_inbound(host):
            with socket.create_connection((host.check_output("hostname -I").split()[0], 2548), 1):
                pass


        def test_legacy(host):
            assert not host.socket("tcp://0.0.0.0:808").is_listening


        def test_config(host):
            assert not IP.search(host.file("/opt/BUAgent/buagent.cfg").content_string)


        def test_hosts_file(host):
            text = host.file("/etc/hosts").content_string
            assert not any(name in text for name in NAMES)
        """
    )


# Plugins this machine image preinstalls that neither suite uses; both suites run without them.
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
          "-p", "no:benchmark"]  # fmt: skip


def timed(command: Sequence[str], cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.monotonic() - start


def backupnet(
    lab: Lab, workdir: Path, timeout: float, workers: int, hosts: Sequence[str], *extra: str
) -> tuple[float, dict[str, float], int]:
    evidence = workdir / f"backupnet-{workers}.json"
    args = [*lab.pytest_args(hosts), "--backupnet-timeout", f"{timeout:g}", "--backupnet-json", str(evidence)]
    args += extra
    if workers:
        args += ["-n", str(workers)]
    wall = timed([*PYTEST, *args], workdir)
    records = json.loads(evidence.read_text())["records"]
    per_host = {
        r["host"]: float(r.get("host_wall_s", r["duration_s"]))
        for r in records
        if r["check"] == "test_host_reachable"
    }
    return wall, per_host, len(records)


def testinfra(
    lab: Lab, workdir: Path, workers: int, hosts: Sequence[str]
) -> tuple[float, dict[str, float], int]:
    suite = workdir / "plain_testinfra"
    suite.mkdir(exist_ok=True)
    (suite / "test_backup_ports.py").write_text(testinfra_suite(lab.services))
    junit = workdir / f"testinfra-{workers}.xml"
    command = [
        *PYTEST, str(suite),
        "--hosts", lab.hosts_option(hosts), "--ssh-config", str(lab.ssh_config), "--junitxml", str(junit),
    ]  # fmt: skip
    if workers:
        command += ["-n", str(workers)]
    wall = timed(command, workdir)
    per_host: dict[str, float] = {}
    cases = ET.parse(junit).getroot().iter("testcase")
    for case in cases:
        name = case.get("name", "")
        host = name.split("ssh://", 1)[1].split("]")[0].split("-")[0] if "ssh://" in name else "?"
        per_host[host] = per_host.get(host, 0.0) + float(case.get("time", 0))
    return wall, per_host, sum(1 for _ in ET.parse(junit).getroot().iter("testcase"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts-count", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1.0, help="pytest-backupnet probe timeout")
    parser.add_argument("--workers", type=int, default=2, help="the -n of the parallel runs (0: none)")
    parser.add_argument("--skip-testinfra", action="store_true", help="measure pytest-backupnet only")
    options = parser.parse_args(argv)
    reason = lab_available()
    if reason:
        print(f"bench: cannot build the lab: {reason}", file=sys.stderr)
        return 2
    modes = [0] + ([options.workers] if options.workers else [])
    with tempfile.TemporaryDirectory(prefix="bn-bench-") as tmp:
        workdir = Path(tmp)
        start = time.monotonic()
        fleet = fault_mix(options.hosts_count)
        names = [spec.name for spec in fleet]
        # A host whose SSH port drops every packet, measured on its own: a dead host's cost.
        silent = HostSpec("silent", nft=nft_rules(input_=["tcp dport 22 drop"]))
        lab = Lab(workdir / "lab").start([*fleet, silent])
        print(f"lab: {options.hosts_count} hosts built in {time.monotonic() - start:.1f}s")
        try:
            results = []
            for workers in modes:
                label = f"-n {workers}" if workers else "serial"
                ours = backupnet(lab, workdir, options.timeout, workers, names)
                theirs = None if options.skip_testinfra else testinfra(lab, workdir, workers, names)
                results.append((label, ours, theirs))
            dead_wall, dead_hosts, _ = backupnet(
                lab, workdir, options.timeout, 0, ["silent", names[0]], "--backupnet-connect-timeout", "2"
            )
            # Each fault kind alone: the host's own cost, without nine others sharing the cores.
            alone = {
                name: backupnet(lab, workdir, options.timeout, 0, [name])[1][name] for name in names[:10]
            }
        finally:
            lab.stop()
    print(f"\n{'run':<8} {'pytest-backupnet':>18} {'plain testinfra':>16} {'ratio':>7}  checks")
    for label, ours, theirs in results:
        theirs_text = f"{theirs[0]:>15.1f}s" if theirs else f"{'-':>16}"
        ratio = f"{theirs[0] / ours[0]:>6.1f}x" if theirs else f"{'-':>7}"
        counts = f"{ours[2]}" + (f" / {theirs[2]}" if theirs else "")
        print(f"{label:<8} {ours[0]:>17.1f}s {theirs_text} {ratio}  {counts}")
    print(
        f"\nper-host wall time, probe timeout {options.timeout:g}s (target: at most {options.timeout + 1:g}s)"
    )
    print(f"  {'host':<6} {'in fleet':>9} {'alone':>7}  {'fault':<34}{'plain testinfra':>16}")
    per_host = results[0][1][1]
    baseline = results[0][2][1] if results[0][2] else {}
    specs = {s.name: s for s in fault_mix(options.hosts_count)}
    for host, seconds in per_host.items():
        spec = specs.get(host)
        fault = _describe(spec) if spec else ""
        theirs = f"{baseline[host]:15.1f}s" if host in baseline else ""
        solo = f"{alone[host]:6.2f}s" if host in alone else ""
        print(f"  {host:<6} {seconds:8.2f}s {solo:>7}  {fault:<34}{theirs}")
    values = list(per_host.values())
    print(
        f"  in the fleet run ({options.hosts_count} hosts at once on this machine's cores, lab sshds "
        f"included): max {max(values):.2f}s, median {statistics.median(values):.2f}s; "
        f"alone: max {max(alone.values()):.2f}s"
    )
    print(
        f"\ndead host (SSH port silent), --backupnet-connect-timeout 2: it took "
        f"{dead_hosts['silent']:.2f}s, once; the run with one healthy host took {dead_wall:.1f}s"
    )
    return 0


def _describe(spec: HostSpec) -> str:
    if not spec.sshd:
        return "sshd down"
    if spec.nft and "reject" in spec.nft:
        return "one endpoint rejected"
    if spec.nft and "dport 2548" in spec.nft:
        return "inbound 2548 dropped"
    if spec.nft:
        return f"{spec.nft.count(' drop')} endpoint address(es) dropped"
    if spec.agent != ("0.0.0.0:2548",):
        return f"agent on {', '.join(spec.agent)}"
    if spec.hosts_lines:
        return "IP in config, /etc/hosts pin"
    return "healthy"


if __name__ == "__main__":
    sys.exit(main())
