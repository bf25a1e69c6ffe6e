"""Finding profiles: the shipped ones and those in site folders, listed without touching a host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .profile import Profile, ProfileError, load_profile, shipped_profile_dir
from .sanitize import terminal_text


@dataclass(frozen=True)
class ProfileEntry:
    path: Path
    origin: str  # "shipped" or the site folder
    profile: Profile | None = None
    error: str = ""


def find_profiles(search_dirs: Sequence[Path]) -> list[ProfileEntry]:
    """Every profile file in the site folders and the package, each loaded and validated.

    A file that cannot be loaded (not a profile, hostile, unreadable) becomes an entry with an
    error naming its file, line and field; the listing goes on.
    """
    entries = []
    folders = [(d, str(d)) for d in search_dirs] + [(shipped_profile_dir(), "shipped")]
    for folder, origin in folders:
        try:
            paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        except OSError as exc:
            entries.append(ProfileEntry(folder, origin, error=f"{folder}: cannot list: {exc.strerror}"))
            continue
        for path in paths:
            try:
                entries.append(ProfileEntry(path, origin, load_profile(str(path), search_dirs)))
            except (ProfileError, FileNotFoundError) as exc:
                entries.append(ProfileEntry(path, origin, error=str(exc)))
    return entries


def format_profile_list(entries: Sequence[ProfileEntry]) -> str:
    """A table of name, endpoint count, where it was found and title, each with its cited source.

    Every cell is shown with controls escaped: a title or a file name cannot act on the terminal.
    """
    rows: list[tuple[str, ...]] = [("NAME", "ENDPOINTS", "FOUND IN", "TITLE", "")]
    errors = []
    for entry in entries:
        if entry.profile is None:
            errors.append(f"error: {_cell(entry.error)}")
            continue
        profile = entry.profile
        rows.append(
            tuple(
                _cell(cell)
                for cell in (
                    profile.name,
                    str(len(profile.endpoints)),
                    entry.origin,
                    profile.title,
                    profile.source,
                )
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
        lines.append(f"{cells}  {row[3]}")
        if row[4]:
            lines.append(" " * (sum(widths) + 6) + f"source: {row[4]}")
    return "\n".join(lines + errors)


def _cell(text: str) -> str:
    return terminal_text(text, one_line=True)
