# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An experiment's design, checked and expanded into runs (plain Python).

The research's matrix: link (rate and round trip) x CPU load x RAM load x strategy x
repetition. Every problem of the design is named before anything runs; every run gets an id
made of its inputs, so a results file says which runs are done and an interrupted matrix
continues where it stopped.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools
import re

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.net.service_probe import MAX_REQUESTS

LOADS = ('lab_guest', 'stress_ng')
STRATEGIES = ('precopy', 'auto', 'auto_converge', 'postcopy')
# The guest's kernel and initramfs live in its memory: RAM load is a share of the rest.
DEFAULT_RESERVE_MIB = 64
# A move that has not ended by then is aborted and recorded as not finished (the research's
# 100 % RAM runs never finished).
DEFAULT_TIMEOUT_S = 3600
# Every request of the probe dirties guest memory (network buffers, the service's work): a link
# scaled down may set a longer interval (links[].probe_interval_ms) to keep that dirty rate's
# share of the link.
DEFAULT_PROBE_INTERVAL_MS = 50
# The probe starts before the planner is asked and the move begins; this covers that time, so
# the probe outlives the longest move a run allows (the stop file ends it earlier).
PROBE_MARGIN_S = 300
# A link may let a stalled pre-copy end with a longer pause (links[].stall_max_downtime_ms, vm_migrate's
# stall_max_downtime): a scaled-down link allows a scaled-down number of bytes in the same pause,
# while what an idle guest rewrites does not scale.
_NAME = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')


class ExperimentError(BackendError):
    """A design that cannot run, in a researcher's words."""


def _number(value, what, low=None, high=None, problems=None, allow_none=False):
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        problems.append('%s must be a number, not %r' % (what, value))
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = '%s to %s' % (low, high) if high is not None else 'at least %s' % low
        problems.append('%s must be %s, not %s' % (what, bounds, value))
        return None
    return number


def _list(spec, key, problems):
    value = spec.get(key)
    if not isinstance(value, list) or not value:
        problems.append('%s must be a non-empty list' % key)
        return []
    return value


def expand(spec):
    """The checked design and its runs, in the order they run.

    ``spec``: {name, vm: {memory_mib, reserve_mib?}, links: [{name, rate_mbit|null, rtt_ms, probe_interval_ms?,
    stall_max_downtime_ms?}],
    cpu_pct: [...], ram_pct: [...], strategies: [...], repetitions, write_rate_mib?, timeout_s?,
    full_throttle_timeout_s? (vm_migrate's full_throttle_timeout: a pre-copy at the top throttle that long
    without progress is given up before timeout_s),
    load?: lab_guest (the lab guest's writer, the default) | stress_ng (through the guest agent)}.
    Returns {'design': ..., 'runs': [{id, index, link, rate_mbit, rtt_ms, probe_interval_ms, stall_max_downtime_ms,
    cpu_pct, ram_pct,
    writer_mib, write_rate_mib, strategy, repetition, timeout_s, full_throttle_timeout_s, probe_before_s,
    probe_after_s, probe_s}]};
    the probe runs ``probe_before_s`` before the move and ``probe_after_s`` after it, ``probe_s`` bounds it.
    """
    if not isinstance(spec, dict):
        raise ExperimentError('the experiment must be a mapping (see experiments/quick.yml)')
    problems = []
    name = spec.get('name')
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append('name must be 1-32 lower-case letters, digits, "-" or "_", not %r' % (name,))
    vm = spec.get('vm') if isinstance(spec.get('vm'), dict) else {}
    memory = _number(vm.get('memory_mib'), 'vm.memory_mib', 64, 1024 * 1024, problems=problems)
    reserve = _number(vm.get('reserve_mib', DEFAULT_RESERVE_MIB), 'vm.reserve_mib', 0, problems=problems)
    if memory is not None and reserve is not None and reserve >= memory:
        problems.append('vm.reserve_mib (%g) must be below vm.memory_mib (%g)' % (reserve, memory))
    links = []
    for number, link in enumerate(_list(spec, 'links', problems)):
        if not isinstance(link, dict) or not isinstance(link.get('name'), str) or not _NAME.match(link['name']):
            problems.append('links[%d] needs a name (lower-case letters, digits, "-", "_")' % number)
            continue
        rate = _number(link.get('rate_mbit'), 'links[%s].rate_mbit' % link['name'], 0.001, problems=problems,
                       allow_none=True)
        rtt = _number(link.get('rtt_ms', 0), 'links[%s].rtt_ms' % link['name'], 0, 10000, problems=problems)
        interval = _number(link.get('probe_interval_ms'), 'links[%s].probe_interval_ms' % link['name'], 1, 60000,
                           problems=problems, allow_none=True)
        stall_downtime = _number(link.get('stall_max_downtime_ms'), 'links[%s].stall_max_downtime_ms' % link['name'],
                                 300, 600000, problems=problems, allow_none=True)
        links.append(dict(name=link['name'], rate_mbit=rate, rtt_ms=rtt or 0.0, probe_interval_ms=interval,
                          stall_max_downtime_ms=int(stall_downtime) if stall_downtime is not None else None))
    if len(set(link['name'] for link in links)) != len(links):
        problems.append('links must have different names')
    cpus = [_number(c, 'cpu_pct', 0, 100, problems=problems) for c in _list(spec, 'cpu_pct', problems)]
    rams = [_number(r, 'ram_pct', 0, 100, problems=problems) for r in _list(spec, 'ram_pct', problems)]
    strategies = _list(spec, 'strategies', problems)
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad:
        problems.append('strategies must be among %s; not: %s' % (', '.join(STRATEGIES), ', '.join(map(str, bad))))
    reps = _number(spec.get('repetitions', 1), 'repetitions', 1, 100, problems=problems)
    write_rate = _number(spec.get('write_rate_mib', 0), 'write_rate_mib', 0, 100000, problems=problems)
    load = spec.get('load', 'lab_guest')
    if load not in LOADS:
        problems.append('load must be one of %s, not %r' % (', '.join(LOADS), load))
    elif load == 'stress_ng' and write_rate:
        problems.append('write_rate_mib must be 0 with load stress_ng (its vm stressor writes as fast as it can)')
    timeout = _number(spec.get('timeout_s', DEFAULT_TIMEOUT_S), 'timeout_s', 10, 86400, problems=problems)
    full_throttle = _number(spec.get('full_throttle_timeout_s'), 'full_throttle_timeout_s', 1, 86400, problems=problems,
                            allow_none=True)
    if full_throttle is not None and timeout is not None and full_throttle >= timeout:
        problems.append('full_throttle_timeout_s (%g) must be below timeout_s (%g): it gives up earlier than the timeout'
                        % (full_throttle, timeout))
    _number(spec.get('warmup_s', 10), 'warmup_s', 0, 3600, problems=problems)
    probe = spec.get('probe') if isinstance(spec.get('probe'), dict) else {}
    if probe.get('request', 'pi') not in ('pi', 'heartbeat'):
        problems.append('probe.request must be pi or heartbeat, not %r' % probe.get('request'))
    interval = _number(probe.get('interval_ms', DEFAULT_PROBE_INTERVAL_MS), 'probe.interval_ms', 1, 60000,
                       problems=problems)
    _number(probe.get('points', 100000), 'probe.points', 1, 10 ** 8, problems=problems)
    before, after = [_number(probe.get(key, 5), 'probe.' + key, 0, 3600, problems=problems)
                     for key in ('before_s', 'after_s')]
    if problems:
        raise ExperimentError('; '.join(problems))

    probe_s = int(timeout + before + after + PROBE_MARGIN_S)
    for link in links:
        link['probe_interval_ms'] = int(link['probe_interval_ms'] or interval)
        if probe_s * 1000.0 / link['probe_interval_ms'] > MAX_REQUESTS:
            problems.append('links[%s]: a request every %d ms for up to %d s (timeout_s and the probe\'s margins) is more '
                            'than the probe\'s %d: set a longer probe_interval_ms or a shorter timeout_s'
                            % (link['name'], link['probe_interval_ms'], probe_s, MAX_REQUESTS))
    if problems:
        raise ExperimentError('; '.join(problems))

    usable = memory - reserve
    full_throttle = int(full_throttle) if full_throttle is not None else None
    runs = []
    for link, cpu, ram, strategy, rep in itertools.product(links, cpus, rams, strategies, range(1, int(reps) + 1)):
        run_id = '%s-c%g-r%g-%s-%d' % (link['name'], cpu, ram, strategy, rep)
        runs.append(dict(id=run_id, index=len(runs) + 1, link=link['name'], rate_mbit=link['rate_mbit'],
                         rtt_ms=link['rtt_ms'], probe_interval_ms=link['probe_interval_ms'],
                         stall_max_downtime_ms=link['stall_max_downtime_ms'], cpu_pct=cpu, ram_pct=ram,
                         writer_mib=int(usable * ram / 100.0), write_rate_mib=write_rate,
                         strategy=strategy, repetition=rep, timeout_s=int(timeout),
                         full_throttle_timeout_s=full_throttle, probe_before_s=int(before),
                         probe_after_s=int(after), probe_s=probe_s))
    design = dict(name=name, memory_mib=int(memory), reserve_mib=int(reserve), links=links, cpu_pct=cpus,
                  ram_pct=rams, strategies=list(strategies), repetitions=int(reps), write_rate_mib=write_rate,
                  timeout_s=int(timeout), full_throttle_timeout_s=full_throttle, load=load)
    return dict(design=design, runs=runs)


def pending(runs, done_ids):
    """The runs not yet in the results, in order."""
    done = set(done_ids or ())
    return [run for run in runs if run['id'] not in done]
