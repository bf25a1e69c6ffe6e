"""BN-R1: the agent names its servers by FQDN: no IP literal in its configuration, no /etc/hosts pin."""

from __future__ import annotations

from pytest_backupnet.configscan import mentioned_fqdns, scan_config_text, scan_hosts_file
from pytest_backupnet.controls import control
from pytest_backupnet.probe import FileContent
from pytest_backupnet.profile import Profile
from pytest_backupnet.verdict import Verdict, listing


@control(
    "BN-R1.config-fqdn-only",
    requirements=["BN-R1"],
    direction="outbound",
    cases="host",
    title="The agent configuration names servers by FQDN, never by IP address",
    rationale="The services' addresses change; an agent registered by IP address loses its portal "
    "and Directors when they move.",
)
def test_agent_config_no_ip_literal(
    agent_config: list[FileContent], backupnet_profile: Profile, verdict: Verdict
) -> None:
    files = agent_config
    literals = [hit for f in files for hit in scan_config_text(f.path, f.text)]
    registered = mentioned_fqdns((f.text for f in files), backupnet_profile.fqdns)
    if not registered:
        verdict.warn(f"no endpoint of profile {backupnet_profile.name} appears in {len(files)} file(s)")
    if literals:
        verdict.observe("ip-literal", listing(literals))
        verdict.fail(
            "observed ip-literal: the agent configuration names a server by IP address: "
            + listing(literals, 3)
            + "; re-register the agent with the FQDN"
        )
    verdict.observe("fqdn-only", f"{len(files)} file(s); servers: {', '.join(registered) or 'none named'}")


@control(
    "BN-R1.hosts-file-no-pin",
    requirements=["BN-R1"],
    direction="outbound",
    cases="host",
    title="/etc/hosts does not pin an endpoint name to an address",
    rationale="A pinned name defeats registration by FQDN just as an IP address in the configuration does.",
)
def test_hosts_file_no_pin(hosts_file: str, backupnet_profile: Profile, verdict: Verdict) -> None:
    pins = scan_hosts_file(hosts_file, backupnet_profile.fqdns)
    if pins:
        verdict.observe("hosts-pin", listing(pins))
        verdict.fail(
            "observed hosts-pin: /etc/hosts hard-codes an endpoint address, which defeats FQDN "
            "registration: " + listing(pins, 3)
        )
    verdict.observe("no-pin", "/etc/hosts names no endpoint")
