# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The research's figures from an experiment's results (matplotlib, on the controller).

- ``time_vs_ram.png``, ``time_vs_cpu.png``: migration time against RAM load and against CPU
  load, one line per link (the research's figure 3 a-d; the other load at its lowest level);
- ``response_<link>.png``: the probe's response times over the run, one line per RAM load
  (the research's response-time figures; gaps are requests without an answer);
- ``downtime.png``: QEMU's downtime beside the application-level one, per run;
- ``prediction.png``: predicted against measured migration time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import results
from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment.matrix import ExperimentError


def _pyplot():
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        raise ExperimentError('matplotlib is needed on the controller for the plots (make setup installs it)')
    return plt


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _moved(row):
    return str(row.get('moved')).lower() == 'true'


def _lines(rows, x_key, fixed_key, finished=True):
    """{(link, strategy): [(x, mean time)]} for the runs at the lowest level of ``fixed_key``:
    the moves that ended (``finished`` True) or those given up (False, their time is the give-up).

    A line per strategy as well as per link: plain pre-copy and ``auto`` differ most where the
    research's figures are steepest, and a mean over both would hide it."""
    if not rows:
        return {}
    lowest = min(_num(r[fixed_key]) for r in rows)
    series = {}
    for row in rows:
        if _num(row[fixed_key]) != lowest or _num(row['total_s']) is None or _moved(row) != finished:
            continue
        line = series.setdefault((row['link'], row['strategy']), {})
        line.setdefault(_num(row[x_key]), []).append(_num(row['total_s']))
    return dict((key, sorted((x, sum(v) / len(v)) for x, v in points.items())) for key, points in series.items())


def response_label(row):
    """The legend of one run's response-time line: its load and its strategy."""
    label = 'RAM %s %%, CPU %s %%, %s' % (row['ram_pct'], row['cpu_pct'], row['strategy'])
    if row.get('repetition') not in (None, '', '1', 1):
        label += ' #%s' % row['repetition']
    return label


def _save(plt, fig, directory, name, written):
    path = os.path.join(directory, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)


def plot_all(directory, title=''):
    """Write every figure the results allow; returns the paths written."""
    rows = results.read_rows(directory)
    if not rows:
        raise ExperimentError('no results in %s yet: nothing to plot' % directory)
    plt = _pyplot()
    written = []
    for x_key, fixed_key, label, name in (('ram_pct', 'cpu_pct', 'RAM load (%)', 'time_vs_ram.png'),
                                          ('cpu_pct', 'ram_pct', 'CPU load (%)', 'time_vs_cpu.png')):
        fig, axes = plt.subplots(figsize=(6, 4))
        colours = {}
        for (link, strategy), points in sorted(_lines(rows, x_key, fixed_key).items()):
            drawn = axes.plot([p[0] for p in points], [p[1] for p in points], marker='o', label='%s, %s' % (link, strategy))
            colours[(link, strategy)] = drawn[0].get_color()
        for key, points in sorted(_lines(rows, x_key, fixed_key, finished=False).items()):
            axes.scatter([p[0] for p in points], [p[1] for p in points], marker='x', s=60, color=colours.get(key),
                         label='%s, %s: given up' % key)
        axes.set_xlabel(label)
        axes.set_ylabel('migration time (s)')
        axes.set_title('%s: migration time vs %s' % (title, label.split(' (', maxsplit=1)[0]))
        axes.legend(title='link, strategy')
        axes.grid(True, alpha=0.3)
        _save(plt, fig, directory, name, written)

    for link in sorted(set(r['link'] for r in rows)):
        fig, axes = plt.subplots(figsize=(7, 4))
        for row in rows:
            path = results.samples_path(directory, row['id'])
            if row['link'] != link or not os.path.exists(path):
                continue
            with open(path) as handle:
                samples = (json.load(handle).get('samples') or [])
            axes.plot([s[0] / 1000.0 for s in samples], [s[1] for s in samples], linewidth=0.8,
                      label=response_label(row))
        axes.set_xlabel('time since the probe started (s)')
        axes.set_ylabel('response time (ms)')
        axes.set_title('%s: response time around the move, link %s' % (title, link))
        axes.legend(fontsize='small')
        axes.grid(True, alpha=0.3)
        _save(plt, fig, directory, 'response_%s.png' % link, written)

    fig, axes = plt.subplots(figsize=(max(6, len(rows) * 0.5), 4))
    positions = range(len(rows))
    axes.bar([p - 0.2 for p in positions], [_num(r['downtime_ms']) or 0 for r in rows], width=0.4, label='QEMU')
    axes.bar([p + 0.2 for p in positions], [_num(r['app_downtime_ms']) or 0 for r in rows], width=0.4,
             label='application (probe)')
    axes.set_xticks(list(positions))
    axes.set_xticklabels([r['id'] for r in rows], rotation=60, ha='right', fontsize='small')
    axes.set_ylabel('downtime (ms)')
    axes.set_title('%s: downtime per run' % title)
    axes.legend()
    _save(plt, fig, directory, 'downtime.png', written)

    pairs = [(_num(r['total_s']), _num(r['predicted_total_s'])) for r in rows]
    pairs = [p for p in pairs if p[0] is not None and p[1] is not None]
    fig, axes = plt.subplots(figsize=(5, 5))
    if pairs:
        top = max(max(p) for p in pairs) * 1.1
        axes.scatter([p[0] for p in pairs], [p[1] for p in pairs])
        axes.plot([0, top], [0, top], linestyle='--', color='grey')
    axes.set_xlabel('measured migration time (s)')
    axes.set_ylabel('predicted (s)')
    axes.set_title('%s: prediction' % title)
    _save(plt, fig, directory, 'prediction.png', written)
    return written
