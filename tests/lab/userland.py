"""Older userlands for lab hosts: a debootstrapped Debian 11 and busybox roots, cached on disk.

A host on such a userland sees that root as `/`, so every command the probe runs (python3,
bash, sh, date, timeout, getent, ...) is the old userland's own binary, never the runner's:

- `debian11`, `debian11-nopython`: the Debian 11 root's own sshd, started under `chroot`;
  `debian11-nopython` is the same root with python3 removed from the host's view.
- `busybox-bash`, `busybox`, `busybox-nonc`: busybox-static's applets (and Debian 11's bash,
  or dash as /bin/sh with no nc, with their libraries); the runner's sshd serves them with
  `ChrootDirectory`, since a busybox image has no sshd of its own to borrow.

Each host mounts its root as an overlay (the cached root below, its own files above) in its
own mount namespace, so the cache is never written and hosts do not see each other's files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RUNNER = "runner"
DEBIAN_SUITE = "bullseye"
DEBIAN_PACKAGES = ("openssh-server", "python3", "bash", "nftables", "iproute2", "procps")
# Debian codenames a mirror line may carry; the security, updates and third-party lines do not.
DEBIAN_CODENAMES = {
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "sid",
    "stable",
    "testing",
    "unstable",
}
BUSYBOX = Path("/bin/busybox")
# sshd's ChrootDirectory must be a root-owned path that no one else can write, all the way up.
CHROOT_MOUNTPOINT = "mnt"


@dataclass(frozen=True)
class Userland:
    """How a lab host's `/` is made."""

    name: str
    title: str
    base: str  # the cached root: "debian11", "busybox-bash" or "busybox"
    own_sshd: bool  # the root's own sshd under chroot, else the runner's with ChrootDirectory
    login_shell: str
    removed: tuple[str, ...] = ()  # paths hidden from the host's view


USERLANDS = {
    u.name: u
    for u in (
        Userland("debian11", "Debian 11 (python3 3.9, bash 5.1)", "debian11", True, "/bin/bash"),
        Userland(
            "debian11-nopython",
            "Debian 11 without python3 (bash 5.1)",
            "debian11",
            True,
            "/bin/bash",
            removed=("/usr/bin/python3", "/usr/bin/python3.9"),
        ),
        Userland("busybox-bash", "busybox applets and bash 5.1", "busybox-bash", False, "/bin/bash"),
        Userland("busybox", "busybox only (ash as /bin/sh)", "busybox", False, "/bin/sh"),
        Userland(
            "busybox-nonc", "busybox applets without nc, dash as /bin/sh", "busybox-dash", False, "/bin/sh"
        ),
    )
}


def cache_dir() -> Path:
    """Where built roots are kept between runs: $BACKUPNET_LAB_CACHE or ~/.cache/pytest-backupnet."""
    configured = os.environ.get("BACKUPNET_LAB_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "pytest-backupnet"


def debian_mirror() -> str | None:
    """The machine's configured Debian mirror (its main archive line), or $BACKUPNET_DEBIAN_MIRROR."""
    if os.environ.get("BACKUPNET_DEBIAN_MIRROR"):
        return os.environ["BACKUPNET_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for uri, suites in _source_entries(text, deb822=path.suffix == ".sources"):
            if "security" not in uri and DEBIAN_CODENAMES & set(suites):
                return uri
    return None


def _source_entries(text: str, deb822: bool) -> Iterator[tuple[str, list[str]]]:
    if not deb822:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                yield words[1], [words[2]]
        return
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(
            (key.strip().lower(), value.strip())
            for key, _, value in (line.partition(":") for line in stanza.splitlines())
            if key and not key.startswith((" ", "#"))
        )
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                yield uri, fields.get("suites", "").split()


def userlands_available() -> str | None:
    """None when the userland roots can be built (or are cached) here, else the reason."""
    if shutil.which("debootstrap") is None and not _complete(_debian_root()):
        return "older userlands need debootstrap (scripts/install-deps installs it)"
    if not BUSYBOX.exists():
        return f"busybox userlands need {BUSYBOX} (Debian package busybox-static)"
    return None


@dataclass(frozen=True)
class BuildCost:
    root: Path
    seconds: float
    built: bool


def _recipe() -> str:
    recipe = f"{DEBIAN_SUITE} minbase {','.join(DEBIAN_PACKAGES)} v1"
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _debian_root() -> Path:
    return cache_dir() / f"debian11-{_recipe()}"


def _complete(root: Path) -> bool:
    return (root / ".bnlab-complete").exists()


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One builder at a time (parallel test runs, xdist workers); the others wait, then reuse."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def debian11_root() -> BuildCost:
    """The Debian 11 root: built once with debootstrap, then reused until its recipe changes."""
    root = _debian_root()
    start = time.monotonic()
    with _locked(cache_dir()):
        if _complete(root):
            return BuildCost(root, time.monotonic() - start, built=False)
        mirror = debian_mirror()
        if mirror is None:
            raise RuntimeError("no Debian mirror in /etc/apt/sources.list*; set BACKUPNET_DEBIAN_MIRROR")
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_PACKAGES)}",
                   DEBIAN_SUITE, str(partial), mirror]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = (
                (partial / "debootstrap" / "debootstrap.log").read_text(errors="replace")[-1500:]
                if (partial / "debootstrap" / "debootstrap.log").exists()
                else ""
            )
            raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-1500:]}\n{log}")
        # The root stays as debootstrap left it, less what only the build needed.
        subprocess.run(["chroot", str(partial), "apt-get", "clean"], capture_output=True, check=False)
        shutil.rmtree(partial / "var" / "lib" / "apt" / "lists", ignore_errors=True)
        (partial / "run" / "sshd").mkdir(parents=True, exist_ok=True)
        (partial / ".bnlab-complete").write_text(" ".join(command) + "\n")
        partial.rename(root)
    return BuildCost(root, time.monotonic() - start, built=True)


# The busybox roots: which Debian 11 program each adds, and which applet links it leaves out.
BUSYBOX_ROOTS = {
    "busybox": ((), ()),
    "busybox-bash": (("/bin/bash",), ()),
    # dash as /bin/sh and no nc link: busybox ash would find its nc applet whatever PATH says.
    "busybox-dash": (("/bin/dash",), ("/usr/bin/nc", "/bin/sh")),
}


def busybox_root(variant: str) -> BuildCost:
    """A root of busybox-static's applets, plus what BUSYBOX_ROOTS adds from Debian 11."""
    programs, left_out = BUSYBOX_ROOTS[variant]
    debian = debian11_root().root if programs else None
    digest = hashlib.sha256(BUSYBOX.read_bytes()).hexdigest()[:12]
    root = cache_dir() / f"{variant}-{digest}-{_recipe()}"
    start = time.monotonic()
    with _locked(cache_dir()):
        if _complete(root):
            return BuildCost(root, time.monotonic() - start, built=False)
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for folder in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "proc", "dev", "tmp", "run"):
            (partial / folder).mkdir(parents=True, exist_ok=True)
        (partial / "tmp").chmod(0o1777)
        shutil.copy2(BUSYBOX, partial / "bin" / "busybox")
        # Each applet linked where busybox itself says it belongs: /bin/sh is ash, /bin/date is date...
        subprocess.run(["chroot", str(partial), "/bin/busybox", "--install", "-s"], check=True)
        for path in left_out:
            (partial / path.lstrip("/")).unlink()
        os.mknod(partial / "dev" / "null", 0o20666, os.makedev(1, 3))
        (partial / "dev" / "null").chmod(0o666)
        (partial / "etc" / "nsswitch.conf").write_text("hosts: files dns\n")
        if debian is not None:
            for program in programs:
                _copy_with_libraries(debian, partial, program)
            # glibc's resolver modules, which a dynamically linked bash loads for /dev/tcp names.
            for pattern in ("libnss_files.so*", "libnss_dns.so*", "libresolv.so*"):
                for lib in (debian / "lib" / "x86_64-linux-gnu").glob(pattern):
                    _copy_into(debian, partial, lib)
        if "/bin/dash" in programs:
            (partial / "bin" / "sh").symlink_to("dash")
        shell = "/bin/bash" if "/bin/bash" in programs else "/bin/sh"
        (partial / "etc" / "passwd").write_text(f"root:x:0:0:root:/root:{shell}\n")
        (partial / "etc" / "group").write_text("root:x:0:\n")
        (partial / ".bnlab-complete").write_text(f"{variant} {digest}\n")
        partial.rename(root)
    return BuildCost(root, time.monotonic() - start, built=True)


def _copy_with_libraries(source_root: Path, target_root: Path, program: str) -> None:
    """Copy `program` and every library the source root's loader resolves for it."""
    ldd = subprocess.run(
        ["chroot", str(source_root), "/usr/bin/ldd", program], capture_output=True, text=True, check=True
    )
    paths = [program, *re.findall(r"(/\S+) \(0x", ldd.stdout)]
    for path in paths:
        _copy_into(source_root, target_root, source_root / path.lstrip("/"))


def _copy_into(source_root: Path, target_root: Path, path: Path) -> None:
    """Copy one file of `source_root` as a regular file, its symlinks followed inside that root."""
    relative = path.relative_to(source_root)
    target = target_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_inside(source_root, relative), target)


def _inside(root: Path, relative: Path) -> Path:
    """`root/relative` with every symlink resolved as the root itself would see it."""
    resolved = Path("/")
    for part in relative.parts:
        candidate = resolved / part
        for _ in range(40):
            on_disk = root / candidate.relative_to("/")
            if not on_disk.is_symlink():
                break
            link = Path(os.readlink(on_disk))
            candidate = Path(os.path.normpath(link if link.is_absolute() else candidate.parent / link))
        resolved = candidate
    return root / resolved.relative_to("/")


def base_root(userland: Userland) -> Path:
    if userland.base == "debian11":
        return debian11_root().root
    return busybox_root(userland.base).root


def chroot_mountpoint() -> Path:
    """Where a busybox host's root is mounted in its own namespace: a path sshd accepts to chroot."""
    mountpoint = cache_dir() / CHROOT_MOUNTPOINT
    mountpoint.mkdir(parents=True, exist_ok=True)
    mountpoint.chmod(0o755)
    for folder in [mountpoint, *mountpoint.parents]:
        info = folder.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            raise RuntimeError(
                f"{folder} is not a root-owned folder closed to others, as sshd's ChrootDirectory "
                "needs: set BACKUPNET_LAB_CACHE to a folder under one that is"
            )
    return mountpoint


def build_all() -> list[BuildCost]:
    """Build (or find) every cached root; what `python3 -m tests.lab.userland` runs."""
    debian = debian11_root()
    return [debian, *(busybox_root(variant) for variant in BUSYBOX_ROOTS)]


if __name__ == "__main__":
    for cost in build_all():
        print(f"{cost.root}: {'built' if cost.built else 'cached'} in {cost.seconds:.1f}s")
