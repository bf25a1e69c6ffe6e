"""BN-R5: each endpoint name resolves, to an address inside the allowed egress subnets."""

from __future__ import annotations

import ipaddress

import pytest

from pytest_backupnet.cases import Case
from pytest_backupnet.configscan import hosts_file_names
from pytest_backupnet.dnsquery import query_addresses
from pytest_backupnet.fleet import HostObservation
from pytest_backupnet.profile import Profile
from pytest_backupnet.session import HOSTS_FILE
from pytest_backupnet.verdict import Verdict

DNS_CAUSES = {
    "nxdomain": "the host's DNS does not know the name: these names resolve only on the "
    "private network's resolvers",
    "no-address": "the name exists but has no A or AAAA record",
    "dns-timeout": "the resolver does not answer: a wrong nameserver, or DNS blocked on the way",
    "dns-error": "the resolver failed",
}


def judge_addresses(verdict: Verdict, profile: Profile, fqdn: str, addresses: list[str], via: str) -> None:
    endpoint = next(e for e in profile.endpoints if e.fqdn == fqdn)
    allowed = profile.egress.allowed
    outside = [a for a in addresses if not any(ipaddress.ip_address(a) in net for net in allowed)]
    documented = {str(ip) for ip in endpoint.documented_ips}
    if documented and documented != set(addresses):
        verdict.warn(
            f"drift: {fqdn} resolves {via} to {', '.join(addresses)}; the profile documents "
            f"{', '.join(sorted(documented))} (addresses may change: that is why BN-R1 asks for FQDNs)"
        )
    if outside:
        verdict.observe("outside-egress", f"{fqdn} -> {', '.join(addresses)} ({via})", endpoint=fqdn)
        verdict.fail(
            f"observed outside-egress: {fqdn} resolves {via} to {', '.join(outside)}, outside the "
            f"allowed egress subnets {', '.join(str(n) for n in allowed)}"
        )
    verdict.observe("resolved", f"{fqdn} -> {', '.join(addresses)} ({via})", endpoint=fqdn)


@pytest.mark.usefixtures("host_resolves")
@pytest.mark.backupnet(
    requirement="BN-R5",
    direction="outbound",
    network=True,
    cases="endpoint",
    probe=("resolve", "hosts_file"),
    title="The host resolves each endpoint name into the allowed subnets",
)
def test_dns_resolution(
    case: Case, observation: HostObservation, backupnet_profile: Profile, verdict: Verdict
) -> None:
    assert observation.report is not None and case.endpoint
    resolution = observation.report.resolutions.get(case.endpoint)
    if resolution is None or resolution.status != "ok":
        status = resolution.status if resolution else "dns-timeout"
        detail = resolution.detail if resolution else "no answer from the resolver in time"
        verdict.observe("unresolved", f"{case.endpoint}: {status} ({detail})", endpoint=case.endpoint)
        verdict.fail(
            f"observed unresolved: the host's resolver gives no address for {case.endpoint} "
            f"({status}: {detail}); likely cause: {DNS_CAUSES.get(status, DNS_CAUSES['dns-error'])}"
        )
    hosts_file = observation.report.reads.get(HOSTS_FILE)
    hosts_text = hosts_file.text if hosts_file else ""
    via = "from /etc/hosts" if case.endpoint in hosts_file_names(hosts_text) else "by the host's DNS"
    judge_addresses(verdict, backupnet_profile, case.endpoint, list(resolution.addresses), via)


@pytest.mark.backupnet(
    requirement="BN-R5",
    direction="outbound",
    network=True,
    cases="runner_dns",
    title="The named DNS servers resolve each endpoint name into the allowed subnets",
)
def test_dns_from_runner(
    case: Case, backupnet_profile: Profile, verdict: Verdict, request: pytest.FixtureRequest
) -> None:
    assert case.endpoint and case.dns_server
    timeout = request.config.getoption("backupnet_timeout")
    resolution = query_addresses(case.endpoint, case.dns_server, timeout)
    if not resolution.addresses:
        verdict.observe("unresolved", f"{case.endpoint}: {resolution.describe()}", endpoint=case.endpoint)
        verdict.fail(
            f"observed unresolved: no address for {case.endpoint}: {resolution.describe()}; likely cause: "
            f"{DNS_CAUSES.get(resolution.status, DNS_CAUSES['dns-error'])}"
        )
    # A record type the server refused or failed is a note, not a failure: the other one resolved.
    via = "; ".join([f"by {case.dns_server}", *resolution.notes()])
    judge_addresses(verdict, backupnet_profile, case.endpoint, resolution.addresses, via)
