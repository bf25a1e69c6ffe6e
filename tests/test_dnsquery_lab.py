"""Runner-side DNS against real servers on the lab network: A and AAAA are asked independently.

198.18.0.1 and .2 are dnsmasq (the second lacks amp06); 198.18.0.3 answers A and refuses AAAA
(tests/lab/dnsserver.py), as forwarders do; nothing answers DNS on 198.18.0.1 port 5353.
"""

from __future__ import annotations

from pathlib import Path

from pytest_backupnet.dnsquery import query_addresses
from tests.lab.network import DNS_PARTIAL, DNS_PRIMARY, DNS_REFUSES_AAAA, DOMAIN, Lab
from tests.lab.suite_run import run_suite

AMP01 = f"amp01.{DOMAIN}"
AMP06 = f"amp06.{DOMAIN}"


def test_a_server_that_refuses_aaaa_still_resolves(lab: Lab) -> None:
    resolution = query_addresses(AMP01, DNS_REFUSES_AAAA, 1)
    assert (resolution.status, resolution.addresses) == ("ok", ["198.19.2.11"])
    assert resolution.notes() == ["AAAA: REFUSED"]


def test_no_aaaa_record_is_an_answer_not_a_note(lab: Lab) -> None:
    resolution = query_addresses(AMP01, DNS_PRIMARY, 1)
    assert (resolution.status, resolution.addresses, resolution.notes()) == ("ok", ["198.19.2.11"], [])
    assert resolution.describe() == f"{DNS_PRIMARY} answers A: 198.19.2.11; AAAA: NOERROR, no AAAA record"


def test_unresolved_names_each_answer_and_the_server(lab: Lab) -> None:
    missing = query_addresses(AMP06, DNS_PARTIAL, 1)
    assert missing.status == "nxdomain"
    assert missing.describe() == f"{DNS_PARTIAL} answers A: NXDOMAIN; AAAA: NXDOMAIN"
    failing = query_addresses(AMP06, DNS_REFUSES_AAAA, 1)
    assert failing.status == "dns-error"
    assert failing.describe() == f"{DNS_REFUSES_AAAA} answers A: SERVFAIL; AAAA: REFUSED"


def test_a_silent_server_is_a_timeout_for_each_type(lab: Lab) -> None:
    silent = query_addresses(AMP01, f"{DNS_PRIMARY}:5353", 0.5)
    assert silent.status == "dns-timeout"
    assert silent.describe() == f"{DNS_PRIMARY}:5353 answers A: timeout after 0.5s; AAAA: timeout after 0.5s"


def test_suite_resolves_with_a_server_that_refuses_aaaa(lab: Lab, tmp_path: Path) -> None:
    """The checks as a user runs them: the refused AAAA is in the evidence, never a failure."""
    run = run_suite(
        tmp_path,
        [*lab.pytest_args(["good"]), "--dns-server", DNS_REFUSES_AAAA, "--backupnet-timeout", "1",
         "-k", "test_dns_from_runner"],
    )  # fmt: skip
    records = [r for r in run.records if r["check"] == "test_dns_from_runner"]
    assert len(records) == 10
    resolved = [r for r in records if r["endpoint"] != AMP06]
    assert {r["outcome"] for r in resolved} == {"pass"}, [
        r["message"] for r in resolved if r["outcome"] != "pass"
    ]
    assert all(f"(by {DNS_REFUSES_AAAA}; AAAA: REFUSED)" in r["evidence"] for r in resolved)
    missing = run.record("test_dns_from_runner", "runner", endpoint=AMP06)
    assert (missing["outcome"], missing["observed"]) == ("fail", "unresolved")
    assert f"{DNS_REFUSES_AAAA} answers A: SERVFAIL; AAAA: REFUSED" in missing["message"]
