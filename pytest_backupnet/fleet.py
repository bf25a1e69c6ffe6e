"""Observing hosts: each host once, the hosts of one worker concurrently, each within its deadline."""

from __future__ import annotations

import concurrent.futures
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .probe import ProbeOutputError, ProbeReport, ProbeRequest, parse_probe_output, remote_command
from .targets import HostUnavailable, Target, management_address, run_bounded
from .timeouts import Timeouts


@dataclass(frozen=True)
class InboundResult:
    """The runner's own TCP connect to a host's management port (Central Control's view)."""

    address: str | None
    port: int
    outcome: str  # open | refused | timeout | unreachable | error | not-applicable
    detail: str = ""


@dataclass
class HostObservation:
    target: Target
    report: ProbeReport | None = None
    inbound: InboundResult | None = None
    error: HostUnavailable | None = None
    wall_s: float = 0.0
    steps: list[str] = field(default_factory=list)
    # What checks derive from the report, computed once per host by the first that needs it.
    derived: dict[str, object] = field(default_factory=dict)


def tcp_connect(address: str, port: int, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of one TCP connect from the runner."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open", ""
    except TimeoutError:
        return "timeout", f"no answer within {timeout:g}s"
    except ConnectionRefusedError:
        return "refused", "connection refused"
    except socket.gaierror as exc:
        return "unresolved", f"the runner cannot resolve {address!r}: {exc}"
    except UnicodeError:  # not a host name at all (a label over 63 characters, ...)
        return "unresolved", f"{address[:200]!r} is not a host name"
    except OSError as exc:
        return "unreachable", str(exc)


class Fleet:
    """The observations of every host, gathered lazily: asking for one host starts its bucket."""

    def __init__(
        self,
        targets: Sequence[Target],
        requests: Mapping[str, ProbeRequest],
        inbound_ports: Mapping[str, int],
        timeouts: Timeouts,
        bucket_of: Callable[[str], Sequence[str]],
        implementation: str = "auto",
    ) -> None:
        self._targets = {t.name: t for t in targets}
        self._requests = requests
        self._inbound_ports = inbound_ports
        self._timeouts = timeouts
        self._implementation = implementation
        self._bucket_of = bucket_of
        self._lock = threading.Lock()
        self._futures: dict[str, concurrent.futures.Future[HostObservation]] = {}
        # Threads only wait on remote commands and sockets; inbound connects get their own pool,
        # since a host task waits on its inbound connect and must not starve it.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="bn-host")
        self._inbound_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=64, thread_name_prefix="bn-inbound"
        )

    def start(self, names: Sequence[str]) -> None:
        """Begin observing these hosts now, concurrently, each once."""
        with self._lock:
            for name in names:
                if name not in self._futures and name in self._targets:
                    self._futures[name] = self._pool.submit(self._observe_host, name)

    def observe(self, name: str) -> HostObservation:
        if name not in self._futures:
            self.start(self._bucket_of(name))
        with self._lock:
            future = self._futures[name]
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._inbound_pool.shutdown(wait=True, cancel_futures=True)

    def _observe_host(self, name: str) -> HostObservation:
        target = self._targets[name]
        observation = HostObservation(target)
        start = time.monotonic()
        deadline = start + self._timeouts.host_deadline

        def remaining() -> float:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HostUnavailable(
                    name, "host-deadline", f"over --backupnet-host-deadline={self._timeouts.host_deadline:g}s"
                )
            return left

        inbound_future = None
        if name in self._inbound_ports:
            inbound_future = self._inbound_pool.submit(self._inbound, target, self._inbound_ports[name])
        # The probe is also the pre-flight: its first answer proves the host is reachable.
        request = self._requests.get(name, ProbeRequest(self._timeouts))
        budget = self._timeouts.probe_run
        try:
            limit = min(remaining(), budget)
            command = remote_command(request, self._implementation)
            try:
                out = run_bounded(target, command, limit)
            except HostUnavailable as exc:
                if exc.observed == "host-deadline" and limit == budget:
                    raise HostUnavailable(name, "no-answer", exc.reason) from None
                raise
            try:
                observation.report = parse_probe_output(out.stdout)
            except ProbeOutputError as exc:
                detail = out.stderr.strip().splitlines()[-1:] or [str(exc)]
                raise HostUnavailable(name, "probe-failed", detail[0]) from exc
            observation.steps.append(f"probe {time.monotonic() - start:.2f}s")
        except HostUnavailable as exc:
            observation.error = exc
            observation.steps.append(f"gave up after {time.monotonic() - start:.2f}s")
        if inbound_future is not None:
            observation.inbound = inbound_future.result()
        observation.wall_s = time.monotonic() - start
        return observation

    def _inbound(self, target: Target, port: int) -> InboundResult:
        address = management_address(target)
        if address is None:
            return InboundResult(
                None, port, "not-applicable", f"the runner is the host ({target.transport}://)"
            )
        outcome, detail = tcp_connect(address, port, self._timeouts.probe)
        return InboundResult(address, port, outcome, detail)
