"""TCP listeners for the lab: `python3 listener.py ADDR:PORT ...` accepts and closes, until killed."""

from __future__ import annotations

import selectors
import socket
import sys


def main(specs: list[str]) -> None:
    selector = selectors.DefaultSelector()
    for spec in specs:
        address, _, port = spec.rpartition(":")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address.strip("[]"), int(port)))
        server.listen(128)
        selector.register(server, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            connection, _ = key.fileobj.accept()  # type: ignore[union-attr]
            connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
