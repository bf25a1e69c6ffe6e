"""The probe's answer as `read_saved_firewall` reads it: the texts of SAVED_FILE_GLOBS, and a few links.

The probe reads files through their links, and never reads into /dev: a unit masked by a link to
/dev/null comes back as "not read". `readlink` (a read-only listing, like the firewall commands)
says where the few links that matter lead: the masks of the firewall units, /sbin/init (which init
boots) and /etc/alternatives/iptables (which iptables backend). A host without `readlink` leaves
them unknown, which the reader says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...probe.records import Captured, FileContent
from .boot import UNITS
from .files import LINK
from .globs import SAVED_FILE_GLOBS

MASKS = tuple(f"/etc/systemd/system/{unit}" for unit in UNITS)
LINKS = ("/sbin/init", "/etc/alternatives/iptables", *MASKS)
# Probe command id -> argv; every one reads a link and changes nothing.
SAVED_COMMANDS: dict[str, list[str]] = {f"saved-link:{path}": ["readlink", path] for path in LINKS}
_NOT_INSTALLED = "not installed"


def files_from_probe(files: Iterable[FileContent], commands: Mapping[str, Captured]) -> dict[str, str | None]:
    """`read_saved_firewall`'s `files`: each path a saved-firewall glob listed -> its text, or None."""
    patterns = set(SAVED_FILE_GLOBS)
    found: dict[str, str | None] = {}
    for file in files:
        if file.pattern in patterns:
            found[file.path] = None if file.error else file.text
    for path in LINKS:
        answer = commands.get(f"saved-link:{path}")
        if answer is None or answer.error == _NOT_INSTALLED:
            continue
        if answer.error:
            if answer.error.startswith("exit 1"):  # readlink's answer for "not a link" (or no file)
                found[LINK + path] = ""
            continue
        target = answer.text.strip()
        found[LINK + path] = target
        if path in MASKS and path in found and found[path] is None and target == "/dev/null":
            found[path] = ""  # what systemd reads of a mask: nothing
    return found
