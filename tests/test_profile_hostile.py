"""Hostile profiles: refused with file, line and field; never executed; never echoing a foreign file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from pytest_backupnet.profile import ProfileError, config_file_problem, load_profile
from tests.bounded import run_bounded, run_pytest_bounded
from tests.test_profile import MINIMAL, SCHEMA, write
from tests.test_yaml_bounds import BILLION_LAUGHS

SECRET = "S3CRET-hash-0f-r00t"

# (name, text in MINIMAL, replacement, line, field, words in the message)
HOSTILE = [
    ("5,000-digit port", "management_port: 2548", "management_port: " + "9" * 5000, 11,
     "agent.management_port", "a number or date longer than 64 characters"),
    ("60-digit port", "management_port: 2548", "management_port: " + "9" * 60, 11,
     "agent.management_port", "a 200-bit number is not a TCP port"),
    ("list as a port", "management_port: 2548", "management_port: [" + "1," * 5000 + "1]", 11,
     "agent.management_port", "a list of 5001 items is not a TCP port"),
    ("fqdn with a trailing newline", "fqdn: portal.example.test", 'fqdn: "portal.example.test\\n"', 3,
     "endpoints[0].fqdn", "'portal.example.test\\n' is not a valid host name"),
    ("fqdn as a literal block", "fqdn: portal.example.test", "fqdn: |\n      portal.example.test", 3,
     "endpoints[0].fqdn", "is not a valid host name"),
    ("name with a newline", "name: site", 'name: "site\\n"', 1, "name", "lower-case letters"),
    ("window title in title", "name: site", 'name: site\ntitle: "Audit\\e]0;owned\\a"', 2, "title",
     r"control character \x1b (ESC)"),
    ("raw ESC in title", "name: site", "name: site\ntitle: Audit \x1b[2J", 2, "title",
     r"control character \x1b (ESC)"),
    ("clipboard write in source", "name: site", 'name: site\nsource: "\\e]52;c;cm0gLXJmIH4=\\a"', 2, "source",
     r"\x1b (ESC)"),
    ("bidi override in title", "name: site", "name: site\ntitle: a\u202eb", 2, "title", r"\u202e"),
    ("raw NUL in fqdn", "fqdn: portal.example.test", "fqdn: portal\x00.example.test", 3,
     "endpoints[0].fqdn", r"\x00 (NUL)"),
    ("BEL in role", "role: portal", 'role: "portal\\a"', 4, "endpoints[0].role", r"\x07 (BEL)"),
    ("backspace in config path", "/opt/BUAgent/*.cfg]", '"/opt/BUAgent/\\b\\b\\b*.cfg"]', 14,
     "agent.config_files[0]", r"\x08"),
    ("title too long", "name: site", "name: site\ntitle: " + "t" * 201, 2, "title", "longer than 200"),
    ("source too long", "name: site", "name: site\nsource: " + "s" * 1001, 2, "source", "longer than 1000"),
    ("bracketed documented IP", "    ports: [8086, 8087]\negress",
     "    ports: [1]\n    documented_ips: ['[192.0.2.1]']\negress", 6, "endpoints[0].documented_ips[0]",
     "is not an IP address"),
    ("CIDR with a newline", "minimum: [198.19.1.0/24]", 'minimum: ["198.19.1.0/24\\n"]', 9,
     "egress.minimum[0]", "is not a CIDR subnet"),
    ("tab in extends", "name: site", 'name: site\nextends: "commercial\\tx"', 2, "extends",
     "profile name or a path"),
    ("alias bomb", "name: site", "name: site\n" + BILLION_LAUGHS.replace("a: &a", "x: &a"), 7, "",
     "more than 100000 values once aliases are expanded"),
    ("list 50,000 deep", "name: site", "name: site\ntitle: " + "[" * 50_000 + "]" * 50_000, 2, "",
     "nested more than 64 levels deep"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_profile_is_refused_naming_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, words: str
) -> None:
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    error = caught.value
    assert (error.line, words in error.message) == (line, True), str(error)
    if field:
        assert error.field == field
    assert str(error).startswith(f"{path.resolve()}:{line}: ")
    assert len(str(error)) < len(str(path)) + 300  # a value is quoted bounded, never whole
    assert "\x1b" not in str(error) and "\x00" not in str(error)


CONFIG_FILES = [
    ("/proc/self/environ", "is under /proc"),
    ("/proc/1/environ", "is under /proc"),
    ("/proc/*/environ", "is under /proc"),
    ("/sys/kernel/notes", "is under /sys"),
    ("/dev/stdin", "is under /dev"),
    ("/dev/tcp/198.51.100.1/80", "is under /dev"),
    ("/*/self/environ", "the first folder must be named, not a glob"),
    ("/p?oc/self/environ", "the first folder must be named, not a glob"),
    ("/[p]roc/self/environ", "the first folder must be named, not a glob"),
    ("/opt/../proc/1/environ", "must not contain '.', '..' or empty segments"),
    ("/opt/./BUAgent/a.cfg", "must not contain '.', '..' or empty segments"),
    ("//proc/self/environ", "must not contain '.', '..' or empty segments"),
    ("/opt/BUAgent/", "nor end in '/'"),
    ("opt/BUAgent/*.cfg", "must be an absolute path"),
    ("~/BUAgent/*.cfg", "must be an absolute path"),
    ("C:\\Agent\\..\\..\\Windows\\win.ini", "must not contain '.' or '..' segments"),
    ("/opt/BUAgent/a\tb.cfg", "shell metacharacters"),
    ("/opt/" + "a" * 4100, "longer than 4096 characters"),
]


@pytest.mark.parametrize(("pattern", "words"), CONFIG_FILES)
def test_config_files_outside_regular_files_are_refused(tmp_path: Path, pattern: str, words: str) -> None:
    problem = config_file_problem(pattern)
    assert problem is not None and words in problem
    text = MINIMAL.replace("[/opt/BUAgent/*.cfg]", f"[{json.dumps(pattern)}]")
    with pytest.raises(ProfileError, match=r":14: agent\.config_files\[0\]: "):
        load_profile(str(write(tmp_path, text)))


@pytest.mark.parametrize(
    "pattern",
    ["/opt/BUAgent/*.cfg", "/opt/*/buagent.cfg", "/etc/buagent/*.xml", "/procfs/agent.cfg", "/devices/a.cfg",
     "C:\\Program Files\\Carbonite Server Backup\\Agent\\*.cfg"],
)  # fmt: skip
def test_real_config_globs_are_accepted(pattern: str) -> None:
    assert config_file_problem(pattern) is None


def test_multi_line_text_is_one_line_and_real_sizes_load(tmp_path: Path) -> None:
    endpoints = "".join(
        f"  - fqdn: vault{n:04d}.dal10.example.com\n    role: vault\n    ports: [2546, 8087]\n"
        f"    documented_ips: [198.19.{n // 250}.{n % 250 + 1}]\n"
        for n in range(1000)
    )
    text = MINIMAL.replace(
        "name: site", "name: site\ntitle: >\n  Dallas 10,\n  every vault\nsource: |\n  a\n  b"
    )
    text = text.replace("endpoints:\n", "endpoints:\n" + endpoints)
    assert len(text) > 100_000
    profile = load_profile(str(write(tmp_path, text)))
    assert (profile.title, profile.source) == ("Dallas 10, every vault", "a b")
    assert len(profile.endpoints) == 1001


FOREIGN = [
    ("shadow, no suffix", "shadow", f"root:$6$salt${SECRET}:19000:0:99999:7:::\n", "is not a profile file"),
    (
        "YAML keys",
        "secrets.yaml",
        f"{SECRET}: 1\ndb_password: {SECRET}\n",
        "not a profile: missing field 'name'",
    ),
    ("YAML list", "list.yaml", f"- {SECRET}\n", "not a profile: a profile is a mapping"),
    ("YAML undefined alias", "alias.yaml", f"a: *{SECRET}\n", "not valid YAML: found undefined alias"),
    ("YAML unknown tag", "tag.yaml", f"a: !{SECRET} x\n", "not valid YAML"),
    ("YAML duplicate anchor", "anchor.yaml", f"a: &{SECRET} 1\nb: &{SECRET} 2\n", "not valid YAML"),
    ("YAML unclosed quote", "quote.yaml", f"a: '{SECRET}\n", "not valid YAML"),
    ("YAML scalar", "scalar.yaml", f"{SECRET}\n", "not a profile"),
    ("binary", "blob.yaml", b"\x89PNG\r\n\x1a\n" + SECRET.encode() + b"\xff\xfe", "not UTF-8 text"),
    ("env file", "prod.env.yaml", f"PASSWORD={SECRET}\nTOKEN\x00={SECRET}\n", r"control character \x00"),
]


@pytest.mark.parametrize(("name", "content", "words"), [f[1:] for f in FOREIGN], ids=[f[0] for f in FOREIGN])
def test_extends_a_foreign_file_never_quotes_it(
    tmp_path: Path, name: str, content: str | bytes, words: str
) -> None:
    foreign = tmp_path / name
    if isinstance(content, bytes):
        foreign.write_bytes(content)
    else:
        foreign.write_text(content)
    site = write(tmp_path, MINIMAL.replace("name: site", f"name: site\nextends: {foreign}"))
    with pytest.raises(ProfileError) as caught:
        load_profile(str(site))
    assert words in str(caught.value)
    assert SECRET not in str(caught.value)


def test_extends_refusals_in_bounded_time(tmp_path: Path) -> None:
    """/proc/self/environ (behind a .yaml symlink), a FIFO, a 2 MiB file, a chain of 20 profiles,
    and names no file system accepts: each refused, quickly, without a secret or a traceback.
    A FIFO opened for reading would block for ever, hence the child process and its deadline."""
    (tmp_path / "environ.yaml").symlink_to("/proc/self/environ")
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "pipe").mkdir()
    os.mkfifo(tmp_path / "pipe" / "p.yaml.d")
    (tmp_path / "big.yaml").write_text("name: big\n# " + "x" * (2 << 20) + "\n")
    for n in range(20):
        (tmp_path / f"chain{n}.yaml").write_text(f"name: chain{n}\nextends: chain{n + 1}\n")
    targets = ["./environ.yaml", "./fifo.yaml", "./big.yaml", "chain0", "~nobody-here/x.yaml",
               "/" + "a" * 300 + ".yaml", "./pipe", "./pipe/p.yaml.d"]  # fmt: skip
    code = f"""
import json
from pathlib import Path
from pytest_backupnet.profile import ProfileError, load_profile
folder = Path({str(tmp_path)!r})
messages = []
for n, target in enumerate(json.loads({json.dumps(json.dumps(targets))})):
    site = folder / f"site{{n}}.yaml"
    site.write_text(f"name: site{{n}}\\nextends: {{target}}\\n")
    try:
        load_profile(str(site), [folder])
    except ProfileError as exc:
        messages.append(str(exc))
print(json.dumps(messages))
"""
    # The child's /proc/self/environ holds the secret.
    result = run_bounded(code, timeout=60, environment={"BN_AGENT_TOKEN": SECRET})
    assert result.returncode == 0, result.stderr[-2000:]
    messages = json.loads(result.stdout)
    assert len(messages) == len(targets)
    expected = [r"control character \x00 (NUL)", "profile file not found", "larger than 1024 KiB",
                "more than 16 profiles extend each other", "profile file not found",
                "profile file not found", "is not a profile file", "is not a profile file"]  # fmt: skip
    for message, words in zip(messages, expected, strict=True):
        assert words in message, message
        assert SECRET not in message and len(message) < 500


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("name: site", "name: site\ntitle: \x1b]0;owned\x07"), r"title: control character \x1b (ESC)"),
        (("fqdn: portal.example.test", 'fqdn: "portal.example.test\\n"'), "endpoints[0].fqdn:"),
        (("management_port: 2548", "management_port: " + "9" * 5000), "agent.management_port:"),
        (("/opt/BUAgent/*.cfg", "/proc/self/environ"), "agent.config_files[0]:"),
        (("name: site", "name: site\nextends: /etc/shadow"), "is not a profile file"),
        (
            ("name: site", "name: site\nx: !!python/object/apply:os.system ['touch {marker}']"),
            "not supported",
        ),
        (("name: site", "name: site\nextends: '/opt/touch {marker}.yaml'"), "profile file not found"),
    ],
)
def test_hostile_profile_is_a_usage_error_without_traceback(
    pytester: pytest.Pytester, tmp_path: Path, change: tuple[str, str], words: str
) -> None:
    marker = tmp_path / "marker"
    profile = write(tmp_path, MINIMAL.replace(change[0], change[1].replace("{marker}", str(marker)), 1))
    # local:// runs host commands on this machine: a payload that ran would leave the marker.
    result = pytester.runpytest("--profile", str(profile), "--hosts", "local://")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{profile}:" in output and words in output
    assert "Traceback" not in output and "\x1b" not in output and "collected" not in output
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS.replace("a: &a", "x: &a"), "x: " + "[" * 50_000 + "]" * 50_000],
    ids=["bomb", "deep"],
)
def test_bomb_and_deep_profiles_are_usage_errors_in_bounded_memory(tmp_path: Path, payload: str) -> None:
    profile = write(tmp_path, "name: site\n" + payload)
    result = run_pytest_bounded(["--profile", str(profile), "--hosts", "local://"], cwd=tmp_path)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stderr[-2000:]
    assert f"{profile}:" in result.stderr and "Traceback" not in result.stdout + result.stderr


def test_a_file_name_with_escapes_is_shown_escaped(tmp_path: Path) -> None:
    path = write(tmp_path, "name: esc\nendpoints: 1\n", "\x1b]0;owned\x07.yaml")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    assert str(caught.value) == f"{tmp_path}/\\x1b]0;owned\\x07.yaml:2: endpoints: must be a list"
    assert caught.value.path == path.resolve()


def test_schema_refuses_what_the_loader_refuses() -> None:
    data = yaml.safe_load(MINIMAL)
    jsonschema.validate(data, SCHEMA)
    for pattern, _ in CONFIG_FILES:
        agent = {**data["agent"], "config_files": [pattern]}
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, "agent": agent}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "title": "t" * 201}, SCHEMA)
    for pattern in ("/opt/BUAgent/*.cfg", "/procfs/a.cfg", "C:\\Program Files\\Agent\\*.cfg"):
        jsonschema.validate({**data, "agent": {**data["agent"], "config_files": [pattern]}}, SCHEMA)
