"""pytest-backupnet: options, markers, report header, and registration of the audit session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .catalog import find_profiles, format_profile_list
from .probe import IMPLEMENTATIONS
from .profile import ProfileError, load_profile
from .session import SESSION_KEY, BackupnetSession
from .waivers import WaiverError, load_waivers

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
MARKERS = {
    "backupnet": "a compliance check of pytest-backupnet (requirement=, cases=, title=)",
    "preflight": "the suite reaches the host: the condition for every other check",
    "outbound": "a connection the agent opens to the backup service",
    "inbound": "a connection Central Control or the portal opens to the agent",
    "network": "needs live network access (DNS, TCP connects); -m 'not network' reads files only",
    **{f"bn_r{n}": f"verifies requirement BN-R{n} (REQUIREMENTS.md)" for n in range(1, 10)},
}


def _positive_seconds(option: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise pytest.UsageError(f"{option}: {text!r} is not a number of seconds") from None
        if not 0 < value <= 3600:
            raise pytest.UsageError(f"{option}: {text!r} must be above 0 and at most 3600 seconds")
        return value

    return parse


@pytest.hookimpl
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backupnet", "pytest-backupnet: IBM Cloud Backup network requirements")
    group.addoption(
        "--profile",
        dest="backupnet_profile",
        metavar="NAME|PATH",
        help="audit against this profile: a shipped name, a name on --profile-path, or a YAML file",
    )
    group.addoption(
        "--profile-path",
        dest="backupnet_profile_path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of site profiles (repeatable; ini: backupnet_profile_path)",
    )
    parser.addini("backupnet_profile_path", "folders of site profiles", type="paths", default=[])
    group.addoption(
        "--list-profiles",
        dest="backupnet_list_profiles",
        action="store_true",
        help="print the profiles found and exit, touching no host",
    )
    group.addoption(
        "--backupnet-timeout",
        dest="backupnet_timeout",
        type=_positive_seconds("--backupnet-timeout"),
        default=3.0,
        metavar="S",
        help="timeout of each resolution and TCP connect of the probe (default 3)",
    )
    group.addoption(
        "--backupnet-host-deadline",
        dest="backupnet_host_deadline",
        type=_positive_seconds("--backupnet-host-deadline"),
        default=60.0,
        metavar="S",
        help="most time one host may take, connection and probe together (default 60)",
    )
    group.addoption(
        "--backupnet-connect-timeout",
        dest="backupnet_connect_timeout",
        type=_positive_seconds("--backupnet-connect-timeout"),
        default=5.0,
        metavar="S",
        help="SSH connect timeout per host (default 5)",
    )
    group.addoption(
        "--dns-server",
        dest="dns_server",
        action="append",
        default=[],
        metavar="IP[:PORT]",
        help="also resolve every endpoint from the runner against this DNS server (repeatable)",
    )
    group.addoption(
        "--backupnet-json",
        dest="backupnet_json",
        metavar="PATH",
        help="write the evidence file: run metadata and one record per check",
    )
    group.addoption(
        "--waivers",
        dest="backupnet_waivers",
        metavar="PATH",
        help="accepted exceptions (YAML): requirement, host glob, justification, owner, expiry",
    )
    group.addoption(
        "--backupnet-probe",
        dest="backupnet_probe",
        choices=IMPLEMENTATIONS,
        default="auto",
        help="probe on the host: python3 when present, else the POSIX sh probe (default auto)",
    )


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def profile_search_dirs(config: pytest.Config) -> list[Path]:
    dirs = [Path(p).expanduser() for p in config.getoption("backupnet_profile_path")]
    return dirs + list(config.getini("backupnet_profile_path"))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("backupnet_list_profiles"):
        entries = find_profiles(profile_search_dirs(config))
        print(format_profile_list(entries))
        return 4 if any(e.error for e in entries) else 0
    ref = config.getoption("backupnet_profile")
    if not ref:
        return None
    try:
        profile = load_profile(ref, profile_search_dirs(config))
    except (ProfileError, FileNotFoundError) as exc:
        raise pytest.UsageError(f"--profile {ref}: {exc}") from None
    waiver_path = config.getoption("backupnet_waivers")
    try:
        waivers = load_waivers(Path(waiver_path)) if waiver_path else []
    except WaiverError as exc:
        raise pytest.UsageError(f"--waivers: {exc}") from None
    from . import fixtures, report

    session = BackupnetSession(config, profile, config.invocation_params.args, waivers)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "backupnet-session")
    config.pluginmanager.register(fixtures, "backupnet-fixtures")
    report.register(config, session)
    if config.pluginmanager.hasplugin("xdist"):
        from . import xdist_support

        config.pluginmanager.register(xdist_support.BackupnetXdist(session), "backupnet-xdist")
    _collect_packaged_suite(config)
    return None


def _collect_packaged_suite(config: pytest.Config) -> None:
    """Collect the compliance suite from the installed package, from any directory."""
    suite = str(CHECKS_DIR)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if not any(Path(a.split("::")[0]).resolve().is_relative_to(CHECKS_DIR) for a in config.args):
            config.args.append(suite)
    else:
        config.args[:] = [suite]
        config.args_source = pytest.Config.ArgsSource.ARGS
