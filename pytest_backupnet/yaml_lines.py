"""YAML loading that keeps each value's line, refuses duplicate keys, and bounds what hostile text costs.

Profiles and waiver files are written by other people and may be hostile: an alias bomb, a list
nested 50,000 deep, a 5,000-digit number or an escape sequence must end in a `YamlSyntaxError`
naming the line (and field), in bounded time and memory, never in a traceback.

The caps sit far above any real file: the shipped profiles are 1-3 KB with ~150 values nested
5 deep, a site profile with a thousand endpoints would be ~100 KB and ~8,000 values, a waiver
file with a thousand waivers ~250 KB and ~13,000 values.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .sanitize import visible_escape

FieldPath = tuple[str | int, ...]

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Values after expanding aliases: a "billion laughs" is refused while its node graph is still small.
MAX_NODES = 100_000
MAX_ALIASES = 100
MAX_SCALAR_CHARS = 10_000
# An int, float or date longer than this is no port, count or expiry date (and a 5,000-digit
# integer would hit Python's int/str conversion limit).
MAX_NUMBER_CHARS = 64

# C0 controls but tab, LF and CR; DEL; C1 controls (NEL among them); bidirectional embeddings,
# overrides and isolates; lone surrogates (only reachable through "\ud800" escapes); U+FFFE/U+FFFF.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_CHARACTER_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x07": "BEL", "\x08": "backspace", "\x7f": "DEL"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_MARK = "\ue000"
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})
_NUMBER_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "timestamp", "bool", "null"))
# A quoted fragment in a PyYAML message: one character (a tab) or a token name ('<block end>') is
# kept; anything longer is file content and is not echoed.
_QUOTED = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_KEPT_FRAGMENT = re.compile(r"""['"](?:[^'"\\]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|\\.|<[a-z ]+>)['"]""")


@dataclass(frozen=True)
class YamlDocument:
    """Plain Python data plus the 1-based line of every mapping key and item."""

    data: Any
    lines: dict[FieldPath, int]

    def line_of(self, path: FieldPath) -> int:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(ValueError):
    """The file cannot be used: unreadable, too large, not YAML, over a limit, or repeating a key."""

    def __init__(self, line: int, message: str, field: FieldPath = ()) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.field = field


def format_path(path: FieldPath) -> str:
    """`("endpoints", 2, "fqdn")` -> `endpoints[2].fqdn`; odd keys are shown escaped and cut short."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part[:40]!r}{'...' if len(part) > 40 else ''}]"
    return out or "(document)"


def describe_character(char: str) -> str:
    """`"\\x1b"` -> `\\x1b (ESC)`: a forbidden character named without printing it."""
    name = _CHARACTER_NAMES.get(char)
    return f"{visible_escape(char)} ({name})" if name else visible_escape(char)


def read_yaml_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file `path`, refused beyond `max_bytes`.

    Opened without blocking and checked with fstat, so a FIFO, a device or a directory put in a
    profile's place is refused instead of hanging the run or being read without end.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "bad file name"
        raise YamlSyntaxError(1, f"cannot read: {reason}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise YamlSyntaxError(1, "not a regular file")
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise YamlSyntaxError(1, f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise YamlSyntaxError(1, f"larger than {max_bytes // 1024} KiB; not a profile or waiver file")
    return data


def decode_yaml(data: bytes) -> str:
    """UTF-8 text, or a `YamlSyntaxError` naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(data.count(b"\n", 0, exc.start) + 1, "not UTF-8 text") from None


def load_yaml_file(path: Path) -> tuple[bytes, YamlDocument]:
    """Read, decode and parse a YAML file within every limit of this module."""
    data = read_yaml_file(path)
    return data, load_yaml(decode_yaml(data))


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document safely, recording lines and rejecting duplicate keys."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlSyntaxError(1, f"larger than {MAX_FILE_BYTES // 1024} KiB")
    forbidden = _FORBIDDEN.search(text)
    if forbidden:
        line = _line_at(text, forbidden.start())
        message = f"control character {describe_character(forbidden.group())} is not allowed"
        raise YamlSyntaxError(line, message, _field_holding_forbidden(text, line))
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[FieldPath, int] = {}
        data = None if node is None else _convert(loader, node, (), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(
            line, f"not valid YAML: {_pyyaml_problem(exc)}{_tab_hint(text, mark)}"
        ) from None
    except yaml.reader.ReaderError as exc:
        raise YamlSyntaxError(
            _line_at(text, exc.position), "not valid YAML: a character is not allowed"
        ) from None
    except yaml.YAMLError:
        raise YamlSyntaxError(1, "not valid YAML") from None
    except RecursionError:  # a safety net: the depth and alias limits keep recursion far below this
        raise YamlSyntaxError(1, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, lines=lines)


def _field_holding_forbidden(text: str, line: int) -> FieldPath:
    """The field whose value or key holds the first forbidden character on `line`, if any.

    The characters are replaced by a private-use one (allowed in YAML) and the text parsed again,
    within the same limits; a character in a comment, or text that does not parse, has no field.
    """
    try:
        document = load_yaml(_FORBIDDEN.sub(_MARK, text))
    except YamlSyntaxError:
        return ()
    for located, reported, value in _walk(document.data, ()):
        if _MARK in value and document.line_of(located) == line:
            return reported
    return ()


def _walk(data: Any, path: FieldPath) -> Iterator[tuple[FieldPath, FieldPath, str]]:
    """Every text in document order: where it is, the field to report (a key's mapping), the text."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key), path, key
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _walk(item, (*path, index))
    elif isinstance(data, str):
        yield path, path, data


def _line_at(text: str, position: int) -> int:
    # YAML's line breaks: LF, CR LF, CR, U+2028, U+2029 (NEL is refused before parsing).
    prefix = text[:position]
    breaks = prefix.count("\n") + prefix.count("\r") - prefix.count("\r\n")
    return 1 + breaks + prefix.count("\u2028") + prefix.count("\u2029")


def _tab_hint(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    at_mark = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    return " (a tab: YAML is indented with spaces)" if at_mark == "\t" else ""


def _pyyaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's message without the file content it may quote (an alias name, a tag, a line)."""
    text = "; ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"

    def keep_short(match: re.Match[str]) -> str:
        return match.group(0) if _KEPT_FRAGMENT.fullmatch(match.group(1)) else ""

    return _QUOTED.sub(keep_short, text)[:200]


class _BoundedComposer(Composer):
    """PyYAML's composer within MAX_DEPTH, MAX_ALIASES and MAX_NODES.

    Each node's size counts what it expands to, aliases included, computed bottom-up while the
    (still small, shared) node graph is built: an alias bomb is refused before anything expands,
    and a deep nesting before the recursive composer can reach Python's recursion limit.
    """

    peek_event: Callable[[], yaml.Event]  # from the parser it is mixed with

    def _start_bounds(self) -> None:
        self.depth = 0
        self.alias_count = 0
        self.composed = 0
        self.sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise YamlSyntaxError(line, f"more than {MAX_ALIASES} aliases (*name)")
            node = super().compose_node(parent, index)
            if node is None or id(node) not in self.sizes:
                raise YamlSyntaxError(line, "an alias refers to a collection that contains it")
            return node
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR_CHARS:
            raise YamlSyntaxError(line, f"a value longer than {MAX_SCALAR_CHARS} characters")
        self.depth += 1
        self.composed += 1
        if self.depth > MAX_DEPTH:
            raise YamlSyntaxError(line, f"nested more than {MAX_DEPTH} levels deep")
        if self.composed > MAX_NODES:
            raise YamlSyntaxError(line, f"more than {MAX_NODES} values")
        node = super().compose_node(parent, index)
        assert node is not None  # an event other than an alias always composes a node
        self.depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        size = 1 + sum(self.sizes[id(child)] for child in children)
        if size > MAX_NODES:
            raise YamlSyntaxError(line, f"more than {MAX_NODES} values once aliases are expanded")
        self.sizes[id(node)] = size
        return node


class _BoundedPythonLoader(_BoundedComposer, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, bounded; used when PyYAML was built without libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._start_bounds()


_BoundedLoader: type[_BoundedPythonLoader] | type[_BoundedLibyamlLoader] = _BoundedPythonLoader

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _BoundedLibyamlLoader(_BoundedComposer, CParser, SafeConstructor, Resolver):
        """libyaml's parser (7 times faster than PyYAML's), the bounded composer, the safe constructor.

        Only events come from libyaml: its own composer is recursive C code without a depth limit.
        """

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._start_bounds()

    _BoundedLoader = _BoundedLibyamlLoader


def _convert(loader: SafeConstructor, node: yaml.Node, path: FieldPath, lines: dict[FieldPath, int]) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(path, line)
    if len(path) > MAX_DEPTH:  # aliases can stack nestings that are each within the limit
        raise YamlSyntaxError(line, f"nested more than {MAX_DEPTH} levels deep", path)
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
        raise YamlSyntaxError(line, "a tagged collection (!tag [...]) is not supported", path)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = _scalar(loader, key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise YamlSyntaxError(key_line, "keys must be text", path)
            if key in result:
                raise YamlSyntaxError(
                    key_line, f"duplicate key (first on line {lines[(*path, key)]})", (*path, key)
                )
            lines[(*path, key)] = key_line
            result[key] = _convert(loader, value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _scalar(loader, node, path)


def _scalar(loader: SafeConstructor, node: yaml.Node, path: FieldPath) -> Any:
    line = node.start_mark.line + 1
    if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
        raise YamlSyntaxError(line, f"a number or date longer than {MAX_NUMBER_CHARS} characters", path)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError:
        raise
    # PyYAML's constructors trust their input: an explicit `!!timestamp x` or `!!bool maybe`
    # raises AttributeError or KeyError, `!!int 1e999` ValueError. Any of them is a bad value.
    except Exception:
        raise YamlSyntaxError(line, f"not a valid {node.tag.rsplit(':', 1)[-1]} value", path) from None
    if isinstance(value, str):
        forbidden = _FORBIDDEN.search(value)
        if forbidden:
            raise YamlSyntaxError(
                line, f"control character {describe_character(forbidden.group())} is not allowed", path
            )
    return value
