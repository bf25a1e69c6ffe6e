"""The image-build gate end to end: `pytest --profile ... -m "not network"` inside an image whose
firewall is saved but not loaded exits as the booted image does, and `--backupnet-firewall both`
on a booted host reports rules changed by hand as drift.

Each image's files are written by the real tools (saved_configs), the suite runs inside the image
host with its own probe (local://), then the image boots (the enabled units' start) and the suite
runs again on the running rules. About 30 s on 2 cores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.lab.firewall_lab import HostSetup, LabHost, lab_reason
from tests.lab.require import need
from tests.lab.saved_configs import SAVED_CONFIGS
from tests.lab.saved_lab import SavedConfig, boot, image_host
from tests.lab.saved_suite import InsideRun, run_inside

FIREWALL_CHECKS = (
    "test_egress_firewall[local-8086]",
    "test_egress_firewall[local-8087]",
    "test_agent_firewall_inbound[local-2548]",
)
CHECK_NAMES = {check.split("[")[0] for check in FIREWALL_CHECKS}
# The exit status each image is built to give with the lab profile (minimum and inbound peers
# 198.19.1.0/24): 1 where its firewall refuses the agent's traffic there, else 0.
GATE = {
    "nothing-enabled": 0,
    "nft-agent-open": 0,
    "nft-reply-mistake": 1,
    "ufw-defaults": 1,
    "ufw-disabled": 0,
    "firewalld-agent-open": 0,
    "persistent-minimum-legacy": 0,
    "iptables-services-default-nft": 1,
}
# Root in a user namespace of its own: the files are readable, the host's rules cannot be listed.
CONTAINER_ROOT = ("unshare", "--user", "--map-root-user")
NOTHING_BOOTS = ("nothing-enabled", "ufw-disabled")
NOTHING = SavedConfig("nothing-enabled", lambda host: None, ())
CONFIGS = {c.name: c for c in [NOTHING, *SAVED_CONFIGS] if c.name in GATE}
BY_HAND_DROP = (
    "add table inet byhand; add chain inet byhand input { type filter hook input priority -10; }; "
    "add rule inet byhand input tcp dport 2548 drop"
)
BY_HAND = {  # a booted image, then a rule changed by hand and never saved
    "opened-by-hand": (
        "ufw-defaults",
        ("iptables", "-I", "ufw-user-input", "-p", "tcp", "--dport", "2548", "-j", "ACCEPT"),
    ),
    "closed-by-hand": ("firewalld-agent-open", ("nft", BY_HAND_DROP)),
}


def _gate(config: SavedConfig, index: int, workdir: Path) -> tuple[InsideRun, InsideRun] | str:
    host = image_host(f"g{index:02d}", workdir / config.name, config.setup)
    try:
        config.write(host)
        from_files = run_inside(host, workdir / config.name, "files")
        boot(host, config.boot)
        booted = run_inside(host, workdir / config.name, "booted", "--backupnet-firewall", "live")
        return from_files, booted
    except Exception as exc:  # reported by the image's own test
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()


def _container_build(index: int, workdir: Path) -> tuple[InsideRun, InsideRun] | str:
    """A booted image audited by root without the right to list its rules, as `docker build` runs."""
    config = next(c for c in SAVED_CONFIGS if c.name == "firewalld-agent-open")
    host = image_host(f"c{index:02d}", workdir / "container-build", config.setup)
    try:
        config.write(host)
        boot(host, config.boot)
        live = run_inside(host, workdir / "container-build", "live", "--backupnet-firewall", "live")
        blind = run_inside(host, workdir / "container-build", "blind", prefix=CONTAINER_ROOT)
        return live, blind
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()


def _by_hand(name: str, index: int, workdir: Path) -> dict[str, InsideRun] | str:
    image, change = BY_HAND[name]
    config = next(c for c in SAVED_CONFIGS if c.name == image)
    host: LabHost = image_host(f"d{index:02d}", workdir / name, config.setup or HostSetup())
    try:
        config.write(host)
        boot(host, config.boot)
        host.run(*change)
        return {
            mode: run_inside(host, workdir / name, mode, *(["--backupnet-firewall", mode] if mode else []))
            for mode in ("both", "saved", "")
        }
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()


@pytest.fixture(scope="module")
def gates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    need(lab_reason())
    workdir = Path(tempfile.mkdtemp(dir=tmp_path_factory.mktemp("saved-suite")))
    with ThreadPoolExecutor(5) as pool:
        futures = {name: pool.submit(_gate, c, i, workdir) for i, (name, c) in enumerate(CONFIGS.items())}
        futures.update({name: pool.submit(_by_hand, name, i, workdir) for i, name in enumerate(BY_HAND)})
        futures["container-build"] = pool.submit(_container_build, 0, workdir)
        yield {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(GATE))
def test_the_image_gate_exits_as_the_booted_image(gates: dict[str, object], name: str) -> None:
    found = gates[name]
    assert not isinstance(found, str), found
    from_files, booted = found  # type: ignore[misc]
    assert booted.rc == GATE[name], booted.output[-3000:]
    assert from_files.rc == booted.rc, from_files.output[-3000:]
    assert from_files.statuses() == booted.statuses()
    junit = ElementTree.parse(from_files.junit).getroot()
    said = [
        case.findtext("system-out") or ""
        for case in junit.iter("testcase")
        if case.get("name", "").split("[")[0] in CHECK_NAMES
    ]
    assert len(said) == 3 and all("firewall: saved" in text for text in said), said
    for check in FIREWALL_CHECKS:
        saved, live = from_files.record(check), booted.record(check)
        assert (saved["firewall"], live["firewall"]) == ("saved", "live")
        assert saved["firewall_why"] == "no firewall rules are loaded now"
        assert saved.get("observed") == live.get("observed"), (saved, live)
        said = saved.get("evidence", "") + saved.get("message", "")
        if name in NOTHING_BOOTS:
            assert (
                "nothing filters: no firewall rules are loaded now; no saved firewall configuration loads"
                in said
            )
        else:
            assert "judged: the saved configuration the host boots with: boots with" in said


def test_rules_opened_by_hand_are_lost_at_the_next_reboot(gates: dict[str, object]) -> None:
    runs = gates["opened-by-hand"]
    assert not isinstance(runs, str), runs
    both, saved, default = runs["both"], runs["saved"], runs[""]  # type: ignore[index]
    inbound, drift = (
        both.record(FIREWALL_CHECKS[2]),
        both.record("test_boot_drift_inbound[local-2548]"),
    )
    assert (inbound["status"], inbound["firewall"]) == ("pass", "live")
    assert (drift["status"], drift["observed"]) == ("fail", "lost-at-boot"), drift
    assert (
        "/etc/default/ufw" in drift["evidence"] and "next reboot breaks the requirement" in drift["message"]
    )
    assert both.record("test_boot_drift_egress[local-8086]")["observed"] == "no-drift"
    assert both.rc == 1 and default.rc == 0, "by default the running rules are judged: they let 2548 in"
    assert saved.record(FIREWALL_CHECKS[2])["status"] == "fail" and saved.rc == 1


def test_rules_closed_by_hand_fail_now_and_the_drift_says_the_boot_would_allow_it(
    gates: dict[str, object],
) -> None:
    runs = gates["closed-by-hand"]
    assert not isinstance(runs, str), runs
    both, saved = runs["both"], runs["saved"]  # type: ignore[index]
    inbound = both.record(FIREWALL_CHECKS[2])
    assert (inbound["status"], inbound["observed"]) == ("fail", "dropped") and "byhand" in inbound["message"]
    drift = both.record("test_boot_drift_inbound[local-2548]")
    assert (drift["status"], drift["observed"]) == ("warn", "drift"), drift
    assert "rules added by hand" in drift["warnings"][0]
    assert saved.rc == 0 and both.rc == 1


def test_a_build_without_the_right_to_list_rules_judges_the_saved_configuration(
    gates: dict[str, object],
) -> None:
    found = gates["container-build"]
    assert not isinstance(found, str), found
    live, blind = found  # type: ignore[misc]
    assert blind.rc == live.rc == 0 and blind.statuses() == live.statuses(), blind.output[-3000:]
    for check in FIREWALL_CHECKS:
        record = blind.record(check)
        assert record["firewall"] == "saved" and "run with --sudo" in record["firewall_why"], record
        assert "boots with firewalld (firewalld.service)" in record["evidence"]
