"""pytest-xdist: a host's checks stay on one worker, so its probe runs once."""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from .cases import host_of_nodeid


class HostBucketScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """Work units are buckets of hosts (host index modulo worker count), one per worker.

    Each worker computes the same buckets from its `workercount`, so when its first
    check of a host arrives it can observe the whole bucket at once, concurrently.
    """

    def __init__(self, config: pytest.Config, log: Any, hosts: list[str]) -> None:
        super().__init__(config, log)
        self._hosts = hosts

    def _assign_work_unit(self, node: Any) -> None:
        # Worker gwK gets bucket K first: it began observing those hosts once it had collected.
        own = f"bucket-{str(node.gateway.id).removeprefix('gw')}"
        if own in self.workqueue:
            self.workqueue.move_to_end(own, last=False)
        super()._assign_work_unit(node)

    def _split_scope(self, nodeid: str) -> str:
        host = host_of_nodeid(nodeid, self._hosts)
        if host is None:
            return "runner"
        return f"bucket-{self._hosts.index(host) % self.numnodes}"


class BackupnetXdist:
    """Hooks for pytest-xdist, registered only when it is installed."""

    def __init__(self, host_names: list[str]) -> None:
        self.host_names = host_names

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> HostBucketScheduling:
        return HostBucketScheduling(config, log, self.host_names)
