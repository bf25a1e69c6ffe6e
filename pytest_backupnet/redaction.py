"""Credentials in host specs, URLs, command lines and CI environment tables replaced by `***`.

Redaction errs towards hiding: a string that merely looks like `user:password@host` is masked,
since a masked non-secret costs a reader little and a printed secret cannot be taken back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK = "***"

# Schemes whose user part is a login name (testinfra's backends): `ssh://root@web1` keeps `root`.
# Elsewhere a lone user part is a token (`https://ghp_xxx@github.com/...`) and is masked.
_HOST_SCHEMES = frozenset(
    {"ssh", "safe-ssh", "paramiko", "ansible", "docker", "podman", "kubectl", "openshift", "winrm"}
    | {"salt", "lxc", "local", "chroot"}
)
# A URL token: a scheme, `://`, and what follows up to white space or a comma (host lists). Quotes
# do not end it: a password may hold one, and the last `@` still ends the user part.
_URL = re.compile(r"(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]*)://([^\s,<>]*)")
# A host spec without a scheme, `user:password@host`, at the start of a value or list item.
_BARE_SPEC = re.compile(r"(?<![^\s,=])([^\s,:/@=\"'<>]+):(?!//)([^\s,]*)@(?=[^\s,@/]+)")
_PORT_ONLY = re.compile(r"[^:]*:\d*")
# Query parameters that carry credentials: ?private_token=..., &password=..., &sig=...
_SECRET_QUERY = re.compile(
    r"([?&;](?:[\w.-]*?(?:token|passw(?:or)?d|secret|api[-_]?key|credential|signature)[\w.-]*|key|sig)=)"
    r"[^&#\s,\"'<>]*",
    re.IGNORECASE,
)
# Command-line options whose value is a secret itself (a path to a key file is not: it stays).
_SECRET_OPTION = re.compile(r"token|passw|secret|api[-_]?key|credential", re.IGNORECASE)
# Environment variable names whose value is a secret whatever it looks like.
_SECRET_NAME = re.compile(
    r"token|passw(?:or)?d|pass(?![a-z])|passphrase|secret|key|credential|cookie|auth(?!or)", re.IGNORECASE
)


def _mask_userinfo(scheme: str, userinfo: str) -> str:
    user, colon, _secret = userinfo.partition(":")
    if colon:
        return f"{user}:{MASK}"
    return userinfo if scheme.lower() in _HOST_SCHEMES else MASK


def _redact_url_match(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    authority_end = next((i for i, char in enumerate(rest) if char in "/?#"), len(rest))
    authority = rest[:authority_end]
    at = authority.rfind("@")
    if at < 0:
        last_at = rest.rfind("@")
        # No `@` before the path, but one after it: either an `@` in the path (`/@scope/pkg`,
        # `host:8080/a@b`) or a password holding `/`, `?` or `#` (`user:pa/ss@host`).
        if last_at < 0 or ":" not in authority or _PORT_ONLY.fullmatch(authority):
            return f"{scheme}://{rest}"
        at = last_at
    return f"{scheme}://{_mask_userinfo(scheme, rest[:at])}{rest[at:]}"


def redact_url(text: str) -> str:
    """`text` with the credentials of every URL and host spec in it replaced by `***`.

    `ssh://user:pass@host` -> `ssh://user:***@host`, `https://tok@ci.example/x` ->
    `https://***@ci.example/x`, `user:pass@host` -> `user:***@host`, and the values of query
    parameters such as `private_token`, `password` or `sig`. A login name alone stays for the
    host-spec schemes (`ssh://root@web1`): it is not a secret and it says how the host was reached.
    """
    text = _URL.sub(_redact_url_match, text)
    text = _BARE_SPEC.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_args(args: Sequence[str]) -> list[str]:
    """A command line safe to print: credentials in `--hosts` values and in any URL masked.

    Options named like a secret (`--sudo-password X`, `--api-token=X`) have their value masked.
    Paths stay, `--ssh-identity-file` and `--ssh-config` included: a path says where a key is,
    not what it is, and the printed command must still reproduce the run.
    """
    redacted = []
    mask_next = hosts_next = False
    for arg in args:
        if mask_next or hosts_next:
            redacted.append(MASK if mask_next else redact_host_list(arg))
            mask_next = hosts_next = False
            continue
        name, equals, value = arg.partition("=")
        if arg.startswith("--") and _SECRET_OPTION.search(name):
            redacted.append(f"{name}={MASK}" if equals else arg)
            mask_next = not equals
        elif name == "--hosts":
            redacted.append(f"{name}={redact_host_list(value)}" if equals else arg)
            hosts_next = not equals
        else:
            redacted.append(redact_url(arg))
    return redacted


def redact_host_list(value: str) -> str:
    """A `--hosts` value: each comma-separated host spec with its password masked, whatever the
    password holds (white space, quotes, `/`, `@`: everything before the spec's last `@`)."""
    return ",".join(_redact_host_spec(spec) for spec in value.split(","))


def _redact_host_spec(spec: str) -> str:
    scheme, separator, rest = spec.partition("://")
    if not separator:
        scheme, rest = "", spec
    at = rest.rfind("@")
    if at < 0:
        return redact_url(spec)
    userinfo = _mask_userinfo(scheme or "ssh", rest[:at])
    return redact_url(f"{scheme}{separator}{userinfo}{rest[at:]}")


def redact_environment(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A CI environment or metadata table safe to publish.

    Values under secret-looking names (`*TOKEN*`, `*PASSWORD*`, `*SECRET*`, `*KEY*`, ...) become
    `***`; other text values keep everything but URL credentials (`BUILD_URL`, `CI_PROJECT_URL`).
    Nested tables and lists (pytest-metadata's `Plugins`, `Packages`) are redacted the same way.
    """
    return {key: _redact_value(str(key), value) for key, value in mapping.items()}


def _redact_value(name: str, value: Any) -> Any:
    if _SECRET_NAME.search(name):
        return MASK
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Mapping):
        return redact_environment(value)
    if isinstance(value, list | tuple):
        return [_redact_value("", item) for item in value]
    return value
