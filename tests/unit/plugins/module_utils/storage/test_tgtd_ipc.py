# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tgtd's management protocol: exact request bytes (tgt 1.0.85's struct tgtadm_req), the
answer format, against a socket that plays tgtd. The real tgtd is in tests/integration."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import struct
import threading

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.tgtd_ipc import (
    REQ, TgtdClient, decode_request, encode_request, socket_path,
)

LLD = b"iscsi" + b"\0" * 59


def header(mode, op, length, tid, lun=0xFFFFFFFFFFFFFFFF, ac_dir=0, force=0):
    """struct tgtadm_req written out field by field, little endian as on x86-64."""
    return (struct.pack("<i", mode) + struct.pack("<i", op) + LLD + struct.pack("<I", length)
            + struct.pack("<i", tid) + b"\0" * 8 + struct.pack("<Q", lun) + b"\0" * 4 + b"\0" * 4
            + b"\0" * 4 + struct.pack("<I", ac_dir) + b"\0" * 4 + struct.pack("<I", force))


def test_header_is_120_bytes_like_the_c_struct():
    # 2 enums, char[64], uint32 len, int32 tid, uint64 sid, uint64 lun, 6 uint32: 120, no padding
    assert REQ.size == 120


def test_account_new_bytes():
    params = b"user=vmsuser,password=s3cretpassw0rd\0"
    got = encode_request("account", "new", [("user", "vmsuser"), ("password", "s3cretpassw0rd")])
    assert got == header(7, 0, 120 + len(params), -1) + params
    assert len(got) == 157
    assert got[:8] == b"\x07\x00\x00\x00\x00\x00\x00\x00"
    assert got[72:80] == b"\x9d\x00\x00\x00\xff\xff\xff\xff"


def test_account_bind_incoming_and_outgoing_bytes():
    params = b"user=vmsuser\0"
    assert encode_request("account", "bind", [("user", "vmsuser")], tid=3) == \
        header(7, 3, 133, 3) + params
    out = encode_request("account", "bind", [("user", "storage1")], tid=3, outgoing=True)
    assert out == header(7, 3, 134, 3, ac_dir=1) + b"user=storage1\0"
    assert out[108:112] == b"\x01\x00\x00\x00"
    assert encode_request("account", "unbind", [("user", "storage1")], tid=3, outgoing=True)[4:8] == \
        b"\x04\x00\x00\x00"
    assert encode_request("account", "delete", [("user", "vmsuser")]) == header(7, 1, 133, -1) + params


def test_show_has_no_parameters():
    assert encode_request("target", "show") == header(1, 2, 120, -1)


def test_decode_round_trip():
    data = encode_request("account", "bind", [("user", "u1")], tid=7, outgoing=True)
    assert decode_request(data) == dict(mode="account", op="bind", lld="iscsi", tid=7, lun=None, outgoing=True,
                                        force=False, params="user=u1")


def test_nul_in_parameters_refused():
    with pytest.raises(StorageError):
        encode_request("account", "new", [("user", "u"), ("password", "a\0b")])


def test_socket_path(monkeypatch):
    monkeypatch.delenv("TGT_IPC_SOCKET", raising=False)
    assert socket_path() == "/var/run/tgtd/socket.0"
    monkeypatch.setenv("TGT_IPC_SOCKET", "/run/x/sock")
    assert socket_path(1) == "/run/x/sock.1"


class FakeTgtdServer(object):
    """A Unix socket that reads one request per connection like tgtd (header, then len - 120
    bytes) and sends the scripted answer bytes."""

    def __init__(self, path, answers):
        self.path = path
        self.answers = list(answers)
        self.received = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(10)
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def _read(self, conn, count):
        data = b""
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def serve(self):
        for answer in list(self.answers):
            conn, _addr = self.sock.accept()
            try:
                head = self._read(conn, 120)
                length = struct.unpack("=I", head[72:76])[0]
                self.received.append(head + self._read(conn, length - 120))
                conn.sendall(answer)
            finally:
                conn.close()

    def close(self):
        self.thread.join(10)
        self.sock.close()


def answer(err, text=b""):
    body = text + b"\0" if text else b""
    return struct.pack("=II", err, 8 + len(body)) + body


def test_client_against_a_socket(tmp_path):
    path = str(tmp_path / "socket.0")
    server = FakeTgtdServer(path, [answer(0), answer(0, b"Account list:\n    vmsuser\n"), answer(14)])
    try:
        client = TgtdClient(path=path, timeout=10)
        assert client.request("creating CHAP account vmsuser", "account", "new",
                              [("user", "vmsuser"), ("password", "s3cretpassw0rd")]) == ""
        assert client.request("listing accounts", "account", "show") == "Account list:\n    vmsuser\n"
        with pytest.raises(StorageError) as exc:
            client.request("creating CHAP account vmsuser", "account", "new",
                           [("user", "vmsuser"), ("password", "s3cretpassw0rd")])
        assert str(exc.value) == "tgt: creating CHAP account vmsuser failed: this account already exists"
    finally:
        server.close()
    assert server.received[0] == encode_request("account", "new", [("user", "vmsuser"),
                                                                   ("password", "s3cretpassw0rd")])
    assert server.received[1] == header(7, 2, 120, -1)


def test_client_without_tgtd_says_so(tmp_path):
    with pytest.raises(StorageError) as exc:
        TgtdClient(path=str(tmp_path / "socket.0")).request("listing accounts", "account", "show")
    assert "cannot reach tgtd at %s" % os.path.join(str(tmp_path), "socket.0") in str(exc.value)


def test_truncated_answer_is_an_error(tmp_path):
    path = str(tmp_path / "socket.0")
    server = FakeTgtdServer(path, [struct.pack("=II", 0, 100) + b"short"])
    try:
        with pytest.raises(StorageError, match="closed the connection after 5 of 92 bytes"):
            TgtdClient(path=path, timeout=10).request("listing accounts", "account", "show")
    finally:
        server.close()
