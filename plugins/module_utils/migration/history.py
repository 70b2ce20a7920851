# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The link between two hosts as earlier moves measured it.

migrate.yml records every move as one JSON line on the controller (hosts, VM, prediction,
QEMU's figures). The next plan between the same two hosts uses the rate QEMU measured on
that path rather than a configured figure. Plain Python: read by the ``migration_link``
filter, and by a planner or an experiment runner directly.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

MBIT_PER_MIB_S = 8 * 1.048576
CAP_SHARE = 0.9     # a move that ran at 90 % of its bandwidth cap measured the cap, not the link
LAST = 5            # the link is the median of this many latest moves


def parse_records(text):
    """The records of a JSON-lines text, and how many lines could not be read."""
    records, unreadable = [], 0
    for line in (text or '').splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            unreadable += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            unreadable += 1
    return records, unreadable


def _median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def measured_rate_mbit(record):
    """The rate a recorded move measured on the wire (Mbit/s), or None when it tells nothing
    about the link: the move failed, reported no rate, or ran at its bandwidth cap."""
    if record.get('moved') is not True:
        return None
    figures = record.get('figures') or {}
    rate = figures.get('bandwidth_mib_s') or figures.get('effective_bandwidth_mib_s')
    if not isinstance(rate, (int, float)) or rate <= 0:
        return None
    cap = record.get('bandwidth_mib_s') or 0
    if cap and rate >= CAP_SHARE * cap:
        return None
    return rate * MBIT_PER_MIB_S


def link_figures(records, source, target, configured_mbit, bandwidth_mib_s=0, last=LAST, probed_mbit=None):
    """The link rate a plan from ``source`` to ``target`` should use, and where it comes from.

    The median of the rates measured by the latest ``last`` moves between the two hosts (either
    direction: one path), else a fresh probe of the path (``probed_mbit``, link_probe), else
    ``configured_mbit``; never above the move's own bandwidth cap.
    """
    if configured_mbit is None or configured_mbit <= 0:
        raise ValueError('the configured link rate must be above 0 Mbit/s, not %r' % (configured_mbit,))
    pair = set((source, target))
    samples = [rate for rate in (measured_rate_mbit(r) for r in records
                                 if set((r.get('source'), r.get('target'))) == pair) if rate]
    samples = samples[-last:] if last else samples
    if samples:
        link = _median(samples)
        origin = 'recorded: median of the last %d move(s) between %s and %s' % (len(samples), source, target)
    elif probed_mbit:
        link = float(probed_mbit)
        origin = 'probed: no recorded move between %s and %s, a TCP probe of the path measured it' % (source, target)
    else:
        link = float(configured_mbit)
        origin = 'configured: no recorded move between %s and %s measured the link' % (source, target)
    if bandwidth_mib_s and bandwidth_mib_s * MBIT_PER_MIB_S < link:
        link = bandwidth_mib_s * MBIT_PER_MIB_S
        origin += '; capped by bandwidth=%s MiB/s' % bandwidth_mib_s
    return dict(link_mbit=round(link, 1), source=origin, samples=[round(s, 1) for s in samples])


def outcome(prediction, figures):
    """The prediction of a move beside what QEMU measured: predicted and measured total time and
    pause, the error of the time, (predicted - measured) / measured in %, and a line for a report.

    ``prediction`` is vm_migration_plan's (total_s, downtime_ms, strategy, runs_as, converges, reason) or
    None; ``figures`` vm_migrate's (total_time_ms, downtime_ms). Missing figures give None."""
    prediction = prediction or {}
    figures = figures or {}
    measured_s = figures.get('total_time_ms') / 1000.0 if figures.get('total_time_ms') else None
    predicted_s = prediction.get('total_s')
    error_pct = (round((predicted_s - measured_s) / measured_s * 100.0, 1)
                 if predicted_s is not None and measured_s else None)
    out = dict(predicted_s=predicted_s, measured_s=round(measured_s, 2) if measured_s is not None else None,
               error_pct=error_pct, predicted_downtime_ms=prediction.get('downtime_ms'),
               downtime_ms=figures.get('downtime_ms'),
               predicted_strategy=prediction.get('runs_as') or prediction.get('strategy'))
    if not prediction:
        said = 'no prediction'
    elif prediction.get('converges') is False:
        said = 'predicted: %s would not end (%s)' % (prediction.get('strategy'), prediction.get('reason'))
    else:
        said = 'predicted: %s s with %s, pause %s ms' % (
            predicted_s, out['predicted_strategy'], prediction.get('downtime_ms'))
    if measured_s is None:
        out['text'] = '%s; not measured: the move did not finish' % said
    else:
        out['text'] = '%s; measured: %.1f s, pause %s ms%s' % (
            said, measured_s, figures.get('downtime_ms'),
            '; time error %+.0f %%' % error_pct if error_pct is not None else '')
    return out
