# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plan of a move before anything moves: measure the VM, ask every candidate's pre-flight,
predict each strategy (``predict``), choose the target closest to the user.

Plain Python, the backend of ``vm_migration_plan``; changes nothing. Figures in the result are
in an admin's units (MiB, Mbit/s, ms, s); the model works in bytes and seconds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.stats import DIRTY_RATE_STEP
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import predict as model
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import preflight
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import (
    MAX_DOWNTIME, MIN_DOWNTIME, PEER_ARGS, STORAGE_MODES, MigrationError, stall_note)

MIB = 1024 * 1024
MBIT = 1e6 / 8
SHORT_WINDOW = 1        # s, the dirty-rate window that shows the rate before the working set caps it
SATURATED = 0.9         # the long window saw under 90 % of what the short one's rate predicts
# QEMU samples 512 pages per GiB (calc-dirty-rate's default): one sampled page stands for 2 MiB, so a
# 1 s window reads a rate in steps of 2 MiB/s
SAMPLED_PAGE = 2 * 1024 * 1024
# where a reading's step is this share of a link or more, the choice over it allows for the top of the step
STEP_MATTERS = 0.1
XBZRLE_LINK = 100 * MBIT      # bytes/s: on a WAN-class link, delta-encoding pages sent again is worth its CPU
XBZRLE_MIN_MIB = 16
MT_WORTH = 1.2                # a first round at least this much smaller is worth compressing on such a link
# What the research's pause budget held on its slow link (300 ms at 37 Mbit/s), where an idle
# guest's move ended. On a slower link the same budget holds less than an idle guest answering
# requests rewrites between rounds (a few hundred KiB, sent in small rounds that reach a fraction
# of the link over a long round trip: docs/experiments.md), and pre-copy never ends; a stalled
# move then gets the budget that holds this much (vm_migrate's stall_max_downtime).
END_GAME_BYTES = 0.3 * 37 * MBIT
STALL_DOWNTIME_STEP = 100     # ms
STALL_DOWNTIME_MAX = 30000    # ms: below about 0.4 Mbit/s the pause stays at this


def argument_spec():
    """vm_migration_plan's options: the peer connection (without ``dest``: the candidates are the
    destinations), the candidates, and every measured input that can also be given."""
    peer = dict((k, v) for k, v in PEER_ARGS.items() if k != 'dest')
    return dict(
        peer,
        name=dict(type='str', required=True),
        candidates=dict(type='list', elements='dict', required=True, options=dict(
            host=dict(type='str', required=True),
            rtt_to_user_ms=dict(type='float', required=True),
            link_mbit=dict(type='float'),
            rtt_ms=dict(type='float'),
            link_efficiency=dict(type='float'),
        )),
        link_mbit=dict(type='float'),
        link_efficiency=dict(type='float', default=1.0),
        storage=dict(type='str', default='shared', choices=list(STORAGE_MODES)),
        dest_disks=dict(type='list', elements='dict', default=[], options=dest_disks.SPEC),
        allow_postcopy=dict(type='bool', default=False),
        strategy=dict(type='str', default='any', choices=['any'] + sorted(model.MOVES)),
        time_budget=dict(type='int'),
        max_downtime=dict(type='int'),
        stall_max_downtime=dict(type='int'),
        memory_mib=dict(type='int'),
        touched_mib=dict(type='int'),
        dirty_rate_mib_s=dict(type='float'),
        working_set_mib=dict(type='int'),
        cpu_busy_pct=dict(type='float'),
        first_round_ratio=dict(type='float'),
        dirty_rate_seconds=dict(type='int', default=5),
    )


def check_options(opts):
    """Every problem with the options at once, before any connection."""
    problems = []
    if not opts['candidates']:
        problems.append('candidates must list at least one destination host')
    for cand in opts['candidates'] or []:
        if cand.get('link_mbit') is None and opts.get('link_mbit') is None:
            problems.append('candidate %s has no link_mbit and there is no link_mbit for all: give the link rate '
                            'from the source to it' % cand['host'])
        for key in ('link_mbit', 'rtt_ms', 'rtt_to_user_ms'):
            if cand.get(key) is not None and cand[key] < 0:
                problems.append('candidate %s: %s must not be negative' % (cand['host'], key))
    hosts = [c['host'] for c in opts['candidates'] or []]
    if len(set(hosts)) != len(hosts):
        twice = sorted(set(h for h in hosts if hosts.count(h) > 1))
        problems.append('candidates lists a host twice: %s' % ', '.join(twice))
    if not 1 <= opts['dirty_rate_seconds'] <= 60:
        problems.append('dirty_rate_seconds must be 1 to 60, not %s' % opts['dirty_rate_seconds'])
    for key in ('time_budget', 'max_downtime', 'memory_mib', 'touched_mib', 'working_set_mib', 'dirty_rate_mib_s'):
        if opts.get(key) is not None and opts[key] < 0:
            problems.append('%s must not be negative' % key)
    stall = opts.get('stall_max_downtime')
    if stall and not MIN_DOWNTIME <= stall <= MAX_DOWNTIME:
        problems.append('stall_max_downtime must be 0 (never raise the limit) or %d to %d ms, not %s'
                        % (MIN_DOWNTIME, MAX_DOWNTIME, stall))
    elif stall and opts.get('max_downtime') and stall < opts['max_downtime']:
        problems.append('stall_max_downtime (%d ms) must be at least max_downtime (%d ms)' % (stall, opts['max_downtime']))
    if opts.get('first_round_ratio') is not None and not 1 <= opts['first_round_ratio'] <= 100:
        problems.append('first_round_ratio must be 1 to 100')
    if opts.get('cpu_busy_pct') is not None and not 0 < opts['cpu_busy_pct'] <= 100:
        problems.append('cpu_busy_pct must be above 0 and at most 100')
    if not 0 < opts['link_efficiency'] <= 1:
        problems.append('link_efficiency must be above 0 and at most 1')
    problems.extend(dest_disks.validate(opts.get('dest_disks') or []))
    if problems:
        raise MigrationError('; '.join(problems))


def measure_vm(conn, name, opts, measure_dirty_rate, measure_resident=None, measure_vcpu=None,
               clock=None, measure_compression=None, slow_link=False):
    """The guest's inputs to the model, each with where it came from (given or measured). What its
    pages compress to is sampled only for a ``slow_link`` (a candidate under XBZRLE_LINK)."""
    dom = session.lookup_domain(conn, name)
    if dom is None:
        raise MigrationError('no VM called "%s" on this host (%s): run the plan on the host where it runs'
                             % (name, opts['source_uri']))
    running = session.is_active(dom)
    sources = {}
    if opts.get('memory_mib') is not None:
        memory, sources['memory'] = opts['memory_mib'] * MIB, 'given'
    else:
        memory, sources['memory'] = dom.info()[1] * 1024, 'measured (libvirt: the VM\'s memory)'
    vm = dict(memory_bytes=memory, running=running, sources=sources, cpu_busy=1.0)
    vm['touched_bytes'] = min(_touched(conn, dom, opts, memory, running, measure_resident, sources), memory)
    if opts.get('working_set_mib') is not None:
        vm['working_set_bytes'], sources['working_set'] = min(opts['working_set_mib'] * MIB, memory), 'given'
    if opts.get('dirty_rate_mib_s') is not None:
        vm['dirty_rate'], sources['dirty_rate'] = opts['dirty_rate_mib_s'] * MIB, 'given'
    elif not running:
        vm['dirty_rate'], sources['dirty_rate'] = 0.0, 'the VM is not running'
    else:
        _measure_writing(conn, dom, opts, vm, measure_dirty_rate, measure_vcpu, clock or time.monotonic)
    if opts.get('cpu_busy_pct') is not None:
        vm['cpu_busy'], sources['cpu_busy'] = opts['cpu_busy_pct'] / 100.0, 'given'
    elif vm['dirty_rate'] and 'cpu_busy' not in sources:
        sources['cpu_busy'] = 'assumed: all of its vCPU time'
    if opts.get('first_round_ratio') is not None:
        vm['first_round_ratio'], sources['first_round_ratio'] = opts['first_round_ratio'], 'given'
    elif running and measure_compression and slow_link:
        ratio = measure_compression(conn, dom, memory)
        if ratio is None:
            sources['first_round_ratio'] = 'not measured (libvirt could not read the guest\'s memory)'
        else:
            vm['first_round_ratio'] = round(ratio, 2)
            sources['first_round_ratio'] = 'measured (zlib level 1 on sampled pages of its memory)'
    return vm


def _link(opts, cand):
    """The link to a candidate as the model takes it: rate (bytes/s), RTT (s), and the share of the
    rate one migration stream reaches."""
    mbit = cand['link_mbit'] if cand.get('link_mbit') is not None else opts['link_mbit']
    return dict(link_rate=mbit * MBIT, rtt=(cand.get('rtt_ms') or 0) / 1000.0,
                link_efficiency=cand.get('link_efficiency') or opts['link_efficiency'])


def _reached(link):
    """bytes/s a migration stream reaches on this link."""
    return link['link_rate'] * link['link_efficiency']


def _touched(conn, dom, opts, memory, running, measure_resident, sources):
    if opts.get('touched_mib') is not None:
        sources['touched'] = 'given'
        return opts['touched_mib'] * MIB
    resident = measure_resident(conn, dom, memory) if running and measure_resident else None
    if resident:
        sources['touched'] = 'measured (resident pages of its RAM in QEMU)'
        return resident
    rss = (dom.memoryStats() or {}).get('rss') if running else None
    if rss:
        sources['touched'] = 'measured (resident memory of its QEMU)'
        return rss * 1024
    sources['touched'] = 'assumed: all of its memory'
    return memory


def _measure_writing(conn, dom, opts, vm, measure_dirty_rate, measure_vcpu, clock):
    """The dirty rate, the working set and the vCPU time the writing takes, from QEMU's dirty-rate
    calculation over a short (1 s) and a long window (dirty_rate_seconds).

    QEMU counts the distinct pages changed in the window, so its rate saturates at working set /
    window: when the long window saw clearly fewer pages than the short one's rate predicts, the
    guest rewrote the same pages, the rate is the short window's and the working set what the
    long one saw. Otherwise the long window's rate counts, and the working set stays unknown.
    """
    sources = vm['sources']
    long_s = opts['dirty_rate_seconds']
    short = measure_dirty_rate(conn, dom, seconds=SHORT_WINDOW) if long_s > SHORT_WINDOW else None
    before = (clock(), measure_vcpu(conn, dom) if measure_vcpu else None)
    rate = measure_dirty_rate(conn, dom, seconds=long_s)
    after = (clock(), measure_vcpu(conn, dom) if measure_vcpu else None)
    if rate is None:
        raise MigrationError('cannot measure the dirty rate of VM "%s" (this QEMU or libvirt does not '
                             'offer it): give dirty_rate_mib_s' % opts['name'])
    vm['dirty_rate'], sources['dirty_rate'] = rate, 'measured (QEMU, %d s)' % long_s
    vm['dirty_rate_step'] = _step(long_s)
    # the short window's rate less one sampled page's worth: what it surely saw
    short_low = max(0.0, (short or 0) - SAMPLED_PAGE / SHORT_WINDOW)
    if short and rate * long_s < SATURATED * short_low * long_s / SHORT_WINDOW:
        vm['dirty_rate'], vm['dirty_rate_step'] = short, _step(SHORT_WINDOW)
        sources['dirty_rate'] = 'measured (QEMU, %d s; the %d s window saw the working set)' % (SHORT_WINDOW, long_s)
        if 'working_set' not in sources:
            vm['working_set_bytes'] = min(max(rate * long_s, short * SHORT_WINDOW), vm['touched_bytes'])
            sources['working_set'] = 'measured (QEMU, pages changed in %d s)' % long_s
    if before[1] and after[1] and after[0] > before[0]:
        # vCPU time over the same seconds: what auto-converge's throttle can take away
        used = (after[1][0] - before[1][0]) / 1e9 / ((after[0] - before[0]) * after[1][1])
        vm['cpu_busy'], sources['cpu_busy'] = min(1.0, max(0.01, used)), 'measured (vCPU time, libvirt)'


def _step(seconds):
    """How far above a reading over ``seconds`` the rate may be: QEMU rounds down to whole MiB/s,
    and each page it samples stands for SAMPLED_PAGE."""
    return max(DIRTY_RATE_STEP, SAMPLED_PAGE / seconds)


def dirty_rate_high(vm, link):
    """The most the guest may dirty, where that matters over ``link``: the top of the reading's step
    when the step is STEP_MATTERS of what the link carries or more; else None. An idle guest reads
    0 MiB/s and may still dirty as much as a few Mbit/s carry (docs/planner.md)."""
    step = vm.get('dirty_rate_step')
    if step and step >= STEP_MATTERS * _reached(link):
        return vm['dirty_rate'] + step
    return None


def disk_bytes(conn, name, disks):
    """Allocated bytes of the disks a storage-copying move would copy."""
    dom = session.lookup_domain(conn, name)
    total = 0
    for disk in disks:
        if disk.get('copy') and disk.get('target'):
            total += dest_disks.copied_bytes(dom, disk['target'])
    return total


def plan(opts, check=None, connect=None, measure_dirty_rate=None, measure_resident=None, measure_vcpu=None,
         measure_compression=None):
    """The plan: {'target', 'strategy', 'prediction', 'candidates', 'vm', 'table'}.

    ``check(dest)`` runs the pre-flight towards one candidate (vm_migration_check's verdict);
    ``connect``, ``measure_dirty_rate``, ``measure_resident`` (the guest RAM its QEMU holds,
    None when it cannot be read), ``measure_vcpu`` (the vCPU time it has run) and
    ``measure_compression`` (what mt compression makes of its pages) reach the source's
    libvirt. All are injectable so a planner or a test can call this without Ansible.
    """
    check_options(opts)
    links = dict((cand['host'], _link(opts, cand)) for cand in opts['candidates'])
    conn = connect(opts['source_uri'])
    try:
        vm = measure_vm(conn, opts['name'], opts, measure_dirty_rate, measure_resident, measure_vcpu,
                        measure_compression=measure_compression,
                        slow_link=any(_reached(link) < XBZRLE_LINK for link in links.values()))
        verdicts = dict((c['host'], check(c['host'])) for c in opts['candidates'])
        disks = next((v.get('facts', {}).get('disks') for v in verdicts.values() if v.get('facts', {}).get('disks')),
                     [])
        copying = opts['storage'] != 'shared' or opts.get('dest_disks')
        vm['disk_bytes'] = disk_bytes(conn, opts['name'], disks) if copying else 0
    finally:
        session.close(conn)
    candidates = []
    for cand in opts['candidates']:
        verdict = verdicts[cand['host']]
        facts = verdict.get('facts') or {}
        candidates.append(dict(
            links[cand['host']],
            host=cand['host'],
            rtt_to_user=cand['rtt_to_user_ms'] / 1000.0,
            free_memory_bytes=facts['dest_free_memory_mib'] * MIB if facts.get('dest_free_memory_mib') is not None
            else None,
            preflight_ok=verdict.get('verdict') == 'ok',
            preflight_reasons=[r['message'] for r in verdict.get('reasons', []) if r.get('status') == 'fail'],
            dirty_rate_high=dirty_rate_high(vm, links[cand['host']]),
        ))
        if _mt_worth(vm, opts, candidates[-1], facts):
            candidates[-1]['first_round_ratio'] = vm['first_round_ratio']
    inputs = dict((k, vm[k]) for k in ('memory_bytes', 'touched_bytes', 'working_set_bytes', 'dirty_rate',
                                       'disk_bytes', 'cpu_busy') if k in vm)
    # the source's QEMU throttles: from 9.2 it also syncs a throttled guest's bitmap inside long rounds
    source_qemu = max([(v.get('facts') or {}).get('source_qemu_version') or 0 for v in verdicts.values()] or [0])
    inputs['throttle_sync_s'] = model.throttle_sync_s(source_qemu)
    try:
        choice = model.choose(inputs, candidates, allow_postcopy=opts['allow_postcopy'],
                              move_strategy=None if opts.get('strategy', 'any') == 'any' else opts['strategy'],
                              time_budget=opts.get('time_budget'),
                              downtime_limit=opts['max_downtime'] / 1000.0 if opts.get('max_downtime') else None)
    except model.PredictionError as exc:
        raise MigrationError('the model cannot use these inputs: %s' % exc)
    high = dict((c['host'], c['dirty_rate_high']) for c in candidates)
    rows = [_candidate_view(row, high[row['host']]) for row in choice['candidates']]
    out = dict(changed=False, target=choice['target'], strategy=choice['strategy'],
               prediction=_prediction_view(choice['prediction']) if choice['prediction'] else None,
               candidates=rows, table=table(rows),
               vm=dict(name=opts['name'], running=vm['running'], memory_mib=round(vm['memory_bytes'] / MIB),
                       touched_mib=round(vm['touched_bytes'] / MIB), dirty_rate_mib_s=round(vm['dirty_rate'] / MIB, 1),
                       working_set_mib=round(vm.get('working_set_bytes', vm['touched_bytes']) / MIB),
                       cpu_busy_pct=round(vm['cpu_busy'] * 100, 1), disk_mib=round(vm['disk_bytes'] / MIB),
                       first_round_ratio=vm.get('first_round_ratio'), sources=vm['sources']))
    if choice['target'] is not None:
        chosen = next(c for c in candidates if c['host'] == choice['target'])
        out['settings'] = settings(choice['prediction'], vm, opts, chosen)
    if choice['target'] is None:
        out['msg'] = 'no candidate qualifies for VM "%s": %s' % (
            opts['name'], '; '.join('%s: %s' % (r['host'], r['reason']) for r in rows))
    else:
        pred = out['prediction']
        out['msg'] = 'move VM "%s" to %s with %s: about %s s, pause %s ms' % (
            opts['name'], choice['target'], pred['runs_as'], pred['total_s'], pred['downtime_ms'])
        if out['settings'].get('stall_max_downtime'):
            out['msg'] += '; ' + stall_note(out['settings']['stall_max_downtime'])
        if pred['converges_worst'] is not None:
            worst = 'up to %s s with %s' % (pred['worst_total_s'], pred['strategy']) if pred['converges_worst'] \
                else 'it does not end'
            out['msg'] += '; %s if it dirties %s MiB/s (the top of QEMU\'s reading)' % (worst, high[choice['target']] / MIB)
    return out


# vm_migrate's strategy (and post-copy permission) that runs each of the model's behaviours
MOVE_OF = {
    'precopy': dict(strategy='precopy'),
    'auto_converge': dict(strategy='auto_converge'),
    'postcopy': dict(strategy='postcopy', allow_postcopy=True),
    'early_postcopy': dict(strategy='auto', allow_postcopy=True),
}


def _mt_worth(vm, opts, cand, facts):
    """Whether a pre-copy move to this candidate compresses its first round (vm_migrate's mt with
    xbzrle): a running guest whose pages shrink by MT_WORTH or more, a WAN-class link, and QEMU on
    both hosts old enough to combine mt with xbzrle. Not when the caller fixed a move that may
    turn to post-copy (QEMU refuses it with mt); the model's post-copy strategies never count it."""
    if not vm['running'] or vm.get('first_round_ratio', 1) < MT_WORTH:
        return False
    if opts.get('strategy') == 'postcopy' or (opts.get('strategy') == 'auto' and opts['allow_postcopy']):
        return False
    if _reached(cand) >= XBZRLE_LINK:
        return False
    return preflight.mt_with_xbzrle(facts)


def settings(pred, vm, opts, cand):
    """The vm_migrate options that run the chosen prediction: its strategy and, for a running
    guest's pre-copy over a link slower than 100 Mbit/s, XBZRLE (pages sent again go as deltas
    against their last copy) with a cache that holds the working set, at most half the guest's
    memory. Even when one round is predicted: the few pages an idle guest keeps dirtying, under
    the step of QEMU's dirty rate, are rounds on such a link.
    Where the prediction counted a compressed first round, mt too; over a link too slow for an idle
    guest's end game in the pause budget, stall_max_downtime. A strategy the caller fixed stays as
    given."""
    out = dict(MOVE_OF[pred['strategy']])
    if opts.get('strategy', 'any') != 'any':
        out = dict(strategy=opts['strategy'], allow_postcopy=bool(opts['allow_postcopy']))
    if pred['strategy'] in ('precopy', 'auto_converge') and vm['running'] and _reached(cand) < XBZRLE_LINK:
        working_set = vm.get('working_set_bytes', vm['touched_bytes']) / MIB
        cache = XBZRLE_MIN_MIB
        while cache < working_set and cache * 2 <= vm['memory_bytes'] / MIB / 2:
            cache *= 2
        out.update(compression=['mt', 'xbzrle'] if cand.get('first_round_ratio') else ['xbzrle'], xbzrle_cache=cache)
    if opts.get('max_downtime'):
        out['max_downtime'] = opts['max_downtime']
    stall = stall_max_downtime(pred, vm, opts, cand)
    if stall:
        out['stall_max_downtime'] = stall
    return out


def stall_max_downtime(pred, vm, opts, cand):
    """The pause to accept once pre-copy stalls (vm_migrate's stall_max_downtime), ms, or None: the
    caller's when given (0: never raise the limit); else, for a running guest's move that may stay
    in pre-copy, over a link where the pause budget holds less than END_GAME_BYTES, the budget that
    holds them (in STALL_DOWNTIME_STEP, at most STALL_DOWNTIME_MAX)."""
    if opts.get('stall_max_downtime') is not None:
        return opts['stall_max_downtime'] or None
    if not vm['running'] or pred['strategy'] == 'postcopy':
        return None
    budget_ms = opts.get('max_downtime') or model.DOWNTIME_LIMIT * 1000
    need_ms = END_GAME_BYTES / _reached(cand) * 1000
    if need_ms <= budget_ms:
        return None
    return int(min(STALL_DOWNTIME_MAX, math.ceil(need_ms / STALL_DOWNTIME_STEP) * STALL_DOWNTIME_STEP))


def _prediction_view(pred):
    return dict(strategy=pred['strategy'], runs_as=pred['runs_as'], converges=pred['converges'],
                total_s=round(pred['total_s'], 1) if pred['total_s'] is not None else None,
                downtime_ms=round(pred['downtime_s'] * 1000, 1) if pred['downtime_s'] is not None else None,
                wire_mib=round(pred['bytes_on_wire'] / MIB) if pred['bytes_on_wire'] is not None else None,
                rounds=pred['rounds'], max_throttle_pct=pred['max_throttle_pct'], guest_pays=pred['guest_pays'],
                reason=pred['reason'], converges_worst=pred.get('converges_worst'),
                worst_total_s=round(pred['worst_total_s'], 1) if pred.get('worst_total_s') is not None else None)


def _candidate_view(row, dirty_rate_high):
    return dict(host=row['host'], rtt_to_user_ms=round(row['rtt_to_user'] * 1000, 2), eligible=row['eligible'],
                best=row['best'], reason=row['reason'],
                dirty_rate_high_mib_s=round(dirty_rate_high / MIB, 1) if dirty_rate_high is not None else None,
                predictions=[_prediction_view(p) for p in row['predictions']])


def table(rows):
    """A human-readable table, one line per candidate and strategy; where QEMU's reading has a
    step that counts, a column for the time at its top (``worst``: never, or - with no step)."""
    worst = any(pred.get('converges_worst') is not None for row in rows for pred in row['predictions'])
    line = '%-12s %9s  %-13s %9s %11s' + (' %9s' if worst else '') + '  %s'

    def cells(*values):
        return values if worst else values[:5] + values[6:]
    lines = [line % cells('host', 'rtt user', 'strategy', 'time', 'pause', 'worst', 'verdict')]
    for row in sorted(rows, key=lambda r: r['rtt_to_user_ms']):
        rtt = '%.2f ms' % row['rtt_to_user_ms']
        if not row['predictions']:
            lines.append(line % cells(row['host'], rtt, '-', '-', '-', '-', 'out: %s' % row['reason']))
        for pred in row['predictions']:
            if pred['converges']:
                time_s, pause = '%.1f s' % pred['total_s'], '%.1f ms' % pred['downtime_ms']
            else:
                time_s, pause = 'never', '-'
            at_top = '-' if pred.get('converges_worst') is None else (
                '%.1f s' % pred['worst_total_s'] if pred['converges_worst'] else 'never')
            verdict = 'best' if row['eligible'] and pred['strategy'] == row['best'] else (
                'out: %s' % row['reason'] if row['reason'] and pred is row['predictions'][0] else '')
            lines.append(line % cells(row['host'], rtt, pred['strategy'], time_s, pause, at_top, verdict))
    return lines
