# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tgtd's management protocol, spoken directly over its Unix socket (what `tgtadm` does).

`tgtadm` takes a CHAP secret only as `--password` on its command line, where every local user
reads it in /proc/PID/cmdline. tgtadm itself is a thin client: it packs its options into one
request on tgtd's socket (/var/run/tgtd/socket.<control port>, root only: tgtd checks the
peer's credentials). Sending that request from Python keeps the secret in this process's
memory and the socket.

Wire format (tgt 1.0.85 as in Debian 12, usr/tgtadm.h, usr/tgtadm.c, usr/mgmt.c; unchanged
up to 1.0.97), native byte order, x86-64/aarch64 alignment:

    struct tgtadm_req {                      offset
        enum tgtadm_mode mode;               0   (int32)
        enum tgtadm_op op;                   4   (int32)
        char lld[64];                        8   ("iscsi", NUL padded)
        uint32_t len;                        72  (header + parameter bytes)
        int32_t tid;                         76  (-1: none, 0xffffffff also "global")
        uint64_t sid;                        80
        uint64_t lun;                        88  (UINT64_MAX: none)
        uint32_t cid;                        96
        uint32_t host_no;                    100
        uint32_t device_type;                104 (0: disk)
        uint32_t ac_dir;                     108 (0 incoming, 1 outgoing)
        uint32_t pack;                       112
        uint32_t force;                      116
    };                                       size 120

followed by the parameters, "key=value" joined by ',' with a trailing NUL (none when there
are no parameters). tgtd answers `struct tgtadm_rsp {uint32_t err; uint32_t len;}` where len
counts the 8 header bytes plus the text that follows (NUL terminated, `show` output), and
err is a tgtadm_errno (0: success).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import struct

try:
    from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
except ImportError:
    # Copied onto tgt hosts for the CHAP restore hook (roles/iscsi_target), which runs without Ansible.
    class StorageError(Exception):
        pass

SOCKET_PREFIX = "/var/run/tgtd/socket"
LLD_NAME_LEN = 64
REQ = struct.Struct("=ii64sIiQQIIIIII")
RSP = struct.Struct("=II")
MAX_PARAMS = 8 * 1024 - 1          # tgtd's MAX_MGT_BUFSIZE, less the NUL
NO_LUN = 0xFFFFFFFFFFFFFFFF

MODES = dict(system=0, target=1, logicalunit=2, portal=3, lld=4, session=5, connection=6, account=7)
OPS = dict(new=0, delete=1, show=2, bind=3, unbind=4, update=5, stats=6, start=7, stop=8)

# tgtadm_strerror() of tgt 1.0.85, by tgtadm_errno.
ERRORS = ("success", "unknown error", "out of memory", "can't find the driver", "can't find the target",
          "can't find the logical unit", "can't find the session", "can't find the connection",
          "can't find the binding", "this target already exists", "this logical unit number already exists",
          "this binding already exists", "this access control rule already exists",
          "this access control rule does not exist", "this account already exists", "can't find the account",
          "too many accounts", "invalid request", "this target already has an outgoing account",
          "this target is still active", "this logical unit is still active", "this driver is busy",
          "this operation isn't supported", "unknown parameter", "this device has Prevent Removal set")


def strerror(err):
    return ERRORS[err] if 0 <= err < len(ERRORS) else "(unknown tgtadm_errno %d)" % err


def encode_params(params):
    """[(key, value), ...] -> b"k=v,k=v\\0" (tgtadm's order is the caller's order)."""
    if not params:
        return b""
    text = ",".join("%s=%s" % (k, v) for k, v in params)
    data = text.encode("utf-8")
    if b"\0" in data or len(data) > MAX_PARAMS:
        raise StorageError("tgtd request parameters are too long or contain a NUL byte")
    return data + b"\0"


def encode_request(mode, op, params=None, tid=-1, lun=None, outgoing=False, force=False, lld="iscsi"):
    """The bytes of one request: header and parameters."""
    body = encode_params(params)
    header = REQ.pack(MODES[mode], OPS[op], lld.encode("ascii"), REQ.size + len(body), tid, 0,
                      NO_LUN if lun is None else lun, 0, 0, 0, 1 if outgoing else 0, 0, 1 if force else 0)
    return header + body


def decode_response_header(data):
    """(err, text length) from tgtd's 8-byte answer header."""
    if len(data) != RSP.size:
        raise StorageError("tgtd sent a partial answer (%d of %d bytes)" % (len(data), RSP.size))
    err, length = RSP.unpack(data)
    if length < RSP.size:
        raise StorageError("tgtd sent a malformed answer (length %d)" % length)
    return err, length - RSP.size


def socket_path(control_port=0, prefix=None):
    return "%s.%d" % (prefix or os.environ.get("TGT_IPC_SOCKET") or SOCKET_PREFIX, control_port)


def _recv_exactly(sock, count):
    chunks = []
    while count > 0:
        chunk = sock.recv(min(count, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


class TgtdClient(object):
    """One request per connection, as tgtadm does; `timeout` bounds each request."""

    def __init__(self, path=None, timeout=30):
        self.path = path or socket_path()
        self.timeout = timeout

    def request(self, what, mode, op, params=None, **kwargs):
        """Send one request; the answer's text (show output) or a StorageError naming `what`
        (a description without secrets)."""
        err, text = self.exchange(encode_request(mode, op, params, **kwargs), what)
        if err:
            raise StorageError("tgt: %s failed: %s" % (what, strerror(err)))
        return text.rstrip(b"\0").decode("utf-8", "replace")

    def exchange(self, data, what):
        """Request bytes in, (err, answer bytes) out, over one connection."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            try:
                sock.connect(self.path)
            except (OSError, socket.error) as exc:
                raise StorageError("tgt: %s failed: cannot reach tgtd at %s (%s): is the tgt service running?"
                                   % (what, self.path, getattr(exc, "strerror", None) or exc))
            try:
                sock.sendall(data)
                err, length = decode_response_header(_recv_exactly(sock, RSP.size))
                text = _recv_exactly(sock, length)
            except (OSError, socket.error) as exc:
                raise StorageError("tgt: %s failed: talking to tgtd at %s: %s" % (what, self.path, exc))
            if len(text) != length:
                raise StorageError("tgt: %s failed: tgtd closed the connection after %d of %d bytes"
                                   % (what, len(text), length))
            return err, text
        finally:
            sock.close()


def decode_request(data):
    """The fields of a request (tests, debugging): dict, parameters as text."""
    fields = REQ.unpack(data[:REQ.size])
    mode = dict((v, k) for k, v in MODES.items())[fields[0]]
    op = dict((v, k) for k, v in OPS.items())[fields[1]]
    if fields[3] != len(data):
        raise ValueError("request length %d, header says %d" % (len(data), fields[3]))
    body = data[REQ.size:]
    if body and not body.endswith(b"\0"):
        raise ValueError("parameters are not NUL terminated")
    return dict(mode=mode, op=op, lld=fields[2].rstrip(b"\0").decode("ascii"), tid=fields[4],
                lun=None if fields[6] == NO_LUN else fields[6], outgoing=bool(fields[10]), force=bool(fields[12]),
                params=body[:-1].decode("utf-8") if body else "")
