"""One nftables script with its includes spliced in, for the real `nft -f` on the runner.

The runner's nft must read the host's files, not the runner's own /etc: includes are resolved
here, with nft's search rules (nft_script.ScriptParser.include), and the included text replaces
each `include "..."` statement; a map from the flat file's lines back to the host's files keeps
nft's error messages and the evidence pointing at the host's own file and line.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from .files import HostFiles, has_magic
from .nft_lexer import LexError, tokenize
from .nft_script import MAX_INCLUDE_DEPTH, ScriptError

MAX_FLAT = 8 << 20


@dataclass(frozen=True)
class Flat:
    text: str
    lines: tuple[tuple[str, int], ...]  # flat line (0-based index) -> (host path, line)
    files: tuple[str, ...]

    def where(self, line: int) -> str:
        """`path:line` of a 1-based line of the flat text."""
        if 1 <= line <= len(self.lines):
            path, number = self.lines[line - 1]
            return f"{path}:{number}"
        return f"line {line}"


def flatten(files: HostFiles, path: str, include_paths: tuple[str, ...] = ("/etc",), cwd: str = "/") -> Flat:
    pieces: list[tuple[str, str, int]] = []  # (text, path, first line)
    read: list[str] = []
    _splice(files, path, include_paths, cwd, 1, pieces, read)
    text_parts: list[str] = []
    lines: list[tuple[str, int]] = []
    for text, source, first in pieces:
        text_parts.append(text)
        lines += [(source, first + i) for i in range(text.count("\n"))]
    text = "".join(text_parts)
    if len(text) > MAX_FLAT:
        raise ScriptError(f"{path}: more than {MAX_FLAT} bytes with its includes")
    return Flat(text, tuple(lines), tuple(read))


def _splice(
    files: HostFiles,
    path: str,
    include_paths: tuple[str, ...],
    cwd: str,
    depth: int,
    pieces: list[tuple[str, str, int]],
    read: list[str],
) -> None:
    if depth > MAX_INCLUDE_DEPTH:
        raise ScriptError(f"{path}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
    text = files.text(path)
    if text is None:
        raise ScriptError(f"could not evaluate: include {path} not read")
    read.append(path)
    try:
        tokens = tokenize(text, path)
    except LexError as exc:
        raise ScriptError(str(exc)) from None
    done = 0
    line = 1
    for index, token in enumerate(tokens[:-1]):
        if token.kind != "word" or token.value != "include" or tokens[index + 1].kind != "string":
            continue
        name = tokens[index + 1]
        before = text[done : token.start]
        pieces.append((before + "\n", path, line))
        line += before.count("\n")
        for included in _resolve(files, name.value, include_paths, cwd, f"{path}:{token.line}"):
            _splice(files, included, include_paths, cwd, depth + 1, pieces, read)
            pieces.append(("\n", path, line))
        done = name.end
    rest = text[done:]
    pieces.append((rest if rest.endswith("\n") else rest + "\n", path, line))


def _resolve(files: HostFiles, name: str, include_paths: tuple[str, ...], cwd: str, where: str) -> list[str]:
    if name.startswith("/"):
        candidates = [name]
    elif name.startswith("./") or name.startswith("../"):
        candidates = [posixpath.normpath(posixpath.join(cwd, name))]
    else:
        candidates = [posixpath.normpath(posixpath.join(d, name)) for d in include_paths]
    found: list[str] = []
    for pattern in candidates:
        if has_magic(pattern):
            found += files.glob(pattern)
        elif files.has(pattern):
            return [pattern]
    if not found and not any(has_magic(p) for p in candidates):
        raise ScriptError(f"{where}: could not evaluate: include {name} not read")
    return found
