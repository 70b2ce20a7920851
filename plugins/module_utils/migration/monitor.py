# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The decisions of a running migration, from job statistics alone (no libvirt here).

``Monitor.observe(stats, now)`` takes one ``jobStats()`` sample and returns the action to
take (``None``, ``'postcopy'``, ``'downtime'`` or ``'abort'``) plus a progress record. Stall detection:
the remaining memory has not reached a new low (by ``STALL_MARGIN``) for ``stall_timeout``
seconds, from the second pass on. Strategy ``auto``, when allowed to (``auto_postcopy``), switches to post-copy as soon
as the guest dirties memory faster than ``postcopy_ratio`` of the link (pre-copy would then take more than about 1/(1-ratio)
times the physical limit: with 0.25, 1.33x), judged from the dirty rate measured before the
start during the first pass and from QEMU's dirty rate afterwards, or when pre-copy stalls
(auto-converge throttling works meanwhile); otherwise it leaves the guest to auto-converge.
``postcopy`` switches after the first pass.

With ``stall_max_downtime`` (ms), the first stall of pre-copy raises QEMU's downtime limit to it
(action ``'downtime'``) before anything else: over a slow link a guest that keeps rewriting a
small working set leaves more than the limit allows in every round, and a pause a few times
longer ends the move where pre-copy alone never would. The pause is what is left when
QEMU's estimate says it fits the raised limit, plus the device state and the round trip. A
second stall goes on as above (post-copy when ``auto`` may use it). Under auto-converge the
limit is raised earlier, once QEMU has begun to throttle (its own verdict that the rounds do not
shrink) and what is left fits the raised limit at the rate QEMU measures: the move then ends
instead of slowing the guest further until the stall is seen.

With ``full_throttle_timeout`` (s), a pre-copy whose remaining memory has made no new low for
that long while QEMU throttles the guest at its top (``THROTTLE_TOP``) is treated as one that ran
out of time, early (``timeout_action``): nothing is left for auto-converge to do, and the guest,
nearly stopped, would otherwise wait for ``timeout`` with the move no nearer its end.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

MIB = 1024.0 * 1024.0
STALL_MARGIN = 0.05
PROGRESS_EVERY = 1.0   # seconds between kept progress records
SETTLE_BYTES = 16 * 1024 * 1024   # sent before the link rate counts as measured
POSTCOPY_RATIO = 0.25             # strategy auto: post-copy once dirtied >= this x sent
THROTTLE_TOP = 99                 # QEMU's max-cpu-throttle default (%), which libvirt does not set


def mib(value):
    return round((value or 0) / MIB, 1)


def _size(value):
    value = value or 0
    return '%.0f KiB' % (value / 1024.0) if value < MIB else '%.1f MiB' % (value / MIB)


def dirty_bytes(stats):
    return (stats.get('memory_dirty_rate') or 0) * (stats.get('memory_page_size') or 4096)


class Monitor(object):
    def __init__(self, strategy, postcopy_allowed, timeout, timeout_action, stall_timeout,
                 postcopy_ratio=POSTCOPY_RATIO, progress_log=None, keep=600, pre_dirty=None, auto_postcopy=True,
                 stall_max_downtime=None, full_throttle_timeout=None):
        self.strategy = strategy
        self.postcopy_allowed = postcopy_allowed
        self.auto_postcopy = auto_postcopy
        self.timeout = timeout
        self.timeout_action = timeout_action
        self.stall_timeout = stall_timeout
        self.postcopy_ratio = postcopy_ratio
        self.progress_log = progress_log
        self.keep = keep
        self.pre_dirty = pre_dirty
        self.stall_max_downtime = stall_max_downtime
        self.full_throttle_timeout = full_throttle_timeout
        self.full_throttle_at = None
        self.downtime_raised_to = None
        self.downtime_reason = None
        self.start = None
        self.phase = 'starting'
        self.postcopy_reason = None
        self.aborted_reason = None
        self.stalled = False
        self.best_remaining = None
        self.best_at = None
        self.max_throttle = 0
        self.max_dirty = 0
        self.max_iteration = 0
        self.last = {}
        self.records = []
        self._last_record_at = None

    # -- decisions -------------------------------------------------------------------------
    def observe(self, stats, now):
        """One sample in; (action, record) out."""
        if self.start is None:
            self.start = now
        elapsed = now - self.start
        if not stats or stats.get('type', 0) in (0, None):
            # no job visible (not started yet, or jobStats() failing): the timeout holds all the same
            if self.phase in ('starting', 'precopy') and elapsed >= self.timeout:
                self.aborted_reason = ('the migration did not complete within %d s (no job statistics from libvirt)'
                                       % self.timeout)
                self.phase = 'aborting'
                record = {'elapsed_s': round(elapsed, 1), 'phase': self.phase, 'action': 'abort',
                          'why': self.aborted_reason}
                self.records.append(record)
                self.write(record)
                return 'abort', record
            return None, None
        if self.phase == 'starting':
            self.phase = 'precopy'
        self.last = dict(stats)
        remaining = stats.get('memory_remaining')
        iteration = stats.get('memory_iteration') or 0
        self.max_iteration = max(self.max_iteration, iteration)
        self.max_throttle = max(self.max_throttle, stats.get('auto_converge_throttle') or 0)
        if (stats.get('auto_converge_throttle') or 0) < THROTTLE_TOP:
            self.full_throttle_at = None
        elif self.full_throttle_at is None:
            self.full_throttle_at = now
        self.max_dirty = max(self.max_dirty, dirty_bytes(stats))
        if remaining is not None:
            # the first pass only sends, so any decrease is progress (over a slow link 5 % of the
            # memory can take minutes): the stall clock runs from the second pass on, where a
            # moment with nothing left (sent, not yet synced) is no progress while the move goes on
            if iteration <= 1 or self.best_remaining is None or remaining < self.best_remaining * (1 - STALL_MARGIN):
                self.best_remaining = remaining
                self.best_at = now
        if self.best_at is not None and self.phase == 'precopy':
            self.stalled = (now - self.best_at) >= self.stall_timeout
        action = None
        if self.phase == 'precopy':
            action = self._decide(stats, elapsed, iteration, now)
        if action == 'downtime':          # a new stall_timeout before the next decision
            self.best_remaining, self.best_at, self.stalled = remaining, now, False
        record = self._record(stats, now, elapsed, action)
        return action, record

    def _decide(self, stats, elapsed, iteration, now):
        if elapsed >= self.timeout:
            return self._out_of_time('timeout after %ds' % self.timeout,
                                     'the migration did not complete within %d s' % self.timeout)
        if self.stall_max_downtime and self.downtime_raised_to is None:
            if self.stalled:
                return self._raise_downtime(stats)
            if iteration >= 2 and stats.get('auto_converge_throttle') and self._fits_raised(stats):
                return self._raise_downtime(stats, throttled=True)
        switch = self._switch_reason(stats, iteration) if self.postcopy_allowed else None
        if switch:
            return self._go_postcopy(switch)
        hopeless = self._hopeless(stats, now)
        if hopeless:
            return self._out_of_time(hopeless, 'the migration cannot complete: %s' % hopeless)
        return None

    def _out_of_time(self, why, abort_reason):
        """The move has run out of time (timeout or full_throttle_timeout): do what timeout_action says."""
        if self.timeout_action == 'postcopy' and self.postcopy_allowed:
            return self._go_postcopy('%s: switching to post-copy' % why)
        self.aborted_reason = abort_reason
        self.phase = 'aborting'
        return 'abort'

    def _switch_reason(self, stats, iteration):
        """Why to switch to post-copy now (strategies postcopy and auto), or None."""
        if self.strategy == 'postcopy' and iteration >= 2:
            return 'first pass complete'
        if self.strategy == 'auto' and self.auto_postcopy:
            bps = stats.get('memory_bps') or 0
            if iteration >= 2:
                dirty = dirty_bytes(stats)
                source = 'guest dirties'
            else:
                dirty = self.pre_dirty or 0
                source = 'guest dirtied (measured before the start)'
            settled = iteration >= 2 or (stats.get('memory_processed') or 0) >= SETTLE_BYTES
            if settled and bps > 0 and dirty >= self.postcopy_ratio * bps \
                    and (stats.get('memory_remaining') or 0) > bps * 0.5:
                return '%s %.0f MiB/s against a link of %.0f MiB/s' % (source, dirty / MIB, bps / MIB)
            if self.stalled:
                return 'pre-copy stalled: remaining memory has not shrunk for %d s' % self.stall_timeout
        return None

    def _hopeless(self, stats, now):
        """Why pre-copy cannot end (full_throttle_timeout), or None."""
        if not self.full_throttle_timeout or self.full_throttle_at is None or self.best_at is None:
            return None
        waited = now - max(self.full_throttle_at, self.best_at)
        if waited < self.full_throttle_timeout:
            return None
        figures = (stats['auto_converge_throttle'], waited, _size(stats.get('memory_remaining')),
                   dirty_bytes(stats) / MIB, (stats.get('memory_bps') or 0) / MIB)
        return ('the guest has been throttled at %d %% for %d s with %s left, not shrinking (QEMU measures '
                '%.1f MiB/s dirtied, %.1f MiB/s sent)' % figures)

    def _fits_raised(self, stats):
        """What is left fits the raised limit at the rate QEMU measures: QEMU would switch over with it."""
        bps = stats.get('memory_bps') or 0
        return bps > 0 and (stats.get('memory_remaining') or 0) <= bps * self.stall_max_downtime / 1000.0

    def _raise_downtime(self, stats, throttled=False):
        self.downtime_raised_to = self.stall_max_downtime
        why = ('QEMU began throttling the guest (%d %%)' % stats['auto_converge_throttle'] if throttled
               else 'pre-copy stalled')
        self.downtime_reason = ('%s with %s left at %.1f MiB/s: the pause may now take up to %d ms'
                                % (why, _size(stats.get('memory_remaining')), (stats.get('memory_bps') or 0) / MIB,
                                   self.stall_max_downtime))
        return 'downtime'

    def downtime_failed(self, why):
        """Raising the limit failed: the move goes on under the old one."""
        self.downtime_reason = 'raising the downtime limit to %d ms failed: %s' % (self.downtime_raised_to, why)
        self.downtime_raised_to = None
        self.stall_max_downtime = None

    def _go_postcopy(self, reason):
        self.phase = 'postcopy'
        self.postcopy_reason = reason
        return 'postcopy'

    def postcopy_failed(self, why):
        """Switching failed (e.g. the job ended meanwhile): stay in pre-copy, do not retry."""
        self.phase = 'precopy'
        self.postcopy_allowed = False
        self.postcopy_reason = 'switch to post-copy failed: %s' % why

    # -- progress --------------------------------------------------------------------------
    def _record(self, stats, now, elapsed, action):
        record = progress_record(stats, self.phase, elapsed, self.stalled)
        if action:
            record['action'] = action
            record['why'] = {'postcopy': self.postcopy_reason, 'downtime': self.downtime_reason}.get(
                action, self.aborted_reason)
        if action or self._last_record_at is None or now - self._last_record_at >= PROGRESS_EVERY:
            self._last_record_at = now
            self.records.append(record)
            if len(self.records) > self.keep:
                del self.records[1:len(self.records) - self.keep + 1]
            self.write(record)
        return record

    def write(self, record):
        if not self.progress_log:
            return
        try:
            with open(self.progress_log, 'a') as handle:
                handle.write(json.dumps(record, sort_keys=True) + '\n')
        except (IOError, OSError):
            self.progress_log = None   # progress is a courtesy: never fail a migration for it


def start_log(path, header):
    """Start a progress log (JSON lines), replacing an old one; no-op without a path."""
    if not path:
        return
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    with open(path, 'w') as handle:
        handle.write(json.dumps(header, sort_keys=True) + '\n')


def read_log(path, last=20):
    """The header and the last ``last`` records of a progress log."""
    if not path or not os.path.exists(path):
        return None, []
    with open(path) as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    if not out:
        return None, []
    return out[0], out[1:][-last:]


def figures(stats, source, monitor=None, switched=True):
    """Measured figures of a finished migration from job statistics.

    ``switched`` is False for a job sampled before the guest ever paused (a pre-copy that failed
    or was aborted): libvirt's downtime is then only the pause it expected, kept as
    expected_downtime_ms, and downtime_ms is None."""
    stats = stats or {}
    elapsed = stats.get('time_elapsed') or 0
    data = stats.get('data_processed') or 0
    page = stats.get('memory_page_size') or 4096
    out = {
        'source': source,
        'total_time_ms': elapsed,
        'downtime_ms': stats.get('downtime'),
        'setup_time_ms': stats.get('setup_time'),
        'data_bytes': data,
        'memory_bytes': stats.get('memory_processed') or 0,
        'disk_bytes': stats.get('disk_processed') or 0,
        'memory_total_bytes': stats.get('memory_total') or 0,
        'memory_iterations': stats.get('memory_iteration') or 0,
        'dirty_rate_mib_s': mib((stats.get('memory_dirty_rate') or 0) * page),
        'bandwidth_mib_s': mib(stats.get('memory_bps')),
        'effective_bandwidth_mib_s': round(data / MIB / (elapsed / 1000.0), 1) if elapsed else None,
        'postcopy_requests': stats.get('memory_postcopy_requests') or 0,
        'auto_converge_throttle': stats.get('auto_converge_throttle') or 0,
    }
    if not switched:
        out['expected_downtime_ms'] = out['downtime_ms']
        out['downtime_ms'] = None
    if monitor is not None:
        out['memory_iterations'] = max(out['memory_iterations'], monitor.max_iteration)
        out['auto_converge_throttle'] = max(out['auto_converge_throttle'], monitor.max_throttle)
        out['peak_dirty_rate_mib_s'] = mib(monitor.max_dirty)
        if not out['dirty_rate_mib_s'] and monitor.last:
            out['dirty_rate_mib_s'] = mib(dirty_bytes(monitor.last))
    return out


def progress_record(stats, phase, elapsed, stalled=False):
    """One progress record from a libvirt job's statistics: plain data, no state.

    Used by the monitor of a running move and by vm_migration_info for a move it only watches.
    """
    total = stats.get('memory_total') or stats.get('data_total') or 0
    processed = stats.get('memory_processed') or 0
    remaining = stats.get('memory_remaining') or 0
    data_total = stats.get('data_total') or 0
    data_remaining = stats.get('data_remaining') or 0
    bps = stats.get('memory_bps') or 0
    dirty = dirty_bytes(stats)
    if data_total:
        percent = round(100.0 * (data_total - data_remaining) / data_total, 1)
    elif total:
        percent = round(100.0 * (total - remaining) / total, 1)
    else:
        percent = 0.0
    eta = None
    if phase == 'postcopy' and bps > 0:
        eta = round(remaining / bps, 1)
    elif bps > dirty:
        eta = round((data_remaining or remaining) / float(bps - dirty), 1)
    return {
        'elapsed_s': round(elapsed, 1),
        'phase': phase,
        'percent': percent,
        'iteration': stats.get('memory_iteration') or 0,
        'memory_remaining_mib': mib(remaining),
        'memory_processed_mib': mib(processed),
        'disk_remaining_mib': mib(stats.get('disk_remaining')),
        'dirty_rate_mib_s': mib(dirty),
        'bandwidth_mib_s': mib(bps),
        'throttle_percent': stats.get('auto_converge_throttle') or 0,
        'postcopy_requests': stats.get('memory_postcopy_requests') or 0,
        'eta_s': eta,
        'stalled': stalled,
    }
