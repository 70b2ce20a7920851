"""Unit tests for lab/streamsniff.py: it tells a plain QEMU migration stream from a TLS one."""
import os
import socket
import struct
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(TOP, "lab"))

import streamsniff  # noqa: E402  pylint: disable=wrong-import-position

SRC, DST = "198.51.100.11", "198.51.100.21"
SYN, ACK, PSH = 0x02, 0x10, 0x08


def frame(src, sport, dst, dport, seq, flags=ACK | PSH, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    eth = b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", 0x0800)
    return eth + ip + tcp + payload


def stream(first, rest=(), sport=40000, dport=49152, isn=1000):
    frames = [frame(SRC, sport, DST, dport, isn, flags=SYN)]
    seq = isn + 1
    for payload in (first,) + tuple(rest):
        frames.append(frame(SRC, sport, DST, dport, seq, payload=payload))
        seq += len(payload)
    return frames


def test_plain_qemu_stream_is_recognised():
    out = streamsniff.summarise(stream(b"QEVM\x00\x00\x00\x03" + b"\x00" * 40, [b"pages" * 100]), 49152, 49215)
    (flow,) = out["flows"]
    assert flow["first_record"] == "qemu-plain" and flow["first_payload"].startswith("5145564d")
    assert out["qevm"] == 1 and flow["bytes"] == 48 + 500


def test_tls_stream_is_recognised_and_has_no_magic():
    hello = b"\x16\x03\x01\x02\x00" + b"\x01" * 60
    out = streamsniff.summarise(stream(hello, [b"\x17\x03\x03\x40\x00" + b"\xaa" * 1000]), 49152, 49215)
    (flow,) = out["flows"]
    assert flow["first_record"] == "tls-handshake" and out["qevm"] == 0


def test_magic_split_over_two_segments_counts():
    out = streamsniff.summarise(stream(b"\x16\x03\x01xxQE", [b"VM\x00", b"\x00\x00\x03yy"]), 49152, 49215)
    assert out["qevm"] == 1
    # The four-byte magic alone (which ciphertext holds about once per 4 GiB) is not a stream start.
    assert streamsniff.summarise(stream(b"\x17\x03\x03xxQEVMzzzz"), 49152, 49215)["qevm"] == 0


def test_first_payload_only_after_the_syn_and_only_in_range():
    # No SYN seen: the start of the flow is unknown, never guessed from a later segment.
    late = streamsniff.summarise([frame(SRC, 40000, DST, 49152, 5000, payload=b"\x16\x03\x01abc")], 49152, 49215)
    assert late["flows"][0]["first_payload"] is None
    other = streamsniff.summarise(stream(b"QEVM", dport=16514), 49152, 49215)
    assert other["flows"] == [] and other["qevm"] == 0
