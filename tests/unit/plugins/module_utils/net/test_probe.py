# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The link probe over loopback (the lab test measures a capped underlay)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.net import probe


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener(port, peer="127.0.0.1", timeout=10):
    box = {}

    def run():
        try:
            box["result"] = probe.listen("127.0.0.1", port, peer, timeout=timeout)
        except probe.ProbeError as exc:
            box["error"] = exc
    thread = threading.Thread(target=run)
    thread.daemon = True
    thread.start()
    return thread, box


def test_send_and_listen_agree_on_what_crossed():
    port = free_port()
    thread, box = listener(port)
    out = probe.send("127.0.0.1", port, seconds=0.3, count=3, timeout=10)
    thread.join(10)
    got = box["result"]
    assert got["bytes"] == out["bytes"] > 0 and got["pings"] == 3 and got["peer"] == "127.0.0.1"
    assert out["mbit"] > 100 and out["seconds"] > 0
    assert len(out["rtt_ms"]["samples"]) == 3 and 0 < out["rtt_ms"]["min"] <= out["rtt_ms"]["median"] < 1000


def test_the_listener_answers_only_its_peer():
    port = free_port()
    thread, box = listener(port, peer="203.0.113.99", timeout=2)
    with pytest.raises(probe.ProbeError) as err:
        probe.send("127.0.0.1", port, seconds=0.2, timeout=2)
    thread.join(5)
    assert "broke off" in str(err.value) or "does not answer" in str(err.value) or "no count" in str(err.value)
    assert "no probe from 203.0.113.99" in str(box["error"])


def test_a_stranger_speaking_another_protocol_is_refused():
    port = free_port()
    thread, box = listener(port, timeout=5)
    for _attempt in range(50):
        try:
            conn = socket.create_connection(("127.0.0.1", port), 1)
            break
        except OSError:
            time.sleep(0.05)
    conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    thread.join(5)
    conn.close()
    assert "not a link probe" in str(box["error"])


def test_no_listener_is_a_clear_error_within_the_timeout():
    start = time.monotonic()
    with pytest.raises(probe.ProbeError) as err:
        probe.send("127.0.0.1", free_port(), seconds=1, timeout=1)
    assert "no link probe listener on 127.0.0.1" in str(err.value) and time.monotonic() - start < 5


@pytest.mark.parametrize("kwargs, words", [
    ({"seconds": 0}, "seconds must be above 0"),
    ({"seconds": 61}, "at most 60"),
    ({"count": 0}, "count must be 1 to 100"),
    ({"timeout": 0}, "timeout must be 1 to 3600"),
])
def test_bad_input_is_refused_before_anything(kwargs, words):
    with pytest.raises(probe.ProbeError) as err:
        probe.send("127.0.0.1", 1, **kwargs)
    assert words in str(err.value)


def test_connect_times_handshakes_to_a_listening_and_to_a_closed_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        out = probe.connect_rtt("127.0.0.1", server.getsockname()[1], count=3, timeout=5)
    assert out["answer"] == "accepted" and len(out["rtt_ms"]["samples"]) == 3
    assert 0 <= out["rtt_ms"]["min"] <= out["rtt_ms"]["median"] <= out["rtt_ms"]["max"] < 1000
    closed = probe.connect_rtt("127.0.0.1", free_port(), count=2, timeout=5)
    assert closed["answer"] == "refused" and len(closed["rtt_ms"]["samples"]) == 2


def test_connect_names_a_host_that_cannot_be_timed():
    with pytest.raises(probe.ProbeError) as err:
        probe.connect_rtt("no-such-host.invalid", 22, count=1, timeout=2)
    assert "cannot resolve no-such-host.invalid" in str(err.value)
    with pytest.raises(probe.ProbeError) as err:
        probe.connect_rtt("127.0.0.1", 22, count=0)
    assert "count must be 1 to 100" in str(err.value)


def test_the_rate_leaves_out_the_slow_start():
    # 1 s of ramp at 10 Mbit/s, then 4 s at 40 Mbit/s: the first fifth (1 s) is left out
    marks = [(100.0 + t / 100.0, int(min(t, 100) * 12500 + max(0, t - 100) * 50000)) for t in range(0, 500)]
    received = 100 * 12500 + 400 * 50000
    count, seconds = probe.steady(marks, received, 105.0)
    assert abs(count * 8 / seconds / 1e6 - 40) < 0.5, (count, seconds)
    # a transfer too short to note twice is taken whole
    count, seconds = probe.steady([(5.0, 0)], 1000, 5.001)
    assert count == 1000 and abs(seconds - 0.001) < 1e-9
    assert probe.steady([], 0, 1.0) == (0, 0.0)
