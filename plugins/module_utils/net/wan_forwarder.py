# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A userspace WAN between two interfaces, for kernels without sch_netem.

It does what netem does with ``rate``, ``delay``, ``jitter``, ``loss`` and a bounded queue,
in both directions: frames read from one interface (an AF_PACKET socket) leave by the other
when the emulated link would deliver them. ``wan.py`` runs it as a program (its source is
written next to its state) between a bridge port and a veth that takes the port's place.

The model of one direction (``Shaper``), as netem with a rate:
- loss first: a frame is dropped with probability ``loss`` when it arrives;
- the link sends one frame at a time at ``rate``; a frame that would wait longer than
  ``queue`` seconds for the link is dropped (tail drop, as a router's buffer);
- each frame then travels ``delay`` +/- ``jitter`` (uniform), never overtaking the one
  before it (netem keeps order when it has a rate).
Frames outside ``peers`` (IPv4/IPv6 source or destination) pass at once.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
from collections import deque

SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003
# struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
VNET_HDR = struct.Struct('=BBHHHH')
FRAME_MAX = 65536 + VNET_HDR.size
BATCH = 64
FORWARDER_NICE = -10


class Shaper(object):
    """One direction of the emulated link; ``schedule`` says when a frame leaves, or None."""

    def __init__(self, rate_bit=None, delay=0.0, jitter=0.0, loss=0.0, queue=0.05, rng=None):
        self.rate_bit = rate_bit or None
        self.delay = delay
        self.jitter = jitter
        self.loss = loss
        self.queue = queue
        self.rng = rng or random.Random()
        self.free_at = 0.0            # when the link finishes sending what it holds
        self.last = 0.0               # when the frame before leaves: no overtaking
        self.counters = dict(frames=0, bytes=0, lost=0, overflowed=0)

    def schedule(self, now, wire_bytes, segments=1):
        """The departure time of a frame (``segments`` frames on the wire, when the kernel
        hands over a segmentation-offload frame), or None when it is lost."""
        if self.loss and self.rng.random() < 1 - (1 - self.loss) ** segments:
            self.counters['lost'] += 1
            return None
        sent = now
        if self.rate_bit:
            start = max(now, self.free_at)
            if start - now > self.queue:
                self.counters['overflowed'] += 1
                return None
            self.free_at = sent = start + wire_bytes * 8.0 / self.rate_bit
        depart = sent + self.delay
        if self.jitter:
            depart += self.rng.uniform(-self.jitter, self.jitter)
        depart = max(depart, self.last, now)
        self.last = depart
        self.counters['frames'] += segments
        self.counters['bytes'] += wire_bytes
        return depart


def on_the_wire(vnet, frame_len):
    """(bytes, frames) on the wire of one frame, a segmentation-offload frame as its segments."""
    _flags, gso_type, hdr_len, gso_size, _start, _offset = VNET_HDR.unpack_from(vnet)
    if not gso_type or not gso_size or frame_len <= hdr_len:
        return frame_len, 1
    segments = -(-(frame_len - hdr_len) // gso_size)
    return frame_len + (segments - 1) * hdr_len, segments


def addresses(frame):
    """(source, destination) IP address bytes of an Ethernet frame, or None for non-IP."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from('!H', frame, 12)[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        return frame[26:30], frame[30:34]
    if ethertype == 0x86DD and len(frame) >= 54:
        return frame[22:38], frame[38:54]
    return None


def matcher(peers, outbound):
    """A test of a frame: does it belong to the shaped path? ``outbound`` frames go towards
    the peers (match the destination), the others come from them (match the source)."""
    if not peers:
        return lambda frame: True
    wanted = set(socket.inet_pton(socket.AF_INET6 if ':' in p else socket.AF_INET, p) for p in peers)

    def belongs(frame):
        pair = addresses(frame)
        return pair is not None and pair[1 if outbound else 0] in wanted
    return belongs


def packet_socket(ifname):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    sock.bind((ifname, ETH_P_ALL))
    sock.setblocking(False)
    return sock


class Forwarder(object):
    """Frames from ``host_if`` (the shaped host's side) to ``net_if`` and back."""

    def __init__(self, host_if, net_if, outbound, inbound, peers=(), clock=time.monotonic):
        self.clock = clock
        self.stop = False
        self.sockets = dict(host=packet_socket(host_if), net=packet_socket(net_if))
        # (reading side, writing side, shaper, path test, queue of (departure, data))
        self.directions = [
            ('host', 'net', outbound, matcher(peers, True), deque()),
            ('net', 'host', inbound, matcher(peers, False), deque()),
        ]
        self.send_errors = 0

    def _send(self, side, data):
        try:
            self.sockets[side].send(data)
        except (OSError, socket.error) as exc:
            if getattr(exc, 'errno', None) in (100, 6, 19):     # ENETDOWN, ENXIO, ENODEV: gone
                raise
            self.send_errors += 1

    def _read(self, side, now):
        for direction in self.directions:
            if direction[0] == side:
                break
        _src, out, shaper, belongs, queue = direction
        sock = self.sockets[side]
        for _frame in range(BATCH):
            try:
                data, where = sock.recvfrom(FRAME_MAX)
            except (BlockingIOError, InterruptedError):
                return
            if where[2] == PACKET_OUTGOING:                     # our own sends, seen again
                continue
            frame = data[VNET_HDR.size:]
            if not belongs(frame):
                self._send(out, data)
                continue
            depart = shaper.schedule(now, *on_the_wire(data, len(frame)))
            if depart is None:
                continue
            if depart <= now and not queue:
                self._send(out, data)
            else:
                queue.append((depart, data))

    def _flush(self, now):
        nearest = None
        for _src, out, _shaper, _belongs, queue in self.directions:
            while queue and queue[0][0] <= now:
                self._send(out, queue.popleft()[1])
            if queue and (nearest is None or queue[0][0] < nearest):
                nearest = queue[0][0]
        return nearest

    def counters(self):
        return dict(outbound=self.directions[0][2].counters, inbound=self.directions[1][2].counters,
                    send_errors=self.send_errors)

    def run(self, stats_path=None, stats_every=2.0):
        by_fd = dict((s.fileno(), side) for side, s in self.sockets.items())
        next_stats = 0.0
        while not self.stop:
            now = self.clock()
            nearest = self._flush(now)
            if stats_path and now >= next_stats:
                write_json(stats_path, self.counters())
                next_stats = now + stats_every
            wait = 0.5 if nearest is None else max(0.0, min(0.5, nearest - now))
            try:
                ready = select.select(list(by_fd), [], [], wait)[0]
            except (select.error, InterruptedError):
                continue
            now = self.clock()
            for fd in ready:
                self._read(by_fd[fd], now)
        if stats_path:
            write_json(stats_path, self.counters())


def write_json(path, data):
    tmp = path + '.tmp'
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as handle:
        json.dump(data, handle)
    os.rename(tmp, path)


def shapers(spec):
    """The two directions of a spec (wan.py's): half the round trip each way, the rate both ways."""
    one_way = spec.get('rtt_ms', 0) / 2000.0
    jitter = spec.get('jitter_ms', 0) / 2000.0
    loss = spec.get('loss_percent', 0) / 100.0
    queue = spec.get('queue_ms', 50) / 1000.0
    rate = spec.get('line_rate_bit')
    return tuple(Shaper(rate, one_way, jitter, loss, queue) for _direction in range(2))


def main(argv=None):
    """wan_forwarder.py HOST_IF NET_IF SPEC_JSON [STATS_JSON]: run until SIGTERM."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (3, 4):
        sys.stderr.write('usage: wan_forwarder.py HOST_IF NET_IF SPEC_JSON [STATS_JSON]\n')
        return 2
    with open(argv[2]) as handle:
        spec = json.load(handle)
    outbound, inbound = shapers(spec)
    # It stands in for a qdisc, which runs before any process: ahead of the guests it carries
    # for the CPU, or their load shows up as extra delay on the link.
    try:
        os.nice(FORWARDER_NICE)
    except OSError:
        pass
    forwarder = Forwarder(argv[0], argv[1], outbound, inbound, spec.get('peers') or ())

    def stop(_signum, _frame):
        forwarder.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        forwarder.run(argv[3] if len(argv) == 4 else None)
    except (OSError, socket.error) as exc:
        sys.stderr.write('wan_forwarder: %s: stopping\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
