"""Hostile waiver files: refused with file, line and field; texts bounded; nothing executed or echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_backupnet.waivers import WaiverError, load_waivers
from tests.bounded import run_pytest_bounded
from tests.test_waivers import VALID, write
from tests.test_yaml_bounds import BILLION_LAUGHS

JUSTIFICATION = "justification: Agent re-registration scheduled, change CHG-1234"
OWNER = "owner: backup-team@example.com"

# (name, text in VALID, replacement, line, field, words in the message)
HOSTILE = [
    ("requirement with a newline", "requirement: BN-R1", 'requirement: "BN-R1\\n"', 2,
     "waivers[0].requirement", "is not a requirement id"),
    ("colours in justification", JUSTIFICATION, 'justification: "ok \\e[32mPASS\\e[0m"', 5,
     "waivers[0].justification", r"control character \x1b (ESC)"),
    ("raw clipboard write in justification", JUSTIFICATION, "justification: x \x1b]52;c;cm0=\x07", 5,
     "waivers[0].justification", r"control character \x1b (ESC)"),
    ("bidi override in owner", OWNER, "owner: ops\u202emoc.example", 6, "waivers[0].owner", r"\u202e"),
    ("NUL in hosts", 'hosts: "web6*"', "hosts: web\x006*", 3, "waivers[0].hosts", r"\x00 (NUL)"),
    ("justification too long", JUSTIFICATION, "justification: " + "j" * 2001, 5,
     "waivers[0].justification", "longer than 2000 characters"),
    ("owner too long", OWNER, "owner: " + "o" * 201, 6, "waivers[0].owner", "longer than 200 characters"),
    ("blank justification", JUSTIFICATION, 'justification: "  \\t "', 5, "waivers[0].justification",
     "must not be empty"),
    ("hosts with a space", 'hosts: "web6*"', 'hosts: "web6* db1"', 3, "waivers[0].hosts",
     "is not a host name glob"),
    ("hosts too long", 'hosts: "web6*"', "hosts: " + "h" * 254, 3, "waivers[0].hosts",
     "is not a host name glob"),
    ("endpoint with a newline", "endpoint: null", 'endpoint: "a.example.com\\n"', 4, "waivers[0].endpoint",
     "is not an endpoint FQDN"),
    ("5,000-digit expiry", "expires: 2027-03-31", "expires: " + "9" * 5000, 7, "waivers[0].expires",
     "a number or date longer than 64 characters"),
    ("impossible expiry", "expires: 2027-03-31", "expires: !!timestamp 2027-02-31", 7, "waivers[0].expires",
     "not a valid timestamp value"),
    ("expiry as long text", "expires: 2027-03-31", "expires: next " + "x" * 9000, 7, "waivers[0].expires",
     "is not a date (YYYY-MM-DD)"),
    ("expiry as a list", "expires: 2027-03-31", "expires: [" + "1," * 3000 + "1]", 7, "waivers[0].expires",
     "a list of 3001 items is not a date"),
    ("python call", OWNER, "owner: !!python/object/apply:os.system ['touch {marker}']", 6, "waivers[0].owner",
     "not supported"),
    ("alias bomb", "waivers:", BILLION_LAUGHS.replace("a: &a", "x: &a") + "waivers:", 6, "",
     "more than 100000 values once aliases are expanded"),
    ("list 50,000 deep", "waivers:", "x: " + "[" * 50_000 + "]" * 50_000 + "\nwaivers:", 1, "",
     "nested more than 64 levels deep"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_waiver_file_is_refused_naming_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, words: str
) -> None:
    marker = tmp_path / "marker"
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new.replace("{marker}", str(marker)), 1))
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    error = caught.value
    assert (error.line, words in error.message) == (line, True), str(error)
    if field:
        assert error.field == field
    assert str(error).startswith(f"{path}:{line}: ")
    assert len(str(error)) < len(str(path)) + 300 and "\x1b" not in str(error)
    assert not marker.exists()


def test_texts_become_one_line_and_real_files_load(tmp_path: Path) -> None:
    entry = (
        "  - requirement: BN-R{r}\n    hosts: 'web{n}*'\n    justification: >\n"
        "      Agent re-registration for host group {n} is scheduled\n      with change CHG-{n}; {pad}\n"
        '    owner: "backup-team@example.com\\r\\n"\n    expires: 2027-03-31\n'
    )
    text = "waivers:\n" + "".join(entry.format(r=n % 9 + 1, n=n, pad="p" * (n % 1800)) for n in range(1000))
    assert len(text) > 700_000
    waivers = load_waivers(write(tmp_path, text))
    assert len(waivers) == 1000
    assert (
        waivers[1].justification == "Agent re-registration for host group 1 is scheduled with change CHG-1; p"
    )
    assert waivers[1].owner == "backup-team@example.com"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            JUSTIFICATION,
            'justification: "\\e]0;owned\\a"',
            r"waivers[0].justification: control character \x1b",
        ),
        ("requirement: BN-R1", 'requirement: "BN-R1\\n"', "waivers[0].requirement:"),
        (OWNER, "owner: a\x00b", r"waivers[0].owner: control character \x00 (NUL)"),
        ("expires: 2027-03-31", "expires: " + "9" * 5000, "waivers[0].expires:"),
    ],
)
def test_hostile_waiver_file_is_a_usage_error_without_traceback(
    pytester: pytest.Pytester, tmp_path: Path, old: str, new: str, words: str
) -> None:
    path = write(tmp_path, VALID.replace(old, new, 1))
    result = pytester.runpytest("--profile", "commercial", "--waivers", str(path))
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{path}:" in output and words in output
    assert "Traceback" not in output and "\x1b" not in output and "collected" not in output


def test_waiver_bomb_is_a_usage_error_in_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS.replace("a: &a", "x: &a") + VALID)
    result = run_pytest_bounded(["--profile", "commercial", "--waivers", str(path)], cwd=tmp_path)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stderr[-2000:]
    assert f"{path}:6: (document): more than 100000 values" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
