#!/usr/bin/env python3
"""Opens sessions to an echo server until TOTAL bytes have gone each way:
each session sends SESSION bytes (a pattern of its own) in 64 KiB writes,
reads each write's echo back, half-closes and reads to the end. PARALLEL
sessions run at once. Prints one JSON line: sessions, bytes each way,
seconds. Exits 1 when an echo differs.

usage: bulk_sessions.py HOST PORT [--total-bytes N] [--session-bytes N] [--parallel N]
"""
import argparse, json, socket, sys, threading, time

CHUNK = 64 * 1024

def pattern(index, count):
    unit = bytes((index * 31 + n) & 0xFF for n in range(251))
    return (unit * (count // len(unit) + 1))[:count]

def session(host, port, index, size):
    data = pattern(index, size)
    with socket.create_connection((host, port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, size, CHUNK):
            piece = data[start:start + CHUNK]
            s.sendall(piece)
            got = bytearray()
            while len(got) < len(piece):
                more = s.recv(len(piece) - len(got))
                if not more:
                    raise RuntimeError("session %d: the echo ended early" % index)
                got += more
            if got != piece:
                raise RuntimeError("session %d: the echo differs" % index)
        s.shutdown(socket.SHUT_WR)
        while s.recv(CHUNK):
            pass

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--total-bytes", type=int, default=1 << 30)
    parser.add_argument("--session-bytes", type=int, default=256 << 10)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    count = max(1, args.total_bytes // args.session_bytes)
    next_index = [0]
    lock = threading.Lock()
    failures = []

    def worker():
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count or failures:
                return
            try:
                session(args.host, args.port, index, args.session_bytes)
            except Exception as error:  # reported once, below
                failures.append(str(error))
                return

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(failures[0], file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"sessions": count, "bytes_each_way": count * args.session_bytes,
                      "seconds": round(time.monotonic() - started, 1)}))

if __name__ == "__main__":
    main()
