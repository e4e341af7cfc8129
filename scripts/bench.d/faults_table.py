#!/usr/bin/env python3
"""The table of scripts/bench-faults: its measurements (the JSON lines of
faults_client.py, one file per measurement) next to Toxiproxy's published
tolerances and the targets of issue 4, one PASS/FAIL per target.

Exit status 1 when a target is missed.

Usage: faults_table.py --hop-direct F --hop-proxy F --latency F --round-trip F
                       --bandwidth F --throughput F --plain F
"""
import argparse
import json
import sys


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def errors(values, target):
    values = [value - target for value in values]
    return quantile(values, 0.5), quantile(values, 0.99), max(values, key=abs)


def json_lines(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description="Print bench-faults' table from faults_client.py's measurements.")
    for name, what in (("hop-direct", "one-way, no proxy"), ("hop-proxy", "one-way, through the proxy without faults"),
                       ("latency", "one-way under --latency 100ms"), ("round-trip", "round trips under --latency 100ms both ways"),
                       ("bandwidth", "bandwidth runs under --bandwidth 1000KB/s"),
                       ("throughput", "throughput runs under --latency 100ms"), ("plain", "throughput runs without faults")):
        parser.add_argument("--" + name, required=True, metavar="FILE", help="JSON lines: " + what)
    args = parser.parse_args()
    hop_direct, = json_lines(args.hop_direct)
    hop_proxy, = json_lines(args.hop_proxy)
    latency, = json_lines(args.latency)
    round_trip, = json_lines(args.round_trip)
    bandwidths = json_lines(args.bandwidth)
    throughputs = json_lines(args.throughput)
    plains = json_lines(args.plain)

    rows, failures = [], []

    def row(name, measured, toxiproxy, target, ok):
        rows.append((name, measured, toxiproxy, target, "PASS" if ok else "FAIL"))
        if not ok:
            failures.append(name)

    direct = hop_direct["delays_ms"]
    proxied = hop_proxy["delays_ms"]
    added_mean = (sum(proxied) / len(proxied) - sum(direct) / len(direct)) * 1000
    added_p50 = (quantile(proxied, 0.5) - quantile(direct, 0.5)) * 1000
    row("hop, no faults (added one-way)", "mean %+.0f µs, p50 %+.0f µs (direct p50 %.0f µs)" % (added_mean, added_p50, quantile(direct, 0.5) * 1000),
        "< 300 µs per hop (README: < 100 µs)", "well under 300 µs", added_mean < 300)

    p50, p99, worst = errors(latency["delays_ms"], 100)
    row("latency 100 ms one way, %d msgs (error)" % len(latency["delays_ms"]), "p50 %+.2f, p99 %+.2f, max %+.2f ms" % (p50, p99, worst),
        "not published", "100 ± 5 ms", abs(worst) <= 5)

    p50, p99, worst = errors(round_trip["rtt_ms"], 200)
    row("latency both ways, %d round trips (error)" % len(round_trip["rtt_ms"]), "p50 %+.2f, p99 %+.2f, max %+.2f ms" % (p50, p99, worst),
        "not published", "200 ± 10 ms", abs(worst) <= 10)

    bandwidth_errors = [result["elapsed_ms"] - 480 for result in bandwidths]
    exact = all(result["exact"] for result in bandwidths)
    worst = max(bandwidth_errors, key=abs)
    row("bandwidth 1000 KB/s, 480,000 B (error)", "%s ms; worst %+.1f ms; %s" % (", ".join("%+.1f" % e for e in bandwidth_errors), worst, "byte-exact" if exact else "NOT byte-exact"),
        "± 10 ms on 480 ms", "480 ± 10 ms, byte-exact", exact and abs(worst) <= 10)

    rates = [result["mb_per_s"] for result in throughputs]
    complete = all(result["bytes"] == throughputs[0]["bytes"] for result in throughputs)
    row("throughput under 100 ms latency", "%s MB/s (best %.0f); first byte after %.0f ms" % (", ".join("%.0f" % r for r in rates), max(rates), throughputs[0]["first_byte_ms"]),
        "≥ 100 MB/s", "≥ 100 MB/s", complete and max(rates) >= 100)
    plain = [result["mb_per_s"] for result in plains]
    rows.append(("throughput, no faults (reference)", "%s MB/s" % ", ".join("%.0f" % r for r in plain), "README: ~1000 MB/s (4 cores)", "—", ""))

    headers = ("measurement", "tapedeck", "toxiproxy (published)", "issue 4 target", "")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(5)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    print(line(headers))
    print(line(["-" * width for width in widths]))
    for r in rows:
        print(line(r))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
