#!/usr/bin/env python3
"""Connection churn: opens short TCP connections to an echo service at HOST:PORT.

Each connection connects, sends 16 bytes, reads the 16 bytes echoed back
(they must be equal), and closes. --workers processes each keep --in-flight
connections going at once, until --connections connections have been made in
all or --seconds have passed, whichever is first. Then one JSON line goes to
stdout: {"wanted", "done", "failed", "mismatched", "seconds", "rate"}, rate
being completed connections per second.

Usage: churn_client.py HOST PORT [--connections N] [--seconds S] [--workers W] [--in-flight K]
"""
import argparse
import errno
import json
import multiprocessing
import os
import selectors
import socket
import sys
import time

SIZE = 16


def worker(host: str, port: int, count: int, deadline: float, in_flight: int, seed: int, results) -> None:
    selector = selectors.DefaultSelector()
    pending = {}  # socket -> (payload, bytes read so far)
    started = done = failed = mismatched = 0
    serial = seed << 40

    def finish(sock: socket.socket, ok: bool) -> None:
        nonlocal failed
        selector.unregister(sock)
        del pending[sock]
        sock.close()
        if not ok:
            failed += 1

    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and len(pending) < in_flight:
            started += 1
            serial += 1
            payload = serial.to_bytes(8, "big") * 2
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex((host, port))
            if code not in (0, errno.EINPROGRESS):
                failed += 1
                sock.close()
                continue
            pending[sock] = (payload, b"")
            selector.register(sock, selectors.EVENT_WRITE)
        for key, events in selector.select(timeout=0.1):
            sock = key.fileobj
            payload, got = pending[sock]
            if events & selectors.EVENT_WRITE:
                try:
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        finish(sock, False)
                        continue
                    sock.send(payload)
                except OSError:
                    finish(sock, False)
                    continue
                selector.modify(sock, selectors.EVENT_READ)
                continue
            try:
                chunk = sock.recv(SIZE - len(got))
            except BlockingIOError:
                continue
            except OSError:
                finish(sock, False)
                continue
            if not chunk:
                finish(sock, False)
                continue
            got += chunk
            if len(got) < SIZE:
                pending[sock] = (payload, got)
                continue
            if got == payload:
                done += 1
                finish(sock, True)
            else:
                mismatched += 1
                finish(sock, False)
    for sock in list(pending):
        finish(sock, False)
    results.put((started, done, failed, mismatched))


def main() -> int:
    parser = argparse.ArgumentParser(description="Open short echo connections as fast as the service takes them.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--connections", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=16)
    args = parser.parse_args()

    results = multiprocessing.Queue()
    start = time.monotonic()
    deadline = start + args.seconds
    shares = [args.connections // args.workers + (1 if i < args.connections % args.workers else 0) for i in range(args.workers)]
    processes = [
        multiprocessing.Process(target=worker, args=(args.host, args.port, share, deadline, args.in_flight, i + 1, results))
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    totals = [0, 0, 0, 0]
    for _ in processes:
        for i, value in enumerate(results.get(timeout=args.seconds + 30)):
            totals[i] += value
    seconds = time.monotonic() - start
    for process in processes:
        process.join(timeout=5)
    started, done, failed, mismatched = totals
    report = {
        "wanted": args.connections,
        "done": done,
        "failed": failed + args.connections - started,
        "mismatched": mismatched,
        "seconds": round(seconds, 3),
        "rate": round(done / seconds, 1) if seconds > 0 else 0,
    }
    print(json.dumps(report), flush=True)
    return 0 if done > 0 and mismatched == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
