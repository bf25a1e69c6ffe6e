"""The lab's stand-in for the agent and for its peers, as one small program run inside a namespace.

    fw_agent.py listen [--uid N --gid N --comm NAME] ADDR:PORT ...   accept, echo one byte, wait for close
    fw_agent.py connect [--uid N --gid N --comm NAME] [--timeout S]    JSON tasks on stdin:
        [{"dst": "198.19.1.1", "port": 8086, "src": "198.19.1.1"?}, ...] -> JSON results on stdout:
        "open" (connected, and a byte went there and back) | "error:ECONNREFUSED" | ... (the connect
        failed) | "timeout" (no answer to the connect) | "broken:..." (connected, but the byte did not
        come back: the later packets are dropped or reset), all connections at once.

It takes the agent's user and process name (what `ps` shows) so that owner and skuid rules see it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time


def become(uid: int | None, gid: int | None, comm: str | None) -> None:
    if comm:
        with open("/proc/self/comm", "w") as handle:
            handle.write(comm[:15])
    if gid is not None:
        os.setgroups([])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)


def listen(specs: list[str]) -> None:
    selector = selectors.DefaultSelector()
    for spec in specs:
        address, _, port = spec.rpartition(":")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address.strip("[]"), int(port)))
        server.listen(4096)
        selector.register(server, selectors.EVENT_READ, "listen")
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            try:
                if key.data == "listen":
                    connection, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    connection.setblocking(False)
                    selector.register(connection, selectors.EVENT_READ, "echo")
                    continue
                # Echo, and close only after the client does: packets sent after close() have no
                # socket (no owner), and rules by owner would see them differently.
                connection = key.fileobj  # type: ignore[assignment]
                data = connection.recv(16)
                if data:
                    connection.send(data[:1])
                    continue
                selector.unregister(connection)
                connection.close()
            except OSError:
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]


def connect(tasks: list[dict[str, object]], timeout: float) -> list[str]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, len(tasks) + 64)), hard))
    selector = selectors.DefaultSelector()
    results = ["timeout"] * len(tasks)
    for index, task in enumerate(tasks):
        destination = str(task["dst"])
        family = socket.AF_INET6 if ":" in destination else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            if task.get("src"):
                sock.bind((str(task["src"]), 0))
            sock.connect((destination, int(task["port"])))  # type: ignore[call-overload]
        except BlockingIOError:
            selector.register(sock, selectors.EVENT_WRITE, index)
            continue
        except OSError as exc:
            results[index] = f"error:{errno.errorcode.get(exc.errno or 0, exc.errno)}"
            sock.close()
            continue
        selector.register(sock, selectors.EVENT_WRITE, index)
    deadline = time.monotonic() + timeout
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
            sock = key.fileobj  # type: ignore[assignment]
            index = key.data
            if results[index] == "timeout":  # the connect finished
                # SO_ERROR also reports a soft error (an ICMP error for a later packet) of a connected
                # socket: whether it is connected is what getpeername says.
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                try:
                    sock.getpeername()
                    connected = True
                except OSError:
                    connected = False
                if connected and error:
                    results[index] = f"broken:{errno.errorcode.get(error, str(error))}"
                    selector.unregister(sock)
                    sock.close()
                    continue
                if error or not connected:
                    error = error or errno.ENOTCONN
                    name = errno.errorcode.get(error, str(error))
                    results[index] = f"{'broken' if name == 'ECONNRESET' else 'error'}:{name}"
                    selector.unregister(sock)
                    sock.close()
                    continue
                results[index] = "connected"
                try:
                    sock.send(b"x")
                except OSError as exc:
                    results[index] = f"broken:{errno.errorcode.get(exc.errno or 0, exc.errno)}"
                    selector.unregister(sock)
                    sock.close()
                    continue
                selector.modify(sock, selectors.EVENT_READ, index)
                continue
            try:
                data = sock.recv(16)
                results[index] = "open" if data == b"x" else "broken:closed"
            except OSError as exc:
                results[index] = f"broken:{errno.errorcode.get(exc.errno or 0, exc.errno)}"
            selector.unregister(sock)
            sock.close()
    for key in list(selector.get_map().values()):
        if results[key.data] == "connected":
            results[key.data] = "broken:timeout"
        key.fileobj.close()  # type: ignore[union-attr]
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("listen", "connect"))
    parser.add_argument("specs", nargs="*")
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("--comm")
    parser.add_argument("--timeout", type=float, default=1.5)
    args = parser.parse_intermixed_args()
    if args.mode == "listen":
        specs = args.specs
        sockets_first = args.uid is not None and any(int(s.rpartition(":")[2]) < 1024 for s in specs)
        if sockets_first:
            raise SystemExit("ports below 1024 need root")
        become(args.uid, args.gid, args.comm)
        listen(specs)
    else:
        tasks = json.load(sys.stdin)
        become(args.uid, args.gid, args.comm)
        json.dump(connect(tasks, args.timeout), sys.stdout)


if __name__ == "__main__":
    main()
