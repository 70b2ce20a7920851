# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The forwarder's link model (netem's, with a rate) and its frame parsing."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import socket
import struct

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan_forwarder as fw


def frame(src, dst, ethertype=0x0800, size=1514):
    family = socket.AF_INET6 if ethertype == 0x86DD else socket.AF_INET
    head = b'\x02' * 12 + struct.pack('!H', ethertype)
    if family == socket.AF_INET:
        ip = b'\x45' + b'\0' * 11 + socket.inet_pton(family, src) + socket.inet_pton(family, dst)
    else:
        ip = b'\x60' + b'\0' * 7 + socket.inet_pton(family, src) + socket.inet_pton(family, dst)
    return (head + ip).ljust(size, b'\0')


def test_the_rate_serialises_frames_and_the_delay_follows():
    link = fw.Shaper(rate_bit=8e6, delay=0.010, queue=1.0)        # 1 MB/s: 1000 bytes take 1 ms
    assert link.schedule(0.0, 1000) == pytest.approx(0.011)
    assert link.schedule(0.0, 1000) == pytest.approx(0.012)     # waits for the first
    assert link.schedule(0.5, 1000) == pytest.approx(0.511)     # the link was idle again
    assert link.counters == dict(frames=3, bytes=3000, lost=0, overflowed=0)


def test_a_full_queue_drops_at_the_tail():
    link = fw.Shaper(rate_bit=8e6, queue=0.0025)                 # room for 2.5 ms of frames
    departures = [link.schedule(0.0, 1000) for _n in range(5)]
    assert departures[:3] == pytest.approx([0.001, 0.002, 0.003])     # the third waited 2 ms
    assert departures[3:] == [None, None] and link.counters['overflowed'] == 2
    assert link.schedule(0.0015, 1000) == pytest.approx(0.004)           # room again


def test_jitter_never_reorders_and_stays_in_its_band():
    dense = fw.Shaper(delay=0.020, jitter=0.005, rng=random.Random(7))
    departures = [dense.schedule(i * 0.0001, 100) for i in range(2000)]
    assert departures == sorted(departures)
    sparse = fw.Shaper(delay=0.020, jitter=0.005, rng=random.Random(7))
    waits = [sparse.schedule(i * 0.02, 100) - i * 0.02 for i in range(2000)]
    assert 0.015 <= min(waits) < 0.016 and 0.024 < max(waits) <= 0.025


def test_loss_drops_its_share_and_an_offload_frame_as_its_segments():
    link = fw.Shaper(loss=0.1, rng=random.Random(1))
    lost = sum(link.schedule(0.0, 100) is None for _n in range(20000))
    assert 1800 <= lost <= 2200
    big = fw.Shaper(loss=0.1, rng=random.Random(1))
    lost = sum(big.schedule(0.0, 15000, segments=10) is None for _n in range(2000))
    assert 1200 <= lost <= 1400                                  # 1 - 0.9 ** 10 = 65 %


def test_segmentation_offload_frames_count_every_segment_header():
    plain = fw.VNET_HDR.pack(0, 0, 0, 0, 0, 0)
    assert fw.on_the_wire(plain, 1514) == (1514, 1)
    gso = fw.VNET_HDR.pack(1, 1, 66, 1448, 34, 16)             # TCPv4, 66 header bytes, 1448 per segment
    assert fw.on_the_wire(gso, 66 + 1448 * 3) == (66 * 3 + 1448 * 3, 3)
    assert fw.on_the_wire(gso, 66 + 100) == (166, 1)


def test_peers_select_the_shaped_path_by_direction():
    outbound = fw.matcher(['198.51.100.11', '2001:db8::11'], True)
    inbound = fw.matcher(['198.51.100.11'], False)
    to_cloud = frame('198.51.100.21', '198.51.100.11')
    from_cloud = frame('198.51.100.11', '198.51.100.21')
    assert outbound(to_cloud) and not outbound(from_cloud)
    assert inbound(from_cloud) and not inbound(to_cloud)
    assert outbound(frame('2001:db8::21', '2001:db8::11', 0x86DD))
    assert not outbound(frame('0.0.0.0', '0.0.0.0', 0x0806, 60))   # ARP passes unshaped
    assert fw.matcher([], True)(b'')                             # no peers: everything


def test_a_spec_gives_half_the_round_trip_each_way():
    out, back = fw.shapers(dict(rtt_ms=37, jitter_ms=4, loss_percent=1, queue_ms=50, line_rate_bit=38686464))
    for link in (out, back):
        assert link.delay == pytest.approx(0.0185) and link.jitter == pytest.approx(0.002)
        assert link.loss == pytest.approx(0.01) and link.queue == pytest.approx(0.05)
        assert link.rate_bit == 38686464
    assert out is not back
