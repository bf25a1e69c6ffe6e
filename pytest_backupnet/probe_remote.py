# The probe that runs ON the audited host, as `python3 -c <this file> <request JSON>`.
# Read-only: it resolves names, opens and closes TCP connections, reads files.
# Kept to the Python 3.6 standard library; prints one tab-separated record a line.
import base64
import errno
import glob
import json
import os
import socket
import subprocess
import sys
import threading
import time

REQUEST = json.loads(sys.argv[1])
TIMEOUT = float(REQUEST["timeout"])
RESULTS = []
LOCK = threading.Lock()
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EPERM, errno.EACCES}


def emit(*fields):
    with LOCK:
        RESULTS.append("\t".join(str(f) for f in fields))


def millis(start):
    return int((time.monotonic() - start) * 1000)


def connect(name, address, port):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    start = time.monotonic()
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect((address, port))
        outcome, detail = "open", ""
    except TimeoutError:
        outcome, detail = "timeout", "no answer within %ss" % TIMEOUT
    except ConnectionRefusedError:
        outcome, detail = "refused", "connection refused (RST or ICMP port unreachable)"
    except OSError as exc:
        outcome = "unreachable" if exc.errno in UNREACHABLE else "error"
        detail = "%s: %s" % (errno.errorcode.get(exc.errno, exc.errno), exc.strerror)
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
    addresses = []
    for info in infos:
        if info[4][0] not in addresses:
            addresses.append(info[4][0])
    emit("resolve", name, "ok", millis(start), ",".join(addresses))
    threads = [
        threading.Thread(target=connect, args=(name, a, p), daemon=True) for a in addresses for p in ports
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT + 1)


def read_file(path, limit=1 << 20):
    try:
        with open(path, "rb") as handle:
            return base64.b64encode(handle.read(limit)).decode("ascii"), ""
    except OSError as exc:
        return "", "%s: %s" % (errno.errorcode.get(exc.errno, exc.errno), exc.strerror)


def read_command(argv):
    """Output of a read-only listing command, or why there is none."""
    found = [os.path.join(d, argv[0]) for d in PATH_DIRS if os.access(os.path.join(d, argv[0]), os.X_OK)]
    if not found:
        return "", "not installed"
    try:
        process = subprocess.Popen([found[0], *argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = process.communicate(timeout=TIMEOUT + 2)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", str(exc)
    if process.returncode != 0:
        return "", (err.decode("utf-8", "replace").strip().splitlines() or ["exit %d" % process.returncode])[
            -1
        ]
    return base64.b64encode(out).decode("ascii"), ""


PATH_DIRS = os.environ.get("PATH", "/usr/bin:/bin").split(":")
PATH_DIRS.extend(["/usr/sbin", "/sbin"])


def main():
    emit("probe", "python", "%d.%d" % sys.version_info[:2], socket.gethostname())
    workers = [
        threading.Thread(target=resolve_and_connect, args=(name, ports), daemon=True)
        for name, ports in REQUEST.get("resolve", {}).items()
    ]
    for worker in workers:
        worker.start()
    if REQUEST.get("listen"):
        for table in ("tcp", "tcp6"):
            data, error = read_file("/proc/net/" + table)
            emit("proc", table, data, error)
    if REQUEST.get("firewall"):
        data, error = read_command(["nft", "-j", "list", "ruleset"])
        emit("firewall", "nft", data, error)
        data, error = read_command(["iptables-legacy-save"])
        emit("firewall", "iptables-legacy", data, error)
    for pattern in REQUEST.get("files", []):
        paths = sorted(glob.glob(pattern))
        emit("glob", pattern, len(paths))
        for path in paths:
            data, error = read_file(path)
            emit("file", pattern, path, data, error)
    deadline = time.monotonic() + 2 * TIMEOUT + 1
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    emit("end", sum(1 for w in workers if w.is_alive()))
    with LOCK:
        sys.stdout.write("\n".join(RESULTS) + "\n")
    sys.stdout.flush()


main()
