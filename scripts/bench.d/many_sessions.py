#!/usr/bin/env python3
"""Writes a pcap (raw IPv4 link type) of N short Redis-like TCP sessions on
loopback, for measuring `tapedeck report` at scale: each session is a
handshake, a PING and its +PONG, then FIN both ways; every 100th ends in an
RST instead, every 250th loses 8 bytes of its answer (a gap) and every 500th
is still open at the end. Sessions start every SPACING microseconds and last
0.2 to 20 ms, so many overlap. Deterministic.

usage: many_sessions.py OUT.pcap [--sessions N] [--spacing-us US]
"""
import argparse, struct

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--spacing-us", type=int, default=600)
    args = parser.parse_args()
    SYN, FIN, RST, PSH_ACK, ACK = 0x02, 0x01, 0x04, 0x18, 0x10
    client_ip, server_ip = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])
    events = []  # (time_us, bytes)
    request, answer = b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"
    for n in range(args.sessions):
        t = n * args.spacing_us
        sport = 20000 + n % 40000
        dport = 6379
        # a different client address per 40,000 so 4-tuples never repeat
        cip = bytes([127, 1, (n // 40000) % 256, 1])
        c, s = 1000, 5000
        life = 200 + (n * 7919) % 19800
        def add(dt, frm_client, flags, payload=b"", seq=None, ack=None):
            if frm_client:
                events.append((t + dt, packet(cip, server_ip, sport, dport, seq, ack, flags, payload)))
            else:
                events.append((t + dt, packet(server_ip, cip, dport, sport, seq, ack, flags, payload)))
        add(0, True, SYN, seq=c, ack=0)
        add(20, False, SYN | ACK, seq=s, ack=c + 1)
        add(40, True, ACK, seq=c + 1, ack=s + 1)
        add(60, True, PSH_ACK, request, seq=c + 1, ack=s + 1)
        c2 = c + 1 + len(request)
        think = 30 + (n * 104729) % (life // 2)
        if n % 250 == 7:
            # the capture lost the first 8 bytes of a 15-byte answer
            add(60 + think, False, PSH_ACK, b"PONG\r\n" + b"+x\r\n", seq=s + 1 + 8, ack=c2)
            s2 = s + 1 + 8 + 10
        else:
            add(60 + think, False, PSH_ACK, answer, seq=s + 1, ack=c2)
            s2 = s + 1 + len(answer)
        if n % 500 == 11:
            continue  # still open when the capture ends
        if n % 100 == 3:
            add(life, True, RST, seq=c2, ack=0)
            continue
        add(life, True, FIN | ACK, seq=c2, ack=s2)
        add(life + 20, False, FIN | ACK, seq=s2, ack=c2 + 1)
        add(life + 40, True, ACK, seq=c2 + 1, ack=s2 + 1)
    events.sort(key=lambda e: e[0])
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        base = 1_796_000_000
        for time_us, data in events:
            out.write(struct.pack("<IIII", base + time_us // 1_000_000, time_us % 1_000_000, len(data), len(data)))
            out.write(data)

if __name__ == "__main__":
    main()
