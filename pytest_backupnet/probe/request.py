"""What one probe run observes on a host: built on the runner, sent with the probe."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..timeouts import Timeouts

# The most the probe sends back for one file or one listing command. An agent configuration, an
# /etc/hosts or a firewall listing of a real server is far smaller; a bigger one is reported as
# too large (its checks are not evaluated), never read in part.
MAX_BYTES = 16 * 1024 * 1024
# Listing commands come from the project's own tables, never from a profile or a host. The shell
# probe reads a command as its words joined by the ASCII unit separator, which no word may hold
# (nor a line break, which ends an argument of the shell probe).
WORD_SEPARATOR = "\x1f"
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_./:=+,-]+$")
_NOT_IN_A_WORD = re.compile(r"[\x1f\n\r\x00]")


@dataclass(frozen=True)
class ProbeRequest:
    """What to observe on one host.

    `resolve` maps names to the ports to connect to on each resolved address (may be empty);
    `globs` are the agent's configuration files; `read` exact files (/etc/hosts, /proc ...);
    `commands` read-only listing commands by id (the firewall).
    """

    timeouts: Timeouts
    resolve: Mapping[str, Sequence[int]] = field(default_factory=dict)
    globs: Sequence[str] = ()
    read: Sequence[str] = ()
    commands: Mapping[str, Sequence[str]] = field(default_factory=dict)
    max_bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        for command_id, argv in self.commands.items():
            if not argv or not _PLAIN_WORD.match(command_id) or not _PLAIN_WORD.match(argv[0]):
                raise ValueError(f"listing command {command_id!r} {list(argv)!r}: a plain id and program")
            if any(_NOT_IN_A_WORD.search(word) for word in argv):
                raise ValueError(f"listing command {command_id!r}: a word holds a separator or line break")

    def as_json(self) -> str:
        """The request as the Python probe reads it."""
        return json.dumps(
            {
                "timeouts": self.timeouts.for_probe(),
                "max_bytes": self.max_bytes,
                "resolve": {name: sorted(ports) for name, ports in sorted(self.resolve.items())},
                "globs": list(self.globs),
                "read": list(self.read),
                "commands": {cid: list(argv) for cid, argv in sorted(self.commands.items())},
            },
            separators=(",", ":"),
        )

    def shell_args(self) -> list[str]:
        """The request as the shell probe reads it: one `key=value` argument each."""
        args = [f"{key}_s={value:g}" for key, value in self.timeouts.for_probe().items()]
        args.append(f"max_bytes={self.max_bytes}")
        args += [
            f"resolve={name}:{','.join(str(p) for p in sorted(ports))}"
            for name, ports in sorted(self.resolve.items())
        ]
        args += [f"glob={pattern}" for pattern in self.globs]
        args += [f"read={path}" for path in self.read]
        args += [
            f"command={WORD_SEPARATOR.join((cid, *argv))}" for cid, argv in sorted(self.commands.items())
        ]
        return args
