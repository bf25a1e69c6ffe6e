# The probe that runs ON the audited host, as `python3 -I -S -c <this file> <request JSON>`.
# Read-only: it resolves names, opens and closes TCP connections, reads files, runs listing
# commands. Every limit comes in the request. Prints one tab-separated record a line.
# It runs on CPython 3.6 to 3.13 alike (`vermin -t=3.6-` checks its language level in CI), so it
# avoids what changed between them: `socket.timeout` (a TimeoutError only from 3.10), an IPv6
# address string with or without its %scope (3.7 dropped it), stdout's encoding under the C locale
# (ASCII before 3.7's UTF-8 coercion).
import base64
import errno
import glob
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time

REQUEST = json.loads(sys.argv[1])
LIMITS = REQUEST["timeouts"]
MAX_BYTES = int(REQUEST["max_bytes"])
DEADLINE = time.monotonic() + float(LIMITS["on_host"])
RESULTS = []
LOCK = threading.Lock()
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EPERM, errno.EACCES}
PATH_DIRS = [*os.environ.get("PATH", "/usr/bin:/bin").split(":"), "/usr/sbin", "/sbin"]
# Agent configuration globs never read from these (other processes' environments, devices).
NOT_FILES = ("/proc/", "/sys/", "/dev/")


def emit(*fields):
    # A field never holds the separators: a tab or line break in a path or message becomes a space.
    line = "\t".join(str(f).replace("\t", " ").replace("\n", " ").replace("\r", " ") for f in fields)
    with LOCK:
        RESULTS.append(line)


def millis(start):
    return int((time.monotonic() - start) * 1000)


def describe(exc):
    return "%s: %s" % (errno.errorcode.get(exc.errno, exc.errno), exc.strerror)


def connect(name, address, sockaddr, family, port):
    timeout = float(LIMITS["connect"])
    start = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        # The resolver's own socket address, with its IPv6 scope: the address string may lack it.
        sock.connect((sockaddr[0], port, *sockaddr[2:]))
        outcome, detail = "open", ""
    except socket.timeout:  # not a TimeoutError before Python 3.10
        outcome, detail = "timeout", "no answer within %gs" % timeout
    except ConnectionRefusedError:
        outcome, detail = "refused", "connection refused (RST or ICMP port unreachable)"
    except OSError as exc:
        outcome = "unreachable" if exc.errno in UNREACHABLE else "error"
        detail = describe(exc)
    finally:
        sock.close()
    emit("connect", name, address, port, outcome, millis(start), detail)


def resolve_and_connect(name, ports):
    start = time.monotonic()
    try:
        infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        kind = {
            socket.EAI_NONAME: "nxdomain",
            getattr(socket, "EAI_NODATA", -5): "no-address",
            socket.EAI_AGAIN: "dns-timeout",
        }.get(exc.errno, "dns-error")
        emit("resolve", name, kind, millis(start), exc.strerror or exc)
        return
    addresses = []  # in the resolver's order; without an IPv6 %scope, as 3.7 on print them
    found = {}  # address -> (family, socket address)
    for family, _, _, _, sockaddr in infos:
        address = sockaddr[0].split("%")[0]
        if address not in found:
            addresses.append(address)
            found[address] = (family, sockaddr)
    emit("resolve", name, "ok", millis(start), ",".join(addresses))
    threads = [
        threading.Thread(target=connect, args=(name, a, found[a][1], found[a][0], p))
        for a in addresses
        for p in ports
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max(0.0, DEADLINE - time.monotonic()))


def read_regular(path):
    """(base64 content, "") of a regular file, or ("", why not); never blocks on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        return "", "no such file" if exc.errno == errno.ENOENT else describe(exc)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "", "not a regular file"
        chunks = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            return "", "larger than %d bytes: not read" % MAX_BYTES
        return base64.b64encode(b"".join(chunks)).decode("ascii"), ""
    except OSError as exc:
        return "", describe(exc)
    finally:
        os.close(fd)


def run_listing(argv):
    """(base64 stdout, "") of a read-only listing command, or ("", why there is none)."""
    candidates = [os.path.join(d, argv[0]) for d in PATH_DIRS if d]
    found = [c for c in candidates if os.access(c, os.X_OK)]
    if not found:
        return "", "not installed"
    timeout = max(0.1, min(float(LIMITS["listing"]), DEADLINE - time.monotonic()))
    try:
        process = subprocess.Popen(
            [found[0], *argv[1:]], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        return "", describe(exc)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return "", "timeout after %gs" % timeout
    if process.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines() or [""]
        return "", "exit %d: %s" % (process.returncode, lines[-1])
    if len(out) > MAX_BYTES:
        return "", "larger than %d bytes: not read" % MAX_BYTES
    return base64.b64encode(out).decode("ascii"), ""


def main():
    emit("probe", "python", "%d.%d" % sys.version_info[:2], socket.gethostname())
    workers = [
        threading.Thread(target=resolve_and_connect, args=(name, ports))
        for name, ports in sorted(REQUEST["resolve"].items())
    ]
    for worker in workers:
        worker.daemon = True
        worker.start()
    for path in REQUEST["read"]:
        data, error = read_regular(path)
        emit("read", path, data, error)
    for pattern in REQUEST["globs"]:
        paths = sorted(glob.glob(pattern))
        emit("glob", pattern, len(paths))
        for path in paths:
            if os.path.realpath(path).startswith(NOT_FILES):
                data, error = "", "not read: under /proc, /sys or /dev"
            else:
                data, error = read_regular(path)
            emit("file", pattern, path, data, error)
    for command_id, argv in sorted(REQUEST["commands"].items()):
        data, error = run_listing(argv)
        emit("command", command_id, data, error)
    for worker in workers:
        worker.join(max(0.0, DEADLINE - time.monotonic()))
    emit("end", sum(1 for w in workers if w.is_alive()))
    with LOCK:
        text = "\n".join(RESULTS) + "\n"
    # Bytes, never the locale's encoding: a path's undecodable bytes come back as they are.
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


main()
