"""firewalld's zone and policy model against firewalld itself: the table the model builds from the
saved XML is, chain by chain and rule by rule, the table the real daemon loads from the same files
(written by firewall-offline-cmd into a lab host's own /etc, then the daemon started there).

Costs about ten seconds: one firewalld start per configuration, four side by side.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_backupnet.firewall.model import Ruleset
from pytest_backupnet.firewall.saved.files import HostFiles
from pytest_backupnet.firewall.saved.firewalld_config import read_config
from pytest_backupnet.firewall.saved.firewalld_rules import generate
from pytest_backupnet.firewall.saved.nft_ruleset import state_chains, state_from_listing
from tests.lab import firewall_tools as tools
from tests.lab.firewall_lab import HostSetup, lab_reason
from tests.lab.require import need
from tests.lab.saved_lab import image_host, saved_files
from tests.lab.saved_nft_corpus import difference

RICH = "--zone=public --add-rich-rule='rule {}'"
MODELS: dict[str, tuple[str, ...]] = {
    "defaults": (),
    "agent-port": ("--zone=public --add-port=2548/tcp",),
    "zones-by-source-and-interface": (
        "--zone=public --add-interface=eth0",
        "--zone=trusted --add-source=198.19.10.0/24",
        "--zone=drop --add-source=198.19.20.0/24",
        "--zone=block --add-source=198.19.30.0/24",
        "--zone=internal --add-source=198.19.40.0/23",
        "--zone=internal --add-port=2548/tcp",
        "--zone=work --add-interface=eth1",
        "--zone=public --add-service=ftp",
        "--zone=public --add-service=tftp",
    ),
    "rich-rules": tuple(
        RICH.format(r)
        for r in (
            "family=ipv4 source address=198.19.5.0/24 port port=2548 protocol=tcp reject",
            "family=ipv4 source address=198.19.6.0/24 drop",
            "family=ipv4 source address=198.19.0.0/17 port port=2548 protocol=tcp accept",
            "family=ipv4 source address=198.19.7.0/24 port port=2548 protocol=tcp "
            "log prefix=agent level=info accept",
            "family=ipv4 source address=198.19.8.0/24 service name=ssh accept",
            "priority=-5 family=ipv4 source address=198.19.9.0/24 drop",
            "priority=5 family=ipv4 source NOT address=198.19.9.0/24 port port=99 protocol=tcp "
            "reject type=tcp-reset",
            "family=ipv4 source address=198.19.3.0/24 service name=ftp accept",
            "priority=-3 family=ipv6 source address=fd00::/8 accept",
            "family=ipv4 destination address=198.18.0.2 port port=2548 protocol=tcp audit limit value=2/m "
            "accept",
        )
    ),
    "policies": (
        "--new-policy=egress",
        "--policy=egress --add-ingress-zone=HOST",
        "--policy=egress --add-egress-zone=ANY",
        "--policy=egress --set-target=REJECT",
        "--policy=egress --add-rich-rule='rule family=ipv4 destination address=198.19.0.0/18 "
        "port port=8086-8087 "
        "protocol=tcp accept'",
        "--policy=egress --add-rich-rule='rule family=ipv4 destination address=198.19.70.0/24 drop'",
        "--new-policy=second",
        "--policy=second --add-ingress-zone=HOST",
        "--policy=second --add-egress-zone=public",
        "--policy=second --set-priority=-20",
        "--policy=second --set-target=DROP",
        "--zone=public --add-interface=eth0",
        "--zone=public --add-port=2548/tcp",
    ),
    "zone-settings": (
        "--new-ipset=bad --type=hash:net",
        "--ipset=bad --add-entry=198.19.50.0/24",
        "--zone=drop --add-source=ipset:bad",
        "--zone=public --set-target=DROP",
        "--zone=public --add-service=http",
        "--zone=public --remove-service-from-zone=ssh",
        "--zone=public --add-icmp-block-inversion",
        "--zone=public --add-protocol=gre",
        "--zone=public --add-source-port=1000-2000/udp",
        "--zone=public --add-icmp-block=echo-request",
        "--zone=public --add-masquerade",
        "--zone=public --add-forward-port=port=80:proto=tcp:toport=8080:toaddr=198.18.0.9",
        "--zone=home --add-interface=eth1",
        "--zone=home --set-target=ACCEPT",
    ),
}
SETTINGS = {  # firewalld.conf changes, made with sed as an image build does
    "log-denied": ("s/^LogDenied=.*/LogDenied=all/", "--zone=public --add-port=2548/tcp"),
    "no-rpfilter-no-rfc3964": (
        "s/^IPv6_rpfilter=.*/IPv6_rpfilter=no/;s/^RFC3964_IPv4=.*/RFC3964_IPv4=no/",
        "",
    ),
}


def _compare(name: str, commands: tuple[str, ...], sed: str, index: int, workdir: Path) -> str:
    host = image_host(f"m{index:02d}", workdir / name, HostSetup(interfaces=("eth0", "eth1")))
    try:
        if sed:
            host.run("sed", "-i", sed, "/etc/firewalld/firewalld.conf")
        for command in commands:
            host.run("firewall-offline-cmd", *tools._split(command))
        model = state_chains(generate(read_config(HostFiles.of(saved_files(host)))))
        tools.firewalld(host)
        listing = host.run("nft", "-j", "list", "table", "inet", "firewalld").stdout
        text = host.run("nft", "-a", "list", "table", "inet", "firewalld").stdout
        live = state_chains(state_from_listing(listing, text, None))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        host.stop()
    if len(live[0]) < 40:
        return f"the live table has only {len(live[0])} chains"
    return difference(Ruleset(model[0], tuple(model[1])), Ruleset(live[0], tuple(live[1]))) or "same"


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    need(lab_reason())
    workdir = Path(tempfile.mkdtemp(dir=tmp_path_factory.mktemp("firewalld-model")))
    cases = {
        **{n: (c, "") for n, c in MODELS.items()},
        **{n: ((c,) if c else (), s) for n, (s, c) in SETTINGS.items()},
    }
    with ThreadPoolExecutor(4) as pool:
        futures = {
            n: pool.submit(_compare, n, c, s, i, workdir) for i, (n, (c, s)) in enumerate(cases.items())
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", [*MODELS, *SETTINGS])
def test_model_builds_the_table_firewalld_builds(compared: dict[str, str], name: str) -> None:
    assert compared[name] == "same", f"{name}: {compared[name]}"
