#!/usr/bin/env python3
"""Opens N TCP connections to HOST:PORT and holds them idle.

Each connection sends one Redis inline PING and must read "+PONG\\r\\n" back
before it counts as held, so a connection counts only once the proxy has
reached the upstream for it. At most --in-flight connections are being set up
at once. When every connection is held, or --setup-timeout seconds have passed,
one JSON line goes to stdout: {"wanted", "held", "failed", "seconds"}. The
connections then stay open until the process is terminated (SIGTERM) or
--hold-timeout seconds pass, whichever is first.

Usage: idle_clients.py HOST PORT COUNT [--in-flight K] [--setup-timeout S] [--hold-timeout S]
"""
import argparse
import errno
import json
import selectors
import socket
import sys
import time

REQUEST = b"PING\r\n"
REPLY = b"+PONG\r\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Hold COUNT idle connections open.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--setup-timeout", type=float, default=60.0)
    parser.add_argument("--hold-timeout", type=float, default=120.0)
    args = parser.parse_args()

    selector = selectors.DefaultSelector()
    pending = {}  # socket -> bytes read so far
    held = []
    failed = 0
    started = 0
    start = time.monotonic()
    setup_deadline = start + args.setup_timeout

    def open_one() -> None:
        nonlocal failed
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex((args.host, args.port))
        if code not in (0, errno.EINPROGRESS):
            failed += 1
            sock.close()
            return
        pending[sock] = b""
        selector.register(sock, selectors.EVENT_WRITE)

    def drop(sock: socket.socket) -> None:
        nonlocal failed
        failed += 1
        selector.unregister(sock)
        del pending[sock]
        sock.close()

    while (started < args.count or pending) and time.monotonic() < setup_deadline:
        while started < args.count and len(pending) < args.in_flight:
            started += 1
            try:
                open_one()
            except OSError:
                failed += 1
        for key, events in selector.select(timeout=0.2):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    drop(sock)
                    continue
                try:
                    sock.send(REQUEST)
                except OSError:
                    drop(sock)
                    continue
                selector.modify(sock, selectors.EVENT_READ)
                continue
            try:
                chunk = sock.recv(64)
            except BlockingIOError:
                continue
            except OSError:
                drop(sock)
                continue
            if not chunk:
                drop(sock)
                continue
            pending[sock] += chunk
            if len(pending[sock]) >= len(REPLY):
                ok = pending[sock].startswith(REPLY)
                selector.unregister(sock)
                del pending[sock]
                if ok:
                    held.append(sock)
                else:
                    failed += 1
                    sock.close()
    for sock in list(pending):
        drop(sock)

    report = {"wanted": args.count, "held": len(held), "failed": failed + args.count - started,
              "seconds": round(time.monotonic() - start, 3)}
    print(json.dumps(report), flush=True)

    time.sleep(args.hold_timeout)
    for sock in held:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
