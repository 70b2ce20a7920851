# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How long a live migration takes, how long the guest pauses, and whether it ends at all.

Plain Python (bytes and seconds): a planner, an experiment runner or a module calls it alike.
The model follows QEMU's own algorithm, round by round (docs/planner.md):

- pre-copy: the first round sends the touched memory; each next round sends what the guest
  dirtied during the previous one (at most its writable working set); QEMU switches over when
  what is left fits the downtime limit at the link rate. A guest that dirties its working set
  faster than that never finishes.
- auto-converge: the same rounds, but QEMU throttles the vCPUs when, for the second time since
  its last step, the guest dirtied more than half of what was sent in a period of a second or
  more (20 % first, +10 % each step, at most 99 %): it finishes, and the guest pays with the
  throttle. From QEMU 9.2 on, a throttled guest's dirty bitmap is also synced every 5 s inside
  a longer round, and each sync may raise the throttle (throttle_sync_s).
- post-copy: one pre-copy round, the switch, then every page still dirty is sent once while
  the guest runs on the destination, each first touch of such a page waiting one round trip.
- early post-copy (vm_migrate strategy ``auto`` with post-copy allowed): the switch comes once
  the link's rate is measured (16 MiB sent) when the guest dirties at least a quarter of what
  the link sends; every touched page then crosses about once.
- disk copy (non-shared storage): the disk's allocated bytes are mirrored first, the guest's
  disk writes are sent again, and the mirror keeps that share of the link during memory rounds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

# vm_migrate's early switch: after SETTLE_BYTES, when dirtied >= POSTCOPY_RATIO x sent
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import POSTCOPY_RATIO, SETTLE_BYTES

STRATEGIES = ('precopy', 'auto_converge', 'postcopy', 'early_postcopy')
POSTCOPY = ('postcopy', 'early_postcopy')
# What QEMU may do under each vm_migrate strategy: `auto` turns auto-converge on from the start
# (its throttle acts only when the guest outruns the link) and, when allowed, switches to
# post-copy early for a guest that outruns it.
MOVES = {
    'auto': ('auto_converge', 'early_postcopy'),
    'precopy': ('precopy',),
    'auto_converge': ('auto_converge',),
    'postcopy': ('postcopy',),
}

# QEMU 7.2's defaults (migration parameters), used when the caller gives none.
DOWNTIME_LIMIT = 0.3                 # s, downtime-limit 300 ms
THROTTLE_INITIAL = 20                # %, cpu-throttle-initial
THROTTLE_INCREMENT = 10              # %, cpu-throttle-increment
THROTTLE_MAX = 99                    # %, max-cpu-throttle
THROTTLE_TRIGGER = 0.5               # throttle-trigger-threshold 50 %: dirtied / sent in a period
THROTTLE_PERIOD = 1.0                # s: QEMU checks the throttle at a bitmap sync a second or more after the last
THROTTLE_SYNC = 5.0                  # s: QEMU 9.2+ syncs a throttled guest's bitmap at least this often
THROTTLE_SYNC_QEMU = 9002000         # QEMU 9.2.0 (libvirt's getVersion), the first with that sync
DEVICE_STATE = 256 * 1024            # bytes of device state sent during the pause (order of magnitude)
MAX_ROUNDS = 1000                    # a bound for the loop; a real non-converging move is caught before


class PredictionError(ValueError):
    """An input the model cannot use, named in the message."""


def _number(inputs, key, minimum=0.0, strict=False, default=None, maximum=None):
    value = inputs.get(key, default)
    if value is None:
        raise PredictionError('%s is required' % key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise PredictionError('%s must be a number, not %r' % (key, value))
    if value < minimum or (strict and value == minimum):
        raise PredictionError('%s must be %s %s, not %s' % (key, 'above' if strict else 'at least', minimum, value))
    if maximum is not None and value > maximum:
        raise PredictionError('%s must be at most %s, not %s' % (key, maximum, value))
    return float(value)


def normalize(inputs):
    """The model's inputs, checked, with defaults filled in.

    memory_bytes, link_rate (bytes/s) required; touched_bytes (default: all memory),
    working_set_bytes (memory the guest keeps writing, default: touched), dirty_rate (bytes/s,
    default 0), rtt (s), downtime_limit (s), link_efficiency (share of the nominal rate a
    migration stream reaches, default 1), compression_ratio (default 1), first_round_ratio (what
    compressing pre-copy's first round gains on top, vm_migrate's mt with xbzrle; default 1), disk_bytes and
    disk_dirty_rate (non-shared storage), throttle_initial/increment/max (%), cpu_busy (share
    of its vCPU time the guest uses while it dirties memory at dirty_rate, default 1),
    postcopy_ratio (vm_migrate's, default 0.25), throttle_sync_s (how often the source QEMU
    syncs a throttled guest's bitmap inside a round: THROTTLE_SYNC from QEMU 9.2, default 0, none).
    """
    if not isinstance(inputs, dict):
        raise PredictionError('the inputs must be a dict, not %r' % (inputs,))
    out = dict(inputs)
    out['memory_bytes'] = _number(inputs, 'memory_bytes', strict=True)
    out['link_rate'] = _number(inputs, 'link_rate', strict=True)
    out['touched_bytes'] = _number(inputs, 'touched_bytes', default=out['memory_bytes'], maximum=out['memory_bytes'])
    out['working_set_bytes'] = _number(inputs, 'working_set_bytes', default=out['touched_bytes'],
                                       maximum=out['memory_bytes'])
    out['dirty_rate'] = _number(inputs, 'dirty_rate', default=0)
    out['rtt'] = _number(inputs, 'rtt', default=0)
    out['downtime_limit'] = _number(inputs, 'downtime_limit', default=DOWNTIME_LIMIT, strict=True)
    out['link_efficiency'] = _number(inputs, 'link_efficiency', default=1.0, strict=True, maximum=1.0)
    out['compression_ratio'] = _number(inputs, 'compression_ratio', default=1.0, minimum=1.0)
    out['first_round_ratio'] = _number(inputs, 'first_round_ratio', default=1.0, minimum=1.0)
    out['disk_bytes'] = _number(inputs, 'disk_bytes', default=0)
    out['disk_dirty_rate'] = _number(inputs, 'disk_dirty_rate', default=0)
    out['device_state_bytes'] = _number(inputs, 'device_state_bytes', default=DEVICE_STATE)
    out['throttle_initial'] = _number(inputs, 'throttle_initial', default=THROTTLE_INITIAL, minimum=1, maximum=99)
    out['throttle_increment'] = _number(inputs, 'throttle_increment', default=THROTTLE_INCREMENT, minimum=1,
                                        maximum=100)
    out['throttle_max'] = _number(inputs, 'throttle_max', default=THROTTLE_MAX, minimum=1, maximum=99)
    out['cpu_busy'] = _number(inputs, 'cpu_busy', default=1.0, strict=True, maximum=1.0)
    out['postcopy_ratio'] = _number(inputs, 'postcopy_ratio', default=POSTCOPY_RATIO, strict=True)
    out['throttle_sync_s'] = _number(inputs, 'throttle_sync_s', default=0)
    return out


def throttle_sync_s(qemu_version):
    """How often a source QEMU of this version (libvirt's getVersion) syncs a throttled guest's
    dirty bitmap inside a round: 0 (only at a round's end) before 9.2."""
    return THROTTLE_SYNC if (qemu_version or 0) >= THROTTLE_SYNC_QEMU else 0


def predict(strategy, inputs):
    """One strategy's figures: a dict with converges, total_s, downtime_s, bytes_on_wire, rounds,
    max_throttle_pct, guest_pays, reason (why it does not converge) and the inputs used."""
    if strategy not in STRATEGIES:
        raise PredictionError('strategy must be one of %s, not %r' % (', '.join(STRATEGIES), strategy))
    p = normalize(inputs)
    rate = p['link_rate'] * p['link_efficiency']
    disk = _disk_phase(p, rate)
    out = dict(strategy=strategy, converges=True, total_s=None, downtime_s=None, bytes_on_wire=0, rounds=0,
               max_throttle_pct=0, guest_pays='nothing', reason=None, disk_s=disk['seconds'], inputs=_public(p))
    if not disk['converges']:
        out.update(converges=False, reason=disk['reason'], bytes_on_wire=None)
        return out
    # while memory moves, the disk mirror keeps sending the guest's disk writes
    mem_rate = (rate - p['disk_dirty_rate'] if p['disk_bytes'] else rate) * p['compression_ratio']
    if strategy == 'postcopy':
        memory = _postcopy(p, mem_rate)
    elif strategy == 'early_postcopy':
        memory = _early_postcopy(p, mem_rate)
    else:
        memory = _precopy(p, mem_rate, strategy == 'auto_converge')
    out.update(memory)
    # what vm_migrate reports as the strategy used: auto-converge that never throttled ran as
    # pre-copy, an early switch as post-copy
    out['runs_as'] = ('precopy' if strategy == 'auto_converge' and not out['max_throttle_pct']
                      else 'postcopy' if strategy == 'early_postcopy' else strategy)
    if out['converges']:
        out['total_s'] = round(disk['seconds'] + memory['total_s'], 3)
        out['bytes_on_wire'] = int(disk['bytes'] + memory['bytes_on_wire'] / p['compression_ratio'])
    else:
        out['bytes_on_wire'] = None
    return out


def _disk_phase(p, rate):
    if not p['disk_bytes']:
        return dict(converges=True, seconds=0.0, bytes=0.0, reason=None)
    if p['disk_dirty_rate'] >= rate:
        return dict(converges=False, seconds=None, bytes=None,
                    reason='the guest writes its disk (%.1f MiB/s) as fast as the link sends (%.1f MiB/s): '
                           'the disk mirror never catches up' % (p['disk_dirty_rate'] / 2 ** 20, rate / 2 ** 20))
    seconds = p['disk_bytes'] / (rate - p['disk_dirty_rate'])
    return dict(converges=True, seconds=seconds, bytes=seconds * rate, reason=None)


def _precopy(p, rate, throttled):
    # QEMU 7.2 switches over when the RAM left fits the downtime limit at the measured rate; the
    # device state comes on top, so the real pause can pass the limit by a few milliseconds
    limit_bytes = p['downtime_limit'] * rate
    # the first round may go compressed (mt); on the wire it is touched / first_round_ratio
    sent = p['touched_bytes'] / p['first_round_ratio']
    seconds = sent / rate
    elapsed = seconds
    dirty = p['dirty_rate']
    throttle = 0.0
    pending = min(dirty * seconds, p['working_set_bytes'])
    watch = _ThrottleWatch(p) if throttled else None
    since_sync = (seconds, sent, pending)
    rounds = 1
    while pending > limit_bytes:
        if watch:
            throttle = watch.round_ended(*since_sync)
        seconds = pending / rate
        next_pending, throttle, since_sync = _round(p, watch, throttle, rate, seconds)
        effective = dirty * _throttled_share(throttle, p['cpu_busy'])
        if next_pending >= pending and (not throttled or throttle >= p['throttle_max']):
            return dict(converges=False, total_s=None, downtime_s=None, rounds=rounds,
                        max_throttle_pct=int(throttle), guest_pays=_throttle_cost(throttle),
                        reason='the guest dirties %.1f MiB/s of a %.0f MiB working set, the link sends %.1f MiB/s: '
                               'each round leaves %.0f MiB, more than the %.0f ms downtime limit allows (%.1f MiB)'
                               % (effective / 2 ** 20, p['working_set_bytes'] / 2 ** 20, rate / 2 ** 20,
                                  next_pending / 2 ** 20, p['downtime_limit'] * 1000, max(limit_bytes, 0) / 2 ** 20))
        sent += pending
        elapsed += seconds
        pending = next_pending
        rounds += 1
        if rounds > MAX_ROUNDS:
            return dict(converges=False, total_s=None, downtime_s=None, rounds=rounds,
                        max_throttle_pct=int(throttle), guest_pays=_throttle_cost(throttle),
                        reason='no switch-over within %d rounds' % MAX_ROUNDS)
    downtime = (pending + p['device_state_bytes']) / rate + p['rtt']
    return dict(converges=True, total_s=elapsed + downtime, downtime_s=round(downtime, 4), rounds=rounds,
                bytes_on_wire=sent + pending + p['device_state_bytes'], max_throttle_pct=int(throttle),
                guest_pays=_throttle_cost(throttle))


def _round(p, watch, throttle, rate, seconds):
    """What the guest dirties while a round of `seconds` is sent, the throttle at the round's end,
    and (seconds, sent, dirtied) since the last bitmap sync. QEMU 9.2+ syncs a throttled guest's
    bitmap every throttle_sync_s inside the round too, and each sync may raise the throttle."""
    sync = p['throttle_sync_s']
    dirtied, left = 0.0, seconds
    while watch and throttle and sync and left > sync:
        part = min(p['dirty_rate'] * _throttled_share(throttle, p['cpu_busy']) * sync, p['working_set_bytes'])
        throttle = watch.round_ended(sync, rate * sync, part)
        dirtied += part
        left -= sync
    part = min(p['dirty_rate'] * _throttled_share(throttle, p['cpu_busy']) * left, p['working_set_bytes'])
    return min(dirtied + part, p['working_set_bytes']), throttle, (left, rate * left, part)


def _throttled_share(throttle, cpu_busy):
    """The share of its dirty rate a guest keeps under a vCPU throttle. The throttle takes vCPU
    time away; a guest that used only part of it (a paced writer, a service waiting on requests)
    loses nothing until the throttle leaves it less than it used."""
    return min(1.0, (1 - throttle / 100.0) / cpu_busy)


class _ThrottleWatch(object):
    """Auto-converge's throttle as QEMU raises it (migration_trigger_throttle in migration/ram.c).

    At a bitmap sync at least THROTTLE_PERIOD after the last check, QEMU compares what the guest
    dirtied in that period with what it sent; when the dirtied bytes pass the threshold for the
    second time since the last raise, the throttle starts (cpu-throttle-initial) or grows by
    cpu-throttle-increment, up to max-cpu-throttle.
    """

    def __init__(self, p):
        self.p = p
        self.throttle = 0.0
        self.high = 0
        self.seconds = self.sent = self.dirtied = 0.0

    def round_ended(self, seconds, sent, dirtied):
        """A round of `seconds` sent `sent` bytes while the guest dirtied `dirtied`; the throttle for the next."""
        self.seconds += seconds
        self.sent += sent
        self.dirtied += dirtied
        if self.seconds < THROTTLE_PERIOD:
            return self.throttle
        if self.dirtied > THROTTLE_TRIGGER * self.sent:
            self.high += 1
            if self.high >= 2:
                self.high = 0
                step = self.p['throttle_increment'] if self.throttle else self.p['throttle_initial']
                self.throttle = min(self.p['throttle_max'], self.throttle + step)
        self.seconds = self.sent = self.dirtied = 0.0
        return self.throttle


def _postcopy(p, rate, first_bytes=None):
    """Pre-copy of ``first_bytes`` (default: one full round), the switch, then what is still on the
    source: the rest of the touched memory and what the guest dirtied meanwhile, each page once."""
    first_bytes = p['touched_bytes'] if first_bytes is None else min(first_bytes, p['touched_bytes'])
    first = first_bytes / rate
    left = (p['touched_bytes'] - first_bytes) + min(p['dirty_rate'] * first, p['working_set_bytes'], first_bytes)
    downtime = p['device_state_bytes'] / rate + p['rtt']
    after = left / rate
    pays = ('nothing' if not left else
            'every first touch of the %.0f MiB still on the source waits about one round trip (%.1f ms) '
            'for %.1f s; a failure of either host or the link in that time loses the VM'
            % (left / 2 ** 20, p['rtt'] * 1000, after))
    return dict(converges=True, total_s=first + downtime + after, downtime_s=round(downtime, 4), rounds=1,
                bytes_on_wire=first_bytes + left + p['device_state_bytes'], max_throttle_pct=0,
                guest_pays=pays)


def _early_postcopy(p, rate):
    if p['dirty_rate'] < p['postcopy_ratio'] * rate:
        return dict(converges=False, total_s=None, downtime_s=None, rounds=0, max_throttle_pct=0,
                    guest_pays='nothing',
                    reason='the guest dirties %.1f MiB/s, less than %d %% of the %.1f MiB/s the link sends: '
                           'strategy auto keeps it in pre-copy' % (p['dirty_rate'] / 2 ** 20,
                                                                   p['postcopy_ratio'] * 100, rate / 2 ** 20))
    return _postcopy(p, rate, SETTLE_BYTES)


def _throttle_cost(throttle):
    if not throttle:
        return 'nothing'
    return 'its vCPUs throttled up to %d %% during the last rounds' % throttle


def _public(p):
    keys = ('memory_bytes', 'touched_bytes', 'working_set_bytes', 'dirty_rate', 'link_rate', 'link_efficiency',
            'rtt', 'downtime_limit', 'compression_ratio', 'first_round_ratio', 'disk_bytes', 'disk_dirty_rate',
            'cpu_busy', 'postcopy_ratio', 'throttle_sync_s')
    return dict((k, p[k]) for k in keys)


def predict_all(inputs, strategies=STRATEGIES):
    return [predict(strategy, inputs) for strategy in strategies]


def best(predictions, downtime_limit=None, time_budget=None):
    """The fastest converging prediction within the limits (pre-copy first on a tie: the guest pays
    nothing); one that also converges at the guest's highest possible dirty rate (``converges_worst``,
    when it was predicted) before one that does not.

    A converging pre-copy keeps QEMU's downtime limit by construction; ``downtime_limit`` here is
    the caller's own bound on the whole pause (device state and round trip included)."""
    fits = [p for p in predictions if p['converges']
            and (downtime_limit is None or p['downtime_s'] <= downtime_limit)
            and (time_budget is None or p['total_s'] <= time_budget)]
    if not fits:
        return None
    return min(fits, key=lambda p: (not p.get('converges_worst', True), round(p['total_s'], 1),
                                    STRATEGIES.index(p['strategy'])))


def choose(vm, candidates, allow_postcopy=False, time_budget=None, downtime_limit=None, move_strategy=None):
    """The target closest to the user (lowest RTT, as Viper chooses) among the candidates that
    pass pre-flight, have the memory, and finish within the budget; and the fastest strategy.

    ``move_strategy``: the vm_migrate strategy the move will run with (a key of MOVES); only what
    QEMU does under it is chosen (``auto``: auto-converge, whose throttle acts only when needed,
    or post-copy when allowed). None chooses among every allowed strategy.

    ``vm``: the guest's inputs (memory_bytes, dirty_rate, ...). ``candidates``: dicts with host,
    rtt_to_user (s), link_rate (bytes/s) and optionally rtt, link_efficiency, first_round_ratio,
    dirty_rate_high (the most the guest may dirty where its measured rate is uncertain on this link:
    each prediction then says whether it still converges with it, and the choice prefers one that
    does), free_memory_bytes, preflight_ok, preflight_reasons.
    Returns {'target', 'strategy', 'prediction', 'candidates'}, where every candidate carries its
    predictions and, when it is not eligible, why not.
    """
    if move_strategy is not None and move_strategy not in MOVES:
        raise PredictionError('the move strategy must be one of %s, not %r' % (', '.join(sorted(MOVES)), move_strategy))
    # strategy postcopy asks for post-copy itself
    postcopy = allow_postcopy or move_strategy == 'postcopy'
    strategies = STRATEGIES if postcopy else tuple(s for s in STRATEGIES if s not in POSTCOPY)
    runnable = MOVES[move_strategy] if move_strategy else STRATEGIES
    rows = []
    for cand in candidates:
        host = cand.get('host')
        if not host:
            raise PredictionError('every candidate needs a host name')
        row = dict(host=host, rtt_to_user=_number(cand, 'rtt_to_user'), eligible=False, reason=None,
                   predictions=[], best=None)
        rows.append(row)
        if not cand.get('preflight_ok', True):
            row['reason'] = 'pre-flight refused: %s' % ('; '.join(cand.get('preflight_reasons') or []) or 'no reason given')
            continue
        inputs = dict(vm)
        for key in ('link_rate', 'rtt', 'link_efficiency', 'first_round_ratio'):
            if cand.get(key) is not None:
                inputs[key] = cand[key]
        if downtime_limit is not None:
            inputs['downtime_limit'] = downtime_limit
        row['predictions'] = predict_all(inputs, strategies)
        high = cand.get('dirty_rate_high')
        if high is not None and high > normalize(inputs)['dirty_rate']:
            for pred, worst in zip(row['predictions'], predict_all(dict(inputs, dirty_rate=high), strategies)):
                pred['converges_worst'] = worst['converges']
                pred['worst_total_s'] = worst['total_s']
        free = cand.get('free_memory_bytes')
        if free is not None and free < normalize(inputs)['memory_bytes']:
            row['reason'] = 'not enough free memory (%.0f MiB free, the VM needs %.0f MiB)' % (
                free / 2 ** 20, normalize(inputs)['memory_bytes'] / 2 ** 20)
            continue
        options = [p for p in row['predictions'] if p['strategy'] in runnable]
        choice = best(options, downtime_limit, time_budget)
        if choice is None:
            converging = [p for p in options if p['converges']]
            if not converging:
                row['reason'] = 'no allowed strategy converges (%s)%s' % (
                    '; '.join('%s: %s' % (p['strategy'], p['reason']) for p in options),
                    '' if postcopy else '; post-copy would, but it is not allowed')
            else:
                fastest = min(converging, key=lambda p: p['total_s'])
                row['reason'] = 'the fastest allowed strategy (%s) needs %.0f s, over the budget of %.0f s' % (
                    fastest['strategy'], fastest['total_s'], time_budget)
            continue
        row.update(eligible=True, best=choice['strategy'])
    eligible = [r for r in rows if r['eligible']]
    if not eligible:
        return dict(target=None, strategy=None, prediction=None, candidates=rows)
    pick = min(eligible, key=lambda r: (r['rtt_to_user'], _best_of(r)['total_s']))
    return dict(target=pick['host'], strategy=pick['best'], prediction=_best_of(pick), candidates=rows)


def _best_of(row):
    return next(p for p in row['predictions'] if p['strategy'] == row['best'])
