"""Finding profiles: the shipped ones and those in site folders, listed without touching a host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .profile import Profile, ProfileError, load_profile, shipped_profile_dir


@dataclass(frozen=True)
class ProfileEntry:
    path: Path
    origin: str  # "shipped" or the site folder
    profile: Profile | None = None
    error: str = ""


def find_profiles(search_dirs: Sequence[Path]) -> list[ProfileEntry]:
    """Every profile file in the site folders and the package, each loaded and validated."""
    entries = []
    folders = [(d, str(d)) for d in search_dirs] + [(shipped_profile_dir(), "shipped")]
    for folder, origin in folders:
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                entries.append(ProfileEntry(path, origin, load_profile(str(path), search_dirs)))
            except (ProfileError, FileNotFoundError) as exc:
                entries.append(ProfileEntry(path, origin, error=str(exc)))
    return entries


def format_profile_list(entries: Sequence[ProfileEntry]) -> str:
    """A table of name, endpoint count, where it was found and title, each with its cited source."""
    rows = [("NAME", "ENDPOINTS", "FOUND IN", "TITLE", "")]
    errors = []
    for entry in entries:
        if entry.profile is None:
            errors.append(f"error: {entry.error}")
            continue
        profile = entry.profile
        rows.append((profile.name, str(len(profile.endpoints)), entry.origin, profile.title, profile.source))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True))
        lines.append(f"{cells}  {row[3]}")
        if row[4]:
            lines.append(" " * (sum(widths) + 6) + f"source: {row[4]}")
    return "\n".join(lines + errors)
