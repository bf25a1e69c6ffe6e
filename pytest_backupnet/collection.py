"""Collection of the suite: each control's items from the profile and the hosts, in a stable order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .audit import Audit
from .cases import RUNNER, Case, build_cases
from .check_record import RECORD_KEY, CheckRecord
from .controls import PREFLIGHT, control_of
from .needs import NETWORK, needs_of

# Controls that only a run option makes applicable: without it, one skipped item says which option.
ONLY_WITH: dict[str, tuple[Callable[[Audit], bool], str]] = {
    "firewall-both": (
        lambda audit: audit.firewall == "both",
        "drift is judged with --backupnet-firewall both",
    ),
}


class SuiteCollection:
    """Parametrises every control with its cases, gives each item its record and its markers."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit

    @pytest.hookimpl
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        declared = control_of(metafunc.function)
        if declared is None or "case" not in metafunc.fixturenames:
            return
        audit = self.audit
        if declared.only_with and not ONLY_WITH[declared.only_with][0](audit):
            reason = f"not applicable: {ONLY_WITH[declared.only_with][1]}"
            metafunc.parametrize(
                "case", [pytest.param(None, id="none", marks=pytest.mark.skip(reason=reason))]
            )
            return
        cases = build_cases(declared.cases, audit.profile, audit.host_names, audit.dns_servers)
        params = [pytest.param(case, id=case.id) for case in cases]
        if not params:
            runner = declared.cases == "runner_dns"
            reason = (
                "no --dns-server given: resolution from the runner was not requested"
                if runner
                else f"profile {audit.profile.name} lists nothing for this check"
            )
            placeholder = Case(RUNNER) if runner else None
            params = [pytest.param(placeholder, id="none", marks=pytest.mark.skip(reason=reason))]
        metafunc.parametrize("case", params)

    # tryfirst: the `network` marker must be there before -m deselects.
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            declared = control_of(item)
            if declared is None:
                continue
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("case") if callspec else None
            name = item.originalname if isinstance(item, pytest.Function) else item.name
            item.stash[RECORD_KEY] = CheckRecord(declared, case, name)
            if needs_of(getattr(item, "fixturenames", ())) & NETWORK:
                item.add_marker(pytest.mark.network)
        order = {name: index for index, name in enumerate([*self.audit.host_names, RUNNER])}

        def position(item: pytest.Item) -> tuple[int, bool]:
            record = item.stash.get(RECORD_KEY, None)
            if record is None or record.case is None:
                return len(order), True
            return order.get(record.case.host, len(order)), record.control.id != PREFLIGHT

        items.sort(key=position)
