"""Options are checked before any host is contacted, and the plugin starts beside pytest-profiling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.lab.require import need

SIDE_PLUGINS = Path(__file__).resolve().parent.parent / ".cache" / "side-plugins"


def with_pytest_profiling(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real pytest-profiling, importable and autoloaded by its entry point, as when installed."""
    need(None if (SIDE_PLUGINS / "pytest_profiling.py").exists() else "scripts/install-deps installs it")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SIDE_PLUGINS), os.environ.get("PYTHONPATH", "")]))


def test_beside_pytest_profiling_the_long_option_audits(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_pytest_profiling(pytester, monkeypatch)
    result = pytester.runpytest_subprocess("--backupnet-profile", "usgov", "--collect-only", "-q")
    assert result.ret == 0, result.stderr.str()
    assert "test_dns_resolution[local-webcc.service.usgov.softlayer.com]" in result.stdout.str()
    # --profile is pytest-profiling's own flag there: it takes no value.
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--profile             generate profiling information" in help_text


@pytest.mark.parametrize("order", [["pytest_profiling", "pytest_backupnet.plugin"],
                                   ["pytest_backupnet.plugin", "pytest_profiling"]])  # fmt: skip
def test_either_plugin_may_load_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, order: list[str]
) -> None:
    with_pytest_profiling(pytester, monkeypatch)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins = [arg for name in [*order, "testinfra.plugin"] for arg in ("-p", name)]
    result = pytester.runpytest_subprocess(*plugins, "--backupnet-profile", "usgov", "--collect-only", "-q")
    assert result.ret == 0, result.stderr.str()
    assert "15 tests collected" in result.stdout.str()


def test_profile_is_short_for_backupnet_profile_when_free(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "usgov", "--collect-only", "-q")
    assert "15 tests collected" in result.stdout.str()


def test_missing_inventory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--profile",
        "commercial",
        "--ansible-inventory",
        "/nonexistent/inventory.ini",
        "--hosts",
        "ansible://all",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ansible-inventory /nonexistent/inventory.ini: no such file" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_inventory_that_does_not_parse_is_a_usage_error(pytester: pytest.Pytester) -> None:
    inventory = pytester.path / "broken.ini"
    inventory.write_text("[web\nweb1 ansible_host=\n= = =\n")
    result = pytester.runpytest_subprocess(
        "--profile", "commercial", "--ansible-inventory", str(inventory), "--hosts", "ansible://all"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--ansible-inventory: cannot select hosts" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("value", ["dns.example", "198.51.100.1:99999", "[2001:db8::1]:x"])
def test_bad_dns_server_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest("--profile", "commercial", "--dns-server", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--dns-server" in result.stderr.str()


@pytest.mark.parametrize("option", ["--ssh-config", "--ssh-identity-file"])
def test_missing_ssh_file_is_a_usage_error(pytester: pytest.Pytester, option: str) -> None:
    result = pytester.runpytest("--profile", "commercial", "--hosts", "ssh://web1", option, "/nonexistent")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{option} /nonexistent: no such file" in result.stderr.str()
