"""The plugin as users run it (pytester): options, collection from the package, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_profile import MINIMAL


def test_without_profile_pytest_behaves_as_usual(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)
    assert "backupnet" not in result.stdout.str()


def test_list_profiles_touches_no_host(pytester: pytest.Pytester) -> None:
    site = pytester.mkdir("site")
    (site / "dal10.yaml").write_text("name: dal10\ntitle: Dallas 10\nextends: commercial-current\n")
    result = pytester.runpytest(
        "--list-profiles", "--profile-path", str(site), "--hosts", "ssh://unreachable.invalid"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "NAME*ENDPOINTS*FOUND IN*TITLE",
        f"dal10*12*{site}*Dallas 10",
        "*source: IBM Cloud Docs, Backup, port-information.md, revisions 2019-11-05*",
        "commercial *10*shipped*2019-02-05*",
        "*source: IBM Cloud Docs, Backup, *(#portinfo), last updated 2019-02-05",
        "usgov *1*shipped*",
    ])  # fmt: skip


def test_profile_path_from_ini(pytester: pytest.Pytester) -> None:
    site = pytester.mkdir("profiles-site")
    (site / "mine.yaml").write_text("name: mine\nextends: usgov\n")
    pytester.makeini(f"[pytest]\nbackupnet_profile_path = {site}\n")
    result = pytester.runpytest("--profile", "mine", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["test_bn_r5_dns.py::test_dns_resolution[local-webcc.service.usgov.softlayer.com]"]
    )


def test_suite_is_collected_from_the_package_from_any_directory(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "commercial", "--hosts", "web1,web2", "--collect-only", "-q")
    out = result.stdout.str()
    assert (
        "test_bn_r2_r3_outbound_tcp.py::test_outbound_tcp[web1-evwebamp0903.service.softlayer.com:8087]"
        in out
    )
    assert (
        "test_bn_r2_r3_outbound_tcp.py::test_outbound_tcp[web2-evwebamp0903.service.softlayer.com:8087]"
        in out
    )
    assert "paramiko" not in out
    # 2 hosts x (1 + 12 + 10 + 2 + 1 + 2 + 3) + 1 runner placeholder + 2 drift placeholders (no "both")
    assert "65 tests collected" in out


def test_markers_select_checks(pytester: pytest.Pytester) -> None:
    args = ["--profile", "commercial", "--collect-only", "-q"]
    no_network = pytester.runpytest(*args, "-m", "not network").stdout.str()
    assert "test_agent_config_no_ip_literal[local]" in no_network
    assert "test_outbound_tcp" not in no_network and "test_dns_resolution" not in no_network
    # An image being built runs no agent: its listening sockets are the live network too.
    assert "test_agent_listening" not in no_network and "test_agent_legacy_port" not in no_network
    assert "test_egress_firewall" in no_network and "test_agent_firewall_inbound" in no_network
    r2 = pytester.runpytest(*args, "-m", "bn_r2").stdout.str()
    assert "12/34 tests collected" in r2
    inbound = pytester.runpytest(*args, "-m", "inbound").stdout.str()
    assert "test_agent_listening" in inbound and "test_outbound_tcp" not in inbound


def test_header_names_profile_hash_and_how_to_reproduce(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "usgov", "--collect-only", "--backupnet-timeout", "2")
    result.stdout.fnmatch_lines([
        "backupnet: profile usgov (*), sha256 *, from *usgov.yaml",
        "backupnet: hosts local; probe timeout 2s*",
        "backupnet: reproduce with: pytest --profile usgov --collect-only --backupnet-timeout 2*",
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [("--backupnet-timeout", "0", "must be above 0"), ("--backupnet-timeout", "soon", "not a number"),
     ("--backupnet-host-deadline", "-1", "must be above 0")],
)  # fmt: skip
def test_bad_option_values_are_usage_errors(
    pytester: pytest.Pytester, option: str, value: str, words: str
) -> None:
    result = pytester.runpytest("--profile", "commercial", option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert words in result.stderr.str()


def test_a_host_spec_that_names_no_host_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """`chroot:///path` leaves testinfra an empty host name: refused, with the way that works."""
    result = pytester.runpytest(
        "--profile", "commercial", "--hosts", "web1,chroot:///srv/image", "--collect-only"
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--hosts: 'chroot:///srv/image' names no host" in result.stderr.str()
    assert "--hosts PATH --connection chroot" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


HOSTILE = [
    ("fqdn: portal.example.test", "fqdn: 'x.example.test;touch {marker}'", "endpoints[0].fqdn"),
    ("fqdn: portal.example.test", "fqdn: '$(touch {marker}).example.test'", "endpoints[0].fqdn"),
    ("fqdn: portal.example.test", "fqdn: 198.51.100.7", "endpoints[0].fqdn"),
    ("/opt/BUAgent/*.cfg]", "'/opt/`touch {marker}`/*.cfg']", "agent.config_files[0]"),
    ("ports: [8086, 8087]\negress", "ports: [8086, 99999]\negress", "endpoints[0].ports[1]"),
]


@pytest.mark.parametrize(("old", "new", "field"), HOSTILE)
def test_hostile_profile_is_refused_before_any_host(
    pytester: pytest.Pytester, tmp_path: Path, old: str, new: str, field: str
) -> None:
    marker = tmp_path / "pwned"
    profile = tmp_path / "hostile.yaml"
    profile.write_text(MINIMAL.replace(old, new.format(marker=marker), 1))
    # A host command would leave this file behind: local:// runs commands on this machine.
    result = pytester.runpytest_subprocess("--profile", str(profile), "--hosts", "local://")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    stderr = result.stderr.str()
    assert f"{profile}:" in stderr and field in stderr
    assert "collected" not in result.stdout.str()
    assert not marker.exists()


def test_not_network_run_on_local_reads_files_only(pytester: pytest.Pytester, tmp_path: Path) -> None:
    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "buagent.cfg").write_text(
        "<Portal>portal.example.test</Portal>\n<Director>192.0.2.10</Director>\n"
    )
    profile = tmp_path / "site.yaml"
    profile.write_text(MINIMAL.replace("/opt/BUAgent/*.cfg", f"{agent}/*.cfg"))
    evidence = tmp_path / "evidence.json"
    result = pytester.runpytest_subprocess(
        "--profile",
        str(profile),
        "-m",
        "not network",
        "-k",
        "not firewall",
        "--backupnet-json",
        str(evidence),
        "-rf",
    )
    result.stdout.fnmatch_lines(["observed ip-literal: *buagent.cfg:2: 192.0.2.10 (Director)*"])
    assert "FQDN [BN-R1]" in result.stdout.str()
    assert result.ret == 1
    assert "test_outbound_tcp" not in result.stdout.str()
    records = {r["check"]: r for r in json.loads(evidence.read_text())["records"]}
    assert records["test_agent_config_no_ip_literal"]["observed"] == "ip-literal"
    assert records["test_hosts_file_no_pin"]["outcome"] == "pass"
    assert records["test_host_reachable"]["outcome"] == "pass"
