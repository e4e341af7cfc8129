"""Turns a loopback capture into .chunks fixtures: one file per TCP stream,
one line per segment payload: c|s SECONDS HEX (c = to the server port).
Retransmitted bytes (Linux's tail loss probes happen even on loopback) are
dropped, so each file holds each byte once, as the peer received it."""
import subprocess
import sys

pcap, server_port, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
lines = subprocess.run(
    ["tshark", "-r", pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.stream", "-e", "frame.time_relative",
     "-e", "tcp.dstport", "-e", "tcp.seq", "-e", "tcp.payload"],
    check=True, capture_output=True, text=True).stdout.splitlines()
streams = {}
next_seq = {}
for line in lines:
    stream, time, dstport, seq, payload = line.split("\t")
    side = "c" if dstport == server_port else "s"
    data = bytes.fromhex(payload.replace(":", ""))
    start, expected = int(seq), next_seq.get((stream, side), int(seq))
    if start + len(data) <= expected:
        continue
    data = data[max(expected - start, 0):]
    next_seq[(stream, side)] = max(expected, start) + len(data)
    streams.setdefault(int(stream), []).append((float(time), side, data.hex()))
for index, (stream, chunks) in enumerate(sorted(streams.items())):
    start = chunks[0][0]
    name = f"{prefix}-{index}.chunks" if len(streams) > 1 else f"{prefix}.chunks"
    with open(name, "w") as out:
        out.write(f"# captured on loopback by capture/capture.sh; stream {stream} of {pcap.split('/')[-1]}\n")
        for time, side, payload in chunks:
            out.write(f"{side} {time - start:.6f} {payload}\n")
    print(name, len(chunks), "chunks")
