# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The link rate from recorded moves (history.py) and the migration_link filter over it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.migration_link import FilterModule
from ansible_collections.skillvl.offline_first.plugins.filter.migration_outcome import FilterModule as OutcomeFilters
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.history import (
    MBIT_PER_MIB_S, link_figures, outcome, parse_records)

link_filter = FilterModule().filters()['migration_link']


def record(source='cloud1', target='ws01', moved=True, rate=100.0, cap=0, effective=None):
    return dict(source=source, target=target, moved=moved, bandwidth_mib_s=cap,
                figures=dict(bandwidth_mib_s=rate, effective_bandwidth_mib_s=effective))


def test_median_of_the_latest_moves_either_direction():
    records = [record(rate=1.0), record(rate=50.0), record('ws01', 'cloud1', rate=100.0), record(rate=110.0),
               record(rate=90.0), record('ws01', 'cloud1', rate=105.0)]
    out = link_figures(records, 'cloud1', 'ws01', 1000, last=5)
    # the oldest (1.0) is past the last five; median of 50, 100, 110, 90, 105 MiB/s
    assert out['link_mbit'] == round(100.0 * MBIT_PER_MIB_S, 1)
    assert out['source'].startswith('recorded: median of the last 5 move(s) between cloud1 and ws01')
    assert len(out['samples']) == 5


def test_failed_other_pairs_capped_and_rateless_moves_are_left_out():
    records = [record(moved=False), record(target='ws02'), record('ws02', 'cloud1'),
               record(rate=3.9, cap=4), record(rate=0), record(rate=None, effective=None),
               dict(source='cloud1', target='ws01', moved=True)]
    out = link_figures(records, 'cloud1', 'ws01', 1000)
    assert out == dict(link_mbit=1000.0, samples=[],
                       source='configured: no recorded move between cloud1 and ws01 measured the link')


def test_effective_rate_when_qemu_reported_no_transfer_rate_and_a_slow_capped_move_counts():
    out = link_figures([record(rate=None, effective=20.0), record(rate=2.0, cap=4)], 'cloud1', 'ws01', 1000)
    assert out['samples'] == [round(20.0 * MBIT_PER_MIB_S, 1), round(2.0 * MBIT_PER_MIB_S, 1)]


def test_a_probe_stands_in_for_the_records_but_never_beats_them():
    probed = link_figures([], 'cloud1', 'ws01', 1000, probed_mbit=240.5)
    assert probed['link_mbit'] == 240.5 and probed['source'].startswith('probed: no recorded move between cloud1')
    recorded = link_figures([record(rate=20.0)], 'cloud1', 'ws01', 1000, probed_mbit=240.5)
    assert recorded['source'].startswith('recorded:') and recorded['link_mbit'] == round(20.0 * MBIT_PER_MIB_S, 1)
    capped = link_filter('', 'cloud1', 'ws01', 1000, bandwidth_mib_s=10, probed_mbit='240.5')
    assert capped['link_mbit'] == round(10 * MBIT_PER_MIB_S, 1) and capped['source'].startswith('probed:')


def test_never_above_the_coming_moves_cap():
    out = link_figures([], 'cloud1', 'ws01', 1000, bandwidth_mib_s=10)
    assert out['link_mbit'] == round(10 * MBIT_PER_MIB_S, 1) and out['source'].endswith('capped by bandwidth=10 MiB/s')
    assert link_figures([], 'cloud1', 'ws01', 37, bandwidth_mib_s=10)['link_mbit'] == 37.0


def test_parse_records_skips_what_is_not_a_record():
    text = '\n'.join([json.dumps(record()), '{"broken', '[1, 2]', '', json.dumps(record(rate=5.0))])
    records, unreadable = parse_records(text)
    assert len(records) == 2 and unreadable == 2


def test_filter_on_the_records_text():
    text = '\n'.join(json.dumps(r) for r in [record(rate=50.0), record(rate=70.0)]) + '\nnot json\n'
    out = link_filter(text, source='ws01', target='cloud1', configured_mbit='1000')
    assert out['link_mbit'] == round(60.0 * MBIT_PER_MIB_S, 1) and out['unreadable_lines'] == 1
    assert link_filter('', source='cloud1', target='ws01', configured_mbit=37)['link_mbit'] == 37.0


@pytest.mark.parametrize('kwargs, words', [
    (dict(configured_mbit=0), 'must be above 0 Mbit/s'),
    (dict(configured_mbit='fast'), 'migration_link'),
])
def test_filter_refuses_bad_input(kwargs, words):
    with pytest.raises(AnsibleFilterError, match=words):
        link_filter('', source='cloud1', target='ws01', **kwargs)
    with pytest.raises(AnsibleFilterError, match='text of the move records'):
        link_filter(['a list'], source='cloud1', target='ws01', configured_mbit=1)


def test_outcome_sets_the_prediction_beside_the_measurement():
    pred = dict(strategy='precopy', converges=True, total_s=20.7, downtime_ms=8.3)
    out = outcome(pred, dict(total_time_ms=16400, downtime_ms=353))
    assert out['predicted_s'] == 20.7 and out['measured_s'] == 16.4
    assert out['error_pct'] == 26.2
    assert out['predicted_downtime_ms'] == 8.3 and out['downtime_ms'] == 353
    assert out['text'] == ('predicted: 20.7 s with precopy, pause 8.3 ms; measured: 16.4 s, pause 353 ms; '
                           'time error +26 %')


def test_outcome_without_a_prediction_a_finished_move_or_a_converging_strategy():
    assert outcome(None, dict(total_time_ms=4000, downtime_ms=5))['text'] == (
        'no prediction; measured: 4.0 s, pause 5 ms')
    out = outcome(dict(strategy='precopy', converges=True, total_s=3.0, downtime_ms=2.0), {})
    assert out['measured_s'] is None and out['error_pct'] is None
    assert out['text'].endswith('not measured: the move did not finish')
    never = outcome(dict(strategy='precopy', converges=False, total_s=None, downtime_ms=None,
                         reason='the guest dirties faster than the link sends'), dict(total_time_ms=9000, downtime_ms=4))
    assert never['error_pct'] is None
    assert never['text'].startswith('predicted: precopy would not end (the guest dirties faster')


def test_outcome_filter_refuses_what_is_not_a_dict():
    outcome_filter = OutcomeFilters().filters()['migration_outcome']
    assert outcome_filter({}, {})['text'] == 'no prediction; not measured: the move did not finish'
    with pytest.raises(AnsibleFilterError, match='figures must be a dict'):
        outcome_filter({}, 'fast')


def test_outcome_names_the_strategy_the_move_runs_as():
    pred = dict(strategy='auto_converge', runs_as='precopy', converges=True, total_s=3.0, downtime_ms=2.0)
    out = outcome(pred, dict(total_time_ms=3000, downtime_ms=2))
    assert out['predicted_strategy'] == 'precopy' and 'with precopy' in out['text']
