"""The lab's hosts and the faults each is built with; tests/test_lab.py states the verdicts they predict."""

from __future__ import annotations

from tests.lab.network import DNS_PARTIAL, HostSpec, nft_rules
from tests.lab.userland import USERLANDS

LAB_HOSTS = [
    HostSpec("good"),
    HostSpec(
        "fw",
        nft=nft_rules(
            output=[
                "ip daddr 198.19.2.13 tcp dport 8087 drop",
                "ip daddr 198.19.2.14 tcp dport 8087 reject with tcp reset",
            ],
            input_=["tcp dport 2548 drop"],
        ),
    ),
    HostSpec(
        "pinned",
        config=(
            "<agentdata:Configuration>\n"
            "  <agentdata:Portal>198.19.1.1</agentdata:Portal>\n"
            "</agentdata:Configuration>\n"
        ),
        hosts_lines="198.19.2.15 amp05.lab.backupnet.test\n",
    ),
    HostSpec("legacy", agent=("0.0.0.0:808",)),
    HostSpec("loopback", agent=("127.0.0.1:2548",), resolver=DNS_PARTIAL),
    HostSpec("dead", sshd=False),
    HostSpec("dualstack", agent=("[::]:2548",)),
    HostSpec("nopython", without_python=True),
    HostSpec(
        "narrow",
        nft=nft_rules(
            output=[
                "ip daddr { 198.19.1.0/24, 198.19.2.0/24 } tcp dport { 8086, 8087 } accept",
                "tcp dport { 8086, 8087 } drop",
            ]
        ),
    ),
    # A mark no rule sets comes from outside the ruleset: whether 8087 is dropped cannot be known.
    HostSpec("marked", nft=nft_rules(output=["meta mark 0x2a tcp dport 8087 drop"])),
]
AUDITED = [h.name for h in LAB_HOSTS]
# What an attacker puts where a host name or a file name is shown: markup that adds an element
# (id bnpwned) if a report runs it, and sequences that retitle the window and recolour the terminal.
HTML_PAYLOAD = '<img src=x onerror=document.body.insertAdjacentHTML("beforeend","<b id=bnpwned>")>'
TERMINAL_PAYLOAD = "\x1b]2;bnpwned\x07\x1b[31m"
# Hosts for the pre-flight and deadline tests, kept out of the shared audit.
TROUBLE_HOSTS = [
    HostSpec("noauth", authorized=False),
    HostSpec("blackhole", nft=nft_rules(input_=["tcp dport 22 drop"])),
    HostSpec("hang", force_command="sleep 600"),
    HostSpec("endless", force_command="yes"),  # an answer that never ends
    # No firewall tool for the probe: the kernel itself must say whether anything filters.
    HostSpec("notools", without_firewall_tools=True, nft=nft_rules(output=["tcp dport 8087 drop"])),
    HostSpec("notools-empty", without_firewall_tools=True),
    # A compromised host: file names that are HTML and terminal escape sequences.
    HostSpec("hostile", agent_files={f"{TERMINAL_PAYLOAD}{HTML_PAYLOAD}.cfg": b"Server=198.19.1.1\n"}),
    # An agent configuration over the probe's limit, with an IP literal past it.
    HostSpec("bigconfig", agent_files={"big.vvc": b"#" * (16 * 2**20) + b"\nServer=198.19.1.1\n"}),
    HostSpec("port2600", agent=("0.0.0.0:2600",)),
]

# Two hosts on each older userland (tests/lab/userland.py): NAME with every fault the probe must
# tell apart, NAME-lo with a clean network and the agent on loopback only.
USERLAND_HOST_NAMES = {"debian11": "deb11", "debian11-nopython": "deb11np", "busybox-bash": "bbbash",
                       "busybox": "bbox", "busybox-nonc": "bbnonc"}  # fmt: skip
USERLAND_FAULTS = nft_rules(
    output=[
        "ip daddr 198.19.2.13 tcp dport 8087 drop",
        "ip daddr 198.19.2.14 tcp dport 8087 reject with tcp reset",
        "ip daddr 198.19.2.15 tcp dport 8087 reject with icmp type host-unreachable",
    ]
)
IP_LITERAL_CONFIG = (
    "<agentdata:Configuration>\n"
    "  <agentdata:Portal>198.19.1.1</agentdata:Portal>\n"
    "</agentdata:Configuration>\n"
)
USERLAND_HOSTS = [
    spec
    for userland, name in USERLAND_HOST_NAMES.items()
    for spec in (
        HostSpec(name, userland=userland, config=IP_LITERAL_CONFIG, resolver=DNS_PARTIAL,
                 nft=USERLAND_FAULTS, dead_routes=("198.19.2.17/32",)),
        HostSpec(f"{name}-lo", userland=userland, agent=("127.0.0.1:2548", "[::]:808")),
    )
]  # fmt: skip
assert set(USERLAND_HOST_NAMES) == set(USERLANDS)
