#!/usr/bin/env python3
"""Checks the soak's disk-full recording: a ring of files on a small disk
that was filled and freed again while traffic flowed.

Usage: check_ring.py TAPEDECK MAIN_INSPECT_JSON FILL_START FILL_END FILE...

FILL_START and FILL_END are the Unix times (seconds) when the disk was filled
and freed. The whole recording (MAIN_INSPECT_JSON, `tapedeck inspect --format
json` of the soak's main recording, which holds every byte) is the reference.

For every file of the ring: it ends on a whole record (walked by its record
headers), `tapedeck inspect` reads it, and every session it holds whole (its
handshake and both FINs in the file) carries, both ways, the bytes of one
session of the main recording (same length and SHA-256). Prints one JSON
line: {"files", "torn", "unreadable", "whole", "wrong", "partial",
"whole_before", "whole_during", "whole_after", "errors"}.
"""
import json
import struct
import subprocess
import sys
from datetime import datetime


def whole_length(path: str) -> tuple[int, int]:
    """(where the last whole record ends, the file's length) of a classic pcap."""
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) < 24:
        return 0, len(data)
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    offset = 24
    while offset + 16 <= len(data):
        (captured,) = struct.unpack_from(order + "I", data, offset + 8)
        if offset + 16 + captured > len(data):
            break
        offset += 16 + captured
    return offset, len(data)


def start_seconds(text: str) -> float:
    # RFC 3339 with nanoseconds: keep microseconds for Python.
    head, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (fraction or "0"))


def main() -> int:
    tapedeck, main_json, fill_start, fill_end, *files = sys.argv[1:]
    fill_start, fill_end = float(fill_start), float(fill_end)
    with open(main_json) as handle:
        reference = {(s["client_to_server"]["bytes"], s["client_to_server"]["sha256"]) for s in json.load(handle)}
    result = {"files": len(files), "torn": 0, "unreadable": 0, "whole": 0, "wrong": 0, "partial": 0,
              "whole_before": 0, "whole_during": 0, "whole_after": 0, "errors": []}
    for path in files:
        whole, length = whole_length(path)
        if whole != length:
            result["torn"] += 1
            result["errors"].append(f"{path}: {length - whole} bytes of a cut record at its end")
        inspect = subprocess.run([tapedeck, "inspect", path, "--format", "json"], capture_output=True, text=True)
        if inspect.returncode != 0 or inspect.stderr.strip():
            result["unreadable"] += 1
            result["errors"].append(f"{path}: inspect exited {inspect.returncode}: {inspect.stderr.strip()}")
            continue
        for session in json.loads(inspect.stdout):
            up, down = session["client_to_server"], session["server_to_client"]
            if session["started_mid_flow"] or session["end"] != "fin":
                result["partial"] += 1
                continue
            result["whole"] += 1
            if (up["bytes"], up["sha256"]) not in reference or (down["bytes"], down["sha256"]) != (up["bytes"], up["sha256"]):
                result["wrong"] += 1
                result["errors"].append(f"{path}: session {session['index']} holds bytes no client sent")
            start = start_seconds(session["start"])
            phase = "whole_before" if start < fill_start else "whole_during" if start < fill_end else "whole_after"
            result[phase] += 1
    result["errors"] = result["errors"][:10]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
