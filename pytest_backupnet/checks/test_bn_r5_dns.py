"""BN-R5: each endpoint name resolves, to an address inside the allowed egress subnets."""

from __future__ import annotations

import ipaddress

from pytest_backupnet.cases import Case
from pytest_backupnet.controls import control
from pytest_backupnet.dnsquery import RunnerResolution
from pytest_backupnet.probe import Resolution
from pytest_backupnet.profile import Profile
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
        verdict.observe("outside-egress", f"{fqdn} -> {', '.join(addresses)} ({via})")
        verdict.fail(
            f"observed outside-egress: {fqdn} resolves {via} to {', '.join(outside)}, outside the "
            f"allowed egress subnets {', '.join(str(n) for n in allowed)}"
        )
    verdict.observe("resolved", f"{fqdn} -> {', '.join(addresses)} ({via})")


@control(
    "BN-R5.host-dns",
    requirements=["BN-R5"],
    direction="outbound",
    cases="endpoint",
    title="The host resolves each endpoint name into the allowed subnets",
    rationale="The agent connects to what the host's own resolver answers; an answer outside the "
    "subnets the firewall allows cannot be reached.",
)
def test_dns_resolution(
    case: Case,
    resolution: Resolution | None,
    hosts_file_names: set[str],
    backupnet_profile: Profile,
    verdict: Verdict,
) -> None:
    assert case.endpoint
    if resolution is None or resolution.status != "ok":
        status = resolution.status if resolution else "dns-timeout"
        detail = resolution.detail if resolution else "no answer from the resolver in time"
        verdict.observe("unresolved", f"{case.endpoint}: {status} ({detail})")
        verdict.fail(
            f"observed unresolved: the host's resolver gives no address for {case.endpoint} "
            f"({status}: {detail}); likely cause: {DNS_CAUSES.get(status, DNS_CAUSES['dns-error'])}"
        )
    via = "from /etc/hosts" if case.endpoint in hosts_file_names else "by the host's DNS"
    judge_addresses(verdict, backupnet_profile, case.endpoint, list(resolution.addresses), via)


@control(
    "BN-R5.runner-dns",
    requirements=["BN-R5"],
    direction="outbound",
    cases="runner_dns",
    title="The named DNS servers resolve each endpoint name into the allowed subnets",
    rationale="The private network's resolvers, asked from the runner (--dns-server), must give "
    "addresses inside the allowed subnets too.",
)
def test_dns_from_runner(
    case: Case, runner_answer: RunnerResolution, backupnet_profile: Profile, verdict: Verdict
) -> None:
    assert case.endpoint and case.dns_server
    if not runner_answer.addresses:
        verdict.observe("unresolved", f"{case.endpoint}: {runner_answer.describe()}")
        verdict.fail(
            f"observed unresolved: no address for {case.endpoint}: {runner_answer.describe()}; likely "
            f"cause: {DNS_CAUSES.get(runner_answer.status, DNS_CAUSES['dns-error'])}"
        )
    # A record type the server refused or failed is a note, not a failure: the other one resolved.
    via = "; ".join([f"by {case.dns_server}", *runner_answer.notes()])
    judge_addresses(verdict, backupnet_profile, case.endpoint, runner_answer.addresses, via)
