# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The service probe's figures, against a loopback stand-in of the guest's port 8080 that can
pause (the real guest, paused by QEMU, is in tests/integration/test_lab_guest.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.net import service_probe as sp


class PausingService(object):
    """Answers like the lab guest; while paused, connections wait unanswered (a paused VM)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.resume_at = 0.0
        self.stopped = False
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def pause(self, seconds):
        self.resume_at = time.monotonic() + seconds

    def serve(self):
        while not self.stopped:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            wait = self.resume_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            request = conn.recv(1024)
            if request.startswith(b"PI "):
                conn.sendall(b"PI 3.141600 n=%d us=10\n" % int(request.split()[1]))
            else:
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nSKILLVL-HB seq=1\n")
            conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


@pytest.fixture
def service():
    svc = PausingService()
    yield svc
    svc.close()


def test_a_steady_service_shows_no_downtime(service):
    out = sp.run("127.0.0.1", service.port, seconds=1.0, interval_ms=20)
    assert out["requests"] >= 40 and out["unanswered"] == 0 and out["answered"] == out["requests"]
    assert out["downtime_ms"] < 60 and out["latency_ms"]["p50"] < 50
    assert out["samples"][0][0] == pytest.approx(0, abs=5) and out["samples"][0][2] is None


def test_a_pause_shows_as_downtime_and_as_slow_answers(service):
    def pause_later():
        time.sleep(0.5)
        service.pause(0.6)
    threading.Thread(target=pause_later).start()
    out = sp.run("127.0.0.1", service.port, request="pi", points=1000, seconds=2.0, interval_ms=20,
                 timeout_ms=2000)
    assert out["unanswered"] == 0 and out["points"] == 1000
    assert 450 <= out["downtime_ms"] <= 900, out["downtime_ms"]
    assert out["latency_ms"]["max"] >= 450


def test_requests_without_an_answer_in_time_are_counted_and_the_probe_goes_on(service):
    service.pause(0.5)
    out = sp.run("127.0.0.1", service.port, seconds=1.5, interval_ms=50, timeout_ms=100)
    assert out["errors"].get("timeout", 0) >= 1 and out["answered"] >= 5
    assert out["requests"] == out["answered"] + out["unanswered"]


def test_the_stop_file_ends_the_probe_before_its_bound(service, tmp_path):
    stop = tmp_path / "probe.stop"
    timer = threading.Timer(0.5, stop.touch)
    timer.start()
    try:
        out = sp.run("127.0.0.1", service.port, seconds=30, interval_ms=20, stop_file=str(stop))
    finally:
        timer.cancel()
    assert out["stopped_by_file"] is True and 0.4 < out["seconds"] < 5, out["seconds"]
    assert out["answered"] == out["requests"] >= 10 and stop.exists()   # the caller's file, left alone


def test_without_the_stop_file_the_probe_runs_its_seconds(service, tmp_path):
    out = sp.run("127.0.0.1", service.port, seconds=0.5, interval_ms=50, stop_file=str(tmp_path / "never"))
    assert out["stopped_by_file"] is False and out["seconds"] >= 0.45


def test_a_stale_stop_file_is_refused_before_any_request(tmp_path):
    stop = tmp_path / "stale.stop"
    stop.touch()
    with pytest.raises(sp.ServiceProbeError) as err:
        sp.run("127.0.0.1", 1, seconds=5, stop_file=str(stop))
    assert "stop_file %s exists before the probe started" % stop in str(err.value)


def test_a_closed_port_is_an_error_per_request_not_a_crash():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = sp.run("127.0.0.1", port, seconds=0.2, interval_ms=50)
    assert out["answered"] == 0 and out["unanswered"] == out["requests"] >= 3
    assert out["downtime_ms"] is None and list(out["errors"]) == ["Connection refused"]


@pytest.mark.parametrize("args, words", [
    (dict(seconds=0), "seconds must be above 0"),
    (dict(interval_ms=0), "interval_ms must be 1 to 60000"),
    (dict(request="ping"), "request must be one of heartbeat, pi"),
    (dict(request="pi", points=0), "points must be 1 to 100000000"),
    (dict(seconds=3600, interval_ms=1), "more than 200000 requests"),
])
def test_bad_input_is_refused_before_any_request(args, words):
    with pytest.raises(sp.ServiceProbeError) as err:
        sp.run("127.0.0.1", 1, **args)
    assert words in str(err.value)


def test_percentiles_and_gaps_from_samples():
    samples = [[0, 1.0, None], [20, 2.0, None], [40, None, "timeout"], [60, None, "timeout"], [80, 1.0, None]]
    out = sp.summarise(samples, 20)
    assert out["max_gap_ms"] == 59.0 and out["downtime_ms"] == 39.0
    assert out["latency_ms"] == dict(p50=1.0, p95=2.0, p99=2.0, max=2.0) and out["errors"] == {"timeout": 2}
