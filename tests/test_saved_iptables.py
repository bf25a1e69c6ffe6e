"""iptables-restore replayed (iptables-services, netfilter-persistent) and ufw's boot, from files alone."""

from __future__ import annotations

import pytest

from pytest_backupnet.firewall.model import Jump, Verdict
from pytest_backupnet.firewall.saved.files import HostFiles
from pytest_backupnet.firewall.saved.state import BootState
from pytest_backupnet.firewall.saved.ufw import load, ufw_boot
from pytest_backupnet.firewall.saved.xtables import XTables, explicit_modules, to_chains

RULES = (
    "*filter\n:INPUT DROP [0:0]\n:AGENT - [0:0]\n-A INPUT -j AGENT\n"
    "-A AGENT -p tcp --dport 2548 -j ACCEPT\nCOMMIT\n"
)


def _rules(state: XTables, chain: str) -> list[str]:
    return [r.text for r in state.tables["filter"][chain].rules]


def test_restore_replaces_the_tables_it_names() -> None:
    state = XTables(4)
    assert state.restore(RULES, "/etc/iptables/rules.v4", noflush=False)
    assert state.restore(
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.0/8 -j DROP\nCOMMIT\n", "second", False
    )
    assert "AGENT" not in state.tables["filter"] and _rules(state, "INPUT") == ["-s 10.0.0.0/8 -j DROP"]
    assert state.tables["filter"]["INPUT"].policy == "ACCEPT"


def test_noflush_appends_and_flushes_a_redeclared_user_chain() -> None:
    state = XTables(4)
    state.restore(RULES, "first", noflush=False)
    state.restore(
        "*filter\n:AGENT - [0:0]\n-A AGENT -j DROP\n-A INPUT -j DROP\nCOMMIT\n", "second", noflush=True
    )
    assert _rules(state, "AGENT") == ["-j DROP"] and _rules(state, "INPUT") == ["-j AGENT", "-j DROP"]
    assert state.tables["filter"]["INPUT"].policy == "DROP"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("*filter\n-A NOPE -j DROP\nCOMMIT\n", "chain 'NOPE' does not exist"),
        ("*frobnicate\nCOMMIT\n", "unknown table"),
        ("-A INPUT -j DROP\n", "outside a table"),
        ("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", "bad policy"),
    ],
)
def test_restore_refuses_what_iptables_restore_refuses(text: str, problem: str) -> None:
    state = XTables(4)
    state.restore(RULES, "first", noflush=False)
    assert not state.restore(text, "broken", noflush=False) and problem in state.problems[-1]
    assert _rules(state, "AGENT") == ["-p tcp --dport 2548 -j ACCEPT"], "a refused file changes nothing"


def test_commands_insert_delete_and_set_policies() -> None:
    state = XTables(4)
    state.restore(RULES, "first", noflush=False)
    for line in (
        "-I INPUT 1 -i lo -j ACCEPT",
        "-D AGENT -p tcp --dport 2548 -j ACCEPT",
        "-P INPUT ACCEPT",
        "-N EXTRA",
        "-t nat -P OUTPUT ACCEPT",
    ):
        assert state.command(line, "script"), state.problems
    assert _rules(state, "INPUT") == ["-i lo -j ACCEPT", "-j AGENT"] and not _rules(state, "AGENT")
    assert state.tables["filter"]["INPUT"].policy == "ACCEPT" and "EXTRA" in state.tables["filter"]


def test_rules_keep_their_file_and_line() -> None:
    state = XTables(4)
    state.restore(RULES, "/etc/iptables/rules.v4", noflush=False)
    found = to_chains(state, "netfilter-persistent", "iptables")
    agent = found.chains["saved iptables ip filter AGENT"].rules[0]
    assert agent.label.startswith('/etc/iptables/rules.v4:5 "-A AGENT -p tcp --dport 2548')
    assert isinstance(agent.steps[-1], Verdict) and not found.unreadable
    (base,) = [b for b in found.base if b.hook == "input"]
    assert (base.policy, base.source) == ("drop", "netfilter-persistent") and "rules.v4:2" in base.label
    jump = found.chains["saved iptables ip filter INPUT"].rules[0].steps[-1]
    assert jump == Jump("saved iptables ip filter AGENT")


@pytest.mark.parametrize(
    ("written", "saved"),
    [
        ("-p tcp --dport 22 -j ACCEPT", "-p tcp -m tcp --dport 22 -j ACCEPT"),
        ("-p udp -m udp --dport 53 -j ACCEPT", "-p udp -m udp --dport 53 -j ACCEPT"),
        ("-p icmp --icmp-type echo-request -j ACCEPT", "-p icmp -m icmp --icmp-type echo-request -j ACCEPT"),
        ("-p tcp -m multiport --dports 80,443 -j ACCEPT", "-p tcp -m multiport --dports 80,443 -j ACCEPT"),
    ],
)
def test_protocol_matches_iptables_loads_by_itself(written: str, saved: str) -> None:
    assert explicit_modules(written) == saved


UFW_DEFAULTS = 'IPV6=no\nDEFAULT_INPUT_POLICY="REJECT"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\nMANAGE_BUILTINS=no\n'
BEFORE = "*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -i lo -j ACCEPT\nCOMMIT\n"
USER = "*filter\n:ufw-user-input - [0:0]\n-A ufw-user-input -p tcp --dport 2548 -j ACCEPT\nCOMMIT\n"


def _ufw(enabled: str, **extra: str) -> dict[str, str]:
    return {
        "/etc/default/ufw": UFW_DEFAULTS,
        "/etc/ufw/ufw.conf": f"ENABLED={enabled}\n",
        "/etc/ufw/before.rules": BEFORE,
        "/etc/ufw/after.rules": "*filter\nCOMMIT\n",
        "/etc/ufw/user.rules": USER,
        **extra,
    }


def test_ufw_boots_only_when_enabled() -> None:
    disabled = ufw_boot(HostFiles.of(_ufw("no")))
    assert not disabled.enabled and "ENABLED=no (/etc/ufw/ufw.conf:1)" in disabled.why
    assert ufw_boot(HostFiles.of(_ufw("yes"))).enabled


def test_ufw_init_builds_its_skeleton_and_sets_the_policies_last() -> None:
    files = HostFiles.of(_ufw("yes"))
    boot, state = ufw_boot(files), BootState()
    load(boot, files, state.iptables(4, "ufw"), state.iptables(6, "ufw"))
    assert not boot.problems, boot.problems
    v4 = state.xtables[4].tables["filter"]
    assert _rules(state.xtables[4], "INPUT") == [
        f"-j ufw-{p}-input" for p in ("before-logging", "before", "after", "after-logging", "reject", "track")
    ]
    assert v4["INPUT"].policy == "DROP" and _rules(state.xtables[4], "ufw-reject-input") == ["-j REJECT"]
    assert _rules(state.xtables[4], "ufw-before-input") == ["-i lo -j ACCEPT", "-j ufw-user-input"]
    assert _rules(state.xtables[4], "ufw-track-output")[0].endswith("--ctstate NEW -j ACCEPT")
    v6 = state.xtables[6].tables["filter"]  # IPV6=no: ufw drops IPv6 but for loopback
    assert v6["INPUT"].policy == "DROP" and _rules(state.xtables[6], "INPUT") == ["-i lo -j ACCEPT"]


def test_ufw_with_a_start_script_cannot_be_evaluated() -> None:
    script = '#!/bin/sh\ncase "$1" in\nstart)\n    iptables -I INPUT -j DROP\n    ;;\nesac\n'
    assert ufw_boot(HostFiles.of(_ufw("yes", **{"/etc/ufw/before.init": script}))).problems
