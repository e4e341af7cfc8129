#!/usr/bin/env python3
"""The summary of scripts/bench-internal: reads the output of `swift package
benchmark` (ordo-one/benchmark's tables) and prints one line per benchmark:
the median wall time, the rate it implies (MiB/s, or chunks/s for a benchmark
"per 16 KiB chunk") and the median allocation count net of the empty
baseline's ("Baseline: empty sample"). Prints nothing when no benchmark but
the baseline ran.

Usage: benchmark_summary.py OUTPUT
"""
import argparse
import re
import sys

UNITS = {"ns": 1e-9, "μs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
BASELINE = "Baseline: empty sample"


def medians(text: str) -> dict:
    """{benchmark: {"time": seconds, "mallocs": count}} from the p50 column."""
    rows = {}
    name = None
    for line in text.splitlines():
        if line and not line.startswith(("│", "╒", "╞", "├", "╘", "=")) and "│" not in line:
            name = line.strip()
            continue
        cells = [c.strip() for c in line.strip("│").split("│")]
        if name is None or len(cells) < 4:
            continue
        metric, p50 = cells[0], cells[3]  # columns: metric, p0, p25, p50, ...
        try:
            value = float(p50.replace(",", ""))
        except ValueError:
            continue
        time = re.match(r"Time \(wall clock\) \((\w+)\)", metric)
        if time and time.group(1) in UNITS:
            rows.setdefault(name, {})["time"] = value * UNITS[time.group(1)]
        elif metric.startswith("Malloc (total)"):
            rows.setdefault(name, {})["mallocs"] = value
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="Summarize ordo-one/benchmark's tables, one line per benchmark.")
    parser.add_argument("output", help="what `swift package benchmark` printed")
    args = parser.parse_args()
    with open(args.output, encoding="utf-8") as output:
        rows = medians(output.read())

    baseline = rows.pop(BASELINE, {}).get("mallocs", 0.0)
    if not rows:
        return 0
    print()
    print(f"{'benchmark (p50)':<58} {'time':>12} {'rate':>14} {'mallocs':>9}")
    for name, row in rows.items():
        seconds = row.get("time")
        mallocs = row.get("mallocs")
        per_chunk = "per 16 KiB chunk" in name
        if seconds is None or seconds <= 0:
            shown_time, rate = "-", "-"
        elif per_chunk:
            shown_time = f"{seconds * 1e9:.0f} ns"
            rate = f"{1 / seconds / 1e6:.2f} M/s"
        else:
            shown_time = f"{seconds * 1e6:.0f} µs"
            rate = f"{1 / seconds:.0f} MiB/s"
        if mallocs is None:
            shown_mallocs = "-"
        elif per_chunk:
            shown_mallocs = f"{mallocs:.0f}"  # scaled per chunk; the baseline is per sample
        else:
            shown_mallocs = f"{max(0.0, mallocs - baseline):.0f}"
        print(f"{name:<58} {shown_time:>12} {rate:>14} {shown_mallocs:>9}")
    print(f"(allocations per MiB, or per chunk, net of an empty sample's {baseline:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
