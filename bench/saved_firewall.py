"""Saved-firewall benchmark: the cost of reading what a host boots with, from its files alone.

Run by hand from the repository (no root needed; reads this machine's own files, read-only):

    python3 bench/saved_firewall.py

It measures (best of five): firewalld's model over /usr/lib/firewalld and /etc/firewalld (every
zone, service, policy, ICMP type and helper XML there), the whole `read_saved_firewall` over every
path of SAVED_FILE_GLOBS, and the nftables parser on a generated script of 5,000 rules.
"""

from __future__ import annotations

import glob
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pytest_backupnet.firewall.saved import SAVED_FILE_GLOBS, read_saved_firewall  # noqa: E402
from pytest_backupnet.firewall.saved.files import HostFiles  # noqa: E402
from pytest_backupnet.firewall.saved.firewalld_config import read_config  # noqa: E402
from pytest_backupnet.firewall.saved.firewalld_rules import generate  # noqa: E402
from pytest_backupnet.firewall.saved.nft_rules import Context  # noqa: E402
from pytest_backupnet.firewall.saved.nft_ruleset import state_chains  # noqa: E402
from pytest_backupnet.firewall.saved.nft_script import load_script  # noqa: E402


def best(run: Callable[[], object], times: int = 5) -> float:
    found = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        found.append(time.perf_counter() - started)
    return min(found)


def read_files() -> dict[str, str | None]:
    files: dict[str, str | None] = {}
    for pattern in SAVED_FILE_GLOBS:
        for path in sorted(glob.glob(pattern)):
            try:
                files[path] = Path(path).read_text(errors="replace")
            except OSError:
                files[path] = None
    return files


def big_script(rules: int) -> str:
    lines = [
        "flush ruleset",
        "table inet filter {",
        " chain input {",
        "  type filter hook input priority 0; policy drop;",
    ]
    for index in range(rules):
        lines.append(
            f"  ip saddr 10.{index // 256 % 256}.{index % 256}.0/24 tcp dport {{ 22, {1024 + index} }} "
            "ct state new accept"
        )
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    files = read_files()
    host = HostFiles.of(files)
    xml = [p for p in files if p.endswith(".xml") and "firewalld" in p]
    if xml:
        seconds = best(lambda: state_chains(generate(read_config(host))))
        print(f"firewalld model: {len(xml)} XML files read and the table built in {seconds * 1000:.0f} ms")
    seconds = best(lambda: read_saved_firewall(files, runner_nft=False))
    print(f"read_saved_firewall: {len(files)} files, {seconds * 1000:.0f} ms")
    script = HostFiles.of({"/etc/nftables.conf": big_script(5000)})
    seconds = best(lambda: state_chains(load_script(script, "/etc/nftables.conf", Context()).state), times=3)
    print(f"nftables parser: 5,000 rules parsed and modelled in {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
