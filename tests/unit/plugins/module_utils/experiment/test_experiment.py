# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An experiment's matrix, its results file (resume) and its plots, as plain Python."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import os

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import matrix, plots, results

DESIGN = dict(name='seeds', vm=dict(memory_mib=256),
              links=[dict(name='lan', rate_mbit=None, rtt_ms=0), dict(name='wan', rate_mbit=4.6, rtt_ms=37)],
              cpu_pct=[0, 50], ram_pct=[0, 80], strategies=['precopy', 'auto'], repetitions=2, write_rate_mib=0)


def test_the_matrix_is_every_combination_with_ids_made_of_its_inputs():
    out = matrix.expand(DESIGN)
    runs = out['runs']
    assert len(runs) == 2 * 2 * 2 * 2 * 2
    assert runs[0] == dict(id='lan-c0-r0-precopy-1', index=1, link='lan', rate_mbit=None, rtt_ms=0.0,
                           probe_interval_ms=50, stall_max_downtime_ms=None, cpu_pct=0.0, ram_pct=0.0, writer_mib=0, write_rate_mib=0.0,
                           strategy='precopy', repetition=1, timeout_s=3600, full_throttle_timeout_s=None,
                           probe_before_s=5, probe_after_s=5,
                           probe_s=3600 + 5 + 5 + matrix.PROBE_MARGIN_S)
    margins = matrix.expand(dict(DESIGN, probe=dict(before_s=2, after_s=7)))['runs'][0]
    assert (margins['probe_before_s'], margins['probe_after_s']) == (2, 7)
    assert margins['probe_s'] == 3600 + 2 + 7 + matrix.PROBE_MARGIN_S
    assert runs[-1]['id'] == 'wan-c50-r80-auto-2' and runs[-1]['rate_mbit'] == 4.6
    # RAM load is a share of what the guest's kernel and initramfs leave: (256 - 64) x 80 %
    assert runs[-1]['writer_mib'] == 153
    assert len(set(r['id'] for r in runs)) == len(runs)
    assert out['design']['reserve_mib'] == 64
    assert out['design']['load'] == 'lab_guest'
    assert matrix.expand(dict(DESIGN, load='stress_ng'))['design']['load'] == 'stress_ng'


def test_a_slower_link_may_probe_less_often():
    design = dict(DESIGN, probe=dict(interval_ms=100),
                  links=[dict(name='lan', rtt_ms=0), dict(name='wan', rate_mbit=4.6, rtt_ms=37, probe_interval_ms=800)])
    runs = matrix.expand(design)['runs']
    assert set(r['probe_interval_ms'] for r in runs if r['link'] == 'lan') == set([100])
    assert set(r['probe_interval_ms'] for r in runs if r['link'] == 'wan') == set([800])
    row = results.row('seeds', runs[-1], MOVE, PROBE)
    assert row['probe_interval_ms'] == '800' and row['stall_max_downtime_ms'] == ''


def test_a_design_may_give_up_a_move_stuck_at_the_top_throttle_early():
    out = matrix.expand(dict(DESIGN, timeout_s=900, full_throttle_timeout_s=120))
    assert out['design']['full_throttle_timeout_s'] == 120
    assert set(run['full_throttle_timeout_s'] for run in out['runs']) == set([120])


def test_a_link_may_let_a_stalled_precopy_end_with_a_longer_pause():
    design = dict(DESIGN, links=[dict(name='lan', rtt_ms=0),
                                 dict(name='wan', rate_mbit=4.6, rtt_ms=37, stall_max_downtime_ms=2400)])
    runs = matrix.expand(design)['runs']
    assert set(r['stall_max_downtime_ms'] for r in runs if r['link'] == 'lan') == set([None])
    assert set(r['stall_max_downtime_ms'] for r in runs if r['link'] == 'wan') == set([2400])
    row = results.row('seeds', runs[-1], dict(MOVE, max_downtime_raised_to=2400), PROBE)
    assert (row['stall_max_downtime_ms'], row['max_downtime_raised_ms']) == ('2400', '2400')


@pytest.mark.parametrize('change, words', [
    (dict(strategies=['auto', 'warp']), 'strategies must be among precopy, auto, auto_converge, postcopy; not: warp'),
    (dict(links=[dict(name='x', rate_mbit=-1)]), 'links[x].rate_mbit must be at least 0.001, not -1'),
    (dict(ram_pct=[50, 120]), 'ram_pct must be 0 to 100, not 120'),
    (dict(cpu_pct=[]), 'cpu_pct must be a non-empty list'),
    (dict(name='Bad Name'), 'name must be 1-32 lower-case letters'),
    (dict(vm=dict(memory_mib=128, reserve_mib=128)), 'vm.reserve_mib (128) must be below vm.memory_mib (128)'),
    (dict(links=[dict(name='a'), dict(name='a')]), 'links must have different names'),
    (dict(timeout_s=0), 'timeout_s must be 10 to 86400, not 0'),
    (dict(full_throttle_timeout_s=0), 'full_throttle_timeout_s must be 1 to 86400, not 0'),
    (dict(timeout_s=900, full_throttle_timeout_s=900), 'full_throttle_timeout_s (900) must be below timeout_s (900)'),
    (dict(warmup_s=-1), 'warmup_s must be 0 to 3600, not -1'),
    (dict(probe=dict(request='ping')), "probe.request must be pi or heartbeat, not 'ping'"),
    (dict(probe=dict(interval_ms=0)), 'probe.interval_ms must be 1 to 60000, not 0'),
    (dict(links=[dict(name='w', probe_interval_ms=0)]), 'links[w].probe_interval_ms must be 1 to 60000, not 0'),
    (dict(links=[dict(name='w', stall_max_downtime_ms=100)]), 'links[w].stall_max_downtime_ms must be 300 to 600000, not 100'),
    # the probe must outlive the longest move: 3910 s every 10 ms is too many requests
    (dict(links=[dict(name='w', probe_interval_ms=10)]), 'links[w]: a request every 10 ms for up to 3910 s'),
    (dict(load='stress'), "load must be one of lab_guest, stress_ng, not 'stress'"),
    (dict(load='stress_ng', write_rate_mib=8), 'write_rate_mib must be 0 with load stress_ng'),
])
def test_a_bad_design_names_its_problems(change, words):
    with pytest.raises(matrix.ExperimentError) as err:
        matrix.expand(dict(DESIGN, **change))
    assert words in str(err.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(matrix.ExperimentError) as err:
        matrix.expand(dict(DESIGN, strategies=['warp'], ram_pct=[101]))
    assert 'strategies' in str(err.value) and 'ram_pct' in str(err.value)


MOVE = dict(changed=True, strategy_used='auto_converge',
            figures=dict(total_time_ms=40000, downtime_ms=430, data_bytes=466 * 1048576,
                         effective_bandwidth_mib_s=11.3, auto_converge_throttle=50))
PROBE = dict(started_at=1796377793.328, downtime_ms=1099.5, requests=2161, unanswered=1,
             latency_ms=dict(p50=24.2, p95=41.2, p99=93.0, max=382.0), samples=[[0.0, 3.1, None], [50.0, None, 'timeout']])
PLAN = dict(strategy='auto_converge', prediction=dict(total_s=72.0), vm=dict(dirty_rate_mib_s=11.0))


def test_a_row_carries_inputs_figures_probe_and_prediction_error(tmp_path):
    run = matrix.expand(DESIGN)['runs'][-1]
    row = results.row('seeds', run, MOVE, PROBE, PLAN, dict(mbit=4.5, rtt_ms=dict(median=37.9)))
    assert list(row) == list(results.COLUMNS)
    assert row['total_s'] == '40' and row['data_mib'] == '466' and row['throttle_pct'] == '50'
    assert row['prediction_error_pct'] == '80' and row['app_downtime_ms'] == '1099.5' and row['moved'] == 'true'
    assert row['path_rtt_ms'] == '37.9' and row['dirty_rate_mib_s'] == '11' and row['error'] == ''
    assert row['rate_mbit'] == '4.6' and row['writer_mib'] == '153' and row['strategy'] == 'auto'
    failed = results.row('seeds', run, dict(failed=True, msg='no route'), {}, None)
    assert failed['moved'] == 'false' and failed['error'] == 'no route' and failed['total_s'] == ''
    # a move given up in pre-copy: how long it ran, and no QEMU downtime (the guest never paused)
    given_up = results.row('seeds', run, dict(failed=True, msg='did not complete within 900 s; aborted', figures=dict(
        total_time_ms=900111, downtime_ms=None, expected_downtime_ms=351868, auto_converge_throttle=99)), PROBE, None)
    assert given_up['moved'] == 'false' and given_up['total_s'] == '900.111' and given_up['downtime_ms'] == ''
    assert given_up['throttle_pct'] == '99' and given_up['app_downtime_ms'] == '1099.5'


def test_the_results_file_resumes_a_matrix(tmp_path):
    directory = str(tmp_path / 'seeds')
    runs = matrix.expand(DESIGN)['runs']
    for run in runs[:3]:
        assert results.append(directory, results.row('seeds', run, MOVE, PROBE, PLAN), dict(samples=[]))
    assert not results.append(directory, results.row('seeds', runs[0], MOVE, PROBE, PLAN))     # once only
    assert results.done_ids(directory) == [r['id'] for r in runs[:3]]
    assert matrix.pending(runs, results.done_ids(directory)) == runs[3:]
    assert os.path.exists(results.samples_path(directory, runs[2]['id']))
    with open(results.csv_path(directory)) as handle:
        assert len(list(csv.reader(handle))) == 4          # the header once


def test_a_results_file_of_another_shape_is_refused(tmp_path):
    directory = str(tmp_path)
    with open(results.csv_path(directory), 'w') as handle:
        handle.write('id,something\nx,1\n')
    with pytest.raises(matrix.ExperimentError) as err:
        results.done_ids(directory)
    assert 'other columns than this version writes' in str(err.value)


def test_the_plots_are_written(tmp_path):
    pytest.importorskip('matplotlib')   # a controller package of requirements-dev.txt
    directory = str(tmp_path)
    for run in matrix.expand(DESIGN)['runs'][::3]:
        results.append(directory, results.row('seeds', run, MOVE, PROBE, PLAN), dict(samples=PROBE['samples']))
    written = plots.plot_all(directory, 'seeds')
    assert sorted(os.path.basename(p) for p in written) == [
        'downtime.png', 'prediction.png', 'response_lan.png', 'response_wan.png', 'time_vs_cpu.png', 'time_vs_ram.png']
    for path in written:
        with open(path, 'rb') as handle:
            assert handle.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(matrix.ExperimentError):
        plots.plot_all(str(tmp_path / 'empty'))


def test_the_time_plots_draw_a_line_per_link_and_strategy_and_mark_given_up_moves_apart():
    def row(link, strategy, ram, total, moved='true'):
        return dict(link=link, strategy=strategy, ram_pct=str(ram), cpu_pct='0', total_s=total, moved=moved)
    rows = [row('gbit', 'precopy', 0, '7.4'), row('gbit', 'auto', 0, '7.6'),
            row('gbit', 'precopy', 80, '300.2', moved='false'),
            row('gbit', 'auto', 80, '122.6'), row('gbit', 'auto', 80, '120.6'), row('gbit', 'auto', 50, ''),
            dict(row('gbit', 'auto', 0, '99'), cpu_pct='100')]   # not at the lowest CPU load
    # pylint: disable=protected-access
    assert plots._lines(rows, 'ram_pct', 'cpu_pct') == {
        ('gbit', 'precopy'): [(0.0, 7.4)],
        ('gbit', 'auto'): [(0.0, 7.6), (80.0, 121.6)]}
    assert plots._lines(rows, 'ram_pct', 'cpu_pct', finished=False) == {('gbit', 'precopy'): [(80.0, 300.2)]}


def test_a_response_line_names_its_load_strategy_and_repetition():
    base = dict(ram_pct='80', cpu_pct='0', strategy='auto', repetition='1')
    assert plots.response_label(base) == 'RAM 80 %, CPU 0 %, auto'
    assert plots.response_label(dict(base, repetition='2')) == 'RAM 80 %, CPU 0 %, auto #2'


def test_the_shipped_designs_expand_and_seeds_keeps_the_research_ratios():
    import yaml
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..')
    designs = {}
    for name in ('quick', 'seeds'):
        with open(os.path.join(top, 'experiments', name + '.yml')) as handle:
            designs[name] = yaml.safe_load(handle)['experiment']
    assert len(matrix.expand(designs['quick'])['runs']) == 2
    seeds = matrix.expand(designs['seeds'])
    assert len(seeds['runs']) == 60
    # 100 % RAM fits the 256 MiB lab guest (192 MiB was killed by its kernel, out of memory)
    assert max(run['writer_mib'] for run in seeds['runs']) == 160
    # the time to send the memory once at each link rate stays the research's (2 GB; 938, 37 Mbit/s)
    rates = dict((link['name'], link['rate_mbit']) for link in seeds['design']['links'])
    for link, research_mbit in (('gbit', 938.0), ('wan37', 37.0)):
        ours = seeds['design']['memory_mib'] * 8 / rates[link]
        assert abs(ours / (2048 * 8 / research_mbit) - 1) < 0.01, link
    # the pi client's requests per second scale with the link, 8 times fewer on the slow one
    intervals = dict((run['link'], run['probe_interval_ms']) for run in seeds['runs'])
    assert intervals == dict(gbit=100, wan37=800)
    # so does the pause a stalled pre-copy may take on the slow link: the research's 300 ms, 8 times
    pauses = dict((run['link'], run['stall_max_downtime_ms']) for run in seeds['runs'])
    assert pauses == dict(gbit=None, wan37=300 * round(37.0 / rates['wan37']))


def test_recording_a_run_again_leaves_its_samples_as_they_were(tmp_path):
    directory = str(tmp_path)
    run = matrix.expand(DESIGN)['runs'][0]
    assert results.append(directory, results.row('seeds', run, MOVE, PROBE, PLAN), dict(samples=[[0, 1.0, None]]))
    assert not results.append(directory, results.row('seeds', run, MOVE, PROBE, PLAN), dict(samples=[]))
    with open(results.samples_path(directory, run['id'])) as handle:
        assert handle.read() == '{"samples": [[0, 1.0, null]]}'


def test_the_samples_keep_what_the_planner_measured_and_predicted():
    run = matrix.expand(DESIGN)['runs'][0]
    out = results.samples(run, MOVE, PROBE, dict(PLAN, candidates=[{'host': 'ws01'}], table=['host ...']))
    assert out['run'] == run and out['figures'] == MOVE['figures'] and out['samples'] == PROBE['samples']
    assert out['plan'] == dict(vm=PLAN['vm'], strategy='auto_converge', prediction=PLAN['prediction'], settings=None)
    assert results.samples(run, None, PROBE)['plan'] is None and results.samples(run, None, PROBE)['figures'] is None
