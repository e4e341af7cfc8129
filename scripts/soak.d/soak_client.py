#!/usr/bin/env python3
"""Mixed echo traffic for the soak, with faults switched on and off meanwhile.

Against an echo service at HOST:PORT, for --seconds:

- short sessions, --short-concurrency at a time: connect, send a random
  number of bytes (log-uniform up to --max-size, a few empty) in random
  pieces, half-close, read the echo to its end;
- --long-streams long sessions at a time, each 10 to 30 s of paced pieces with
  idle pauses, then half-close and read to the end.

Every session checks the SHA-256 and length of what came back against what it
sent. The sending of all sessions together is paced to --rate bytes/s, so the
recording's size is bounded.

With --api HOST:PORT and --proxy NAME (a Toxiproxy-compatible API), a fault is
switched on every --fault-period seconds and off the period after, cycling
through faults that keep every byte (latency with jitter, slicer, bandwidth,
slow_close) on either stream; each one is also updated while it is on.

No session starts after --seconds; those under way get --grace seconds more.
Then one JSON line goes to stdout: {"sessions" (connections made), "ok",
"mismatched", "failed", "bytes_sent", "fault_switches", "fault_errors",
"seconds", "errors" (the first few)}. Exit status 0 when every session was ok.
"""
import argparse
import asyncio
import hashlib
import json
import math
import random
import sys
import time
import urllib.request

# Faults that keep every byte: (toxic JSON, an update of its attributes).
FAULTS = [
    ({"type": "latency", "stream": "downstream", "attributes": {"latency": 5, "jitter": 3}}, {"latency": 1, "jitter": 1}),
    ({"type": "slicer", "stream": "upstream", "attributes": {"average_size": 512, "size_variation": 256, "delay": 500}},
     {"average_size": 2048, "size_variation": 512, "delay": 100}),
    ({"type": "bandwidth", "stream": "downstream", "attributes": {"rate": 2000}}, {"rate": 500}),
    ({"type": "latency", "stream": "upstream", "attributes": {"latency": 20}}, {"latency": 2}),
    ({"type": "slow_close", "stream": "downstream", "attributes": {"delay": 100}}, {"delay": 10}),
    ({"type": "slicer", "stream": "downstream", "attributes": {"average_size": 64, "size_variation": 32, "delay": 0}},
     {"average_size": 8192, "size_variation": 0, "delay": 0}),
]


class Pacer:
    """A token bucket shared by every session: at most `rate` bytes/s in all."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate / 10
        self.last = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, count: int) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.rate / 10, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= count or self.tokens >= self.rate / 10:
                    self.tokens -= count
                    return
                await asyncio.sleep((count - self.tokens) / self.rate)


class Totals:
    def __init__(self) -> None:
        self.sessions = self.ok = self.mismatched = self.failed = self.bytes_sent = 0
        self.errors: list[str] = []

    def error(self, message: str) -> None:
        if len(self.errors) < 10:
            self.errors.append(message)


async def session(args, pacer: Pacer, totals: Totals, rng: random.Random, size: int, pieces, pause) -> None:
    """One echo session: `pieces(remaining)` gives the next piece's size, `pause()` a wait before it."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(args.host, args.port), 10)
    except (OSError, asyncio.TimeoutError) as error:
        totals.failed += 1
        totals.error(f"connect: {error!r}")
        return
    totals.sessions += 1
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    got = 0

    async def read_all() -> None:
        nonlocal got
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            got += len(chunk)
            got_hash.update(chunk)

    reading = asyncio.ensure_future(read_all())
    try:
        remaining = size
        while remaining > 0:
            wait = pause()
            if wait > 0:
                await asyncio.sleep(wait)
            piece = min(remaining, pieces(remaining))
            await pacer.take(piece)
            data = rng.randbytes(piece)
            sent_hash.update(data)
            writer.write(data)
            await writer.drain()
            remaining -= piece
            totals.bytes_sent += piece
        writer.write_eof()
        await asyncio.wait_for(reading, args.read_timeout)
    except (OSError, asyncio.TimeoutError, ConnectionError) as error:
        reading.cancel()
        totals.failed += 1
        totals.error(f"session of {size} bytes: {error!r} after {got} bytes back")
        writer.close()
        return
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    if got == size and got_hash.digest() == sent_hash.digest():
        totals.ok += 1
    else:
        totals.mismatched += 1
        totals.error(f"mismatch: sent {size} bytes, got {got} back, SHA-256 {'equal' if got_hash.digest() == sent_hash.digest() else 'different'}")


async def short_sessions(args, pacer, totals, rng, deadline) -> None:
    while time.monotonic() < deadline:
        size = 0 if rng.random() < 0.02 else int(math.exp(rng.uniform(0, math.log(args.max_size))))
        await session(args, pacer, totals, rng, size, lambda remaining: rng.randint(1, 32768), lambda: 0)


async def long_streams(args, pacer, totals, rng, deadline) -> None:
    while time.monotonic() < deadline - 5:
        length = min(rng.uniform(10, 30), deadline - time.monotonic())
        per_second = args.rate / (4 * max(1, args.long_streams))  # a quarter of the pace for the long ones
        size = max(1, int(length * per_second))
        piece = max(1, int(per_second / 20))

        def pause() -> float:
            return rng.uniform(0.2, 1.0) if rng.random() < 0.02 else 0.05

        await session(args, pacer, totals, rng, size, lambda remaining: rng.randint(1, 2 * piece), pause)


def api_call(api: str, method: str, path: str, body=None) -> None:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{api}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


async def switch_faults(args, deadline, counts) -> None:
    index = 0
    while time.monotonic() + args.fault_period < deadline:
        toxic, update = FAULTS[index % len(FAULTS)]
        name = f"soak_{index}"
        body = dict(toxic, name=name, toxicity=1.0)
        try:
            await asyncio.to_thread(api_call, args.api, "POST", f"/proxies/{args.proxy}/toxics", body)
            counts["switches"] += 1
            await asyncio.sleep(args.fault_period / 2)
            await asyncio.to_thread(api_call, args.api, "POST", f"/proxies/{args.proxy}/toxics/{name}",
                                    {"attributes": update})
            counts["switches"] += 1
            await asyncio.sleep(args.fault_period / 2)
            await asyncio.to_thread(api_call, args.api, "DELETE", f"/proxies/{args.proxy}/toxics/{name}")
            counts["switches"] += 1
        except OSError as error:
            counts["errors"] += 1
            print(f"soak_client: fault {name}: {error!r}", file=sys.stderr)
        await asyncio.sleep(args.fault_period)
        index += 1


async def main_async(args) -> int:
    rng = random.Random(args.seed)
    pacer = Pacer(args.rate)
    totals = Totals()
    start = time.monotonic()
    deadline = start + args.seconds
    counts = {"switches": 0, "errors": 0}
    tasks = [asyncio.ensure_future(short_sessions(args, pacer, totals, random.Random(rng.random()), deadline))
             for _ in range(args.short_concurrency)]
    tasks += [asyncio.ensure_future(long_streams(args, pacer, totals, random.Random(rng.random()), deadline))
              for _ in range(args.long_streams)]
    if args.api:
        tasks.append(asyncio.ensure_future(switch_faults(args, deadline, counts)))

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            print(f"soak_client: {time.monotonic() - start:.0f} s: {totals.sessions} sessions, {totals.ok} ok, "
                  f"{totals.mismatched} mismatched, {totals.failed} failed, {totals.bytes_sent / 1e6:.1f} MB sent",
                  file=sys.stderr, flush=True)

    reporter = asyncio.ensure_future(progress())
    done, pending = await asyncio.wait(tasks, timeout=args.seconds + args.grace)
    reporter.cancel()
    for task in pending:
        task.cancel()
        totals.failed += 1
        totals.error("a session did not finish within the grace period")
    for task in done:
        if task.exception() is not None:
            totals.failed += 1
            totals.error(f"task failed: {task.exception()!r}")
    report = {
        "sessions": totals.sessions, "ok": totals.ok, "mismatched": totals.mismatched, "failed": totals.failed,
        "bytes_sent": totals.bytes_sent, "fault_switches": counts["switches"], "fault_errors": counts["errors"],
        "seconds": round(time.monotonic() - start, 3), "errors": totals.errors,
    }
    print(json.dumps(report), flush=True)
    return 0 if totals.ok == totals.sessions and totals.mismatched == 0 and totals.failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="Mixed echo traffic with SHA-256 checks and fault switching.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--grace", type=float, default=60)
    parser.add_argument("--read-timeout", type=float, default=30)
    parser.add_argument("--rate", type=float, default=1_000_000, help="bytes/s sent by all sessions together")
    parser.add_argument("--short-concurrency", type=int, default=8)
    parser.add_argument("--long-streams", type=int, default=3)
    parser.add_argument("--max-size", type=int, default=256 * 1024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api", default="", help="HOST:PORT of the Toxiproxy-compatible API")
    parser.add_argument("--proxy", default="soak")
    parser.add_argument("--fault-period", type=float, default=5)
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
