"""What nft (and the kernel) refuse in a script once it is read: jumps and lookups of what does not
exist, NAT outside NAT chains, and statements at hooks where they cannot work."""

from __future__ import annotations

import json
from typing import Any

from .nft_lexer import Token
from .nft_script_cursor import ScriptError
from .nft_state import NftChain, NftTable

# What the kernel refuses at a hook (checked along every jump from a base chain): reject after routing,
# a fib lookup by input interface where there is none, by output interface where there is none yet.
_REFUSED_AT = {
    "reject": ("postrouting",),
    "fib iif": ("output", "postrouting"),
    "fib oif": ("prerouting", "input"),
}


def check_hooks(table: NftTable) -> None:
    if table.family not in ("ip", "ip6", "inet"):
        return
    hooks: dict[str, set[str]] = {}
    pending = [(name, chain.hook["hook"]) for name, chain in table.chains.items() if chain.hook]
    while pending:
        name, hook = pending.pop()
        if hook in hooks.setdefault(name, set()):
            continue
        hooks[name].add(hook)
        for rule in table.chains[name].rules:
            for target in _targets(rule.expr):
                if target in table.chains:
                    pending.append((target, hook))
    for name, reached in hooks.items():
        for rule in table.chains[name].rules:
            for need in _needs(rule.expr):
                refused = reached & set(_REFUSED_AT[need])
                if refused:
                    hook = sorted(refused)[0]
                    raise ScriptError(
                        f"{rule.origin}: the kernel refuses {need} at the {hook} hook (chain {name})"
                    )


def _targets(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("jump", "goto") and isinstance(value, dict) and isinstance(value.get("target"), str):
                found.append(value["target"])
            else:
                found += _targets(value)
    elif isinstance(node, list):
        for item in node:
            found += _targets(item)
    return found


def _needs(expr: list[Any]) -> list[str]:
    needs: list[str] = []
    text = json.dumps(expr)
    if '"reject"' in text:
        needs.append("reject")
    for statement in expr:
        fib = statement.get("match", {}).get("left", {}).get("fib") if isinstance(statement, dict) else None
        if isinstance(fib, dict):
            flags = fib.get("flags", [])
            flags = flags if isinstance(flags, list) else [flags]
            if "iif" in flags:
                needs.append("fib iif")
            if "oif" in flags:
                needs.append("fib oif")
    return needs


def has_nat(expr: list[Any]) -> bool:
    return any(
        isinstance(s, dict) and any(k in s for k in ("snat", "dnat", "masquerade", "redirect")) for s in expr
    )


def check_references(table: NftTable, chain: NftChain, expr: list[Any], where: Token) -> None:
    """nft refuses a rule that jumps to a chain, or looks up a set, that does not exist."""

    def visit(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name in ("jump", "goto") and isinstance(value, dict):
                    target = value.get("target")
                    if target not in table.chains:
                        raise ScriptError(
                            f"{where.path}:{where.line}: jump to chain {target}, which does not "
                            "exist (nft refuses the file)"
                        )
                    if target == chain.name:
                        raise ScriptError(f"{where.path}:{where.line}: chain {target} jumps to itself")
                visit(value, name)
        elif isinstance(node, list):
            for item in node:
                visit(item, key)
        elif (
            isinstance(node, str)
            and node.startswith("@")
            and key in ("right", "data", "set", "flowtable")
            and node[1:] not in table.sets
        ):
            raise ScriptError(f"{where.path}:{where.line}: set {node} does not exist (nft refuses the file)")

    visit(expr)
