"""A lab of real hosts: network namespaces on a bridge, each with its own sshd, /opt/BUAgent,
/etc/hosts and resolver; the backup service as TCP listeners; DNS from dnsmasq; faults as
nftables rules. Addresses come from 198.18.0.0/15 only, and nothing leaves the lab."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.userland import RUNNER, USERLANDS, Userland, base_root, chroot_mountpoint

PREFIX = "bnlab-"
CORE = f"{PREFIX}core"
RUNNER_LINK = "bnlab-run"
LAB_NET = ipaddress.ip_network("198.18.0.0/15")
DNS_PRIMARY = "198.18.0.1"
DNS_PARTIAL = "198.18.0.2"
# A server that answers A and refuses AAAA (tests/lab/dnsserver.py), as some forwarders do.
DNS_REFUSES_AAAA = "198.18.0.3"
DNS_SERVER = Path(__file__).with_name("dnsserver.py")
RUNNER_ADDRESS = "198.18.0.254"
# On the lab's link, held by no one: a route through it ends in a host-unreachable error once the
# host's neighbour discovery gives up, NEIGHBOUR_PROBES x NEIGHBOUR_RETRANS_MS after the SYN.
DEAD_GATEWAY = "198.18.255.253"
NEIGHBOUR_PROBES = 3
NEIGHBOUR_RETRANS_MS = 575
DOMAIN = "lab.backupnet.test"
LISTENER = Path(__file__).with_name("listener.py")
SSHD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Service:
    fqdn: str
    role: str
    address: str
    ports: tuple[int, ...]
    documented: str


def lab_services() -> list[Service]:
    """A commercial-style catalogue: portal and registration (8086, 8087), eight AMP proxies (8087)."""
    services = [
        Service(f"portal.{DOMAIN}", "portal", "198.19.1.1", (8086, 8087), "198.19.1.1"),
        Service(f"register.{DOMAIN}", "registration", "198.19.1.1", (8086, 8087), "198.19.1.1"),
    ]
    for n in range(1, 9):
        address = f"198.19.2.{10 + n}"
        # amp08's documented address is out of date on purpose: drift, a warning not a failure.
        documented = "198.19.2.99" if n == 8 else address
        services.append(Service(f"amp{n:02d}.{DOMAIN}", "amp_proxy", address, (8087,), documented))
    return services


def lab_profile_yaml(services: Sequence[Service]) -> str:
    endpoints = "\n".join(
        f"  - fqdn: {s.fqdn}\n    role: {s.role}\n    ports: [{', '.join(map(str, s.ports))}]\n"
        f"    documented_ips: [{s.documented}]"
        for s in services
    )
    return (
        "name: lab\n"
        "title: pytest-backupnet lab (commercial-style catalogue)\n"
        "source: tests/lab/network.py\n"
        f"endpoints:\n{endpoints}\n"
        "egress:\n"
        "  ports: [8086, 8087]\n"
        "  recommended: [198.19.0.0/16]\n"
        "  minimum: [198.19.1.0/24, 198.19.2.0/24]\n"
        "agent:\n"
        "  management_port: 2548\n"
        "  legacy_ports: [808]\n"
        "  inbound_from: [198.18.0.0/15]\n"
        "  config_files: [/opt/BUAgent/*.cfg, /opt/BUAgent/*.vvc]\n"
    )


GOOD_CONFIG = f"""<?xml version="1.0"?>
<agentdata:Configuration xmlns:agentdata="urn:lab">
  <!-- registered by FQDN, as BN-R1 asks; an old address stays commented out: 198.19.1.1 -->
  <agentdata:Portal>register.{DOMAIN}</agentdata:Portal>
  <agentdata:Port>8086</agentdata:Port>
  <agentdata:Version>8.7.1.0</agentdata:Version>
</agentdata:Configuration>
"""


@dataclass
class HostSpec:
    """One lab host and the faults it is built with."""

    name: str
    agent: Sequence[str] = ("0.0.0.0:2548",)
    config: str = GOOD_CONFIG
    hosts_lines: str = ""
    resolver: str = DNS_PRIMARY
    nft: str = ""
    sshd: bool = True
    force_command: str = ""
    authorized: bool = True
    without_python: bool = False
    without_firewall_tools: bool = False  # no nft, iptables* or ipset for the host's sessions
    userland: str = RUNNER  # or a name in tests/lab/userland.py USERLANDS: the host's own `/`
    dead_routes: Sequence[str] = ()  # destinations routed through DEAD_GATEWAY: a late unreachable
    agent_files: Mapping[str, bytes] = field(default_factory=dict)  # more files in /opt/BUAgent


@dataclass
class LabHost:
    spec: HostSpec
    address: str
    netns: str
    root: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


def session_path() -> str:
    """The PATH of a command run over SSH: bash started by sshd reads ~/.bashrc (Debian's build)."""
    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": SSHD_PATH, "SSH_CLIENT": f"{RUNNER_ADDRESS} 1 22"}
    shell = subprocess.run(
        ["bash", "-c", 'echo "$PATH"'], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    return shell.stdout.strip()


def firewall_executables() -> list[str]:
    """Every program that lists firewall rules here, as the files the links lead to."""
    names = ("nft", "iptables-save", "ip6tables-save", "iptables-nft-save", "ip6tables-nft-save",
             "iptables-legacy-save", "ip6tables-legacy-save", "ipset")  # fmt: skip
    found = {shutil.which(n, path=SSHD_PATH) for n in names}
    return sorted({os.path.realpath(p) for p in found if p})


def python_executables() -> list[str]:
    """Every python3 a login on this machine could find, and what each links to."""
    folders = f"{os.environ.get('PATH', '')}:{session_path()}:{SSHD_PATH}".split(":")
    found = {str(Path(f) / "python3") for f in folders if f and (Path(f) / "python3").exists()}
    return sorted(found | {os.path.realpath(p) for p in found})


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result


def lab_available() -> str | None:
    """None when a lab can be built here, else the reason."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, nftables, sshd)"
    for tool in ("ip", "nft", "dnsmasq", "ssh", "ssh-keygen", "/usr/sbin/sshd"):
        if shutil.which(tool) is None:
            return f"the lab needs {tool} (see .ci/run for the packages)"
    return None


def remove_stale_lab() -> None:
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
                run("kill", "-9", pid, check=False)
            run("ip", "netns", "del", name, check=False)
    run("ip", "link", "del", RUNNER_LINK, check=False)


class Lab:
    """Build with `Lab(workdir).start(hosts)`, tear down with `.stop()`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.services = lab_services()
        self.hosts: dict[str, LabHost] = {}
        self._core_processes: list[subprocess.Popen[bytes]] = []
        self.ssh_config = workdir / "ssh_config"
        self.identity = workdir / "id_ed25519"
        self.profile_path = workdir / "lab.yaml"

    def start(self, specs: Sequence[HostSpec]) -> Lab:
        remove_stale_lab()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.profile_path.write_text(lab_profile_yaml(self.services))
        self._keys()
        self._core()
        for index, spec in enumerate(specs):
            self._host(spec, index)
        self._write_ssh_config()
        self._wait_for_sshd()
        return self

    def stop(self) -> None:
        for process in self._all_processes():
            process.kill()
        for process in self._all_processes():
            process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        remove_stale_lab()

    def _all_processes(self) -> list[subprocess.Popen[bytes]]:
        return self._core_processes + [p for h in self.hosts.values() for p in h.processes]

    def hosts_option(self, names: Sequence[str] | None = None) -> str:
        return ",".join(f"ssh://{n}" for n in (names or list(self.hosts)))

    def pytest_args(self, names: Sequence[str] | None = None) -> list[str]:
        return [
            "--profile", str(self.profile_path),
            "--hosts", self.hosts_option(names),
            "--ssh-config", str(self.ssh_config),
        ]  # fmt: skip

    # building blocks

    def _keys(self) -> None:
        for key in (self.identity, self.workdir / "ssh_host_ed25519_key"):
            if not key.exists():
                run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        shutil.copy(f"{self.identity}.pub", self.workdir / "authorized_keys")
        Path("/run/sshd").mkdir(exist_ok=True)

    def _spawn(self, netns: str, *command: str, log: Path | None = None) -> subprocess.Popen[bytes]:
        stderr = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        try:
            return subprocess.Popen(
                ["ip", "netns", "exec", netns, *command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        finally:
            if log:
                stderr.close()  # type: ignore[union-attr]

    def ssh_logins(self, name: str) -> int:
        """How many SSH sessions the host's sshd has accepted so far."""
        log = self.hosts[name].root / "sshd.log"
        return log.read_text(errors="replace").count("Accepted publickey") if log.exists() else 0

    def _listen(self, netns: str, specs: Sequence[str]) -> subprocess.Popen[bytes]:
        return self._ready(netns, sys.executable, str(LISTENER), *specs)

    def _ready(self, netns: str, *command: str) -> subprocess.Popen[bytes]:
        """Start a lab server that prints "ready" once it listens."""
        process = self._spawn(netns, *command)
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"{' '.join(command)} did not start in {netns}")
        return process

    def _core(self) -> None:
        run("ip", "netns", "add", CORE)
        run("ip", "-n", CORE, "link", "set", "lo", "up")
        run("ip", "-n", CORE, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", CORE, "link", "set", "br0", "up")
        for address in {DNS_PRIMARY, DNS_PARTIAL, DNS_REFUSES_AAAA} | {s.address for s in self.services}:
            run("ip", "-n", CORE, "addr", "add", f"{address}/15", "dev", "br0")
        run("ip", "link", "add", RUNNER_LINK, "type", "veth", "peer", "name", "runner", "netns", CORE)
        run("ip", "-n", CORE, "link", "set", "runner", "master", "br0", "up")
        run("ip", "addr", "add", f"{RUNNER_ADDRESS}/15", "dev", RUNNER_LINK)
        run("ip", "link", "set", RUNNER_LINK, "up")
        specs = sorted({f"{s.address}:{p}" for s in self.services for p in s.ports})
        self._core_processes.append(self._listen(CORE, specs))
        missing = f"amp06.{DOMAIN}"  # the partial servers lack this record
        records = [f"{s.fqdn}={s.address}" for s in self.services if s.fqdn != missing]
        self._core_processes.append(
            self._ready(CORE, sys.executable, str(DNS_SERVER), DNS_REFUSES_AAAA, *records)
        )
        for server, skip in ((DNS_PRIMARY, None), (DNS_PARTIAL, missing)):
            records = [f"--host-record={s.fqdn},{s.address}" for s in self.services if s.fqdn != skip]
            self._core_processes.append(
                self._spawn(
                    CORE,
                    "dnsmasq",
                    "--keep-in-foreground",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--no-poll",
                    "--bind-interfaces",
                    f"--listen-address={server}",
                    "--local=/test/",
                    "--user=root",
                    f"--pid-file={self.workdir}/dnsmasq-{server}.pid",
                    *records,
                )
            )

    def _host(self, spec: HostSpec, index: int) -> None:
        netns = f"{PREFIX}{spec.name}"
        address = str(LAB_NET.network_address + 10 + index)
        root = self.workdir / spec.name
        (root / "opt" / "BUAgent").mkdir(parents=True, exist_ok=True)
        (root / "opt" / "BUAgent" / "buagent.cfg").write_text(spec.config)
        for file_name, content in spec.agent_files.items():
            (root / "opt" / "BUAgent" / file_name).write_bytes(content)
        (root / "hosts").write_text(f"127.0.0.1 localhost\n{address} {spec.name}\n{spec.hosts_lines}")
        (root / "resolv.conf").write_text(f"nameserver {spec.resolver}\noptions timeout:1 attempts:1\n")
        host = LabHost(spec, address, netns, root)
        self.hosts[spec.name] = host
        run("ip", "netns", "add", netns)
        run("ip", "-n", netns, "link", "set", "lo", "up")
        run(
            "ip",
            "-n",
            CORE,
            "link",
            "add",
            f"v-{spec.name}"[:15],
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            netns,
        )
        run("ip", "-n", CORE, "link", "set", f"v-{spec.name}"[:15], "master", "br0", "up")
        run("ip", "-n", netns, "addr", "add", f"{address}/15", "dev", "eth0")
        run("ip", "-n", netns, "link", "set", "eth0", "up")
        if spec.dead_routes:
            for key, value in (
                ("mcast_solicit", NEIGHBOUR_PROBES),
                ("retrans_time_ms", NEIGHBOUR_RETRANS_MS),
            ):
                run("ip", "netns", "exec", netns, "sysctl", "-q", "-w", f"net.ipv4.neigh.eth0.{key}={value}")
        for destination in spec.dead_routes:
            run("ip", "-n", netns, "route", "add", destination, "via", DEAD_GATEWAY, "dev", "eth0")
        if spec.nft:
            (root / "rules.nft").write_text(spec.nft)
            run("ip", "netns", "exec", netns, "nft", "-f", str(root / "rules.nft"))
        if spec.agent:
            host.processes.append(self._listen(netns, spec.agent))
        if spec.sshd and spec.userland != RUNNER:
            self._start_userland_sshd(host, USERLANDS[spec.userland])
        elif spec.sshd:
            config = root / "sshd_config"
            config.write_text(self._sshd_config(host))
            # Its own mount namespace: this host's /opt, /etc/hosts and resolver, seen only by it.
            binds = [(root / "opt", "/opt"), (root / "hosts", "/etc/hosts"),
                     (root / "resolv.conf", "/etc/resolv.conf")]  # fmt: skip
            if spec.without_python:  # a host with no python3: /dev/null is not an executable
                binds += [("/dev/null", p) for p in python_executables()]
            if spec.without_firewall_tools:
                binds += [("/dev/null", p) for p in firewall_executables()]
            mounts = " && ".join(f"mount --bind {source} {target}" for source, target in binds)
            self._spawn_sshd(host, f"{mounts} && exec /usr/sbin/sshd -D -e -f {config}")

    def _spawn_sshd(self, host: LabHost, script: str) -> None:
        host.processes.append(
            self._spawn(
                host.netns, "unshare", "-m", "--propagation", "private", "sh", "-c", script,
                log=host.root / "sshd.log",
            )
        )  # fmt: skip

    def _start_userland_sshd(self, host: LabHost, userland: Userland) -> None:
        """The host's `/` is an overlay of an older userland's root, mounted in its own namespace.

        Its /opt, /etc/hosts and resolv.conf are written into the overlay's upper layer; with
        python3 removed there too, the host finds no python3 at all (exit 127), as a real one.
        """
        root = host.root
        upper, work = root / "upper", root / "overlay-work"
        for folder in (upper / "etc", upper / "opt", upper / "root", work):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(root / "opt", upper / "opt", dirs_exist_ok=True)
        shutil.copy(root / "hosts", upper / "etc" / "hosts")
        shutil.copy(root / "resolv.conf", upper / "etc" / "resolv.conf")
        if userland.own_sshd:
            merged = root / "merged"
            merged.mkdir(exist_ok=True)
            ssh = upper / "etc" / "ssh"
            ssh.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.workdir / "ssh_host_ed25519_key", ssh / "bnlab_host_key")
            (ssh / "bnlab_host_key").chmod(0o600)
            shutil.copy(self.workdir / "authorized_keys", ssh / "bnlab_authorized_keys")
            (ssh / "bnlab_sshd_config").write_text(
                self._sshd_config(host, "/etc/ssh/bnlab_host_key", "/etc/ssh/bnlab_authorized_keys",
                                  "/run/bnlab_sshd.pid")
            )  # fmt: skip
            sshd = f"chroot {merged} /usr/sbin/sshd -D -e -f /etc/ssh/bnlab_sshd_config"
            extra = ""
        else:
            # The runner's sshd, chrooted after login into the busybox root: it starts the login
            # shell that its own passwd names, so that passwd names the userland's shell.
            merged = chroot_mountpoint()
            passwd = root / "passwd"
            passwd.write_text(
                re.sub(r"^(root:[^:]*:0:0:[^:]*:[^:]*:).*$", rf"\g<1>{userland.login_shell}",
                       Path("/etc/passwd").read_text(), count=1, flags=re.M)
            )  # fmt: skip
            config = root / "sshd_config"
            config.write_text(self._sshd_config(host) + f"ChrootDirectory {merged}\n")
            sshd = f"/usr/sbin/sshd -D -e -f {config}"
            extra = f"mount --bind {passwd} /etc/passwd && "
        removed = " ".join(f"{merged}{path}" for path in userland.removed)
        script = (
            f"mount -t overlay overlay -o lowerdir={base_root(userland)},upperdir={upper},workdir={work} "
            f"{merged} && mount -t proc proc {merged}/proc && "
            + (f"rm -f {removed} && " if removed else "")
            + f"{extra}exec {sshd}"
        )
        self._spawn_sshd(host, script)

    def _sshd_config(
        self, host: LabHost, host_key: str = "", authorized: str = "", pid_file: str = ""
    ) -> str:
        force = f"ForceCommand {host.spec.force_command}\n" if host.spec.force_command else ""
        authorized = authorized or str(self.workdir / "authorized_keys")
        return (
            textwrap.dedent(
                f"""\
            ListenAddress {host.address}
            HostKey {host_key or self.workdir / "ssh_host_ed25519_key"}
            PidFile {pid_file or host.root / "sshd.pid"}
            PermitRootLogin prohibit-password
            AuthorizedKeysFile {authorized if host.spec.authorized else "/dev/null"}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PrintMotd no
            LogLevel INFO
            MaxStartups 200:30:400
            MaxSessions 100
            """
            )
            + force
        )

    def _write_ssh_config(self) -> None:
        entries = "".join(f"Host {h.name}\n  HostName {h.address}\n" for h in self.hosts.values())
        self.ssh_config.write_text(
            entries
            + textwrap.dedent(
                f"""\
                Host *
                  User root
                  # Every lab host's sshd shares the runner's cores; a classic key exchange keeps
                  # the lab from measuring its own post-quantum handshakes.
                  KexAlgorithms curve25519-sha256
                  IdentityFile {self.identity}
                  IdentitiesOnly yes
                  BatchMode yes
                  StrictHostKeyChecking no
                  UserKnownHostsFile /dev/null
                  LogLevel ERROR
                """
            )
        )

    def _wait_for_sshd(self) -> None:
        deadline = time.monotonic() + 20
        waiting = [h for h in self.hosts.values() if h.spec.sshd]
        while waiting and time.monotonic() < deadline:
            waiting = [
                h for h in waiting
                if run("ip", "netns", "exec", h.netns, "sh", "-c",
                       "grep -qi ':0016 .* 0A ' /proc/net/tcp", check=False).returncode != 0
            ]  # fmt: skip
            if waiting:
                time.sleep(0.05)
        if waiting:
            raise RuntimeError(f"sshd did not start on {', '.join(h.name for h in waiting)}")


def nft_rules(output: Sequence[str] = (), input_: Sequence[str] = ()) -> str:
    """An nftables ruleset for a host: `output` and `input` rule lines."""
    out = "\n".join(f"    {rule}" for rule in output)
    inp = "\n".join(f"    {rule}" for rule in input_)
    return (
        "table inet bnlab {\n"
        f"  chain output {{\n    type filter hook output priority 0; policy accept;\n{out}\n  }}\n"
        f"  chain input {{\n    type filter hook input priority 0; policy accept;\n{inp}\n  }}\n"
        "}\n"
    )
