"""The self-tests' shared set-up: the namespace lab, and one audit of it shared by many tests.

pytest loads this file in every compliance run of an editable install, from whatever directory:
it therefore declares only fixtures that the compliance checks never ask for, imports the test
helpers only when a fixture runs, and registers no plugin (pytester comes from the `addopts` of
pyproject.toml). tests/test_layout.py proves such a run behaves the same with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.lab.network import Lab
    from tests.lab.suite_run import SuiteRun


@pytest.fixture(scope="session")
def userland_problem() -> str | None:
    """None when the older userlands' roots are ready (built now, or found in the cache), else why not."""
    import subprocess

    from tests.lab.userland import build_all, userlands_available

    reason = userlands_available()
    if reason is None:
        try:
            build_all()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
            reason = f"cannot build the older userlands' roots: {exc}"
    return reason


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, userland_problem: str | None) -> Iterator[Lab]:
    from tests.lab.fleet_specs import LAB_HOSTS, TROUBLE_HOSTS, USERLAND_HOSTS
    from tests.lab.network import Lab
    from tests.lab.require import need_lab

    need_lab()
    userland_hosts = USERLAND_HOSTS if userland_problem is None else []
    built = Lab(tmp_path_factory.mktemp("lab")).start([*LAB_HOSTS, *TROUBLE_HOSTS, *userland_hosts])
    try:
        yield built
    finally:
        built.stop()


@pytest.fixture(scope="session")
def lab_run(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """One audit of every lab host, shared by the tests that read its verdicts."""
    from tests.lab.fleet_specs import AUDITED
    from tests.lab.suite_run import run_suite

    workdir = tmp_path_factory.mktemp("lab-run")
    return run_suite(
        workdir,
        [*lab.pytest_args(AUDITED), "--dns-server", "198.18.0.1", "--backupnet-timeout", "1",
         "--html", str(workdir / "report.html"), "--junitxml", str(workdir / "out.xml")],
    )  # fmt: skip
