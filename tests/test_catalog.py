"""--list-profiles: a hostile site folder is listed with one error line per bad file, quoting none of it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from pytest_backupnet.catalog import ProfileEntry, format_profile_list
from pytest_backupnet.profile import load_profile, shipped_profile_dir
from tests.bounded import run_bounded
from tests.test_yaml_bounds import BILLION_LAUGHS

SECRET = "S3CRET-in-a-foreign-file"
ESCAPE_NAME = "\x1b]0;owned\x07.yaml"


def hostile_site(folder: Path) -> None:
    folder.mkdir()
    (folder / "dal10.yaml").write_text("name: dal10\ntitle: Dallas 10\nextends: commercial-current\n")
    (folder / "secrets.yaml").write_text(f"{SECRET}: 1\ndb_password: {SECRET}\n")
    (folder / "alias.yml").write_text(f"name: alias\ntitle: *{SECRET}\n")
    (folder / ESCAPE_NAME).write_text("name: esc\nendpoints: 1\n")
    (folder / "title.yaml").write_text('name: title\ntitle: "\\e]52;c;cm0gLXJmIH4=\\a"\nextends: usgov\n')
    (folder / "bomb.yaml").write_text("name: bomb\n" + BILLION_LAUGHS.replace("a: &a", "x: &a"))
    (folder / "deep.yaml").write_text("name: deep\ntitle: " + "[" * 50_000 + "]" * 50_000 + "\n")
    (folder / "environ.yaml").symlink_to("/proc/self/environ")
    (folder / "dir.yaml").mkdir()
    os.mkfifo(folder / "fifo.yaml")


def test_hostile_site_folder_is_listed_with_errors(tmp_path: Path) -> None:
    """In a child process with a deadline and a memory cap: a FIFO read would block for ever."""
    site = tmp_path / "site"
    hostile_site(site)
    code = f"""
import json
from pathlib import Path
from pytest_backupnet.catalog import find_profiles, format_profile_list
entries = find_profiles([Path({str(site)!r})])
print(json.dumps([format_profile_list(entries), sum(1 for e in entries if e.error)]))
"""
    result = run_bounded(code, timeout=60, environment={"BN_AGENT_TOKEN": SECRET})
    assert result.returncode == 0, result.stderr[-2000:]
    listing, error_count = json.loads(result.stdout)
    lines = listing.splitlines()
    assert any(line.startswith("dal10 ") and "Dallas 10" in line for line in lines)
    errors = [line for line in lines if line.startswith("error: ")]
    assert error_count == len(errors) == 9
    expected = {
        "secrets.yaml:1: (document): not a profile: missing field 'name'",
        "alias.yml:2: (document): not valid YAML: found undefined alias",
        "\\x1b]0;owned\\x07.yaml:2: endpoints: must be a list",
        r"title.yaml:2: title: control character \x1b (ESC) is not allowed",
        "bomb.yaml:7: (document): more than 100000 values once aliases are expanded",
        "deep.yaml:2: (document): nested more than 64 levels deep",
        r"/environ:1: (document): control character \x00 (NUL) is not allowed",  # /proc/<pid>/environ
        "profile file not found: ",  # dir.yaml and fifo.yaml: not regular files, never opened
    }
    for words in expected:
        assert any(words in error for error in errors), (words, errors)
    assert SECRET not in listing
    assert not any(char in listing for char in "\x1b\x07\x00")


def test_titles_and_sources_are_shown_escaped() -> None:
    profile = dataclasses.replace(
        load_profile("usgov"), title="US \x1b]0;owned\x07gov", source="page\r\x1b[2K faked"
    )
    listing = format_profile_list([ProfileEntry(shipped_profile_dir() / "usgov.yaml", "shipped", profile)])
    assert "US \\x1b]0;owned\\x07gov" in listing and "page\\r\\x1b[2K faked" in listing
    assert not any(char in listing for char in "\x1b\x07\r")


def test_list_profiles_with_a_hostile_folder_exits_4_without_traceback(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "dal10.yaml").write_text("name: dal10\nextends: commercial-current\n")
    (site / "secrets.yaml").write_text(f"{SECRET}: 1\n")
    (site / ESCAPE_NAME).write_text("name: esc\nendpoints: 1\n")
    result = pytester.runpytest("--list-profiles", "--profile-path", str(site))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "secrets.yaml:1: (document): not a profile" in output
    assert "\\x1b]0;owned\\x07.yaml:2: endpoints: must be a list" in output
    assert SECRET not in output and "Traceback" not in output and "\x1b" not in output
