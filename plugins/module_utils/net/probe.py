# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A short measurement of the path between two hosts: round-trip time and TCP throughput.

For a link that no migration has measured yet (the planner then has only a configured
figure). One listener on the receiving host, one sender on the other, one TCP connection:

    sender                                   listener (accepts only the expected peer)
    PING\\n  x count  ->                      <- PONG\\n each       (round-trip samples)
    DATA\\n, then zeros for `seconds`, EOF ->  <- "<bytes> <seconds> <rate bytes> <rate seconds>\\n"
                                                (what it received, timed from the first data byte
                                                to EOF; then without the first fifth of that time)

The rate is the listener's count, not what the sender's socket buffered, and leaves out the
first fifth of the transfer, where TCP's slow start has not filled the path yet (as iperf3's
--omit does). Every wait is bounded. Plain Python: the module link_probe, a planner or an
experiment runner call it alike.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import socket
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError

CHUNK = 64 * 1024
MAX_SECONDS = 60
MAX_COUNT = 100
DEFAULT_PORT = 49400          # above libvirt's migration port range (49152-49215)
OMIT_SHARE = 0.2              # of the transfer's time, left out of the rate
MARK_EVERY = 0.01             # seconds between the listener's notes of what it has received


class ProbeError(BackendError):
    """A probe that could not run, in an administrator's words."""


def _check(seconds=None, count=None, timeout=None):
    problems = []
    if seconds is not None and not 0 < seconds <= MAX_SECONDS:
        problems.append('seconds must be above 0 and at most %d, not %s' % (MAX_SECONDS, seconds))
    if count is not None and not 1 <= count <= MAX_COUNT:
        problems.append('count must be 1 to %d, not %s' % (MAX_COUNT, count))
    if timeout is not None and not 1 <= timeout <= 3600:
        problems.append('timeout must be 1 to 3600 s, not %s' % timeout)
    if problems:
        raise ProbeError('; '.join(problems))


def _summary(samples):
    """Round-trip samples (ms) as min, median, max and the sorted samples."""
    samples = sorted(samples)
    return dict(min=round(samples[0], 3), median=round(samples[len(samples) // 2], 3),
                max=round(samples[-1], 3), samples=[round(s, 3) for s in samples])


def _readline(conn, limit=128):
    line = b''
    while not line.endswith(b'\n'):
        part = conn.recv(1)
        if not part:
            break
        line += part
        if len(line) > limit:
            raise ProbeError('the other side sent a line longer than %d bytes: not a link probe' % limit)
    return line.strip()


def listen(address, port, peer, timeout=30, clock=time.monotonic):
    """Serve one probe from ``peer`` on ``address``:``port``; connections from elsewhere are
    closed unanswered. Returns {'peer', 'bytes', 'seconds', 'mbit', 'pings'}."""
    _check(timeout=timeout)
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((address, port))
        except (OSError, socket.error) as exc:
            raise ProbeError('cannot listen on %s port %d: %s' % (address, port, exc))
        server.listen(4)
        deadline = clock() + timeout
        while True:
            left = deadline - clock()
            if left <= 0:
                raise ProbeError('no probe from %s reached %s port %d within %d s' % (peer, address, port, timeout))
            server.settimeout(left)
            try:
                conn, remote = server.accept()
            except socket.timeout:
                continue
            if remote[0] != peer and remote[0] != '::ffff:' + peer:
                conn.close()
                continue
            try:
                conn.settimeout(max(1.0, deadline - clock()))
                return _serve(conn, peer, clock)
            except socket.timeout:
                raise ProbeError('the probe from %s stopped before it ended (timeout %d s)' % (peer, timeout))
            finally:
                conn.close()
    finally:
        server.close()


def _serve(conn, peer, clock):
    pings = 0
    while True:
        line = _readline(conn)
        if line == b'PING':
            pings += 1
            conn.sendall(b'PONG\n')
        elif line == b'DATA':
            break
        else:
            raise ProbeError('%s sent %r: not a link probe' % (peer, line[:32]))
    received = 0
    marks = []
    while True:
        data = conn.recv(CHUNK)
        if not data:
            break
        now = clock()
        if not marks:
            marks.append((now, 0))
        received += len(data)
        if now - marks[-1][0] >= MARK_EVERY:
            marks.append((now, received))
    end = clock()
    seconds = (end - marks[0][0]) if marks else 0.0
    rate_bytes, rate_seconds = steady(marks, received, end)
    conn.sendall(('%d %.6f %d %.6f\n' % (received, seconds, rate_bytes, rate_seconds)).encode('ascii'))
    return dict(peer=peer, bytes=received, seconds=round(seconds, 3), pings=pings, mbit=_mbit(rate_bytes, rate_seconds))


def steady(marks, received, end):
    """(bytes, seconds) of the transfer after its first OMIT_SHARE of time, from the listener's
    (time, bytes so far) notes; the whole transfer when it was too short to leave a part out."""
    if not marks:
        return 0, 0.0
    cut = marks[0][0] + OMIT_SHARE * (end - marks[0][0])
    for when, count in marks[1:]:
        if when >= cut and end - when > 0 and received > count:
            return received - count, end - when
    return received, end - marks[0][0]


def _mbit(count, seconds):
    return round(count * 8 / seconds / 1e6, 1) if seconds > 0 else None


def send(host, port, seconds=3.0, count=5, timeout=30, clock=time.monotonic):
    """Probe the path to a listener on ``host``: ``count`` round trips, then ``seconds`` of data.

    Returns {'rtt_ms': {'min', 'median', 'max', 'samples'}, 'bytes', 'seconds', 'mbit'}.
    """
    _check(seconds=seconds, count=count, timeout=timeout)
    deadline = clock() + timeout
    conn = None
    while conn is None:
        try:
            conn = socket.create_connection((host, port), min(5.0, max(0.5, deadline - clock())))
        except (OSError, socket.error) as exc:
            if clock() >= deadline:
                raise ProbeError('no link probe listener on %s port %d within %d s (%s)' % (host, port, timeout, exc))
            time.sleep(0.5)
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(max(1.0, deadline - clock()))
        samples = []
        for _ping in range(count):
            start = clock()
            conn.sendall(b'PING\n')
            if _readline(conn) != b'PONG':
                raise ProbeError('%s port %d does not answer like a link probe listener' % (host, port))
            samples.append((clock() - start) * 1000.0)
        conn.sendall(b'DATA\n')
        block = b'\0' * CHUNK
        stop = clock() + seconds
        while clock() < stop:
            conn.sendall(block)
        conn.shutdown(socket.SHUT_WR)
        reply = _readline(conn).split()
    except socket.timeout:
        raise ProbeError('the probe to %s port %d did not end within %d s' % (host, port, timeout))
    except (OSError, socket.error) as exc:
        raise ProbeError('the probe to %s port %d broke off: %s' % (host, port, exc))
    finally:
        conn.close()
    try:
        received, elapsed, rate_bytes, rate_seconds = int(reply[0]), float(reply[1]), int(reply[2]), float(reply[3])
    except (IndexError, ValueError):
        raise ProbeError('the listener on %s sent no count of what it received' % host)
    return dict(rtt_ms=_summary(samples), bytes=received, seconds=round(elapsed, 3), mbit=_mbit(rate_bytes, rate_seconds))


def connect_rtt(host, port, count=5, timeout=10, clock=time.monotonic):
    """Round trips to ``host`` by TCP handshakes on ``port`` (no listener of ours needed).

    Each sample is the time from SYN to the answer: the SYN/ACK of a listening port, or the
    reset of a closed one, which also comes back after one round trip. A host that answers
    neither within ``timeout`` s (down, or a firewall that drops) is an error that names it.
    Returns {'rtt_ms': {'min', 'median', 'max', 'samples'}, 'answer': 'accepted' | 'refused'}.
    """
    _check(count=count, timeout=timeout)
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (OSError, socket.error) as exc:
        raise ProbeError('cannot resolve %s: %s' % (host, exc))
    family, _type, _proto, _name, address = infos[0]
    samples, answers = [], set()
    for _sample in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        start = clock()
        try:
            sock.connect(address)
            answers.add('accepted')
        except socket.timeout:
            raise ProbeError('%s did not answer a TCP handshake on port %d within %d s '
                             '(down, or a firewall drops it)' % (host, port, timeout))
        except (OSError, socket.error) as exc:
            if getattr(exc, 'errno', None) != errno.ECONNREFUSED:
                raise ProbeError('cannot reach %s port %d: %s' % (host, port, exc))
            answers.add('refused')
        finally:
            elapsed = clock() - start
            sock.close()
        samples.append(elapsed * 1000.0)
    return dict(rtt_ms=_summary(samples),
                answer='accepted' if answers == set(['accepted']) else 'refused' if answers == set(['refused'])
                else 'both')
