"""The real `nft -f` on the runner, in a network namespace made for it and thrown away after.

Never the audited host, never the runner's own network namespace: `unshare --net` (as root, or
`--user --map-root-user` where unprivileged user namespaces are allowed) gives nft an empty
ruleset of its own; the flat script (includes spliced in, see nft_flatten) is loaded there and
listed back with `nft -j list ruleset` and `nft -a list ruleset`, then the namespace is gone
with the process. Interfaces the script names with iif/oif (resolved when it loads) are made as
dummies first, so the script loads as it would on a host that has them. nft runs in a user namespace
of its own where the kernel allows one (no privilege over the runner), else as root in the new
network namespace.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from .nft_flatten import Flat

TIMEOUT = 20
SEPARATOR = "----8<---- nft -a list ruleset ----8<----"
_IFNAME = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}$")
_INTERFACE_USE = re.compile(r"\b(?:iif|oif|meta\s+iif|meta\s+oif)\s+\"?([A-Za-z0-9_.:@+-]{1,15})\"?")
_INCLUDE = re.compile(r"(?<![\w\"-])include\s*\"")
# nft's words when the runner, not the script, is the problem (no right to load it here): then the
# parser decides. "not supported" in a user namespace is tried again as root, where it is the script's.
_NOT_PERMITTED = ("Operation not permitted", "Permission denied")
_ERROR_LINE = re.compile(r"^[^:\n]*:(\d+):\d+-\d+: Error: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class NftListing:
    json: str = ""
    text: str = ""
    refused: str = ""  # nft's own error, with the host's file and line: nft refuses the script
    unavailable: str = ""  # why nft could not be run here (then nothing is known from it)


def runner_can_use_nft() -> str:
    """ "" when this runner can load a script into a throwaway namespace, else why not."""
    if shutil.which("nft", path=_path()) is None:
        return "nft is not installed on the runner"
    if shutil.which("unshare", path=_path()) is None:
        return "unshare is not installed on the runner"
    return ""


def load_in_namespace(flat: Flat, interfaces: set[str] | frozenset[str] = frozenset()) -> NftListing:
    why = runner_can_use_nft()
    if why:
        return NftListing(unavailable=why)
    if _INCLUDE.search(flat.text):
        return NftListing(
            unavailable="an include statement survived splicing: the runner's nft is not given it"
        )
    names = sorted(
        n for n in {*interfaces, *_INTERFACE_USE.findall(flat.text)} if _IFNAME.match(n) and n != "lo"
    )
    with tempfile.TemporaryDirectory(prefix="backupnet-nft-") as directory:
        script = os.path.join(directory, "ruleset.nft")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(flat.text)
        setup = (
            "; ".join(
                f"ip link add {n} type dummy || ip link add {n} type veth peer name bnp{i}"
                for i, n in enumerate(names)
            )
            or "true"
        )
        inner = (
            f'{{ {setup}; }} >/dev/null 2>&1; nft -f "$1" || exit 3; nft -j list ruleset || exit 4; '
            f'echo "{SEPARATOR}"; nft -a list ruleset || exit 4'
        )
        result = None
        # A user namespace first: the host's text then meets nft with no privilege over the runner.
        for prefix in (["unshare", "--user", "--map-root-user", "--net"], ["unshare", "--net"]):
            try:
                result = subprocess.run(
                    [*prefix, "sh", "-c", inner, "sh", script],
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    check=False,
                    env={"PATH": _path(), "LANG": "C"},
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return NftListing(unavailable=f"nft on the runner: {exc}")
            if result.returncode == 0 or (
                _refused(result.returncode, result.stderr) and "not supported" not in result.stderr
            ):
                break
        assert result is not None
    if _refused(result.returncode, result.stderr):
        return NftListing(refused=_map_errors(result.stderr, flat, script))
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        return NftListing(unavailable=f"no throwaway network namespace for nft on the runner: {last[:200]}")
    json_text, _, listing = result.stdout.partition(SEPARATOR + "\n")
    return NftListing(json=json_text, text=listing)


def _refused(returncode: int, stderr: str) -> bool:
    """nft refused the script itself, not this runner's right to load one (never a guess: that is
    "unavailable", and the parser decides)."""
    if returncode != 3 or not _ERROR_LINE.search(stderr):
        return False
    return not any(word in stderr for word in _NOT_PERMITTED)


def _map_errors(stderr: str, flat: Flat, script: str) -> str:
    found = [f"{flat.where(int(m.group(1)))}: {m.group(2).strip()}" for m in _ERROR_LINE.finditer(stderr)]
    if found:
        return "; ".join(found[:3])
    return (stderr.strip().replace(script, "the script").splitlines() or ["nft refused it"])[0][:300]


def _path() -> str:
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
