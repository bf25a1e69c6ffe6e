"""--backupnet-firewall: which firewall the checks judge, what the probe reads for it, and drift."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.check_record import CheckRecord
from pytest_backupnet.controls import all_controls
from pytest_backupnet.firewall import Flow, read_host_firewall
from pytest_backupnet.firewall.assemble import REMEDY
from pytest_backupnet.firewall.saved import (
    SAVED_COMMANDS,
    SAVED_FILE_GLOBS,
    files_from_probe,
    read_saved_firewall,
)
from pytest_backupnet.firewall.saved.drift import DriftSegment
from pytest_backupnet.firewall_findings import report_drift
from pytest_backupnet.firewall_view import boot_firewall, choose_firewall
from pytest_backupnet.needs import Need
from pytest_backupnet.outcome import CheckFailed, NotEvaluated
from pytest_backupnet.planning import _HostPlan, _request
from pytest_backupnet.probe.records import Captured, FileContent
from pytest_backupnet.profile import load_profile
from pytest_backupnet.timeouts import Timeouts
from pytest_backupnet.verdict import Verdict

UNIT = "[Service]\nExecStart=/usr/sbin/netfilter-persistent start\n[Install]\nWantedBy=multi-user.target\n"
RULES_V4 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
SAVED_FILES = {
    "/etc/systemd/system.conf": "",
    "/lib/systemd/system/netfilter-persistent.service": UNIT,
    "/etc/systemd/system/multi-user.target.wants/netfilter-persistent.service": UNIT,
    "/usr/share/netfilter-persistent/plugins.d/15-ip4tables": "#!/bin/sh\n",
    "/etc/iptables/rules.v4": RULES_V4,
}
INBOUND = Flow("inbound", 2548, (ipaddress.ip_network("198.19.0.0/16"),))
NOTHING_LOADED = replace(read_host_firewall({}), unreadable="", tooling=True)
SAVED = read_saved_firewall(SAVED_FILES, runner_nft=False)
LOADED = replace(NOTHING_LOADED, ruleset=SAVED.ruleset)
# What iptables-legacy lists in any network namespace once its module is loaded: empty chains, ACCEPT.
EMPTY = read_host_firewall(
    {
        "iptables-legacy-save": Captured(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
        ),
        "nft-json": Captured('{"nftables": [{"metainfo": {}}]}'),
        "nft-text": Captured(""),
    }
)


def _probe_file(path: str, text: str = "", error: str = "") -> FileContent:
    pattern = next(p for p in SAVED_FILE_GLOBS if p == path) if path in SAVED_FILE_GLOBS else "/etc/x/*"
    return FileContent(pattern, path, text, error)


def test_a_mask_is_read_through_readlink_and_an_unknown_link_stays_unknown() -> None:
    mask = "/etc/systemd/system/ufw.service"
    files = [
        _probe_file(mask, error="not read: under /proc, /sys or /dev"),
        _probe_file("/etc/iptables/rules.v4", RULES_V4),
        FileContent("/opt/BUAgent/*.cfg", "/opt/BUAgent/a.cfg", "secret"),
    ]
    commands = {
        f"saved-link:{mask}": Captured("/dev/null\n"),
        "saved-link:/sbin/init": Captured("../lib/systemd/systemd\n"),
        "saved-link:/etc/alternatives/iptables": Captured(error="exit 1: "),
    }
    found = files_from_probe(files, commands)
    assert found == {
        mask: "",
        f"readlink:{mask}": "/dev/null",
        "/etc/iptables/rules.v4": RULES_V4,
        "readlink:/sbin/init": "../lib/systemd/systemd",
        "readlink:/etc/alternatives/iptables": "",
    }, "only the saved-firewall globs, a mask as systemd reads it, links where they lead"
    no_readlink = {k: Captured(error="not installed") for k in SAVED_COMMANDS}
    assert files_from_probe(files[:1], no_readlink) == {mask: None}
    elsewhere = {f"saved-link:{mask}": Captured("/lib/systemd/system/ufw.service\n")}
    assert files_from_probe(files[:1], elsewhere)[mask] is None


def test_the_saved_configuration_is_judged_where_nothing_is_loaded_or_readable() -> None:
    unreadable = replace(NOTHING_LOADED, unreadable=f"nft: Operation not permitted: {REMEDY}")
    unevaluable = replace(NOTHING_LOADED, unreadable="no tool lists the tables the kernel has (inet x)")
    calls: list[int] = []

    def saved() -> object:
        calls.append(1)
        return SAVED

    chosen = {
        name: choose_firewall(mode, host, saved)  # type: ignore[arg-type]
        for name, mode, host in (
            ("loaded", "auto", LOADED),
            ("empty", "auto", NOTHING_LOADED),
            ("empty-tables", "auto", EMPTY),
            ("unreadable", "auto", unreadable),
            ("unevaluable", "auto", unevaluable),
            ("live", "live", NOTHING_LOADED),
            ("both", "both", unreadable),
            ("saved", "saved", LOADED),
        )
    }
    assert {name: c.source for name, c in chosen.items()} == {
        "loaded": "live",
        "empty": "saved",
        "empty-tables": "saved",
        "unreadable": "saved",
        "unevaluable": "live",
        "live": "live",
        "both": "live",
        "saved": "saved",
    }
    assert EMPTY.ruleset.base and len(calls) == 4, "the saved configuration is read only where it is judged"
    assert chosen["empty"].why == "no firewall rules are loaded now"
    assert "kernel has (inet x)" in chosen["unevaluable"].cannot_read(chosen["unevaluable"].judge(INBOUND))
    assert "Operation not permitted" in chosen["unreadable"].why
    judgement = chosen["empty"].judge(INBOUND)
    (segment,) = judgement.segments
    assert segment.verdict == "drop" and "/etc/iptables/rules.v4:2" in segment.decided_by
    evidence = chosen["empty"].judged_by(judgement)
    assert evidence.startswith("judged: the saved configuration the host boots with: boots with netfilter")
    assert evidence.endswith("(no firewall rules are loaded now)")
    assert chosen["live"].judged_by(chosen["live"].judge(INBOUND)).startswith("nothing filters")
    assert (
        chosen["both"].cannot_read(chosen["both"].judge(INBOUND)).startswith("cannot read the host firewall")
    )


def test_nothing_saved_says_so() -> None:
    nothing = choose_firewall("saved", NOTHING_LOADED, lambda: read_saved_firewall({}, runner_nft=False))
    judgement = nothing.judge(INBOUND)
    assert [s.verdict for s in judgement.segments] == ["accept"]
    assert nothing.judged_by(judgement) == (
        "judged: the saved configuration: no saved firewall configuration: nothing will filter at boot"
    )


def _verdict(control_id: str) -> tuple[Verdict, CheckRecord]:
    declared = next(c for c in all_controls() if c.id == control_id)
    record = CheckRecord(declared, Case("web1", port=2548), "test")
    return Verdict(record), record


def _piece(first: str, last: str, live: str, saved: str) -> DriftSegment:
    return DriftSegment(first, last, live, saved, f"live {live}", f"boot {saved}")


BOOT = boot_firewall(NOTHING_LOADED, SAVED)


def test_a_flow_lost_at_the_next_reboot_fails_the_drift_control() -> None:
    verdict, record = _verdict("BN-R6.inbound-firewall-drift")
    lost = _piece("198.19.0.0", "198.19.255.255", "accept", "drop")
    with pytest.raises(CheckFailed, match=r"observed lost-at-boot: .*next reboot breaks the requirement"):
        report_drift(verdict, [lost], "to the management port 2548", BOOT)
    assert record.observed == "lost-at-boot" and "198.19.0.0/16: running rules accepted" in record.evidence


def test_rules_added_by_hand_warn_and_what_cannot_be_compared_is_not_evaluated() -> None:
    verdict, record = _verdict("BN-R6.inbound-firewall-drift")
    report_drift(verdict, [_piece("198.19.0.0", "198.19.0.255", "drop", "accept")], "in", BOOT)
    assert record.observed == "drift" and "rules added by hand" in record.warnings[0]
    verdict, record = _verdict("BN-R6.inbound-firewall-drift")
    with pytest.raises(NotEvaluated, match="cannot compare"):
        report_drift(verdict, [_piece("198.19.0.0", "198.19.0.255", "accept", "unknown")], "in", BOOT)
    verdict, record = _verdict("BN-R4.egress-firewall-drift")
    wider = [_piece("198.19.9.0", "198.19.9.255", "accept", "reject")]
    report_drift(verdict, [], "to the minimum", BOOT, wider, "to the recommended")
    assert record.observed == "drift" and record.warnings == [
        "the next reboot refuses, or may refuse, new TCP connections to the recommended: "
        "198.19.9.0/24: running rules accepted (live accept); at boot rejected (boot reject)"
    ]
    verdict, record = _verdict("BN-R4.egress-firewall-drift")
    report_drift(verdict, [], "to the minimum", BOOT)
    assert (record.observed, record.warnings) == ("no-drift", [])


def test_the_probe_reads_the_saved_configuration_unless_only_the_running_rules_are_judged() -> None:
    profile = load_profile("commercial", [])
    plan = _HostPlan(needs={Need.FIREWALL, Need.CONFIG})
    for mode in ("auto", "saved", "both", "live"):
        request = _request(plan, profile, Timeouts(), mode)
        reads_saved = set(SAVED_FILE_GLOBS) <= set(request.globs) and set(SAVED_COMMANDS) <= set(
            request.commands
        )
        assert reads_saved is (mode != "live"), mode
        assert set(profile.agent.config_files) <= set(request.globs)
    assert not _request(_HostPlan(needs={Need.LISTEN}), profile, Timeouts(), "auto").globs


def test_drift_controls_apply_with_both_only(pytester: pytest.Pytester) -> None:
    args = ["--profile", "commercial", "--collect-only", "-q", "--hosts", "ssh://web1,ssh://web2"]
    default = pytester.runpytest(*args).stdout.str()
    assert "test_boot_drift_inbound[none]" in default
    both = pytester.runpytest(*args, "--backupnet-firewall", "both").stdout.str()
    assert "test_boot_drift_inbound[web1-2548]" in both
    assert "test_boot_drift_egress[web2-8087]" in both
    wrong = pytester.runpytest_subprocess("--profile", "commercial", "--backupnet-firewall", "running")
    assert wrong.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'running'" in wrong.stderr.str()


def test_nothing_loaded_now_nor_at_boot_reads_as_nothing_filters() -> None:
    nothing = choose_firewall("auto", NOTHING_LOADED, lambda: read_saved_firewall({}, runner_nft=False))
    assert nothing.source == "saved" and nothing.judged_by(nothing.judge(INBOUND)) == (
        "nothing filters: no firewall rules are loaded now; "
        "no saved firewall configuration: nothing will filter at boot"
    )
