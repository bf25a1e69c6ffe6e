"""A firewall lab: the kernel's verdict on real TCP connections, to compare the evaluator with.

Per configuration, a "host" network namespace with its own mount and PID namespaces (its own
/etc/firewalld, /etc/ufw, /etc/fail2ban, /etc/alternatives, /run and /var/log, so the real tools
run there as on a server) and a "peer" namespace on veth links. The peer answers for all of
198.19.0.0/16 (a local route) with listeners on the egress ports; the host runs the agent's
stand-in (process name VVAgent) on the inbound port. Host facts are gathered inside the host with
exactly the argv of FIREWALL_COMMANDS and the paths of FIREWALL_FILES.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_backupnet.firewall import (
    FIREWALL_COMMANDS,
    FIREWALL_FILES,
    Captured,
    Flow,
    Judgement,
    Segment,
    judge,
    read_host_firewall,
)
from pytest_backupnet.firewall.sources import NOT_INSTALLED

AGENT = Path(__file__).with_name("fw_agent.py")
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PEER_NET = ipaddress.ip_network("198.19.0.0/16")
LINKS = {  # host interface -> (host address, peer address, peer interface, the part of PEER_NET behind it)
    "eth0": ("198.18.0.2", "198.18.0.1", "p0", "198.19.0.0/17"),
    "eth1": ("198.18.1.2", "198.18.1.1", "p1", "198.19.128.0/17"),
}
ETC_COPIES = ("firewalld", "ufw", "fail2ban", "alternatives", "nftables.conf", "default/ufw")
CONNECT_TIMEOUT = 1.5


def lab_reason() -> str | None:
    """None when the firewall lab can run here, else why not."""
    if os.geteuid() != 0:
        return "the firewall lab needs root (network namespaces)"
    for tool in ("ip", "nft", "iptables-nft-restore", "iptables-legacy-restore", "unshare", "nsenter"):
        if shutil.which(tool, path=TOOL_PATH) is None:
            return f"the firewall lab needs {tool}"
    return None


@dataclass(frozen=True)
class HostSetup:
    interfaces: tuple[str, ...] = ("eth0",)
    port_range: tuple[int, int] | None = None
    agent_uid: int = 0
    agent_gid: int = 0
    legacy_iptables: bool = False  # /etc/alternatives/iptables* point at the legacy backend
    egress_ports: tuple[int, ...] = (8086, 8087)
    inbound_port: int = 2548
    extra_links: tuple[str, ...] = ()  # more interfaces (unconnected), for rulesets that name them
    bridged: bool = False  # the (one) link is the port of a bridge br0 that holds the host's address


@dataclass
class LabHost:
    name: str
    workdir: Path
    setup: HostSetup = field(default_factory=HostSetup)
    init: subprocess.Popen[bytes] | None = None
    pid: int = 0
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"fwh-{self.name}"

    @property
    def peer(self) -> str:
        return f"fwp-{self.name}"

    # building and tearing down

    def start(self) -> LabHost:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LabHost:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for namespace in (self.netns, self.peer):
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        for interface in self.setup.interfaces:
            host_address, peer_address, peer_interface, behind = LINKS[interface]
            _run(
                "ip",
                "link",
                "add",
                interface,
                "netns",
                self.netns,
                "type",
                "veth",
                "peer",
                "name",
                peer_interface,
                "netns",
                self.peer,
            )
            device = interface
            if self.setup.bridged:
                device = "br0"
                _run("ip", "-n", self.netns, "link", "add", device, "type", "bridge")
                _run("ip", "-n", self.netns, "link", "set", interface, "master", device)
                _run("ip", "-n", self.netns, "link", "set", device, "up")
            _run("ip", "-n", self.netns, "addr", "add", f"{host_address}/24", "dev", device)
            _run("ip", "-n", self.peer, "addr", "add", f"{peer_address}/24", "dev", peer_interface)
            _run("ip", "-n", self.netns, "link", "set", interface, "up")
            _run("ip", "-n", self.peer, "link", "set", peer_interface, "up")
            target = str(PEER_NET) if len(self.setup.interfaces) == 1 else behind
            _run("ip", "-n", self.netns, "route", "add", target, "via", peer_address, "dev", device)
        _run("ip", "-n", self.peer, "route", "add", "local", str(PEER_NET), "dev", "lo")
        for index, name in enumerate(self.setup.extra_links):
            _run("ip", "-n", self.netns, "link", "add", name, "type", "veth", "peer", "name", f"x{index}")
        if self.setup.port_range:
            low, high = self.setup.port_range
            _run(
                "ip",
                "netns",
                "exec",
                self.netns,
                "sysctl",
                "-q",
                "-w",
                f"net.ipv4.ip_local_port_range={low} {high}",
            )
        self._private_etc()
        self._init()
        ports = [f"0.0.0.0:{p}" for p in self.setup.egress_ports]
        self.processes.append(self._listener(["ip", "netns", "exec", self.peer], ports, root=True))
        agent = [f"0.0.0.0:{self.setup.inbound_port}"]
        self.processes.append(self._listener(self._enter(), agent, root=False))
        return self

    def stop(self) -> None:
        for process in [*self.processes, *([self.init] if self.init else [])]:
            process.kill()
        for process in [*self.processes, *([self.init] if self.init else [])]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        for namespace in (self.netns, self.peer):
            for pid in _run("ip", "netns", "pids", namespace, check=False).stdout.split():
                _run("kill", "-9", pid, check=False)
            _run("ip", "netns", "del", namespace, check=False)

    def _private_etc(self) -> None:
        etc = self.workdir / "etc"
        for name in ETC_COPIES:
            source = Path("/etc") / name
            target = etc / name
            if target.exists() or not source.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)
        if self.setup.legacy_iptables:
            for tool in ("iptables", "ip6tables"):
                for suffix in ("", "-restore", "-save"):
                    link = etc / "alternatives" / f"{tool}{suffix}"
                    link.unlink(missing_ok=True)
                    link.symlink_to(f"/usr/sbin/{tool}-legacy{suffix}")

    def _init(self) -> None:
        etc = self.workdir / "etc"
        mounts = [
            "mount -t tmpfs tmpfs /run",
            "mkdir -p /run/dbus /run/lock /run/fail2ban /run/firewalld /run/ufw",
            "mount -t tmpfs tmpfs /var/log",
            "mkdir -p /var/log/firewalld",
        ]
        if Path("/var/lib/fail2ban").is_dir():
            mounts.append("mount -t tmpfs tmpfs /var/lib/fail2ban")
        for name in ETC_COPIES:
            if (etc / name).exists():
                mounts.append(f"mount --bind {etc / name} /etc/{name}")
        script = " && ".join(mounts) + " && echo ready && exec sleep infinity"
        self.init = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.netns,
                "unshare",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.init.stdout is not None
        line = self.init.stdout.readline()
        if line.strip() != b"ready":
            error = self.init.stderr.read().decode() if self.init.stderr else ""
            raise RuntimeError(f"host {self.name} did not start: {error}")
        children = Path(f"/proc/{self.init.pid}/task/{self.init.pid}/children")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = children.read_text().split()
            if found:
                self.pid = int(found[0])
                return
            time.sleep(0.01)
        raise RuntimeError(f"host {self.name}: no init process")

    def _enter(self) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "--"]

    def _listener(self, prefix: list[str], specs: list[str], root: bool) -> subprocess.Popen[bytes]:
        identity = (
            []
            if root
            else ["--uid", str(self.setup.agent_uid), "--gid", str(self.setup.agent_gid), "--comm", "VVAgent"]
        )
        process = subprocess.Popen(
            [*prefix, sys.executable, str(AGENT), "listen", *identity, *specs],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"listener {specs} did not start for {self.name}")
        return process

    # inside the host

    def run(
        self,
        *argv: str,
        stdin: str | None = None,
        timeout: float = 60,
        check: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = {"PATH": TOOL_PATH, "HOME": "/root", "LANG": "C.UTF-8", **(env or {})}
        result = subprocess.run(
            [*self._enter(), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(argv)}: {result.stderr.strip()[-2000:]}")
        return result

    def spawn(self, *argv: str, log: str) -> subprocess.Popen[bytes]:
        environment = {"PATH": TOOL_PATH, "HOME": "/root", "LANG": "C.UTF-8"}
        with open(self.workdir / log, "ab") as output:
            process = subprocess.Popen(
                [*self._enter(), *argv],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        self.processes.append(process)
        return process

    def write(self, path: str, text: str) -> None:
        """Write a file inside the host's own /etc (its private copies) or anywhere under its workdir."""
        self.run("sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", path, stdin=text)

    def gather(self) -> dict[str, Captured]:
        """Run exactly the probe's commands and read exactly its files, inside the host."""
        captured: dict[str, Captured] = {}
        for key, argv in FIREWALL_COMMANDS.items():
            try:
                result = self.run(*argv, timeout=30, check=False)
            except subprocess.TimeoutExpired:
                captured[key] = Captured(error="timeout")
                continue
            if result.returncode == 127 and "No such file" in result.stderr:
                captured[key] = Captured(error=NOT_INSTALLED)
            elif result.returncode != 0:
                last = (result.stderr.strip().splitlines() or [""])[-1]
                captured[key] = Captured(error=f"exit {result.returncode}: {last}")
            else:
                captured[key] = Captured(result.stdout)
        reader = (
            "import json,sys\nout={}\nfor p in sys.argv[1:]:\n try: out[p]=[open(p).read(),'']\n"
            " except FileNotFoundError: out[p]=['','not installed']\n"
            " except OSError as e: out[p]=['',str(e)]\nprint(json.dumps(out))"
        )
        files = json.loads(self.run(sys.executable, "-c", reader, *FIREWALL_FILES).stdout)
        for path, (text, error) in files.items():
            captured[path] = Captured(text, error)
        return captured

    # the kernel's verdicts

    def host_address_for(self, peer: str) -> str:
        if len(self.setup.interfaces) == 1:
            return LINKS[self.setup.interfaces[0]][0]
        for interface in self.setup.interfaces:
            if ipaddress.ip_address(peer) in ipaddress.ip_network(LINKS[interface][3]):
                return LINKS[interface][0]
        raise ValueError(peer)

    def measure(
        self, egress: Sequence[tuple[str, int]], inbound: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, str, int], str]:
        """Connect for real, all at once: (direction, peer, port) -> open | error:... | timeout."""
        agent = ["--uid", str(self.setup.agent_uid), "--gid", str(self.setup.agent_gid), "--comm", "VVAgent"]
        out_tasks = [{"dst": peer, "port": port} for peer, port in egress]
        in_tasks = [{"src": peer, "dst": self.host_address_for(peer), "port": port} for peer, port in inbound]
        timeout = ["--timeout", str(CONNECT_TIMEOUT)]
        outgoing = subprocess.Popen(
            [*self._enter(), sys.executable, str(AGENT), "connect", *agent, *timeout],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        incoming = subprocess.Popen(
            ["ip", "netns", "exec", self.peer, sys.executable, str(AGENT), "connect", *timeout],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        out_results = json.loads(outgoing.communicate(json.dumps(out_tasks), timeout=60)[0] or "[]")
        in_results = json.loads(incoming.communicate(json.dumps(in_tasks), timeout=60)[0] or "[]")
        found = {("egress", p, port): r for (p, port), r in zip(egress, out_results, strict=True)}
        found.update({("inbound", p, port): r for (p, port), r in zip(inbound, in_results, strict=True)})
        return found


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, env={**os.environ, "PATH": TOOL_PATH}
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result


# comparing the evaluator with the kernel


def expected(segment: Segment) -> set[str]:
    """What a connection sees for a verdict: open, a connect error (refused, unreachable), a connect
    timeout, or broken (connected, but the later packets do not get through)."""
    if segment.verdict == "unknown":
        return {"unknown"}
    if segment.verdict == "accept":
        return {"open"}
    seen = set()
    for path in segment.path.split("/"):
        if path in ("ack", "data"):
            seen.add("broken")
        elif path == "reply" or segment.verdict == "drop":
            seen.add("timeout")
        else:
            seen.add("error")
    return seen


def observed(result: str) -> str:
    return result.split(":", 1)[0]


def samples(
    judgement: Judgement, extra: Iterable[str], seed: str, count: int = 6, cap: int = 40
) -> list[str]:
    """Addresses to probe: each segment's edges and middle, the extra ones, and a few random ones."""
    chosen: list[str] = list(extra)
    for segment in judgement.segments:
        first, last = int(ipaddress.ip_address(segment.first)), int(ipaddress.ip_address(segment.last))
        for value in (first, last, (first + last) // 2):
            chosen.append(str(ipaddress.ip_address(value)))
    generator = random.Random(seed)
    for _ in range(count):
        chosen.append(str(PEER_NET[generator.randrange(1, PEER_NET.num_addresses - 1)]))
    unique = list(dict.fromkeys(a for a in chosen if ipaddress.ip_address(a) in PEER_NET))
    if len(unique) > cap:
        unique = unique[: len(list(extra))] + generator.sample(
            unique[len(list(extra)) :], cap - len(list(extra))
        )
    return unique


def segment_of(judgement: Judgement, address: str) -> Segment | None:
    value = ipaddress.ip_address(address)
    for segment in judgement.segments:
        if ipaddress.ip_address(segment.first) <= value <= ipaddress.ip_address(segment.last):
            return segment
    return None


@dataclass
class Comparison:
    name: str
    right: int = 0
    unknown: int = 0
    wrong: list[str] = field(default_factory=list)
    unknowns: list[str] = field(default_factory=list)
    judgements: dict[tuple[str, int], Judgement] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def checks(self) -> int:
        return self.right + self.unknown + len(self.wrong)

    def verdict_at(self, direction: str, port: int, address: str) -> str:
        segment = segment_of(self.judgements[(direction, port)], address)
        return segment.verdict if segment else "none"


def compare(host: LabHost, extra: Sequence[str] = (), seed: str = "") -> Comparison:
    """Judge every flow of the host's setup, probe sampled addresses for real, and compare."""
    firewall = read_host_firewall(host.gather())
    flows = [Flow("egress", port, (PEER_NET,)) for port in host.setup.egress_ports]
    flows.append(Flow("inbound", host.setup.inbound_port, (PEER_NET,)))
    judgements = {(f.direction, f.port): judge(firewall, f) for f in flows}
    # the evaluator's shortcuts change nothing: the plain walk gives the same judgements
    changed = [f for f in flows if judge(firewall, f, shortcuts=False) != judgements[(f.direction, f.port)]]
    plan: dict[tuple[str, int], list[str]] = {
        key: samples(j, extra, f"{seed or host.name}-{key}") for key, j in judgements.items()
    }
    egress = [(a, port) for (d, port), addresses in plan.items() if d == "egress" for a in addresses]
    inbound = [(a, port) for (d, port), addresses in plan.items() if d == "inbound" for a in addresses]
    results = host.measure(egress, inbound)
    comparison = Comparison(host.name, judgements=judgements)
    comparison.wrong += [f"{f.direction} {f.port}: the shortcuts changed the judgement" for f in changed]
    for (direction, port), addresses in plan.items():
        judgement = judgements[(direction, port)]
        if judgement.unreadable:
            comparison.wrong.append(f"{direction} {port}: unreadable: {judgement.unreadable}")
            continue
        for address in addresses:
            segment = segment_of(judgement, address)
            kernel = observed(results[(direction, address, port)])
            want = expected(segment) if segment else {"unknown"}
            if want == {"unknown"}:
                comparison.unknown += 1
                comparison.unknowns.append(f"{direction} {address}:{port}: {segment}")
            elif kernel in want:
                comparison.right += 1
            else:
                comparison.wrong.append(
                    f"{direction} {address}:{port}: judged {segment}, kernel: "
                    f"{results[(direction, address, port)]}"
                )
    return comparison


def write_summary(variable: str, results: Mapping[str, Any]) -> None:
    """Right / unknown / wrong per configuration, as JSON to the file `variable` names (if set):
    the figures a closing note quotes. A configuration that could not be built is its error."""
    path = os.environ.get(variable)
    if not path:
        return
    table = {
        name: {"error": r}
        if isinstance(r, str)
        else {"right": r.right, "unknown": r.unknown, "wrong": len(r.wrong), "seconds": round(r.seconds, 1)}
        for name, r in results.items()
    }
    Path(path).write_text(json.dumps(table, indent=1))
