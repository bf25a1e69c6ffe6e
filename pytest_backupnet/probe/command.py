"""The one shell command that runs the probe on a host."""

from __future__ import annotations

import shlex
from importlib import resources

from .request import ProbeRequest

IMPLEMENTATIONS = ("auto", "python", "sh")


def remote_command(request: ProbeRequest, implementation: str = "auto") -> str:
    """python3 when the host has it, else the shell probe; every value is quoted."""
    # -I -S: no user site, no site packages: the probe needs the standard library only.
    python = "python3 -I -S -c {} {}".format(
        shlex.quote(_resource("on_host.py")), shlex.quote(request.as_json())
    )
    # POSIX sh, found on every host: it uses bash only for /dev/tcp, and says what it cannot do.
    shell = "sh -c {} probe {}".format(
        shlex.quote(_resource("on_host.sh")), " ".join(shlex.quote(a) for a in request.shell_args())
    )
    if implementation == "python":
        return python
    if implementation == "sh":
        return shell
    # Fall back when the shell cannot find python3 (127) or execute it (126): a `command -v`
    # test would accept a python3 that is present but not executable.
    return f"{python}; rc=$?; if [ $rc -eq 126 ] || [ $rc -eq 127 ]; then {shell}; else exit $rc; fi"


def _resource(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
