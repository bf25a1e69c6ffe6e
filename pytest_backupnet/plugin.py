"""pytest-backupnet: options, markers, and the registration of the audit's parts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from . import fixtures
from .audit import AUDIT_KEY, build_audit, dns_server, profile_search_dirs
from .catalog import find_profiles, format_profile_list
from .collection import SuiteCollection
from .controls import all_controls, format_controls
from .evidence import EVIDENCE_KEY, Evidence
from .exitstatus import ExitStatus
from .firewall_view import FIREWALL_MODES
from .junit import JunitEvidence
from .observing import OBSERVING_KEY, HostObserving
from .probe import IMPLEMENTATIONS
from .recording import OutcomeRecorder, ShortReports
from .redaction import redact_environment
from .terminal import TerminalReport

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
MARKERS = {
    "backupnet": "a compliance control of pytest-backupnet (see --backupnet-list-checks)",
    "preflight": "the suite reaches the host: the condition for every other check",
    "outbound": "a connection the agent opens to the backup service",
    "inbound": "a connection Central Control or the portal opens to the agent",
    "network": "needs the live network (DNS, TCP connects, listening sockets); -m 'not network' "
    "reads files and the firewall only: the image-build gate",
    **{f"bn_r{n}": f"verifies requirement BN-R{n} (REQUIREMENTS.md)" for n in range(1, 10)},
}
PROFILE_HELP = "audit against this profile: a shipped name, a name on --profile-path, or a YAML file"


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
    group.addoption("--backupnet-profile", dest="backupnet_profile", metavar="NAME|PATH", help=PROFILE_HELP)
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
        "--backupnet-list-checks",
        dest="backupnet_list_checks",
        action="store_true",
        help="print every control (id, requirement, title, where it lives) and exit, touching no host",
    )
    for option, default, help_text in (
        ("--backupnet-timeout", 3.0, "timeout of each resolution and TCP connect (default 3)"),
        ("--backupnet-host-deadline", 60.0, "most time one host may take, connection and probe (default 60)"),
        ("--backupnet-connect-timeout", 5.0, "SSH connect timeout per host (default 5)"),
    ):
        group.addoption(
            option,
            dest=option.removeprefix("--").replace("-", "_"),
            type=_positive_seconds(option),
            default=default,
            metavar="S",
            help=help_text,
        )
    group.addoption(
        "--dns-server",
        dest="dns_server",
        action="append",
        default=[],
        type=dns_server,
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
        "--backupnet-firewall",
        dest="backupnet_firewall",
        choices=FIREWALL_MODES,
        default=None,
        help="which firewall to judge: the running rules (live), the saved configuration the host boots "
        "with (saved), or the running rules and their drift from it (both); default: live where a "
        "ruleset is loaded and can be read, else saved (image builds)",
    )
    group.addoption(
        "--backupnet-probe",
        dest="backupnet_probe",
        choices=IMPLEMENTATIONS,
        default="auto",
        help="probe on the host: python3 when present, else the POSIX sh probe (default auto)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """`--profile` as well, unless another plugin (pytest-profiling) has taken it.

    Every plugin's options are known only now, after all of them were loaded: deciding in
    pytest_addoption would clash with a plugin loaded after this one.
    """
    if not _option_taken(parser, "--profile"):
        parser.getgroup("backupnet").addoption(
            "--profile",
            dest="backupnet_profile",
            metavar="NAME|PATH",
            help=f"{PROFILE_HELP} (short for --backupnet-profile)",
        )


def _option_taken(parser: pytest.Parser, name: str) -> bool:
    groups: list[Any] = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return any(name in option.names() for group in groups if group for option in group.options)


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any]) -> None:
    """pytest-metadata's environment table (shown by pytest-html): CI URLs may carry credentials."""
    metadata.update(redact_environment(metadata))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("backupnet_list_profiles"):
        entries = find_profiles(profile_search_dirs(config))
        print(format_profile_list(entries))
        return 4 if any(e.error for e in entries) else 0
    if config.getoption("backupnet_list_checks"):
        print(format_controls(all_controls()))
        return 0
    return None


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    profile_ref = config.getoption("backupnet_profile")
    if not profile_ref or config.getoption("help"):
        return
    audit = build_audit(config, profile_ref)
    config.stash[AUDIT_KEY] = audit
    observing = HostObserving(config, audit)
    config.stash[OBSERVING_KEY] = observing
    register = config.pluginmanager.register
    register(fixtures, "backupnet-fixtures")
    register(SuiteCollection(audit), "backupnet-collection")
    register(observing, "backupnet-observing")
    register(ShortReports(), "backupnet-short-reports")
    register(OutcomeRecorder(audit), "backupnet-outcomes")
    if not hasattr(config, "workerinput"):  # reports are written where they are gathered
        evidence = Evidence(config, audit)
        config.stash[EVIDENCE_KEY] = evidence
        register(evidence, "backupnet-evidence")
        register(ExitStatus(), "backupnet-exitstatus")
        register(TerminalReport(audit, evidence), "backupnet-terminal")
        register(JunitEvidence(config), "backupnet-junit")
        if config.pluginmanager.hasplugin("html"):
            from .html_report import HtmlReport

            register(HtmlReport(evidence, config), "backupnet-html")
    if config.pluginmanager.hasplugin("xdist"):
        from .xdist_scheduling import BackupnetXdist

        register(BackupnetXdist(audit.host_names), "backupnet-xdist")
    _collect_packaged_suite(config)


def _collect_packaged_suite(config: pytest.Config) -> None:
    """Collect the compliance suite from the installed package, from any directory."""
    suite = str(CHECKS_DIR)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if not any(Path(a.split("::")[0]).resolve().is_relative_to(CHECKS_DIR) for a in config.args):
            config.args.append(suite)
    else:
        config.args[:] = [suite]
        config.args_source = pytest.Config.ArgsSource.ARGS
