"""What ufw loads at boot: `ufw-init start` (ufw-init-functions' ufw_start), replayed step by step.

ufw keeps no ruleset of its own: at boot ufw-init builds its chain skeleton, the tracking and
reject rules its default policies call for, then iptables-restore --noflush's before*.rules,
after*.rules and user*.rules, hooks the user chains in, and sets the built-in chains' policies
last (REJECT becomes DROP there, the reject rule lives in ufw-reject-*). All of it only when
/etc/ufw/ufw.conf says ENABLED=yes. This follows ufw 0.36's ufw-init-functions line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .files import HostFiles
from .xtables import XTables

DEFAULTS_FILE = "/etc/default/ufw"
CONF_FILE = "/etc/ufw/ufw.conf"
INIT_FUNCTIONS = ("/lib/ufw/ufw-init-functions", "/usr/lib/ufw/ufw-init-functions")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_PRIMARY = (
    "before-logging-input",
    "before-logging-output",
    "before-logging-forward",
    "before-input",
    "before-output",
    "before-forward",
    "after-input",
    "after-output",
    "after-forward",
    "after-logging-input",
    "after-logging-output",
    "after-logging-forward",
    "reject-input",
    "reject-output",
    "reject-forward",
    "track-input",
    "track-output",
    "track-forward",
)
_HOOKS = {"INPUT": "input", "OUTPUT": "output", "FORWARD": "forward"}
_HOOK_ORDER = ("before-logging", "before", "after", "after-logging", "reject", "track")
_USER = (
    "user-input",
    "user-output",
    "user-forward",
    "user-logging-input",
    "user-logging-output",
    "user-logging-forward",
    "user-limit",
    "user-limit-accept",
)


@dataclass(frozen=True)
class Setting:
    value: str
    origin: str  # file:line, or "ufw's default"


@dataclass
class UfwBoot:
    enabled: bool
    why: str
    settings: dict[str, Setting] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # what it reads
    problems: list[str] = field(default_factory=list)


def read_settings(files: HostFiles) -> dict[str, Setting]:
    """/etc/default/ufw then /etc/ufw/ufw.conf, sourced by sh: the last simple assignment wins."""
    found: dict[str, Setting] = {}
    for path in (DEFAULTS_FILE, CONF_FILE):
        for number, line in enumerate((files.text(path) or "").splitlines(), 1):
            match = _ASSIGNMENT.match(line)
            if match:
                value = match.group(2).strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                else:
                    value = value.split("#", 1)[0].strip()
                found[match.group(1)] = Setting(value, f"{path}:{number}")
    return found


def ufw_boot(files: HostFiles) -> UfwBoot:
    settings = read_settings(files)
    for path in (DEFAULTS_FILE, CONF_FILE):
        if not (files.text(path) or "").strip():
            return UfwBoot(False, f"{path} is missing or empty: ufw-init aborts", settings)
    enabled = settings.get("ENABLED")
    if enabled is None or enabled.value not in ("yes", "YES"):
        where = f" ({enabled.origin})" if enabled else ""
        return UfwBoot(False, f"ufw is disabled: ENABLED={enabled.value if enabled else ''}{where}", settings)
    boot = UfwBoot(True, f"ufw is enabled: ENABLED=yes ({enabled.origin})", settings)
    for script in ("/etc/ufw/before.init", "/etc/ufw/after.init"):
        text = files.text(script)
        if text is not None and _runs_commands(text):
            boot.problems.append(f"{script} runs commands at start, which are not evaluated")
    return boot


def user_path(files: HostFiles) -> str:
    for path in INIT_FUNCTIONS:
        text = files.text(path)
        if text:
            found = re.search(r'^USER_PATH="\$\{DATA_DIR\}([^"]*)"', text, re.MULTILINE)
            if found:
                return found.group(1)
    return "/etc/ufw"


def load(boot: UfwBoot, files: HostFiles, v4: XTables, v6: XTables | None) -> None:
    """Apply ufw_start to the x_tables of each family; v6 is None when the kernel has no IPv6."""
    settings = boot.settings

    def policy(key: str) -> Setting:
        return settings.get(key) or Setting(
            "ACCEPT" if key != "DEFAULT_INPUT_POLICY" else "DROP", "ufw's default"
        )

    if settings.get("MANAGE_BUILTINS", Setting("no", "")).value == "yes":
        _flush_builtins(v4, v6, settings["MANAGE_BUILTINS"].origin)
    ipv6 = settings.get("IPV6", Setting("", "")).value in ("yes", "YES")
    states: list[tuple[XTables, str]] = [(v4, "")]
    if v6 is not None and ipv6:
        states.append((v6, "6"))
    elif v6 is not None:
        origin = settings["IPV6"].origin if "IPV6" in settings else "IPV6 unset"
        v6.restore(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n"
            "-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\nCOMMIT\n",
            f"ufw-init, IPv6 disabled ({origin})",
            noflush=False,
        )
    rules_dir = "/etc/ufw"
    users_dir = user_path(files)
    for state, kind in states:
        prefix = f"ufw{kind}"
        skeleton = ["*filter", *(f":{prefix}-{c} - [0:0]" for c in _PRIMARY)]
        for builtin, hook in _HOOKS.items():
            skeleton += [f"-A {builtin} -j {prefix}-{part}-{hook}" for part in _HOOK_ORDER]
        _restore(boot, state, "\n".join([*skeleton, "COMMIT"]), "ufw-init (its chain skeleton)")
        for key, hook in (
            ("DEFAULT_INPUT_POLICY", "input"),
            ("DEFAULT_OUTPUT_POLICY", "output"),
            ("DEFAULT_FORWARD_POLICY", "forward"),
        ):
            if policy(key).value == "REJECT":
                _restore(
                    boot,
                    state,
                    f"*filter\n-A {prefix}-reject-{hook} -j REJECT\nCOMMIT",
                    f"ufw-init, {key}=REJECT ({policy(key).origin})",
                )
        for key, hook in (
            ("DEFAULT_INPUT_POLICY", "input"),
            ("DEFAULT_OUTPUT_POLICY", "output"),
            ("DEFAULT_FORWARD_POLICY", "forward"),
        ):
            if policy(key).value == "ACCEPT":
                _restore(
                    boot,
                    state,
                    f"*filter\n-A {prefix}-track-{hook} -p tcp -m conntrack --ctstate NEW -j "
                    f"ACCEPT\n-A {prefix}-track-{hook} -p udp -m conntrack --ctstate NEW -j ACCEPT\nCOMMIT",
                    f"ufw-init, {key}=ACCEPT ({policy(key).origin})",
                )
        _restore(
            boot,
            state,
            f"*filter\n:{prefix}-logging-deny - [0:0]\n:{prefix}-logging-allow - [0:0]\nCOMMIT",
            "ufw-init (logging chains)",
        )
        skip = ["*filter"] + [f":{prefix}-skip-to-policy-{h} - [0:0]" for h in ("input", "output", "forward")]
        skip += [
            f"-A {prefix}-skip-to-policy-{h} -j {policy(k).value}"
            for h, k in (
                ("input", "DEFAULT_INPUT_POLICY"),
                ("output", "DEFAULT_OUTPUT_POLICY"),
                ("forward", "DEFAULT_FORWARD_POLICY"),
            )
        ]
        _restore(boot, state, "\n".join([*skip, "COMMIT"]), "ufw-init (skip-to-policy chains)")
        for path in (f"{rules_dir}/before{kind}.rules", f"{rules_dir}/after{kind}.rules"):
            _file(boot, files, state, path)
        user = f"{users_dir}/user{kind}.rules"
        if (files.text(user) or "").strip():
            missing = [c for c in _USER if f"{prefix}-{c}" not in state.table("filter")]
            if missing:
                _restore(
                    boot,
                    state,
                    "\n".join(["*filter", *(f":{prefix}-{c} - [0:0]" for c in _USER), "COMMIT"]),
                    "ufw-init (user chains)",
                )
            _file(boot, files, state, user)
            _restore(
                boot,
                state,
                "\n".join(
                    [
                        "*filter",
                        *(
                            f"-A {prefix}-before-{h} -j {prefix}-user-{h}"
                            for h in ("input", "output", "forward")
                        ),
                        "COMMIT",
                    ]
                ),
                "ufw-init (user chains hooked in)",
            )
        else:
            boot.problems.append(f"{user} is missing or empty: ufw-init reports an error")
        policies = ["*filter"]
        for builtin, key in (
            ("INPUT", "DEFAULT_INPUT_POLICY"),
            ("FORWARD", "DEFAULT_FORWARD_POLICY"),
            ("OUTPUT", "DEFAULT_OUTPUT_POLICY"),
        ):
            value = "DROP" if policy(key).value == "REJECT" else policy(key).value
            policies.append(f":{builtin} {value} [0:0]")
        _restore(
            boot,
            state,
            "\n".join([*policies, "COMMIT"]),
            f"ufw-init, default policies ({_origins(settings)})",
        )


def _origins(settings: dict[str, Setting]) -> str:
    found = [settings[k].origin for k in ("DEFAULT_INPUT_POLICY", "DEFAULT_OUTPUT_POLICY") if k in settings]
    return ", ".join(dict.fromkeys(found)) or "ufw's defaults"


def _restore(boot: UfwBoot, state: XTables, text: str, origin: str) -> None:
    if not state.restore(text, origin, noflush=True):
        boot.problems.append(state.problems[-1])


def _file(boot: UfwBoot, files: HostFiles, state: XTables, path: str) -> None:
    text = files.text(path)
    if not (text or "").strip():
        boot.problems.append(f"{path} is {'not read' if files.has(path) else 'missing or empty'}")
        return
    boot.files.append(path)
    if not state.restore(text or "", path, noflush=True):
        boot.problems.append(f"iptables-restore would refuse {state.problems[-1]}")


def _flush_builtins(v4: XTables, v6: XTables | None, origin: str) -> None:
    for state in (v4, v6):
        if state is None:
            continue
        where = f"ufw-init, MANAGE_BUILTINS=yes ({origin})"
        for line in ("-F", "-X", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P FORWARD ACCEPT"):
            state.command(line, where)
        for chain in ("INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"):
            state.command(f"-t mangle -F {chain}", where)
            state.command(f"-t mangle -P {chain} ACCEPT", where)
    for chain in ("OUTPUT", "PREROUTING", "POSTROUTING"):
        v4.command(f"-t nat -F {chain}", f"ufw-init, MANAGE_BUILTINS=yes ({origin})")


def _runs_commands(script: str) -> bool:
    """Whether the `start)` branch of before.init/after.init does more than the packaged no-op."""
    inside = False
    for raw in script.splitlines():
        line = raw.strip()
        if re.match(r"^start\)", line):
            inside = True
            continue
        if inside:
            if line.startswith(";;"):
                return False
            if line and not line.startswith("#"):
                return True
    return False
