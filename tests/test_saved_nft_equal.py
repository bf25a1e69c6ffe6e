"""The nftables parser against nft itself: on the same scripts, the parser's ruleset and the one the
real `nft -f` loads (read back with `nft -j`, in a throwaway network namespace) mean the same to
the evaluator, rule by rule; and what nft refuses, the parser refuses too.

Costs a few seconds: one nft load per script.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_backupnet.firewall.model import Ruleset
from pytest_backupnet.firewall.nft_json import JsonError
from pytest_backupnet.firewall.saved.configs import read_nft_script
from pytest_backupnet.firewall.saved.files import HostFiles
from pytest_backupnet.firewall.saved.nft_flatten import flatten
from pytest_backupnet.firewall.saved.nft_ruleset import state_chains, state_from_listing
from pytest_backupnet.firewall.saved.nft_runner import load_in_namespace, runner_can_use_nft
from tests.lab.firewall_configs import CONFIGS
from tests.lab.firewall_lab import HostSetup, lab_reason
from tests.lab.require import need
from tests.lab.saved_configs import SAVED_CONFIGS
from tests.lab.saved_nft_corpus import (
    EXAMPLES,
    EXAMPLES_PREPARED,
    EXAMPLES_REFUSED_HERE,
    REFUSED,
    difference,
    generated,
)

GENERATED = 80
NFT_JSON_BROKEN = "nft -j's listing is not JSON"


class _Recorder:
    """Stands in for a lab host to collect the scripts a configuration would load."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="nft-corpus-"))
        self.setup = HostSetup()
        self.files: dict[str, str] = {}

    def run(self, *argv: str, **options: Any) -> None:
        if "-f" in argv:
            path = argv[argv.index("-f") + 1]
            if Path(path).is_file():
                self.files.setdefault(path, Path(path).read_text())

    def write(self, path: str, text: str) -> None:
        self.files[path] = text


def _lab_scripts() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    loads: list[tuple[str, Callable[[Any], None]]] = [
        (c.name, c.load) for c in CONFIGS if c.name.startswith("nft-")
    ]
    loads += [(c.name, c.write) for c in SAVED_CONFIGS if c.name.startswith("nft")]
    for name, load in loads:
        recorder = _Recorder()
        load(recorder)
        files = {**recorder.files}
        main = "/etc/nftables.conf" if "/etc/nftables.conf" in files else next(iter(files), "")
        if main:
            found[name] = {**files, "__main__": main}
    return found


def _corpus() -> dict[str, dict[str, str]]:
    corpus: dict[str, dict[str, str]] = {}
    if EXAMPLES.is_dir():
        files = {str(p): p.read_text() for p in EXAMPLES.glob("*.nft")}
        for path in sorted(files):
            name = Path(path).name
            if name in EXAMPLES_REFUSED_HERE:
                continue
            script = files
            if name in EXAMPLES_PREPARED:
                prepared = f"/etc/prepared-{name}"
                script = {**files, prepared: EXAMPLES_PREPARED[name] + f'include "{path}"\n'}
                path = prepared
            corpus[f"debian-{name}"] = {**script, "__main__": path}
    corpus.update({f"lab-{k}": v for k, v in _lab_scripts().items()})
    for seed in range(GENERATED):
        corpus[f"generated-{seed}"] = {
            "/etc/nftables.conf": generated(seed),
            "__main__": "/etc/nftables.conf",
        }
    return corpus


CORPUS = _corpus()


def _both(files: dict[str, str]) -> tuple[Ruleset | str, Ruleset | str]:
    main = files["__main__"]
    host = HostFiles.of({k: v for k, v in files.items() if k != "__main__"})
    cwd = str(Path(main).parent)
    loaded, _, problem = read_nft_script(host, main, ("/etc",), runner_nft=False, cwd=cwd)
    mine: Ruleset | str = problem or ""
    if loaded is not None and not problem:
        chains, base, _ = state_chains(loaded.state)
        mine = Ruleset(chains, tuple(base))
    listing = load_in_namespace(flatten(host, main, cwd=cwd), loaded.interfaces_needed if loaded else set())
    if listing.unavailable:
        pytest.fail(f"nft could not run here: {listing.unavailable}")
    if listing.refused:
        return mine, f"nft refuses it: {listing.refused}"
    try:
        state = state_from_listing(listing.json, listing.text, None)
    except JsonError:
        return mine, NFT_JSON_BROKEN
    chains, base, _ = state_chains(state)
    return mine, Ruleset(chains, tuple(base))


@pytest.mark.parametrize("name", list(CORPUS))
def test_parser_means_what_nft_loads(name: str) -> None:
    need(lab_reason() or runner_can_use_nft() or None)
    mine, theirs = _both(CORPUS[name])
    if theirs == NFT_JSON_BROKEN:  # nft 1.0.6 lists a table's flags as garbage JSON: check the fallback
        files = CORPUS[name]
        host = HostFiles.of({k: v for k, v in files.items() if k != "__main__"})
        loaded, how, problem = read_nft_script(
            host, files["__main__"], ("/etc",), runner_nft=True, cwd=str(Path(files["__main__"]).parent)
        )
        assert loaded is not None and not problem and "listing cannot be read" in how, (how, problem)
        return
    if isinstance(theirs, str):
        assert isinstance(mine, str), f"{name}: {theirs}, but the parser accepts it"
        return
    assert isinstance(mine, Ruleset), f"{name}: nft loads it, the parser cannot: {mine}"
    assert not difference(mine, theirs), f"{name}: {difference(mine, theirs)}"


@pytest.mark.parametrize("name", list(REFUSED))
def test_parser_refuses_what_nft_refuses(name: str) -> None:
    need(lab_reason() or runner_can_use_nft() or None)
    mine, theirs = _both({"/etc/nftables.conf": REFUSED[name], "__main__": "/etc/nftables.conf"})
    assert isinstance(theirs, str), f"{name}: nft loads it, the example is wrong"
    assert isinstance(mine, str) and mine, f"{name}: {theirs}, but the parser accepts it"


def test_the_corpus_is_large_enough() -> None:
    """Most generated scripts load (the kernel refuses some: reject after routing, fib without an
    interface, ...), so the comparison above is not carried by refusals alone."""
    need(lab_reason() or runner_can_use_nft() or None)
    kinds = {name.split("-", 1)[0] for name in CORPUS}
    assert kinds == {"debian", "lab", "generated"} and len(CORPUS) >= 100, sorted(CORPUS)
    loaded = [n for n in CORPUS if n.startswith("generated") and isinstance(_both(CORPUS[n])[1], Ruleset)]
    assert len(loaded) >= GENERATED // 2, f"only {len(loaded)} generated scripts load"
