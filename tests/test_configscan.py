"""The BN-R1 scanner: IP literals where a server address is expected, and /etc/hosts pins."""

from __future__ import annotations

import pytest

from pytest_backupnet.configscan import hosts_file_names, mentioned_fqdns, scan_config_text, scan_hosts_file

FLAGGED = [
    "<agentdata:Server>192.0.2.12</agentdata:Server>",
    "PortalAddress = 10.1.2.3",
    "url=https://10.1.2.3:8086/register",
    "192.0.2.14:8087",
    'Director="fd00::12"',
    '<Server address="192.0.2.1" port="8086"/>',
    "Host=[2001:db8::1]:8087",
    "server = 10.1.2.3 ; old entry",
    '{"amp": "192.0.2.22"}',
]
IGNORED = [
    "<Version>8.6.3.1</Version>",
    "# server=10.1.2.3",
    "; server=10.1.2.3",
    "<!-- <Host>10.1.2.3</Host> -->",
    '"amp": "evwebamp0901.service.softlayer.com"',
    "Bind=0.0.0.0",
    "LocalIP=192.0.2.5",
    "Time=12:30:45",
    "Portal=127.0.0.1",
    "Build=2019.02.05.1",
]


@pytest.mark.parametrize("line", FLAGGED)
def test_flags_server_addresses(line: str) -> None:
    assert len(scan_config_text("buagent.cfg", line)) == 1


@pytest.mark.parametrize("line", IGNORED)
def test_ignores_comments_versions_and_local_addresses(line: str) -> None:
    assert scan_config_text("buagent.cfg", line) == []


def test_evidence_names_file_line_and_value() -> None:
    text = "<a>\n<!-- old:\n<Server>192.0.2.99</Server>\n-->\n<Server>192.0.2.12</Server>\n"
    [hit] = scan_config_text("/opt/BUAgent/buagent.cfg", text)
    assert str(hit) == "/opt/BUAgent/buagent.cfg:5: 192.0.2.12 (Server)"


def test_hosts_pins() -> None:
    text = (
        "127.0.0.1 localhost\n"
        "192.0.2.14 EVWEBAMP0903.service.softlayer.com amp3 # pinned\n"
        "#192.0.2.1 evregister.service.softlayer.com\n"
    )
    pins = scan_hosts_file(text, ["evwebamp0903.service.softlayer.com", "evregister.service.softlayer.com"])
    assert [(p.line, p.address, p.name) for p in pins] == [
        (2, "192.0.2.14", "evwebamp0903.service.softlayer.com")
    ]
    assert "evwebamp0903.service.softlayer.com" in hosts_file_names(text)


def test_mentioned_fqdns_are_whole_names() -> None:
    texts = ["<Portal>evregister.service.softlayer.com</Portal>", "x-evwebamp0901.service.softlayer.com"]
    fqdns = ["evregister.service.softlayer.com", "evwebamp0901.service.softlayer.com"]
    assert mentioned_fqdns(texts, fqdns) == ["evregister.service.softlayer.com"]
