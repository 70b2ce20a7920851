# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What goes over the wire in a TCP port range: TLS or plain QEMU migration stream?

Reads the frames of one interface (an AF_PACKET socket: run it in the namespace of that
interface, e.g. `ip netns exec LAB-underlay python3 lab/streamsniff.py --iface cloud1`) for at
most --seconds, or until SIGTERM/SIGINT, and prints one JSON summary on stdout: per TCP flow
with one end in --ports, the bytes seen, the first payload bytes when the capture saw the
flow's first data segment (right after its SYN), the TLS record type that starts it, and how
often the start of a plain QEMU migration stream appeared in any payload: the magic 'QEVM'
(0x5145564d) and the format version 3, eight bytes that random (encrypted) data holds by chance
about once in 2^64 positions, where the four-byte magic alone would turn up about once per 4 GiB.
`ready` goes to stderr once the socket is bound.

Only the standard library; `summarise()` and `Flows` are plain functions for unit tests.
"""
import argparse
import json
import select
import signal
import socket
import struct
import sys
import time

QEMU_MAGIC = b"QEVM"
QEMU_STREAM_START = QEMU_MAGIC + b"\x00\x00\x00\x03"   # QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
TLS_CONTENT_TYPES = {0x14: "change_cipher_spec", 0x15: "alert", 0x16: "handshake", 0x17: "application_data"}


def parse_frame(frame):
    """(src, sport, dst, dport, flags, seq, payload) of an Ethernet/IPv4/TCP frame, else None."""
    if len(frame) < 14 + 20 + 20:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if ethertype == 0x8100:                     # one VLAN tag
        ethertype = struct.unpack("!H", frame[16:18])[0]
        off = 18
    if ethertype != ETH_P_IP:
        return None
    ver_ihl = frame[off]
    if ver_ihl >> 4 != 4:
        return None
    ihl = (ver_ihl & 0x0F) * 4
    total = struct.unpack("!H", frame[off + 2:off + 4])[0]
    if frame[off + 9] != 6:                     # TCP
        return None
    src = socket.inet_ntoa(frame[off + 12:off + 16])
    dst = socket.inet_ntoa(frame[off + 16:off + 20])
    tcp = off + ihl
    if len(frame) < tcp + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[tcp:tcp + 8])
    data_off = (frame[tcp + 12] >> 4) * 4
    flags = frame[tcp + 13]
    # An IPv4 total length of 0 comes with TSO/GRO super-frames on some drivers: take the frame.
    end = off + total if total else len(frame)
    payload = bytes(frame[tcp + data_off:min(end, len(frame))])
    return src, sport, dst, dport, flags, seq, payload


class Flows(object):
    """Per-direction TCP flow records for flows with one end in [port_min, port_max]."""

    SYN = 0x02

    def __init__(self, port_min, port_max, keep=16):
        self.port_min, self.port_max, self.keep = port_min, port_max, keep
        self.flows = {}
        self.frames = 0
        self.magic = 0
        self.tail = {}

    def add(self, frame):
        self.frames += 1
        parsed = parse_frame(frame)
        if parsed is None:
            return
        src, sport, dst, dport, flags, seq, payload = parsed
        if not (self.port_min <= sport <= self.port_max or self.port_min <= dport <= self.port_max):
            return
        key = "%s:%d>%s:%d" % (src, sport, dst, dport)
        flow = self.flows.setdefault(key, {"src": src, "sport": sport, "dst": dst, "dport": dport,
                                           "syn": False, "isn": None, "bytes": 0, "segments": 0,
                                           "first_payload": None, "first_record": None, "qevm": 0})
        if flags & self.SYN:
            flow["syn"] = True
            flow["isn"] = seq
        if not payload:
            return
        flow["bytes"] += len(payload)
        flow["segments"] += 1
        # A stream start split across two segments counts too: keep the last 7 bytes of each flow.
        joined = self.tail.get(key, b"") + payload
        found = joined.count(QEMU_STREAM_START)
        flow["qevm"] += found
        self.magic += found
        self.tail[key] = joined[-7:]
        if flow["first_payload"] is None and flow["isn"] is not None and seq == (flow["isn"] + 1) % (1 << 32):
            flow["first_payload"] = payload[:self.keep].hex()
            flow["first_record"] = record_type(payload)

    def summary(self):
        return {"frames": self.frames, "qevm": self.magic, "flows": list(self.flows.values())}


def record_type(payload):
    """'tls-handshake' etc. when payload starts like a TLS record (type, 0x03 0x0N); 'qemu-plain'
    for QEMU's migration magic; 'other' otherwise."""
    if payload[:4] == QEMU_MAGIC:
        return "qemu-plain"
    if len(payload) >= 3 and payload[0] in TLS_CONTENT_TYPES and payload[1] == 0x03 and payload[2] <= 0x04:
        return "tls-" + TLS_CONTENT_TYPES[payload[0]]
    return "other"


def summarise(frames, port_min, port_max):
    flows = Flows(port_min, port_max)
    for frame in frames:
        flows.add(frame)
    return flows.summary()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--iface", required=True)
    parser.add_argument("--ports", default="49152-49215", help="TCP port range, MIN-MAX")
    parser.add_argument("--seconds", type=float, default=60.0, help="capture at most this long")
    args = parser.parse_args(argv)
    lo, _sep, hi = args.ports.partition("-")
    flows = Flows(int(lo), int(hi or lo))
    stop = {"now": False}

    def on_signal(_signo, _frame):
        stop["now"] = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, 33, 64 * 1024 * 1024)     # SO_RCVBUFFORCE (root)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind((args.iface, 0))
        sock.setblocking(False)
        sys.stderr.write("ready\n")
        sys.stderr.flush()
        deadline = time.monotonic() + args.seconds
        while not stop["now"] and time.monotonic() < deadline:
            try:
                readable, _w, _x = select.select([sock], [], [], 0.2)
            except InterruptedError:
                continue
            if not readable:
                continue
            for _i in range(1024):
                try:
                    frame = sock.recv(262144)
                except BlockingIOError:
                    break
                flows.add(frame)
    finally:
        sock.close()
    json.dump(flows.summary(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
