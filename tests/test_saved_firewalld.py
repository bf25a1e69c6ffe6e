"""firewalld's saved configuration read as its daemon reads it, and the table its model builds."""

from __future__ import annotations

from pytest_backupnet.firewall.saved.files import HostFiles
from pytest_backupnet.firewall.saved.firewalld_config import read_config
from pytest_backupnet.firewall.saved.firewalld_rules import generate
from pytest_backupnet.firewall.saved.nft_ruleset import state_chains

LIB = "/usr/lib/firewalld"
ZONE = '<?xml version="1.0" encoding="utf-8"?>\n<zone{target}>\n  <short>{name}</short>\n{body}</zone>\n'
PACKAGE = {
    f"{LIB}/zones/public.xml": ZONE.format(
        target="", name="public", body='  <service name="ssh"/>\n  <forward/>\n'
    ),
    f"{LIB}/zones/drop.xml": ZONE.format(target=' target="DROP"', name="drop", body="  <forward/>\n"),
    f"{LIB}/zones/block.xml": ZONE.format(target=' target="%%REJECT%%"', name="block", body="  <forward/>\n"),
    f"{LIB}/zones/trusted.xml": ZONE.format(target=' target="ACCEPT"', name="trusted", body="  <forward/>\n"),
    f"{LIB}/services/ssh.xml": '<service>\n  <port protocol="tcp" port="22"/>\n</service>\n',
    "/etc/firewalld/firewalld.conf": "DefaultZone=public\nFirewallBackend=nftables\nIPv6_rpfilter=no\n",
}


def _zone(name: str, body: str, target: str = "") -> dict[str, str]:
    return {f"/etc/firewalld/zones/{name}.xml": ZONE.format(target=target, name=name, body=body)}


def test_etc_replaces_the_packaged_file_and_ports_coalesce() -> None:
    body = '  <port protocol="tcp" port="2548"/>\n  <port protocol="tcp" port="2549-2550"/>\n  <forward/>\n'
    config = read_config(HostFiles.of({**PACKAGE, **_zone("public", body)}))
    public = config.zones["public"]
    assert public.path == "/etc/firewalld/zones/public.xml" and public.services == []
    assert public.ports == [("2548-2550", "tcp")] and not config.problems


def test_what_firewalld_would_skip_is_a_reason() -> None:
    broken = {
        "/etc/firewalld/zones/bad.xml": "<zone><port",
        "/etc/firewalld/zones/evil.xml": '<!DOCTYPE z [<!ENTITY x "y">]><zone/>',
        "/etc/firewalld/direct.xml": '<direct><rule ipv="ipv4" table="filter" chain="INPUT" priority="0">'
        "-j DROP</rule></direct>",
    }
    problems = " | ".join(read_config(HostFiles.of({**PACKAGE, **broken})).problems)
    assert "bad.xml: not valid XML" in problems and "evil.xml: a DOCTYPE" in problems
    assert "direct rules" in problems


def test_networkmanager_binds_interfaces_to_zones() -> None:
    files = {
        **PACKAGE,
        "/etc/NetworkManager/system-connections/lan.nmconnection": (
            "[connection]\nid=lan\ninterface-name=eth1\nzone=drop\n"
        ),
        "/etc/sysconfig/network-scripts/ifcfg-wan": "DEVICE=eth2\nZONE=block\n",
        "/etc/NetworkManager/system-connections/any.nmconnection": "[connection]\nzone=trusted\n",
    }
    config = read_config(HostFiles.of(files))
    assert [(i, z) for i, z, _ in config.nm_bindings] == [("eth1", "drop"), ("eth2", "block")]
    assert any("names no interface" in p for p in config.problems)


def _labels(files: dict[str, str]) -> dict[str, list[str]]:
    chains, _, _ = state_chains(generate(read_config(HostFiles.of(files))))
    return {ident.split()[-1]: [r.label for r in chain.rules] for ident, chain in chains.items()}


def test_zone_dispatch_goes_by_source_then_interface_then_the_default_zone() -> None:
    files = {
        **PACKAGE,
        **_zone("trusted", '  <source address="198.19.10.0/24"/>\n  <forward/>\n', ' target="ACCEPT"'),
        **_zone(
            "drop", '  <source address="198.19.0.0/16"/>\n  <interface name="eth1"/>\n', ' target="DROP"'
        ),
    }
    dispatch = _labels(files)["filter_INPUT_ZONES"]
    assert [label.split('"')[1] for label in dispatch] == [
        "source 198.19.0.0/16 -> zone drop",
        "source 198.19.10.0/24 -> zone trusted",
        "interface eth1 -> zone drop",
        "every other interface -> default zone public",
    ]
    assert dispatch[-1].startswith("/etc/firewalld/firewalld.conf:1 DefaultZone=public")


def test_the_zone_target_is_the_evidence_of_what_no_port_opens() -> None:
    zone = _labels(PACKAGE)["filter_IN_public"]
    assert zone[-1].startswith(
        f'{LIB}/zones/public.xml: zone public "target default: rejects what no service'
    )
    allow = _labels(PACKAGE)["filter_IN_public_allow"]
    assert allow == [
        f'{LIB}/zones/public.xml: zone public "service ssh ({LIB}/services/ssh.xml)" '
        "(inet firewalld filter_IN_public_allow)"
    ]


def test_rich_rules_go_by_priority_and_action() -> None:
    rules = (
        '<rule priority="-5" family="ipv4"><source address="198.19.9.0/24"/><drop/></rule>\n'
        '<rule priority="-10" family="ipv4"><source address="198.19.8.0/24"/><accept/></rule>\n'
        '<rule family="ipv4"><source address="198.19.5.0/24"/><port port="2548" protocol="tcp"/><reject/>'
        "</rule>\n<forward/>\n"
    )
    labels = _labels({**PACKAGE, **_zone("public", rules)})
    assert [label.split(" source ")[1][:20] for label in labels["filter_IN_public_pre"]] == [
        'address="198.19.8.0/',
        'address="198.19.9.0/',
    ]
    assert "198.19.5.0/24" in labels["filter_IN_public_deny"][0]


def test_outbound_policies_are_dispatched_from_output() -> None:
    policy = (
        '<policy target="REJECT"><ingress-zone name="HOST"/><egress-zone name="ANY"/>'
        '<rule family="ipv4"><destination address="198.19.0.0/18"/><port port="8086-8087" protocol="tcp"/>'
        "<accept/></rule></policy>"
    )
    labels = _labels({**PACKAGE, "/etc/firewalld/policies/egress.xml": policy})
    assert labels["filter_OUTPUT_POLICIES_pre"][0].startswith(
        "/etc/firewalld/policies/egress.xml: policy egress"
    )
    assert labels["filter_OUT_policy_egress"][-1].split('"')[1] == "target REJECT: rejects the rest"


def test_an_unreadable_networkmanager_profile_is_a_reason() -> None:
    files = {**PACKAGE, "/etc/NetworkManager/system-connections/lan.nmconnection": None}
    assert any("could not be read" in p for p in read_config(HostFiles.of(files)).problems)
