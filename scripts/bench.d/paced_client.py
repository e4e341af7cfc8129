#!/usr/bin/env python3
"""Sends a small message to HOST:PORT every --interval-ms for --seconds, and
reads each echo before the next message is due.

Every message is due at start + i × interval (one anchor, so no drift builds
up); the client sleeps until then. Messages are "tick NNNNNN\\n" (12 bytes).
At the end one JSON line goes to stdout: {"sent", "echoed", "late_max_us",
"seconds"}. Exit status 1 when an echo was missing or wrong.

Usage: paced_client.py HOST PORT [--interval-ms MS] [--seconds S]
"""
import argparse
import json
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description="Send a paced stream of small messages and read their echoes.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    interval = int(args.interval_ms * 1e6)
    count = int(args.seconds * 1e9) // interval
    sock = socket.create_connection((args.host, args.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    time.sleep(0.05)  # the proxy connects upstream first

    start = time.monotonic_ns() + interval
    echoed = 0
    late_max = 0
    ok = True
    for i in range(count):
        due = start + i * interval
        wait = due - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        late_max = max(late_max, time.monotonic_ns() - due)
        message = b"tick %06d\n" % i
        sock.sendall(message)
        echo = b""
        while len(echo) < len(message):
            chunk = sock.recv(len(message) - len(echo))
            if not chunk:
                break
            echo += chunk
        if echo != message:
            print(f"paced_client: message {i}: sent {message!r}, echoed {echo!r}", file=sys.stderr)
            ok = False
            break
        echoed += 1
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(2)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass
    sock.close()
    print(json.dumps({
        "sent": i + 1 if count else 0,
        "echoed": echoed,
        "late_max_us": round(late_max / 1e3, 1),
        "seconds": round((time.monotonic_ns() - start) / 1e9, 3),
    }))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
