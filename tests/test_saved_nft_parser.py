"""The nftables script parser on its own (no nft needed): tokens, includes, defines, refusals, labels."""

from __future__ import annotations

import pytest

from pytest_backupnet.firewall.saved.files import HostFiles
from pytest_backupnet.firewall.saved.nft_flatten import flatten
from pytest_backupnet.firewall.saved.nft_lexer import tokenize
from pytest_backupnet.firewall.saved.nft_rules import Context
from pytest_backupnet.firewall.saved.nft_ruleset import state_chains
from pytest_backupnet.firewall.saved.nft_script import ScriptError, clean_sets, load_script


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("ip6 saddr fe80::1/64", ["ip6", "saddr", "fe80::1", "/", "64"]),
        ("{ fe80::1 : accept, ::ffff:1.2.3.4 }", ["{", "fe80::1", ":", "accept", ",", "::ffff:1.2.3.4", "}"]),
        ("dnat to [fe80::2]:80", ["dnat", "to", "fe80::2", ":", "80"]),
        ("10.0.0.1-10.0.0.9 1024-65535", ["10.0.0.1", "-", "10.0.0.9", "1024", "-", "65535"]),
        ("ether saddr 00:11:22:33:44:55", ["ether", "saddr", "00:11:22:33:44:55"]),
        ('iifname "eth*" # comment', ["iifname", "eth*"]),
        ("timeout 1h30m 0x10 010", ["timeout", "1h30m", "0x10", "010"]),
        ("tcp dport \\\n 22", ["tcp", "dport", "22"]),
        ("ct state established,related", ["ct", "state", "established", ",", "related"]),
    ],
)
def test_tokens_are_nfts(text: str, tokens: list[str]) -> None:
    assert [t.value for t in tokenize(text, "x") if t.kind != "newline"] == tokens


def test_octal_numbers() -> None:
    assert [t.number for t in tokenize("010 0x10 10", "x") if t.kind == "number"] == [8, 16, 10]


def _load(files: dict[str, str], path: str = "/etc/nftables.conf") -> tuple[object, dict[str, list[str]]]:
    loaded = load_script(HostFiles.of(files), path, Context())
    clean_sets(loaded.state)
    chains, _base, _ = state_chains(loaded.state)
    return loaded, {ident: [r.label for r in chain.rules] for ident, chain in chains.items()}


MAIN = """\
flush ruleset
define agent = 2548
table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        include "/etc/nftables.d/*.nft"
        tcp dport $agent accept
    }
}
"""


def test_includes_are_read_in_glob_order_and_labelled_with_their_own_file() -> None:
    files = {
        "/etc/nftables.conf": MAIN,
        "/etc/nftables.d/b.nft": "tcp dport 22 accept\n",
        "/etc/nftables.d/a.nft": "ct state established,related accept\n",
    }
    loaded, labels = _load(files)
    assert labels["nft inet filter input"] == [
        '/etc/nftables.d/a.nft:1 "ct state established,related accept" (inet filter input)',
        '/etc/nftables.d/b.nft:1 "tcp dport 22 accept" (inet filter input)',
        '/etc/nftables.conf:7 "tcp dport $agent accept" (inet filter input)',
    ]
    assert loaded.files == ["/etc/nftables.conf", "/etc/nftables.d/a.nft", "/etc/nftables.d/b.nft"]  # type: ignore[attr-defined]
    assert loaded.flushes_all  # type: ignore[attr-defined]


def test_an_unmatched_glob_is_nothing_a_missing_file_is_a_reason() -> None:
    _load({"/etc/nftables.conf": MAIN})
    with pytest.raises(ScriptError, match=r"include /etc/extra\.nft not read"):
        _load({"/etc/nftables.conf": 'include "/etc/extra.nft"\n'})
    with pytest.raises(ScriptError, match=r"include extra\.nft not read"):
        _load({"/etc/nftables.conf": 'include "extra.nft"\n'})  # looked up in /etc, the include path
    _, labels = _load({"/etc/nftables.conf": 'include "extra.nft"\n', "/etc/extra.nft": "table ip t {\n}\n"})
    assert labels == {}


def test_flattened_includes_map_back_to_their_lines() -> None:
    files = HostFiles.of({"/etc/nftables.conf": MAIN, "/etc/nftables.d/a.nft": "\n\nbad line here\n"})
    flat = flatten(files, "/etc/nftables.conf")
    line = flat.text.splitlines().index("bad line here") + 1
    assert flat.where(line) == "/etc/nftables.d/a.nft:3" and flat.files == (
        "/etc/nftables.conf",
        "/etc/nftables.d/a.nft",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("table inet t {\n chain c { accept }\n}\n", "expects a newline or `;`"),
        ("table inet t {\n chain a { jump b; }\n}\n", "jump to chain b, which does not exist"),
        ("table inet t {\n chain a { tcp dport $x accept; }\n}\n", r"undefined variable \$x"),
        ("define x = 1\ndefine x = 2\n", "redefinition"),
        ("table ip t {\n chain a { ip saddr example.com accept; }\n}\n", "host name would be resolved"),
        ("table ip t {\n chain a { tcp dport nosuchservice accept; }\n}\n", "unknown service name"),
        ("table ip t {\n chain a { meta skuid nosuchuser accept; }\n}\n", "not known on the host"),
        (
            "table ip t {\n chain a { type filter hook postrouting priority 0; reject; }\n}\n",
            "refuses reject",
        ),
        ("table inet t {\n chain a { udp dport 53 reject with tcp reset; }\n}\n", "tcp reset is refused"),
        ("list ruleset\nreset counters\n", "not evaluated"),
        ("table ip t {\n chain a { }\n}\nadd rule ip t a handle 3 accept\n", "handle"),
    ],
)
def test_what_nft_refuses_is_refused_with_its_line(text: str, reason: str) -> None:
    with pytest.raises(ScriptError, match=reason) as error:
        _load({"/etc/nftables.conf": text})
    assert "/etc/nftables.conf:" in str(error.value)


def test_defines_are_scoped_and_sets_flatten() -> None:
    text = (
        "define nets = { 10.0.0.0/8, 192.168.0.0/16 }\ntable ip t {\n chain c {\n  define port = 22\n"
        "  ip saddr { $nets, 172.16.0.0/12 } tcp dport $port accept\n }\n"
        " chain d {\n  tcp dport $port drop\n }\n}\n"
    )
    with pytest.raises(ScriptError, match=r"undefined variable \$port"):
        _load({"/etc/nftables.conf": text})
    _loaded, labels = _load({"/etc/nftables.conf": text.replace("  tcp dport $port drop\n", "")})
    assert len(labels["nft ip t c"]) == 1


def test_names_resolve_against_the_hosts_own_files() -> None:
    context = Context(services={"backupagent": 2548}, users={"backup": 4242})
    text = "table ip t {\n chain c { meta skuid backup tcp dport backupagent accept; }\n}\n"
    loaded = load_script(HostFiles.of({"/etc/nftables.conf": text}), "/etc/nftables.conf", context)
    (rule,) = loaded.state.tables[("ip", "t")].chains["c"].rules
    assert [s["match"]["right"] for s in rule.expr if "match" in s] == [4242, 2548]


def test_interfaces_by_index_are_noted() -> None:
    text = 'table inet t {\n chain c { iif "eth0" accept; iif lo accept; iifname "eth1" accept; }\n}\n'
    loaded = load_script(HostFiles.of({"/etc/nftables.conf": text}), "/etc/nftables.conf", Context())
    assert loaded.interfaces_needed == {"eth0"}


def test_a_runner_without_the_right_to_load_never_reads_as_a_refused_script() -> None:
    from pytest_backupnet.firewall.saved.nft_runner import _refused

    denied = "/tmp/r.nft:3:9-14: Error: Could not process rule: Operation not permitted\n"
    assert not _refused(3, denied), "the parser decides where the runner may not load the script"
    refused = "/tmp/r.nft:27:9-14: Error: Could not process rule: Operation not supported\n"
    assert _refused(3, refused) and not _refused(4, refused)
    assert not _refused(3, "unshare: unshare failed: Operation not permitted\n")
