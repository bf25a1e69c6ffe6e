"""Observing the hosts: when collection ends, each selected host's probe starts, concurrently."""

from __future__ import annotations

import shutil

import pytest

from .audit import Audit
from .cases import RUNNER, buckets
from .check_record import RECORD_KEY
from .fleet import Fleet
from .planning import plan_inbound, plan_probes
from .targets import close_connections


class HostObserving:
    """Owns the fleet of observations: planned from the selected items, closed at the end."""

    def __init__(self, config: pytest.Config, audit: Audit) -> None:
        self.config = config
        self.audit = audit
        self._fleet: Fleet | None = None

    @property
    def fleet(self) -> Fleet:
        if self._fleet is None:
            raise RuntimeError("the fleet is planned when collection finishes")
        return self._fleet

    def _buckets(self) -> list[list[str]]:
        workerinput = getattr(self.config, "workerinput", None)
        return buckets(self.audit.host_names, int(workerinput["workercount"]) if workerinput else 1)

    def bucket_of(self, host: str) -> list[str]:
        """The hosts this process observes together with `host` (all, unless xdist splits them)."""
        return next(b for b in self._buckets() if host in b)

    def own_bucket(self) -> list[str]:
        """The hosts this process will be given: all, or an xdist worker's bucket (gwK gets K)."""
        workerinput = getattr(self.config, "workerinput", None)
        if not workerinput:
            return list(self.audit.host_names)
        index = int(str(workerinput["workerid"]).removeprefix("gw") or 0)
        all_buckets = self._buckets()
        return all_buckets[index] if index < len(all_buckets) else []

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        audit = self.audit
        self._fleet = Fleet(
            audit.targets,
            plan_probes(session.items, audit.profile, audit.timeouts, audit.firewall),
            plan_inbound(session.items),
            audit.timeouts,
            self.bucket_of,
            audit.implementation,
        )
        if session.config.option.collectonly:
            return
        planned = set()
        for item in session.items:
            record = item.stash.get(RECORD_KEY, None)
            if record is not None and record.case is not None and record.case.host != RUNNER:
                planned.add(record.case.host)
        self._fleet.start([h for h in self.own_bucket() if h in planned])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        if self._fleet is not None:
            self._fleet.close()
        close_connections(self.audit.targets)
        shutil.rmtree(self.audit.control_dir, ignore_errors=True)


OBSERVING_KEY = pytest.StashKey[HostObserving]()
