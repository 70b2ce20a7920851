# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An experiment's results on the controller: one CSV row per run, one JSON of raw samples per run.

The CSV's columns are ``COLUMNS`` (documented in docs/experiments.md): the run's inputs, QEMU's
figures, the application-level figures of the probe, the planner's prediction and its error.
A run is appended once, whole (a row is written with one write), so a results file that an
interruption cut short still lists exactly the runs that finished.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import os

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment.matrix import ExperimentError
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.history import outcome

COLUMNS = (
    # inputs
    'id', 'experiment', 'link', 'rate_mbit', 'rtt_ms', 'probe_interval_ms', 'stall_max_downtime_ms', 'cpu_pct', 'ram_pct',
    'writer_mib',
    'write_rate_mib',
    'strategy', 'repetition', 'started',
    # measured before the move: the path (the WAN role's probe) and the guest (the planner)
    'path_mbit', 'path_rtt_ms', 'dirty_rate_mib_s',
    # what happened (QEMU's figures through vm_migrate)
    'moved', 'strategy_used', 'total_s', 'downtime_ms', 'data_mib', 'mbit', 'throttle_pct', 'max_downtime_raised_ms',
    'error',
    # what the user saw (service_probe)
    'app_downtime_ms', 'requests', 'unanswered', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'latency_max_ms',
    # what the planner said before
    'predicted_total_s', 'predicted_strategy', 'prediction_error_pct',
)


def csv_path(directory):
    return os.path.join(directory, 'results.csv')


def samples_path(directory, run_id):
    return os.path.join(directory, 'samples', '%s.json' % run_id)


def read_rows(directory):
    path = csv_path(directory)
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames and list(reader.fieldnames) != list(COLUMNS):
            raise ExperimentError('%s has other columns than this version writes: move it away to start afresh' % path)
        return list(reader)


def done_ids(directory):
    return [row['id'] for row in read_rows(directory)]


def _figure(value, digits=3):
    if value is None or value == '':
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, float):
        return ('%.*f' % (digits, value)).rstrip('0').rstrip('.')
    return str(value)


def row(experiment, run, migration, probe, plan=None, path=None):
    """One CSV row (a dict of COLUMNS, text as the file holds it) from the run, vm_migrate's result, service_probe's, the plan's
    and the path as the WAN role measured it (link_probe's result, towards the target)."""
    migration = migration or {}
    path = path or {}
    figures = migration.get('figures') or {}
    probe = probe or {}
    latency = probe.get('latency_ms') or {}
    prediction = (plan or {}).get('prediction') or {}
    total_s = figures.get('total_time_ms') / 1000.0 if figures.get('total_time_ms') else None
    against = outcome(prediction, figures)
    data = figures.get('data_bytes')
    out = dict(
        id=run['id'], experiment=experiment, link=run['link'], rate_mbit=run['rate_mbit'], rtt_ms=run['rtt_ms'],
        probe_interval_ms=run.get('probe_interval_ms'), stall_max_downtime_ms=run.get('stall_max_downtime_ms'),
        cpu_pct=run['cpu_pct'], ram_pct=run['ram_pct'], writer_mib=run['writer_mib'],
        write_rate_mib=run['write_rate_mib'], strategy=run['strategy'], repetition=run['repetition'],
        started=probe.get('started_at'), path_mbit=path.get('mbit'), path_rtt_ms=(path.get('rtt_ms') or {}).get('median'),
        dirty_rate_mib_s=((plan or {}).get('vm') or {}).get('dirty_rate_mib_s'),
        moved=bool(migration.get('changed')) and not migration.get('failed'),
        strategy_used=migration.get('strategy_used'), total_s=total_s, downtime_ms=figures.get('downtime_ms'),
        data_mib=data / 1048576.0 if data else None,
        mbit=figures.get('effective_bandwidth_mib_s') * 1.048576 * 8 if figures.get('effective_bandwidth_mib_s') else None,
        throttle_pct=figures.get('auto_converge_throttle'), max_downtime_raised_ms=migration.get('max_downtime_raised_to'),
        error=migration.get('msg') if migration.get('failed') else None,
        app_downtime_ms=probe.get('downtime_ms'), requests=probe.get('requests'), unanswered=probe.get('unanswered'),
        latency_p50_ms=latency.get('p50'), latency_p95_ms=latency.get('p95'), latency_p99_ms=latency.get('p99'),
        latency_max_ms=latency.get('max'),
        predicted_total_s=against['predicted_s'], predicted_strategy=against['predicted_strategy'],
        prediction_error_pct=against['error_pct'])
    return dict((key, _figure(out.get(key))) for key in COLUMNS)


def samples(run, migration, probe, plan=None):
    """The run's JSON beside its row: the run, the probe's raw samples, QEMU's figures, and what the
    planner measured and predicted (so a later model can be checked against the same run)."""
    plan = plan or {}
    return dict(run=run, probe=probe, figures=(migration or {}).get('figures'), samples=(probe or {}).get('samples'),
                plan=dict((key, plan.get(key)) for key in ('vm', 'strategy', 'prediction', 'settings')) if plan else None)


def append(directory, csv_row, samples=None):
    """Write the run's samples, then its row (one write); the header when the file is new.
    A run already recorded is left as it is (False)."""
    if csv_row['id'] in done_ids(directory):
        return False
    if samples is not None:
        path = samples_path(directory, csv_row['id'])
        if not os.path.isdir(os.path.dirname(path)):
            os.makedirs(os.path.dirname(path), 0o755)
        with open(path, 'w') as handle:
            json.dump(samples, handle)
    path = csv_path(directory)
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(COLUMNS), lineterminator='\n')
    if new:
        writer.writeheader()
    writer.writerow(csv_row)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    with open(path, 'a') as handle:
        handle.write(text.getvalue())
    return True
