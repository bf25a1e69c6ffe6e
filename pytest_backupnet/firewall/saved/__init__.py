"""The firewall a host (an image) will boot with: its saved configurations, judged like the live one.

Phase-2 interface (called by the plugin glue):

`SAVED_FILE_GLOBS: tuple[str, ...]`
    Every path and glob the probe must read (exact paths and shell globs, as `glob.glob` expands
    them). Symlinks are read through (a systemd `wants` link's text is its unit file); a masked unit
    is a link to /dev/null, read as an empty text. A path listed by a glob but unreadable is passed
    as None. Two link targets help where the probe can read them (`readlink`, read-only), passed
    as `"readlink:" + path` keys: `readlink:/sbin/init` (which init boots the image) and
    `readlink:/etc/alternatives/iptables` (iptables' backend: whether `nft flush ruleset` also wipes
    iptables rules). Without them the init is told by its files and both backends are judged.
    The plugin asks for them with SAVED_COMMANDS (below).

`SAVED_COMMANDS: dict[str, list[str]]` and `files_from_probe(files, commands) -> dict[str, str | None]`
    The probe's listing commands for the link targets above (`readlink`, read-only; a mask's
    /dev/null included: the probe never reads into /dev), and the `files` mapping built from the
    probe's answer (its `FileContent`s of SAVED_FILE_GLOBS and its commands' `Captured`s).

`read_saved_firewall(files: Mapping[str, str | None], runner_nft: bool) -> SavedFirewall`
    `files` maps each host path to its text (None: listed but not readable). With `runner_nft`, the
    real `nft` loads nftables scripts into a network namespace made for it on the runner (never on
    the host, never the runner's own); else, or where it cannot, nftables scripts are read by the
    parser here. Never raises on odd input.

`SavedFirewall`
    `.configurations`: every saved configuration found (tool, service, files, whether it boots and
    why, what could not be read); `.outcomes`: the rulesets the boot can leave (one, usually; more
    when the boot order or an uncertain start matters); `.unreadable`: why the boot's firewall
    cannot be evaluated ("" when it can); `.summary`: one line for the evidence
    (`NOTHING_SAVED` when no configuration exists); `.ruleset`: the single outcome's ruleset.

`judge_saved(saved: SavedFirewall, host: HostFirewall, flow: Flow) -> Judgement`
    The live evaluator (`judge`) on each outcome with the live host's facts (interfaces, routes,
    port range, agent user); segments name the saved file and line (or zone and element). Where
    outcomes disagree the segment is "unknown" and says which boot gives which verdict.
"""

from __future__ import annotations

from .configs import SavedConfiguration
from .globs import SAVED_FILE_GLOBS
from .judging import judge_saved
from .probe_files import SAVED_COMMANDS, files_from_probe
from .reader import NOTHING_SAVED, BootOutcome, SavedFirewall, read_saved_firewall

__all__ = [
    "NOTHING_SAVED",
    "SAVED_COMMANDS",
    "SAVED_FILE_GLOBS",
    "BootOutcome",
    "SavedConfiguration",
    "SavedFirewall",
    "files_from_probe",
    "judge_saved",
    "read_saved_firewall",
]
