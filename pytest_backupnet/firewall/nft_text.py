"""What `nft -a list ruleset` says that its JSON form (nft 1.0.6) gets wrong or leaves out.

nft 1.0.6 prints a table's flags in JSON as garbage and leaves out the devices of netdev and
ingress chains; the text listing has both, and each rule's text with its handle (for evidence).
Only the structure is read here: table headers and flags, chain headers and their `type` line,
and rule lines ending with `# handle N`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TABLE = re.compile(r"^table\s+(\S+)\s+(\S+)\s*\{")
_CHAIN = re.compile(r"^chain\s+(\S+)\s*\{")
_BLOCK = re.compile(r"^(set|map|flowtable|counter|quota|ct|limit|secmark|synproxy)\b.*\{\s*(#.*)?$")
_HANDLE = re.compile(r"\s*#\s*handle\s+(\d+)\s*$")
_DEVICE = re.compile(r"\bdevice\s+\"?([^\s\";]+)\"?")
_DEVICES = re.compile(r"\bdevices\s*=\s*\{([^}]*)\}")
_FLAGS = re.compile(r"^flags\s+(.+?)\s*$")
_COUNTER = re.compile(r"\bcounter packets \d+ bytes \d+\s*")
MAX_RULE_TEXT = 300


@dataclass
class TextTable:
    flags: tuple[str, ...] = ()
    chain_devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rule_text: dict[tuple[str, int], str] = field(default_factory=dict)  # (chain, handle) -> text
    iptables_nft: bool = False  # "# Warning: table ... is managed by iptables-nft"


@dataclass
class TextRuleset:
    tables: dict[tuple[str, str], TextTable] = field(default_factory=dict)


def parse_text(text: str) -> TextRuleset:
    """Never raises: lines it does not recognise are skipped."""
    ruleset = TextRuleset()
    table: TextTable | None = None
    chain = ""
    skip_depth = 0  # inside a set/map/... block
    managed: set[tuple[str, str]] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# Warning: table"):
            parts = line.split()
            if len(parts) >= 5:
                managed.add((parts[3], parts[4]))
            continue
        if skip_depth:
            skip_depth += _braces(line)
            continue
        found = _TABLE.match(line)
        if found:
            table = ruleset.tables.setdefault((found.group(1), found.group(2)), TextTable())
            table.iptables_nft = (found.group(1), found.group(2)) in managed
            chain = ""
            continue
        if table is None:
            continue
        found = _CHAIN.match(line)
        if found:
            chain = found.group(1)
            continue
        if _BLOCK.match(line):
            skip_depth = _braces(line)
            continue
        if line == "}":
            if chain:
                chain = ""
            else:
                table = None
            continue
        found = _FLAGS.match(line)
        if found and not chain:
            table.flags = tuple(f.strip() for f in found.group(1).split(","))
            continue
        if chain and line.startswith("type ") and " hook " in line:
            devices = _DEVICES.search(line)
            if devices:
                table.chain_devices[chain] = tuple(
                    d.strip().strip('"') for d in devices.group(1).split(",") if d.strip()
                )
            else:
                device = _DEVICE.search(line)
                if device:
                    table.chain_devices[chain] = (device.group(1),)
            continue
        handle = _HANDLE.search(line)
        if chain and handle:
            body = _COUNTER.sub("", line[: handle.start()]).strip()
            table.rule_text[(chain, int(handle.group(1)))] = body[:MAX_RULE_TEXT]
    return ruleset


def table_names(text: str) -> list[tuple[str, str]]:
    """The (family, name) of every table in a text listing."""
    return [(m.group(1), m.group(2)) for m in (_TABLE.match(line.strip()) for line in text.splitlines()) if m]


def _braces(line: str) -> int:
    depth = 0
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "{":
            depth += 1
        elif not quoted and char == "}":
            depth -= 1
    return depth
