# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user of a VM's service sees while the VM moves: requests at a fixed interval.

The research's two probes in one: the downtime probe (a request every few ms from another
host; the longest time without an answer is the application-level downtime, beside QEMU's
own figure) and the pi client (each answer's response time, with its time, before, during
and after a move). Every request opens its own TCP connection, sends one line and reads the
answer, within ``timeout_ms``; a request that gets no answer in time is counted and the
probe goes on at the next slot, so a pause of the VM shows as a gap, not as a stalled probe.

Plain Python: the module service_probe, an experiment runner or a benchmark call ``run``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError

REQUESTS = ('heartbeat', 'pi')
MAX_SECONDS = 2 * 86400
MAX_REQUESTS = 200000


class ServiceProbeError(BackendError):
    """A probe that cannot run, in an administrator's words."""


def check(seconds, interval_ms, timeout_ms, request, points):
    problems = []
    if not 0 < seconds <= MAX_SECONDS:
        problems.append('seconds must be above 0 and at most %d, not %s' % (MAX_SECONDS, seconds))
    if not 1 <= interval_ms <= 60000:
        problems.append('interval_ms must be 1 to 60000, not %s' % interval_ms)
    if not 1 <= timeout_ms <= 60000:
        problems.append('timeout_ms must be 1 to 60000, not %s' % timeout_ms)
    if request not in REQUESTS:
        problems.append('request must be one of %s, not %r' % (', '.join(REQUESTS), request))
    if request == 'pi' and not 1 <= points <= 10 ** 8:
        problems.append('points must be 1 to 100000000, not %s' % points)
    if not problems and seconds * 1000.0 / interval_ms > MAX_REQUESTS:
        problems.append('%s s every %s ms is more than %d requests: use a longer interval'
                        % (seconds, interval_ms, MAX_REQUESTS))
    if problems:
        raise ServiceProbeError('; '.join(problems))


def ask(host, port, line, timeout):
    """One request on its own connection: the answer's text, or raises socket errors."""
    conn = socket.create_connection((host, port), timeout)
    try:
        conn.settimeout(timeout)
        conn.sendall(line)
        chunks = []
        while True:
            part = conn.recv(4096)
            if not part:
                break
            chunks.append(part)
            if b'\n' in part and not chunks[0].startswith(b'HTTP/'):
                break
        return b''.join(chunks).decode('utf-8', 'replace')
    finally:
        conn.close()


def _answer_ok(request, text):
    if request == 'pi':
        return text.startswith('PI ')
    return 'SKILLVL-HB' in text or text.startswith('HTTP/')


def percentile(values, share):
    """The value below which ``share`` of the sorted values lie (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(round(share * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def summarise(samples, interval_ms):
    """The figures of a probe run from its samples [(offset_ms, latency_ms or None, error)]."""
    answered = [s for s in samples if s[1] is not None]
    latencies = [s[1] for s in answered]
    # the longest time without an answer, between the ends of two answered requests
    ends = [s[0] + s[1] for s in answered]
    gaps = [b - a for a, b in zip(ends, ends[1:])]
    max_gap = max(gaps) if gaps else None
    errors = {}
    for sample in samples:
        if sample[2]:
            errors[sample[2]] = errors.get(sample[2], 0) + 1
    return dict(
        requests=len(samples), answered=len(answered), unanswered=len(samples) - len(answered),
        max_gap_ms=round(max_gap, 3) if max_gap is not None else None,
        downtime_ms=round(max(0.0, max_gap - interval_ms), 3) if max_gap is not None else None,
        latency_ms=dict(p50=percentile(latencies, 0.5), p95=percentile(latencies, 0.95),
                        p99=percentile(latencies, 0.99), max=max(latencies) if latencies else None),
        errors=errors)


def run(host, port=8080, request='heartbeat', points=100000, seconds=10.0, interval_ms=20, timeout_ms=1000,
        stop_file=None, clock=time.monotonic, wall=time.time, sleep=time.sleep, exists=os.path.exists):
    """Probe ``host``:``port`` for ``seconds``, or until ``stop_file`` exists (the caller's way to
    say it has seen enough before the bound); returns the summary, the start time (epoch s) and
    the samples as [offset ms from the start, response ms or None, error or None]."""
    check(seconds, interval_ms, timeout_ms, request, points)
    if stop_file and exists(stop_file):
        raise ServiceProbeError('stop_file %s exists before the probe started: remove it or name another one'
                                % stop_file)
    line = ('PI %d\n' % points).encode('ascii') if request == 'pi' else b'GET / HTTP/1.0\r\n\r\n'
    timeout = timeout_ms / 1000.0
    started, started_wall = clock(), wall()
    slots = int(seconds * 1000.0 / interval_ms)
    samples = []
    slot = 0
    stopped = False
    while slot < slots:
        if stop_file and exists(stop_file):
            stopped = True
            break
        due = started + slot * interval_ms / 1000.0
        now = clock()
        if now < due:
            sleep(due - now)
        sent = clock()
        try:
            text = ask(host, port, line, timeout)
            error = None if _answer_ok(request, text) else 'unexpected answer'
        except socket.timeout:
            error = 'timeout'
        except (OSError, socket.error) as exc:
            error = getattr(exc, 'strerror', None) or str(exc) or exc.__class__.__name__
        done = clock()
        samples.append([round((sent - started) * 1000.0, 3), None if error else round((done - sent) * 1000.0, 3),
                        error])
        # a slow answer takes the slots it overlapped: the next request goes at the next free slot
        slot = max(slot + 1, int((done - started) * 1000.0 / interval_ms) + 1)
    out = summarise(samples, interval_ms)
    out.update(host=host, port=port, request=request, interval_ms=interval_ms, started_at=round(started_wall, 3),
               seconds=round(clock() - started, 3), stopped_by_file=stopped, samples=samples)
    if request == 'pi':
        out['points'] = points
    return out
