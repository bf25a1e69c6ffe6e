"""The saved files a host brought back, looked up the way the tools that read them at boot do.

`files` maps an absolute host path to its text, or to None when the probe listed the path (a glob
matched it) but could not read it. Globs follow the shell's rules, as nft's `include` and the
probe's own `glob.glob` do: `*`, `?` and `[...]` never cross a `/`, and never match a leading dot.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

MAX_FILES = 20_000
MAX_TEXT = 1 << 20  # the probe reads at most 1 MiB of a file
LINK = "readlink:"  # "readlink:/path" -> where the link /path points ("" when it is no link)


@dataclass(frozen=True)
class HostFiles:
    """Read-only view of what was brought back; never raises on odd paths or texts."""

    texts: Mapping[str, str | None]

    @staticmethod
    def of(files: Mapping[str, str | None]) -> HostFiles:
        cleaned: dict[str, str | None] = {}
        for path, text in list(files.items())[:MAX_FILES]:
            if not isinstance(path, str):
                continue
            link = path.startswith(LINK) and path[len(LINK) :].startswith("/")
            if not path.startswith("/") and not link:
                continue
            normal = LINK + posixpath.normpath(path[len(LINK) :]) if link else posixpath.normpath(path)
            cleaned[normal] = text[:MAX_TEXT] if isinstance(text, str) else None
        return HostFiles(cleaned)

    def has(self, path: str) -> bool:
        """The path exists on the host (read or not)."""
        return posixpath.normpath(path) in self.texts

    def text(self, path: str) -> str | None:
        return self.texts.get(posixpath.normpath(path))

    def glob(self, pattern: str) -> list[str]:
        """Existing paths that match, sorted as glob(3) sorts them."""
        matcher = _compile(posixpath.normpath(pattern))
        return sorted(p for p in self.texts if matcher.fullmatch(p))

    def under(self, directory: str) -> list[str]:
        prefix = posixpath.normpath(directory).rstrip("/") + "/"
        return sorted(p for p in self.texts if p.startswith(prefix))


def has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    segment_start = True
    while index < len(pattern):
        char = pattern[index]
        if char == "/":
            parts.append("/")
            segment_start = True
            index += 1
            continue
        lead = "(?!\\.)" if segment_start else ""
        segment_start = False
        if char == "*":
            parts.append(lead + "[^/]*")
        elif char == "?":
            parts.append(lead + "[^/]")
        elif char == "[":
            end = pattern.find("]", index + 2 if pattern[index + 1 : index + 2] in ("!", "]") else index + 1)
            if end < 0:
                parts.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                parts.append(lead + "[" + body.replace("\\", "\\\\") + "]")
                index = end
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts))


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset."""
    return text.count("\n", 0, offset) + 1


def first_lines(paths: Iterable[str], limit: int = 5) -> str:
    found = list(paths)
    shown = ", ".join(found[:limit])
    return shown + (f" and {len(found) - limit} more" if len(found) > limit else "")
