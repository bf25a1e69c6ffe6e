"""One audit run: parametrises the suite, plans one probe per host, shapes errors and exit status."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import tempfile
from collections.abc import Generator, Sequence
from typing import Any

import pytest

from .cases import RUNNER, Case, buckets, build_cases
from .fleet import Fleet
from .probe import ProbeRequest
from .probe.records import PROC_NET_TCP
from .profile import Profile
from .targets import TargetOptions, build_targets, close_connections
from .timeouts import Timeouts
from .verdict import HostNotEvaluated, NotEvaluated
from .waivers import Waiver, find_waiver

SESSION_KEY = pytest.StashKey["BackupnetSession"]()
EXIT_NOT_EVALUATED = 6
# What a check may ask of its host's observation (`probe=` of its `backupnet` marker).
PROBE_NEEDS = ("resolve", "connect", "listen", "config", "hosts_file", "inbound", "firewall")
HOSTS_FILE = "/etc/hosts"
# The read-only listings the firewall checks evaluate.
FIREWALL_COMMANDS = {"nft": ("nft", "-j", "list", "ruleset"), "iptables-legacy": ("iptables-legacy-save",)}


def session_of(config: pytest.Config) -> BackupnetSession:
    return config.stash[SESSION_KEY]


class BackupnetSession:
    """The state of one audit against one profile; registered only when --profile is given."""

    def __init__(
        self,
        config: pytest.Config,
        profile: Profile,
        reproduce: Sequence[str],
        waivers: Sequence[Waiver] = (),
    ) -> None:
        self.config = config
        self.profile = profile
        self.waivers = tuple(waivers)
        self.today = dt.datetime.now(dt.UTC).date()
        self.reproduce = tuple(reproduce)
        self.control_dir = tempfile.mkdtemp(prefix="bn-")
        self.targets = build_targets(target_options(config, self.control_dir))
        self.host_names = [t.name for t in self.targets]
        self.dns_servers: list[str] = config.getoption("dns_server") or []
        self.timeouts = Timeouts(
            probe=config.getoption("backupnet_timeout"),
            ssh_connect=config.getoption("backupnet_connect_timeout"),
            host_deadline=config.getoption("backupnet_host_deadline"),
        )
        self.implementation = config.getoption("backupnet_probe")
        self._fleet: Fleet | None = None
        self.not_evaluated = 0

    @property
    def fleet(self) -> Fleet:
        if self._fleet is None:
            raise RuntimeError("the fleet is planned when collection finishes")
        return self._fleet

    def _buckets(self) -> list[list[str]]:
        workerinput = getattr(self.config, "workerinput", None)
        return buckets(self.host_names, int(workerinput["workercount"]) if workerinput else 1)

    def bucket_of(self, host: str) -> list[str]:
        """The hosts this process observes together with `host` (all, unless xdist splits them)."""
        return next(b for b in self._buckets() if host in b)

    def own_bucket(self) -> list[str]:
        """The hosts this process will be given: all, or an xdist worker's bucket (gwK gets K)."""
        workerinput = getattr(self.config, "workerinput", None)
        if not workerinput:
            return list(self.host_names)
        index = int(str(workerinput["workerid"]).removeprefix("gw") or 0)
        all_buckets = self._buckets()
        return all_buckets[index] if index < len(all_buckets) else []

    @pytest.hookimpl
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        marker = metafunc.definition.get_closest_marker("backupnet")
        if marker is None or "case" not in metafunc.fixturenames:
            return
        kind = marker.kwargs["cases"]
        marks = [getattr(pytest.mark, _marker_name(r)) for r in marker_requirements(marker)]
        if "direction" in marker.kwargs:
            marks.append(getattr(pytest.mark, marker.kwargs["direction"]))
        if marker.kwargs.get("network"):
            marks.append(pytest.mark.network)
        cases = build_cases(kind, self.profile, self.host_names, self.dns_servers)
        params = [pytest.param(c, id=c.id, marks=marks) for c in cases]
        if not params:
            reason = (
                "no --dns-server given: resolution from the runner was not requested"
                if kind == "runner_dns"
                else f"profile {self.profile.name} lists nothing for this check"
            )
            params = [pytest.param(None, id="none", marks=[*marks, pytest.mark.skip(reason=reason)])]
        metafunc.parametrize("case", params)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            case = _case_of(item)
            marker = item.get_closest_marker("backupnet")
            if case is None or marker is None:
                continue
            item.user_properties += [
                ("requirement", ",".join(marker_requirements(marker))),
                ("host", case.host),
                ("check", item.originalname if isinstance(item, pytest.Function) else item.name),
            ]
            if case.endpoint:
                item.user_properties.append(("endpoint", case.endpoint))
            if case.port is not None:
                item.user_properties.append(("port", case.port))
        order = {name: index for index, name in enumerate([*self.host_names, RUNNER])}
        items.sort(
            key=lambda item: (
                order.get(getattr(_case_of(item), "host", RUNNER), len(order)),
                getattr(item, "originalname", "") != "test_host_reachable",
            )
        )

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._fleet = Fleet(
            self.targets,
            self.plan_requests(session.items),
            self.plan_inbound(session.items),
            self.timeouts,
            self.bucket_of,
            self.implementation,
        )
        if not session.config.option.collectonly:
            planned = {getattr(_case_of(item), "host", RUNNER) for item in session.items}
            self._fleet.start([h for h in self.own_bucket() if h in planned])

    def plan_requests(self, items: Sequence[pytest.Item]) -> dict[str, ProbeRequest]:
        """One probe per host asking for just what the selected checks read."""
        plans: dict[str, dict[str, Any]] = {}
        for item in items:
            case, needs = _case_of(item), probe_needs(item)
            if case is None or case.host == RUNNER or item.get_closest_marker("skip"):
                continue
            plan = plans.setdefault(
                case.host, {"resolve": {}, "listen": False, "files": set(), "firewall": False}
            )
            if "resolve" in needs and case.endpoint:
                ports = plan["resolve"].setdefault(case.endpoint, set())
                if "connect" in needs and case.port is not None:
                    ports.add(case.port)
            plan["listen"] |= "listen" in needs
            plan["firewall"] |= "firewall" in needs
            if "config" in needs:
                plan["files"].update(self.profile.agent.config_files)
            if "hosts_file" in needs:
                plan["files"].add(HOSTS_FILE)
        return {
            host: ProbeRequest(
                self.timeouts,
                resolve={n: sorted(p) for n, p in plan["resolve"].items()},
                globs=sorted(plan["files"] - {HOSTS_FILE}),
                read=[
                    *([HOSTS_FILE] if HOSTS_FILE in plan["files"] else []),
                    *(PROC_NET_TCP if plan["listen"] else ()),
                ],
                commands=FIREWALL_COMMANDS if plan["firewall"] else {},
            )
            for host, plan in plans.items()
        }

    def plan_inbound(self, items: Sequence[pytest.Item]) -> dict[str, int]:
        return {
            case.host: case.port
            for item in items
            if "inbound" in probe_needs(item)
            and (case := _case_of(item)) is not None
            and case.port is not None
        }

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, NotEvaluated):
            # Raised by fixtures, so pytest reports an error; one line says why, no traceback.
            item.user_properties.append(("observed", excinfo.value.observed))
            if isinstance(excinfo.value, HostNotEvaluated) and excinfo.value.elapsed_s is not None:
                item.user_properties.append(("host_wall_s", round(excinfo.value.elapsed_s, 3)))
            report.user_properties = list(item.user_properties)
            report.longrepr = f"{type(excinfo.value).__name__}: {excinfo.value}"
        elif report.when == "call" and report.failed and self.waivers:
            self._apply_waiver(item, report)
        return report

    def _apply_waiver(self, item: pytest.Item, report: pytest.TestReport) -> None:
        props = {key: str(value) for key, value in item.user_properties}
        requirements = props.get("requirement", "").split(",")
        waiver = find_waiver(self.waivers, requirements, props.get("host", ""), props.get("endpoint"))
        if waiver is None:
            return
        if waiver.expired(self.today):
            item.user_properties.append(("waiver", f"expired: {waiver.describe()}"))
            report.longrepr = (
                f"{report.longreprtext}\nwaiver expired on {waiver.expires.isoformat()}, "
                f"so this failure counts again: {waiver.describe()}"
            )
        else:
            item.user_properties.append(("waiver", waiver.describe()))
            report.outcome = "skipped"
            report.wasxfail = f"waived: {waiver.describe()}"
            report.longrepr = None
        report.user_properties = list(item.user_properties)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.when != "call":
            self.not_evaluated += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._fleet is not None:
            self._fleet.close()
        close_connections(self.targets)
        shutil.rmtree(self.control_dir, ignore_errors=True)
        if self.not_evaluated and session.exitstatus in (0, 1):
            session.exitstatus = EXIT_NOT_EVALUATED

    @pytest.hookimpl
    def pytest_report_header(self) -> list[str]:
        lines = [
            f"backupnet: profile {self.profile.name} ({self.profile.title}), "
            f"sha256 {self.profile.sha256[:16]}..., from {self.profile.path}",
            f"backupnet: hosts {', '.join(self.host_names)}; probe timeout "
            f"{self.timeouts.probe:g}s, host deadline {self.timeouts.host_deadline:g}s",
            f"backupnet: reproduce with: pytest {shlex.join(self.reproduce)}",
        ]
        lines += [f"backupnet: warning: {w}" for w in self.profile.warnings]
        if self.waivers:
            expired = sum(w.expired(self.today) for w in self.waivers)
            lines.append(f"backupnet: {len(self.waivers)} waiver(s), {expired} expired")
        return lines


def target_options(config: pytest.Config, control_dir: str) -> TargetOptions:
    hosts = config.getoption("hosts", None)
    return TargetOptions(
        hosts=tuple(h.strip() for h in hosts.split(",") if h.strip()) if hosts else ("local://",),
        connection=config.getoption("connection", None),
        ssh_config=config.getoption("ssh_config", None),
        ssh_identity_file=config.getoption("ssh_identity_file", None),
        ansible_inventory=config.getoption("ansible_inventory", None),
        sudo=bool(config.getoption("sudo", False)),
        sudo_user=config.getoption("sudo_user", None),
        connect_timeout=config.getoption("backupnet_connect_timeout"),
        control_dir=control_dir,
    )


def probe_needs(item: pytest.Item) -> tuple[str, ...]:
    marker = item.get_closest_marker("backupnet")
    needs = tuple(marker.kwargs.get("probe", ())) if marker else ()
    unknown = set(needs) - set(PROBE_NEEDS)
    if unknown:
        raise ValueError(f"{item.nodeid}: unknown probe need {sorted(unknown)} (known: {PROBE_NEEDS})")
    return needs


def marker_requirements(marker: pytest.Mark) -> list[str]:
    return [marker.kwargs["requirement"], *marker.kwargs.get("also", ())]


def _marker_name(requirement: str) -> str:
    return requirement.lower().replace("-", "_")


def _case_of(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec else None
    return case if isinstance(case, Case) else None
