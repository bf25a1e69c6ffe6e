"""Every time limit of an audit, derived once from the command line and used everywhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """The three limits a user sets, and every limit derived from them.

    `probe` bounds each name resolution and each TCP connect, on the host and on the runner
    (`--backupnet-timeout`); `ssh_connect` bounds the SSH handshake (`--backupnet-connect-timeout`);
    `host_deadline` bounds everything one host may cost (`--backupnet-host-deadline`).
    """

    probe: float = 3.0
    ssh_connect: float = 5.0
    host_deadline: float = 60.0

    @property
    def listing(self) -> float:
        """One read-only listing command on the host (nft, iptables-save): large output takes time."""
        return self.probe + 2

    @property
    def connect_kill(self) -> float:
        """When the shell probe stops a blocking connect (bash /dev/tcp) that has not finished.

        A SYN rejected by the host's own firewall fails a blocking connect only at its first
        retransmission, a second after it (a non-blocking connect, as Python's, sees it at once):
        the extra second lets the shell probe see that error too, and absorbs the start of bash
        or nc on a busy host.
        """
        return self.probe + 1

    @property
    def on_host(self) -> float:
        """The probe's own limit on the host: resolution, then the connects, plus a second of slack."""
        return 2 * self.probe + 1

    @property
    def probe_run(self) -> float:
        """How long the runner waits for one host's probe: SSH set-up, the probe, transport slack."""
        return min(self.host_deadline, self.ssh_connect + self.on_host + 1)

    def for_probe(self) -> dict[str, float]:
        """The limits the probe applies on the host, sent in its request (it derives nothing)."""
        return {
            "resolve": self.probe,
            "connect": self.probe,
            "connect_kill": self.connect_kill,
            "listing": self.listing,
            "on_host": self.on_host,
        }
