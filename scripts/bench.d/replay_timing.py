#!/usr/bin/env python3
"""Timing helpers for scripts/bench-replay, on pcap files read with tshark.

A "send" is a TCP segment with payload going to --port (the client's side of
the conversation); retransmissions are dropped. A session is one TCP stream;
the sessions of two files are paired in the order they opened.

  make-pcap REC --port P --out OUT --dst-port Q [--count N] [--interval-us U]
      Writes the sends of REC as an Ethernet pcap (nanosecond timestamps) that
      tcpreplay can put on lo: 127.0.0.1:(40000 + session) -> 127.0.0.1:Q,
      same payloads, same times — or, with --count, the first N sends of the
      first session (with --interval-us, U microseconds apart). Prints the
      number of packets written.

  compare REF --ref-port P CAP --cap-port Q [--start-ns T]
      Pairs the sends of each session of CAP (a replay, captured) with those
      of the same session of REF (the schedule) by their offset in the byte
      stream, and prints one JSON line:
      {"sessions", "ref_sessions", "sends", "ref_sends", "paired", "p50_us",
       "p99_us", "max_us", "drift_us", "span_s", "first_p50_us",
       "first_p99_us", "first_max_us", "first_us"} where the error of gap i
      is |(cap[i+1] - cap[i]) - (ref[i+1] - ref[i])| (over every session's
      consecutive sends) and the drift is the largest of the sessions'
      |(cap[last] - cap[first]) - (ref[last] - ref[first])|. With --start-ns
      (the replay's --start-at, ns since 1970, at speed 1), a session's first
      send was scheduled at T + (its recorded time - REF's first SYN); its
      lateness is the captured time minus that (first_us, signed, per
      session; the percentiles are of its absolute value).
"""
import argparse
import json
import math
import struct
import subprocess
import sys


def sessions(path, port, payloads=False):
    """The sessions to port, in the order they opened: a list of
    {"syn": time_ns or None, "sends": [(time_ns, stream_offset, length, payload or None)]}.
    A session is a TCP stream (tshark's tcp.stream); retransmissions are dropped."""
    fields = ["-e", "frame.time_epoch", "-e", "tcp.stream", "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.flags.syn"]
    if payloads:
        fields += ["-e", "tcp.payload"]
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", f"tcp.dstport == {port} && (tcp.len > 0 || tcp.flags.syn == 1)", "-T", "fields",
         "-o", "tcp.desegment_tcp_streams:FALSE"] + fields,
        check=True, capture_output=True, text=True,
    ).stdout
    streams = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 5 or not parts[3]:
            continue
        seconds, _, fraction = parts[0].partition(".")
        time_ns = int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])
        stream = streams.setdefault(int(parts[1]), {"syn": None, "sends": [], "first_seq": None, "end": 0})
        seq, length = int(parts[2]), int(parts[3])
        if parts[4] in ("1", "True"):
            stream["syn"] = stream["syn"] if stream["syn"] is not None else time_ns
            stream["first_seq"] = (seq + 1) % (1 << 32)
            continue
        if length == 0:
            continue
        if stream["first_seq"] is None:
            stream["first_seq"] = seq
        offset = (seq - stream["first_seq"]) % (1 << 32)
        if offset + length <= stream["end"]:
            continue  # a retransmission
        payload = bytes.fromhex(parts[5].replace(":", "")) if payloads and len(parts) > 5 else None
        stream["sends"].append((time_ns, offset, length, payload))
        stream["end"] = max(stream["end"], offset + length)
    return [{"syn": streams[k]["syn"], "sends": streams[k]["sends"]} for k in sorted(streams) if streams[k]["sends"]]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(payload, seq, src_port, dst_port, ident):
    src = dst = bytes([127, 0, 0, 1])
    tcp = struct.pack("!HHIIBBHHH", src_port, dst_port, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), ident & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\0" * 12 + b"\x08\x00" + ip + tcp + payload


def make_pcap(args):
    found = sessions(args.rec, args.port, payloads=True)
    if args.count:
        found = found[:1]
        found[0]["sends"] = found[0]["sends"][: args.count]
    packets = sorted((time_ns, n, payload, length) for n, session in enumerate(found) for time_ns, _, length, payload in session["sends"])
    if not packets:
        print(f"replay_timing: {args.rec} has no payload going to port {args.port}", file=sys.stderr)
        return 2
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap, Ethernet
        first = packets[0][0]
        seqs = [1000] * len(found)
        for i, (time_ns, n, payload, length) in enumerate(packets):
            if args.interval_us is not None:
                time_ns = first + i * args.interval_us * 1000
            payload = payload if payload is not None else b"x" * length
            data = frame(payload, seqs[n], 40000 + n, args.dst_port, i)
            seqs[n] += len(payload)
            out.write(struct.pack("<IIII", time_ns // 1_000_000_000, time_ns % 1_000_000_000, len(data), len(data)))
            out.write(data)
    print(len(packets))
    return 0


def percentile(sorted_values, fraction):
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(len(sorted_values) * fraction) - 1))
    return sorted_values[index]


def pair(ref_sends, cap_sends):
    """[(ref_ns, cap_ns)]: each scheduled send with the captured segment carrying its first byte."""
    pairs = []
    j = 0
    for time_ns, offset, _, _ in ref_sends:
        while j < len(cap_sends) and cap_sends[j][1] + cap_sends[j][2] <= offset:
            j += 1
        if j == len(cap_sends):
            break
        if cap_sends[j][1] <= offset:
            pairs.append((time_ns, cap_sends[j][0]))
    return pairs


def compare(args):
    ref = sessions(args.ref, args.ref_port)
    cap = sessions(args.cap, args.cap_port)
    errors, drifts, firsts, spans, paired = [], [], [], [], 0
    origin = min((s["syn"] if s["syn"] is not None else s["sends"][0][0]) for s in ref) if ref else 0
    for ref_session, cap_session in zip(ref, cap):
        pairs = pair(ref_session["sends"], cap_session["sends"])
        paired += len(pairs)
        errors += [abs((b1 - b0) - (a1 - a0)) / 1000 for (a0, b0), (a1, b1) in zip(pairs, pairs[1:])]
        if len(pairs) > 1:
            drifts.append(abs((pairs[-1][1] - pairs[0][1]) - (pairs[-1][0] - pairs[0][0])) / 1000)
            spans.append((pairs[-1][0] - pairs[0][0]) / 1e9)
        if args.start_ns is not None and pairs and pairs[0][0] == ref_session["sends"][0][0]:
            firsts.append((pairs[0][1] - (args.start_ns + pairs[0][0] - origin)) / 1000)
    errors.sort()
    late = sorted(abs(f) for f in firsts)
    print(json.dumps({
        "sessions": len(cap),
        "ref_sessions": len(ref),
        "sends": sum(len(s["sends"]) for s in cap),
        "ref_sends": sum(len(s["sends"]) for s in ref),
        "paired": paired,
        "p50_us": round(percentile(errors, 0.50), 1),
        "p99_us": round(percentile(errors, 0.99), 1),
        "max_us": round(errors[-1], 1) if errors else 0.0,
        "drift_us": round(max(drifts), 1) if drifts else None,
        "span_s": round(max(spans), 3) if spans else 0.0,
        "first_p50_us": round(percentile(late, 0.50), 1) if late else None,
        "first_p99_us": round(percentile(late, 0.99), 1) if late else None,
        "first_max_us": round(late[-1], 1) if late else None,
        "first_us": [round(f, 1) for f in firsts],
    }))
    return 0 if paired > 1 else 1


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
    cmp.add_argument("--start-ns", type=int, help="the instant (ns since 1970) the replay was told to start (--start-at)")
    args = parser.parse_args()
    return make_pcap(args) if args.command == "make-pcap" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
