"""Bounded YAML: every hostile document is a YamlSyntaxError with its line, in bounded time and memory."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pytest_backupnet import yaml_lines
from pytest_backupnet.yaml_lines import MAX_DEPTH, YamlSyntaxError, format_path, load_yaml, read_yaml_file
from tests.bounded import run_bounded

# "Billion laughs": 9 levels of 9 aliases each would expand to 9**9 = 387 million strings.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
# A bomb of merge keys: each mapping merges the previous one twice over.
MERGE_BOMB = "m0: &m0 {a: 1, b: 2}\n" + "".join(
    f"m{i}: &m{i} {{<<: [*m{i - 1}], x{i}: [*m{i - 1}, *m{i - 1}, *m{i - 1}]}}\n" for i in range(1, 30)
)
# Attacks that exhaust memory when their bound is missing: run only in a capped child process.
MEMORY_ATTACKS = [
    ("alias bomb", BILLION_LAUGHS, 6, "more than 100000 values once aliases are expanded"),
    ("merge-key bomb", MERGE_BOMB, 8, "more than 100000 values once aliases are expanded"),
]
# (name, document, line, words in the message)
ATTACKS = [
    ("flow list 50,000 deep", "[" * 50_000 + "]" * 50_000, 1, "nested more than 64 levels deep"),
    ("block list 50,000 deep", "- " * 50_000 + "x\n", 1, "nested more than 64 levels deep"),
    ("flow mapping 50,000 deep", "{a: " * 50_000 + "1" + "}" * 50_000, 1, "nested more than 64 levels deep"),
    ("list 65 deep", "[" * 65 + "]" * 65, 1, "nested more than 64 levels deep"),
    ("NUL byte", "name: a\x00b\n", 1, r"control character \x00 (NUL)"),
    ("ESC in the text", "name: x\ntitle: \x1b]0;pwned\x07\n", 2, r"control character \x1b (ESC)"),
    ("ESC by a YAML escape", 'name: x\ntitle: "\\e]52;c;cHduZWQ=\\a"\n', 2, r"\x1b (ESC)"),
    ("C1 CSI", "title: a\x9b31m\n", 1, r"control character \x9b"),
    ("bidi override", "title: a\u202eb\n", 1, r"control character \u202e"),
    ("bidi isolate by escape", 'title: "a\\u2066b"\n', 1, r"control character \u2066"),
    ("backspace by escape", 'title: "secret\\b\\b\\b\\b\\b\\bpublic"\n', 1, r"control character \x08"),
    ("5,000-digit port", "port: " + "9" * 5000 + "\n", 1, "a number or date longer than 64 characters"),
    ("base-60 giant", "port: " + ":".join(["59"] * 2000) + "\n", 1, "longer than 64 characters"),
    ("bad explicit timestamp", "expires: !!timestamp 2020-13-45\n", 1, "not a valid timestamp value"),
    ("bad explicit bool", "a: !!bool maybe\n", 1, "not a valid bool value"),
    ("recursive alias", "a: &a [*a]\n", 1, "an alias refers to a collection that contains it"),
    ("too many aliases", "a: &a x\nb: [" + ",".join(["*a"] * 101) + "]\n", 2, "more than 100 aliases"),
    ("huge value", "a: " + "x" * 10_001 + "\n", 1, "a value longer than 10000 characters"),
    ("too many values", "[" + "1," * 100_001 + "1]", 1, "more than 100000 values"),
    ("list as a key", "? [a, b]\n: c\n", 1, "keys must be text"),
    ("python call tag", "a: !!python/object/apply:os.system ['touch {marker}']\n", 1, "is not supported"),
    ("python name tag", "a: !!python/name:os.system\n", 1, "could not determine a constructor"),
    ("not UTF-8", None, 2, "not UTF-8 text"),
]


@pytest.fixture(params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs with libyaml's parser and with PyYAML's pure-Python one."""
    if request.param == "libyaml" and not yaml.__with_libyaml__:
        pytest.skip("PyYAML was built without libyaml; the Python parser is the one in use")
    if request.param == "python":
        monkeypatch.setattr(yaml_lines, "_BoundedLoader", yaml_lines._BoundedPythonLoader)
    yield request.param


@pytest.mark.parametrize(("document", "line", "words"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_hostile_yaml_is_a_syntax_error_with_line(
    loader: str, tmp_path: Path, document: str | None, line: int, words: str
) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "hostile.yaml"
    if document is None:
        path.write_bytes(b"name: x\ntitle: caf\xe9\n")
    else:
        path.write_text(document.replace("{marker}", str(marker)), encoding="utf-8", errors="surrogatepass")
    with pytest.raises(YamlSyntaxError) as caught:
        yaml_lines.load_yaml_file(path)
    assert (caught.value.line, words in caught.value.message) == (line, True), caught.value.message
    assert not marker.exists()


def test_nesting_at_the_limit_loads(loader: str) -> None:
    document = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_yaml(document).data is not None


def test_aliases_within_the_limits_load(loader: str) -> None:
    document = "ports: &web [8086, 8087]\nagain: *web\nbase: &b {x: 1}\nmerged: {<<: *b, y: 2}\n"
    assert load_yaml(document).data == {
        "ports": [8086, 8087], "again": [8086, 8087], "base": {"x": 1}, "merged": {"x": 1, "y": 2},
    }  # fmt: skip


def test_stacked_aliases_cannot_exceed_the_depth(loader: str) -> None:
    # Each anchor is 40 deep, within the limit; nested through aliases they would be 120 deep.
    deep = "[" * 39 + "1" + "]" * 39
    document = f"a: &a {deep}\nb: &b {deep.replace('1', '*a')}\nc: {deep.replace('1', '*b')}\n"
    with pytest.raises(YamlSyntaxError, match="nested more than 64 levels deep"):
        load_yaml(document)


def test_tabs_get_a_hint_and_lines_are_right(loader: str) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("a:\n  b: 1\n\tc: 2\n")
    assert caught.value.line == 3
    assert "tab" in caught.value.message


@pytest.mark.parametrize(
    "document",
    ["a: *SECRETALIAS\n", "a: &SECRETANCHOR 1\nb: &SECRETANCHOR 2\n", "a: !SECRETTAG x\n",
     "SECRETKEY: [unclosed\n", "a: 'SECRETVALUE\n"],
)  # fmt: skip
def test_yaml_errors_do_not_quote_the_file(loader: str, document: str) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(document)
    assert "SECRET" not in str(caught.value)


def test_fields_and_duplicate_keys_are_located(loader: str) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml("a:\n  b: 1\n  b: 2\n")
    assert (caught.value.line, caught.value.field) == (3, ("a", "b"))
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml('a:\n  - x\n  - "\\e[2J"\n')
    assert (caught.value.line, caught.value.field) == (3, ("a", 1))


def test_odd_keys_are_shown_escaped_and_short() -> None:
    assert format_path(("endpoints", 2, "fqdn")) == "endpoints[2].fqdn"
    shown = format_path(("agent", "x\x1b]0;t\x07" + "y" * 100))
    assert "\x1b" not in shown and "\\x1b" in shown and len(shown) < 70


def test_files_that_are_not_regular_or_too_large_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(YamlSyntaxError, match="not a regular file"):
        read_yaml_file(fifo)  # would block forever if opened for a blocking read
    with pytest.raises(YamlSyntaxError, match="not a regular file"):
        read_yaml_file(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * yaml_lines.MAX_FILE_BYTES)
    with pytest.raises(YamlSyntaxError, match="larger than 1024 KiB"):
        read_yaml_file(big)
    with pytest.raises(YamlSyntaxError, match="cannot read"):
        read_yaml_file(tmp_path / "missing.yaml")


def test_every_attack_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """Every attack in one child process capped at 256 MiB and 60 s (they take ~1 s in all).

    Without the limits the alias bomb alone needs more than 1 GiB, and the deep lists crash in
    PyYAML's recursive composer with a RecursionError.
    """
    cases = [(a[1], loader) for a in MEMORY_ATTACKS for loader in ("_BoundedLoader", "_BoundedPythonLoader")]
    cases += [(a[1], "_BoundedLoader") for a in ATTACKS if a[1] is not None]
    expected = [(a[2], a[3]) for a in MEMORY_ATTACKS for _ in range(2)] + [
        (a[2], a[3]) for a in ATTACKS if a[1]
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    code = f"""
import json
from pytest_backupnet import yaml_lines
default = yaml_lines._BoundedLoader
results = []
for document, loader in json.load(open({str(tmp_path / "cases.json")!r})):
    yaml_lines._BoundedLoader = getattr(yaml_lines, loader, default)
    try:
        yaml_lines.load_yaml(document)
        results.append(None)
    except yaml_lines.YamlSyntaxError as exc:
        results.append([exc.line, exc.message])
print(json.dumps(results))
"""
    result = run_bounded(code, timeout=60, memory_mb=256)
    assert result.returncode == 0, result.stderr[-2000:]
    for (line, words), got in zip(expected, json.loads(result.stdout), strict=True):
        assert got is not None and got[0] == line and words in got[1], (line, words, got)
