#!/usr/bin/env python3
"""Fault accuracy measurements for scripts/bench-faults.

Each mode runs its upstream server on a thread of this process, listening on
127.0.0.1:UPSTREAM_PORT, and its client on the main thread, connecting to
127.0.0.1:CONNECT_PORT (a proxy in front of the server, or the server itself),
so one-way delays are read on one monotonic clock. One JSON line goes to stdout.

  one-way --count N --gap S     the server sends N timestamped 16-byte messages
                                S seconds apart: {"delays_ms"}
  round-trip --count N --gap S  N echo round trips, S seconds apart: {"rtt_ms"}
  bandwidth --bytes N           N bytes as fast as the server can send them,
                                timed from its first write to the client's
                                last byte: {"elapsed_ms", "exact", "bytes"}
  throughput --bytes N          N bytes from a fast sender: {"bytes",
                                "mb_per_s" (once flowing), "first_byte_ms",
                                "overall_mb_per_s"}

Usage: faults_client.py MODE UPSTREAM_PORT CONNECT_PORT [OPTIONS]
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time


def listener(port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    return server


def serve(server: socket.socket, handler) -> threading.Thread:
    """Runs `handler` on the first connection `server` accepts, on a thread."""
    def run() -> None:
        connection, _ = server.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            handler(connection)
        finally:
            connection.close()
            server.close()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("end of stream after %d of %d bytes" % (len(data), count))
        data += chunk
    return bytes(data)


def one_way(args) -> dict:
    """The server sends `count` timestamped 16-byte messages `gap` s apart;
    the client reports each one's delay in ms."""
    server = listener(args.upstream_port)

    def handler(connection: socket.socket) -> None:
        connection.recv(1)  # the client is connected through the proxy
        for index in range(args.count):
            connection.sendall(struct.pack("!QQ", index, time.monotonic_ns()))
            time.sleep(args.gap)
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)
    thread = serve(server, handler)
    client = connect(args.connect_port)
    client.sendall(b"g")
    delays = []
    for _ in range(args.count):
        _, sent = struct.unpack("!QQ", read_exactly(client, 16))
        delays.append((time.monotonic_ns() - sent) / 1e6)
    client.close()
    thread.join(10)
    return {"delays_ms": delays}


def round_trips(args) -> dict:
    server = listener(args.upstream_port)

    def handler(connection: socket.socket) -> None:
        while True:
            data = connection.recv(65536)
            if not data:
                break
            connection.sendall(data)
    thread = serve(server, handler)
    client = connect(args.connect_port)
    times = []
    for index in range(args.count):
        start = time.monotonic_ns()
        client.sendall(struct.pack("!Q", index))
        read_exactly(client, 8)
        times.append((time.monotonic_ns() - start) / 1e6)
        time.sleep(args.gap)
    client.shutdown(socket.SHUT_WR)
    client.recv(1)
    client.close()
    thread.join(10)
    return {"rtt_ms": times}


def pattern(size: int) -> bytes:
    block = bytes((index * 31 + 7) & 0xFF for index in range(65521))
    return (block * (size // len(block) + 1))[:size]


def bandwidth(args) -> dict:
    """The server sends `bytes` bytes as fast as it can once asked; the time
    runs from its first write to the client's last byte."""
    payload = pattern(args.bytes)
    server = listener(args.upstream_port)
    started = {}

    def handler(connection: socket.socket) -> None:
        connection.recv(1)
        started["at"] = time.monotonic_ns()
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)
    thread = serve(server, handler)
    client = connect(args.connect_port)
    client.sendall(b"g")
    received = bytearray()
    while True:
        chunk = client.recv(1 << 20)
        if not chunk:
            break
        received += chunk
    end = time.monotonic_ns()
    client.close()
    thread.join(10)
    return {"elapsed_ms": (end - started["at"]) / 1e6, "exact": bytes(received) == payload, "bytes": len(received)}


def throughput(args) -> dict:
    block = memoryview(pattern(4 << 20))
    server = listener(args.upstream_port)

    def handler(connection: socket.socket) -> None:
        connection.recv(1)
        left = args.bytes
        while left > 0:
            piece = block[: min(left, len(block))]
            connection.sendall(piece)
            left -= len(piece)
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)
    thread = serve(server, handler)
    client = connect(args.connect_port)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    view = memoryview(bytearray(1 << 20))
    asked = time.monotonic_ns()
    client.sendall(b"g")
    count, first = 0, None
    while True:
        read = client.recv_into(view)
        if read == 0:
            break
        if first is None:
            first = time.monotonic_ns()
        count += read
    end = time.monotonic_ns()
    client.close()
    thread.join(10)
    streaming = (end - first) / 1e9
    return {"bytes": count, "mb_per_s": count / streaming / 1e6,
            "first_byte_ms": (first - asked) / 1e6, "overall_mb_per_s": count / ((end - asked) / 1e9) / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description="Measure how exactly a proxy applies its faults.")
    modes = parser.add_subparsers(dest="mode", required=True)
    for name, measure, sized, what in (
            ("one-way", one_way, False, "one-way delays of timestamped messages from the server"),
            ("round-trip", round_trips, False, "echo round trips"),
            ("bandwidth", bandwidth, True, "the time a fixed number of bytes takes, byte-exact"),
            ("throughput", throughput, True, "MB/s from a fast sender")):
        mode = modes.add_parser(name, help=what)
        mode.set_defaults(measure=measure)
        mode.add_argument("upstream_port", type=int, help="the port this process's server listens on")
        mode.add_argument("connect_port", type=int, help="the port its client connects to")
        if sized:
            mode.add_argument("--bytes", type=int, required=True)
        else:
            mode.add_argument("--count", type=int, required=True, help="messages or round trips")
            mode.add_argument("--gap", type=float, required=True, help="seconds between them")
    args = parser.parse_args()
    print(json.dumps(args.measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
