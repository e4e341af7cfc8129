#!/usr/bin/env python3
"""Timing helpers for scripts/bench-replay, on pcap files read with tshark.

A "send" is a TCP segment with payload going to --port (the client's side of
the conversation); retransmissions are dropped.

  make-pcap REC --port P --out OUT --dst-port Q [--count N] [--interval-us U]
      Writes the sends of REC as an Ethernet pcap (nanosecond timestamps) that
      tcpreplay can put on lo: 127.0.0.1:40000 -> 127.0.0.1:Q, same payloads,
      same times (or, with --interval-us, U microseconds apart), the first N.
      Prints the number of packets written.

  compare REF --ref-port P CAP --cap-port Q
      Pairs the sends of CAP (a replay, captured) with those of REF (the
      schedule) by their offset in the byte stream, and prints one JSON line:
      {"sends", "ref_sends", "paired", "p50_us", "p99_us", "max_us",
       "drift_us", "span_s"} where the error of gap i is
      |(cap[i+1] - cap[i]) - (ref[i+1] - ref[i])| and the drift is
      |(cap[last] - cap[first]) - (ref[last] - ref[first])|.
"""
import argparse
import json
import math
import struct
import subprocess
import sys


def sends(path, port, payloads=False):
    """[(time_ns, stream_offset, length, payload or None)] of the segments to port."""
    fields = ["-e", "frame.time_epoch", "-e", "tcp.seq_raw", "-e", "tcp.len"]
    if payloads:
        fields += ["-e", "tcp.payload"]
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", f"tcp.dstport == {port} && tcp.len > 0", "-T", "fields", "-o", "tcp.desegment_tcp_streams:FALSE"] + fields,
        check=True, capture_output=True, text=True,
    ).stdout
    result = []
    first_seq = None
    end = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[2]:
            continue
        seconds, _, fraction = parts[0].partition(".")
        time_ns = int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])
        seq, length = int(parts[1]), int(parts[2])
        if first_seq is None:
            first_seq = seq
        offset = (seq - first_seq) % (1 << 32)
        if offset + length <= end:
            continue  # a retransmission
        payload = bytes.fromhex(parts[3].replace(":", "")) if payloads and len(parts) > 3 else None
        result.append((time_ns, offset, length, payload))
        end = max(end, offset + length)
    return result


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(payload, seq, dst_port, ident):
    src = dst = bytes([127, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", 40000, dst_port, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), ident & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\0" * 12 + b"\x08\x00" + ip + tcp + payload


def make_pcap(args):
    packets = sends(args.rec, args.port, payloads=True)
    if args.count:
        packets = packets[: args.count]
    if not packets:
        print(f"replay_timing: {args.rec} has no payload going to port {args.port}", file=sys.stderr)
        return 2
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap, Ethernet
        first = packets[0][0]
        seq = 1000
        for i, (time_ns, _, length, payload) in enumerate(packets):
            if args.interval_us is not None:
                time_ns = first + i * args.interval_us * 1000
            payload = payload if payload is not None else b"x" * length
            data = frame(payload, seq, args.dst_port, i)
            seq += len(payload)
            out.write(struct.pack("<IIII", time_ns // 1_000_000_000, time_ns % 1_000_000_000, len(data), len(data)))
            out.write(data)
    print(len(packets))
    return 0


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(len(sorted_values) * fraction) - 1))
    return sorted_values[index]


def compare(args):
    ref = sends(args.ref, args.ref_port)
    cap = sends(args.cap, args.cap_port)
    # Pair each scheduled send with the captured segment carrying its first byte.
    pairs = []
    j = 0
    for time_ns, offset, _, _ in ref:
        while j < len(cap) and cap[j][1] + cap[j][2] <= offset:
            j += 1
        if j == len(cap):
            break
        if cap[j][1] <= offset:
            pairs.append((time_ns, cap[j][0]))
    errors = sorted(abs((b1 - b0) - (a1 - a0)) / 1000 for (a0, b0), (a1, b1) in zip(pairs, pairs[1:]))
    drift = abs((pairs[-1][1] - pairs[0][1]) - (pairs[-1][0] - pairs[0][0])) / 1000 if len(pairs) > 1 else None
    print(json.dumps({
        "sends": len(cap),
        "ref_sends": len(ref),
        "paired": len(pairs),
        "p50_us": round(percentile(errors, 0.50), 1),
        "p99_us": round(percentile(errors, 0.99), 1),
        "max_us": round(errors[-1], 1) if errors else 0.0,
        "drift_us": round(drift, 1) if drift is not None else None,
        "span_s": round((pairs[-1][0] - pairs[0][0]) / 1e9, 3) if len(pairs) > 1 else 0.0,
    }))
    return 0 if len(pairs) > 1 else 1


def main():
    parser = argparse.ArgumentParser(description="Timing helpers for scripts/bench-replay.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-pcap")
    make.add_argument("rec")
    make.add_argument("--port", type=int, required=True)
    make.add_argument("--out", required=True)
    make.add_argument("--dst-port", type=int, required=True)
    make.add_argument("--count", type=int)
    make.add_argument("--interval-us", type=int)
    cmp = commands.add_parser("compare")
    cmp.add_argument("ref")
    cmp.add_argument("--ref-port", type=int, required=True)
    cmp.add_argument("cap")
    cmp.add_argument("--cap-port", type=int, required=True)
    args = parser.parse_args()
    return make_pcap(args) if args.command == "make-pcap" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
