"""Profiles: shipped catalogues, extends merging, and every bad input refused with file, line, field."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from pytest_backupnet.profile import ProfileError, is_hostname, load_profile, shipped_profile_dir

SCHEMA = json.loads((shipped_profile_dir().parent / "profile.schema.json").read_text())
MINIMAL = """\
name: site
endpoints:
  - fqdn: portal.example.test
    role: portal
    ports: [8086, 8087]
egress:
  ports: [8086, 8087]
  recommended: [198.19.0.0/16]
  minimum: [198.19.1.0/24]
agent:
  management_port: 2548
  legacy_ports: [808]
  inbound_from: [198.18.0.0/15]
  config_files: [/opt/BUAgent/*.cfg]
"""


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_commercial_is_the_2019_catalogue() -> None:
    profile = load_profile("commercial")
    by_name = {e.fqdn: e for e in profile.endpoints}
    assert by_name["evregister.service.softlayer.com"].ports == (8086, 8087)
    assert by_name["ev-webcc01.service.softlayer.com"].documented_ips == (ipaddress.ip_address("10.0.82.12"),)
    amps = [e for e in profile.endpoints if e.role == "amp_proxy"]
    assert [e.fqdn for e in amps] == [f"evwebamp09{n:02d}.service.softlayer.com" for n in range(1, 9)]
    assert [str(e.documented_ips[0]) for e in amps] == [f"10.2.118.{n}" for n in range(12, 20)]
    assert {e.ports for e in amps} == {(8087,)}
    assert [str(n) for n in profile.egress.recommended] == ["10.0.0.0/8"]
    assert [str(n) for n in profile.egress.minimum] == ["10.0.82.0/24", "10.2.118.0/24"]
    assert (profile.agent.management_port, profile.agent.legacy_ports) == (2548, (808,))
    assert "2019-02-05" in profile.source


def test_usgov_names_its_own_egress_outside_10_8() -> None:
    profile = load_profile("usgov")
    assert [e.fqdn for e in profile.endpoints] == ["webcc.service.usgov.softlayer.com"]
    webcc = ipaddress.ip_address("100.100.6.20")
    assert any(webcc in net for net in profile.egress.allowed)
    assert not any(net == ipaddress.ip_network("10.0.0.0/8") for net in profile.egress.allowed)


def test_current_catalogues() -> None:
    commercial = load_profile("commercial-current")
    fqdns = {e.fqdn: e for e in commercial.endpoints}
    assert fqdns["cloudbackupregister.service.softlayer.com"].ports == (8086,)
    assert fqdns["ibmcloudbackup.service.softlayer.com"].ports == (443,)
    assert "evregister.service.softlayer.com" not in fqdns
    assert str(fqdns["evwebamp0910.service.softlayer.com"].documented_ips[0]) == "10.2.118.21"
    assert [str(n) for n in commercial.egress.minimum] == ["10.200.86.0/24", "10.2.118.0/24"]
    assert 2546 in commercial.egress.ports
    usgov = load_profile("usgov-current")
    assert "cloudbackupregister.service.usgov.softlayer.com" in usgov.fqdns


@pytest.mark.parametrize("name", ["commercial", "usgov", "commercial-current", "usgov-current"])
def test_shipped_profiles_match_the_schema(name: str) -> None:
    data = yaml.safe_load((shipped_profile_dir() / f"{name}.yaml").read_text())
    jsonschema.validate(data, SCHEMA)


def test_extends_merges_endpoints_by_fqdn_and_mappings_by_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "name: my-site\nextends: commercial-current\nendpoints:\n"
        "  - fqdn: vault-dal10.example.com\n    role: vault\n    ports: [2546]\n"
        "  - fqdn: evwebamp0901.service.softlayer.com\n    role: amp_proxy\n    ports: [8087, 8443]\n"
        "agent:\n  management_port: 2600\n",
        "my-site.yaml",
    )
    profile = load_profile("my-site", [tmp_path])
    fqdns = {e.fqdn: e for e in profile.endpoints}
    assert len(profile.endpoints) == 13
    assert fqdns["vault-dal10.example.com"].ports == (2546,)
    assert fqdns["evwebamp0901.service.softlayer.com"].ports == (8087, 8443)
    assert profile.agent.management_port == 2600
    assert profile.agent.legacy_ports == (808,)
    assert profile.egress == load_profile("commercial-current").egress
    assert [s.path.name for s in profile.sources] == ["my-site.yaml", "commercial-current.yaml"]


def test_sha256_identifies_the_merged_content(tmp_path: Path) -> None:
    one = load_profile(str(write(tmp_path, MINIMAL)))
    again = load_profile(str(write(tmp_path, "# a comment\n" + MINIMAL, "copy.yaml")))
    other = load_profile(
        str(write(tmp_path, MINIMAL.replace("8086, 8087]\negress", "8087]\negress"), "o.yaml"))
    )
    assert one.sha256 == again.sha256 != other.sha256


BAD = [
    (
        "ip literal as fqdn",
        ("fqdn: portal.example.test", "fqdn: 10.0.82.12"),
        3,
        "endpoints[0].fqdn",
        "IP literal",
    ),
    (
        "ipv6 literal",
        ("fqdn: portal.example.test", "fqdn: '2001:db8::1'"),
        3,
        "endpoints[0].fqdn",
        "IP literal",
    ),
    (
        "shell in fqdn",
        ("fqdn: portal.example.test", "fqdn: 'x.test;touch /tmp/bn-pwned'"),
        3,
        "endpoints[0].fqdn",
        "not a valid host name",
    ),
    (
        "command substitution",
        ("fqdn: portal.example.test", "fqdn: '$(reboot).example.test'"),
        3,
        "endpoints[0].fqdn",
        "not a valid host name",
    ),
    (
        "single label",
        ("fqdn: portal.example.test", "fqdn: portal"),
        3,
        "endpoints[0].fqdn",
        "valid host name",
    ),
    (
        "port zero",
        ("ports: [8086, 8087]\negress", "ports: [0]\negress"),
        5,
        "endpoints[0].ports[0]",
        "TCP port",
    ),
    (
        "port too high",
        ("management_port: 2548", "management_port: 70000"),
        11,
        "agent.management_port",
        "TCP port",
    ),
    (
        "port as text",
        ("ports: [8086, 8087]\negress", "ports: ['8086']\negress"),
        5,
        "endpoints[0].ports[0]",
        "TCP port",
    ),
    ("bad cidr", ("minimum: [198.19.1.0/24]", "minimum: [198.19.1.0/33]"), 9, "egress.minimum[0]", "CIDR"),
    (
        "host bits set",
        ("recommended: [198.19.0.0/16]", "recommended: [198.19.0.1/16]"),
        8,
        "egress.recommended[0]",
        "CIDR",
    ),
    (
        "unknown key",
        ("    role: portal", "    role: portal\n    weight: 3"),
        5,
        "endpoints[0].weight",
        "unknown field",
    ),
    ("unknown top key", ("name: site", "name: site\nendpiont: []"), 2, "endpiont", "unknown field"),
    (
        "duplicate key",
        ("  management_port: 2548", "  management_port: 2548\n  management_port: 2600"),
        12,
        "",
        "duplicate key",
    ),
    (
        "duplicate endpoint",
        ("egress:", "  - fqdn: PORTAL.example.test\n    ports: [8087]\negress:"),
        6,
        "endpoints[1].fqdn",
        "duplicate endpoint",
    ),
    ("bad role", ("role: portal", "role: mainframe"), 4, "endpoints[0].role", "not one of"),
    (
        "shell in config glob",
        ("/opt/BUAgent/*.cfg]", "'/opt/$(touch /tmp/bn-pwned)/*.cfg']"),
        14,
        "agent.config_files[0]",
        "shell metacharacters",
    ),
    ("relative glob", ("/opt/BUAgent/*.cfg]", "BUAgent/*.cfg]"), 14, "agent.config_files[0]", "absolute"),
    ("not yaml", ("egress:", "egress: [unclosed"), 7, "", "not valid YAML"),
]


@pytest.mark.parametrize(("change", "line", "field", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_file_line_and_field(
    tmp_path: Path, change: tuple[str, str], line: int, field: str, words: str
) -> None:
    assert change[0] in MINIMAL
    path = write(tmp_path, MINIMAL.replace(change[0], change[1], 1))
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    error = caught.value
    assert (error.path, error.line) == (path.resolve(), line), str(error)
    if field:
        assert error.field == field
    assert words in error.message
    assert str(error).startswith(f"{path.resolve()}:{line}: ")
    assert not Path("/tmp/bn-pwned").exists()


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL.replace("name: site", "name: a\nextends: b"), "a.yaml")
    write(tmp_path, MINIMAL.replace("name: site", "name: b\nextends: a"), "b.yaml")
    with pytest.raises(ProfileError, match=r"b\.yaml:2: extends: cycle: a\.yaml -> b\.yaml -> a\.yaml"):
        load_profile("a", [tmp_path])


def test_missing_parent_and_missing_sections(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="extends: no profile named 'nowhere'"):
        load_profile(str(write(tmp_path, "name: x\nextends: nowhere\n", "x.yaml")))
    with pytest.raises(ProfileError, match="missing field 'egress'"):
        load_profile(str(write(tmp_path, "name: y\nendpoints: []\n", "y.yaml")))


def test_empty_endpoint_list_is_a_warning(tmp_path: Path) -> None:
    text = MINIMAL.split("endpoints:")[0] + "endpoints: []\negress:" + MINIMAL.split("egress:")[1]
    profile = load_profile(str(write(tmp_path, text)))
    assert any("assert nothing" in w for w in profile.warnings)


@pytest.mark.parametrize(
    ("name", "valid"),
    [("evwebamp0901.service.softlayer.com", True), ("a-b.example", True), ("-a.example", False),
     ("a..example", False), ("10.0.82.12", False), ("999.1.1.1", False), ("x" * 64 + ".example", False),
     ("example", False), ("a_b.example", False)],
)  # fmt: skip
def test_is_hostname(name: str, valid: bool) -> None:
    assert is_hostname(name) is valid


def test_schema_refuses_what_the_loader_refuses() -> None:
    data = yaml.safe_load(MINIMAL)
    jsonschema.validate(data, SCHEMA)
    for broken in ({"fqdn": "10.0.82.12", "ports": [8087]}, {"fqdn": "a.test", "ports": [0]},
                   {"fqdn": "a.test", "ports": [8087], "extra": 1}):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, "endpoints": [broken]}, SCHEMA)
