#!/usr/bin/env python3
"""Sets, gets and deletes large values on a Redis server (or a mock of one):
PARALLEL connections each run SET k v, GET k, DEL k over keys of their own,
every value different (VALUE bytes), until TOTAL bytes of values have gone
each way. Every reply is checked: +OK, the value just set, :1. The same run
against a recording of itself checks a mock's answers. Prints one JSON line:
exchanges, value bytes each way, seconds, mismatches (the first few
described). Exits 1 when a reply differs.

usage: redis_values.py HOST PORT [--total-bytes N] [--value-bytes N] [--parallel N] [--session-rounds N]
"""
import argparse, json, os, random, socket, sys, threading, time

def command(*words):
    out = [b"*%d\r\n" % len(words)]
    for word in words:
        out.append(b"$%d\r\n%s\r\n" % (len(word), word))
    return b"".join(out)

class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def read_exactly(self, count):
        while len(self.buffer) < count:
            more = self.sock.recv(max(65536, count - len(self.buffer)))
            if not more:
                raise RuntimeError("the server closed the connection")
            self.buffer += more
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def read_line(self):
        while b"\r\n" not in self.buffer:
            more = self.sock.recv(65536)
            if not more:
                raise RuntimeError("the server closed the connection")
            self.buffer += more
        end = self.buffer.index(b"\r\n") + 2
        line = bytes(self.buffer[:end])
        del self.buffer[:end]
        return line

    def reply(self):
        line = self.read_line()
        if line.startswith(b"$") and not line.startswith(b"$-1"):
            return line + self.read_exactly(int(line[1:-2]) + 2)
        return line

    def ask(self, *words):
        self.sock.sendall(command(*words))
        return self.reply()

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--total-bytes", type=int, default=1 << 30)
    parser.add_argument("--value-bytes", type=int, default=64 << 10)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--session-rounds", type=int, default=0)
    args = parser.parse_args()
    rounds = max(1, args.total_bytes // args.value_bytes)
    block = random.Random(7).randbytes(args.value_bytes)
    failures = []
    lock = threading.Lock()

    def worker(number):
        try:
            run(number)
        except Exception as error:
            with lock:
                failures.append("connection %d: %s" % (number, error))

    def run(number):
        connection = Connection(args.host, args.port)
        done = 0
        for index in range(number, rounds, args.parallel):
            if args.session_rounds and done == args.session_rounds:
                connection.sock.close()
                connection = Connection(args.host, args.port)
                done = 0
            done += 1
            key = b"k:%d:%d" % (number, index)
            value = (key + b"=").ljust(32, b".") + block[32:]
            expected = [b"+OK\r\n", b"$%d\r\n%s\r\n" % (len(value), value), b":1\r\n"]
            answers = [connection.ask(b"SET", key, value), connection.ask(b"GET", key), connection.ask(b"DEL", key)]
            for name, got, want in zip(("SET", "GET", "DEL"), answers, expected):
                if got != want:
                    with lock:
                        failures.append("%s %s: %r… (%d bytes), wanted %r… (%d bytes)" % (name, key.decode(), got[:40], len(got), want[:40], len(want)))
        connection.sock.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({
        "exchanges": rounds * 3,
        "value_bytes": rounds * args.value_bytes,
        "seconds": round(time.monotonic() - start, 2),
        "mismatches": len(failures),
        "first_mismatches": failures[:3],
    }))
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
