# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import monitor as monmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import Monitor

MIB = 1 << 20


def s(iteration, remaining_mib, dirty_mib=0, bps_mib=30, throttle=0, total_mib=256):
    return {'type': 2, 'memory_total': total_mib * MIB, 'memory_remaining': remaining_mib * MIB,
            'memory_processed': (total_mib - remaining_mib) * MIB, 'memory_iteration': iteration,
            'memory_dirty_rate': dirty_mib * MIB // 4096, 'memory_page_size': 4096,
            'memory_bps': bps_mib * MIB, 'auto_converge_throttle': throttle,
            'data_total': total_mib * MIB, 'data_remaining': remaining_mib * MIB}


def mon(strategy='auto', postcopy=True, timeout=100, action='abort', stall=5, **kw):
    return Monitor(strategy, postcopy, timeout, action, stall, **kw)


def test_no_job_no_action():
    m = mon()
    assert m.observe({'type': 0}, 0.0) == (None, None)


def test_auto_converging_guest_stays_precopy():
    m = mon()
    actions = [m.observe(s(i // 2 + 1, max(256 - 25 * i, 1), dirty_mib=3), float(i))[0] for i in range(11)]
    assert actions == [None] * 11
    assert m.phase == 'precopy'


def test_auto_switches_when_dirty_rate_exceeds_ratio_of_link():
    m = mon()
    assert m.observe(s(1, 200, dirty_mib=100), 0.0)[0] is None    # first pass: no decision yet
    action, record = m.observe(s(2, 150, dirty_mib=100), 1.0)
    assert action == 'postcopy'
    assert 'dirties 100 MiB/s' in m.postcopy_reason
    assert record['action'] == 'postcopy' and m.phase == 'postcopy'
    assert m.observe(s(3, 100, dirty_mib=100), 2.0)[0] is None     # no second switch


def test_auto_without_permission_never_switches_but_throttles_on():
    m = mon(stall=2, action='postcopy', timeout=20, auto_postcopy=False)
    actions = [m.observe(s(1 + i, 150, dirty_mib=100, throttle=min(20 + 10 * i, 99)), float(i))[0]
               for i in range(10)]
    assert actions == [None] * 10 and m.phase == 'precopy' and m.postcopy_reason is None
    assert m.observe(s(12, 150, dirty_mib=100), 21.0)[0] == 'postcopy'     # asked for at timeout only
    assert 'timeout' in m.postcopy_reason


def _at_top(m, seconds, left_mib=150, start=0.0, first_iteration=2):
    """One sample a second of a pre-copy at QEMU's top throttle, the remaining memory not shrinking."""
    return [m.observe(s(first_iteration + i, left_mib, dirty_mib=0.5, bps_mib=0.5, throttle=99), start + i)[0]
            for i in range(seconds)]


def test_a_guest_throttled_at_the_top_with_no_progress_is_given_up_early():
    m = mon(strategy='auto_converge', postcopy=False, timeout=900, full_throttle_timeout=30)
    # climbing to the top while the remaining memory still reaches new lows: no verdict
    climbing = [m.observe(s(2 + i, 150 - 10 * i, dirty_mib=2, bps_mib=0.5, throttle=20 + 10 * i), float(i))[0]
                for i in range(8)]
    assert climbing == [None] * 8 and m.full_throttle_at is None
    actions = _at_top(m, 31, left_mib=80, start=8.0, first_iteration=10)
    assert actions[:30] == [None] * 30 and actions[30] == 'abort' and m.phase == 'aborting'
    assert m.aborted_reason.startswith('the migration cannot complete: the guest has been throttled at 99 % for 30 s')
    assert '80.0 MiB left' in m.aborted_reason and '(QEMU measures 0.5 MiB/s dirtied, 0.5 MiB/s sent)' in m.aborted_reason
    assert m.records[-1]['action'] == 'abort' and m.records[-1]['why'] == m.aborted_reason


def test_at_the_top_a_new_low_or_a_lower_throttle_starts_the_wait_again():
    m = mon(strategy='auto_converge', postcopy=False, timeout=900, full_throttle_timeout=10)
    assert _at_top(m, 8) == [None] * 8
    assert m.observe(s(10, 100, dirty_mib=0.5, bps_mib=0.5, throttle=99), 8.0)[0] is None    # a new low
    assert _at_top(m, 9, left_mib=100, start=9.0, first_iteration=11) == [None] * 9
    assert m.observe(s(20, 100, dirty_mib=0.5, bps_mib=0.5, throttle=90), 18.0)[0] is None   # below the top
    assert _at_top(m, 10, left_mib=100, start=19.0, first_iteration=21) == [None] * 10
    assert m.observe(s(31, 100, dirty_mib=0.5, bps_mib=0.5, throttle=99), 29.0)[0] == 'abort'


def test_at_the_top_with_post_copy_on_timeout_the_move_switches_instead():
    m = mon(strategy='auto', postcopy=True, action='postcopy', timeout=900, auto_postcopy=False,
            full_throttle_timeout=5)
    actions = _at_top(m, 6)
    assert actions == [None] * 5 + ['postcopy'] and m.postcopy_reason.endswith(': switching to post-copy')
    assert 'throttled at 99 % for 5 s' in m.postcopy_reason


def test_without_full_throttle_timeout_only_the_timeout_ends_a_throttled_move():
    m = mon(strategy='auto_converge', postcopy=False, timeout=60)
    assert _at_top(m, 60) == [None] * 60
    assert m.observe(s(70, 150, dirty_mib=0.5, bps_mib=0.5, throttle=99), 60.0)[0] == 'abort'
    assert 'did not complete within 60 s' in m.aborted_reason


def test_auto_switches_on_stall():
    m = mon(stall=5, postcopy_ratio=10)      # ratio never triggers: only the stall can
    t = 0.0
    action = None
    for i in range(30):
        action, _rec = m.observe(s(2 + i // 3, 60 + (i % 2), dirty_mib=20), t)
        if action:
            break
        t += 1.0
    assert action == 'postcopy'
    assert 'stalled' in m.postcopy_reason
    assert 5.0 <= t <= 7.0


def small(iteration, left_kib, bps_kib=560):
    # the seeds' slow link (4.6 Mbit/s) and an idle guest answering requests: a few hundred KiB left per round
    return dict(s(iteration, 0, dirty_mib=0), memory_remaining=left_kib * 1024, memory_bps=bps_kib * 1024,
                memory_dirty_rate=200)


def test_a_stall_raises_the_downtime_limit_once_then_auto_goes_postcopy():
    m = mon(stall=5, postcopy_ratio=10, stall_max_downtime=2400)
    actions = []
    for i in range(40):
        action, record = m.observe(small(2 + i, 330), float(i))
        if action:
            actions.append((action, float(i), record['why']))
    assert [a[:2] for a in actions] == [('downtime', 5.0), ('postcopy', 10.0)], actions
    assert actions[0][2] == 'pre-copy stalled with 330 KiB left at 0.5 MiB/s: the pause may now take up to 2400 ms'
    assert m.downtime_raised_to == 2400 and m.downtime_reason == actions[0][2]
    assert 'stalled' in m.postcopy_reason and m.phase == 'postcopy'


def test_a_slow_first_pass_is_not_a_stall():
    # 256 MiB over 4.6 Mbit/s: 0.55 MiB a second, 2 % of the memory in 10 s, every second progress
    m = mon(stall=5, postcopy_ratio=10, stall_max_downtime=2400)
    actions = [m.observe(s(1, 256 - 0.55 * i), float(i))[0] for i in range(60)]
    assert actions == [None] * 60 and not m.stalled and m.downtime_raised_to is None
    # the second pass starts the stall clock
    assert [m.observe(small(2 + i, 330), 60.0 + i)[0] for i in range(6)] == [None] * 5 + ['downtime']


def test_moments_with_nothing_left_are_no_progress_in_the_end_game():
    # between a round's last page and the next bitmap sync QEMU may report 0 left
    m = mon('precopy', postcopy=False, stall=5, stall_max_downtime=2400)
    actions = [m.observe(small(2 + i, (0, 180, 330)[i % 3]), float(i))[0] for i in range(12)]
    assert actions.index('downtime') == 5 and actions.count('downtime') == 1


def test_without_stall_max_downtime_a_stall_keeps_the_limit():
    m = mon('precopy', postcopy=False, stall=3)
    actions = [m.observe(small(2 + i, 330), float(i))[0] for i in range(20)]
    assert actions == [None] * 20 and m.stalled and m.downtime_raised_to is None


def test_precopy_raises_the_limit_once_and_then_only_waits():
    m = mon('precopy', postcopy=False, stall=3, stall_max_downtime=900)
    actions = [m.observe(small(2 + i, 330), float(i))[0] for i in range(30)]
    assert actions.count('downtime') == 1 and set(actions) == {None, 'downtime'}
    assert actions.index('downtime') == 3


def test_auto_converge_raises_the_limit_when_qemu_throttles_and_what_is_left_fits_it():
    # the seeds' slow end game: QEMU measures 0.1 MiB/s in its small rounds; 2400 ms hold 240 KiB
    m = mon('auto_converge', postcopy=False, stall=10, stall_max_downtime=2400)
    left = [330, 300, 280, 230, 300]
    throttle = [0, 0, 20, 20, 30]
    actions = [m.observe(dict(small(2 + i, left[i], bps_kib=100), auto_converge_throttle=throttle[i]), float(i))
               for i in range(5)]
    # not before QEMU throttles, not while 280 KiB do not fit, at once when 230 KiB do; once
    assert [a for a, _r in actions] == [None, None, None, 'downtime', None], actions
    assert actions[3][1]['why'] == ('QEMU began throttling the guest (20 %) with 230 KiB left at 0.1 MiB/s: '
                                    'the pause may now take up to 2400 ms')


def test_a_throttled_heavy_writer_waits_for_the_stall():
    # 150 MiB left at 30 MiB/s never fit 2400 ms: the throttle goes on, the stall raises the limit
    m = mon('auto_converge', postcopy=False, stall=3, stall_max_downtime=2400)
    actions = [m.observe(s(2 + i, 150, dirty_mib=100, throttle=min(20 + 10 * i, 99)), float(i))[0] for i in range(5)]
    assert actions == [None, None, None, 'downtime', None]
    assert m.downtime_reason.startswith('pre-copy stalled with 150.0 MiB left')


def test_the_first_pass_never_raises_the_limit_on_a_throttle():
    m = mon('auto_converge', postcopy=False, stall=3, stall_max_downtime=2400)
    assert m.observe(dict(small(1, 100), auto_converge_throttle=20), 0.0)[0] is None


def test_a_failed_raise_is_said_and_not_retried():
    m = mon('precopy', postcopy=False, stall=2, stall_max_downtime=900)
    actions = [m.observe(small(2 + i, 330), float(i))[0] for i in range(3)]
    assert actions[-1] == 'downtime'
    m.downtime_failed('operation not supported')
    assert [m.observe(small(5 + i, 330), 3.0 + i)[0] for i in range(10)] == [None] * 10
    assert m.downtime_raised_to is None and 'failed: operation not supported' in m.downtime_reason


def test_precopy_strategy_never_switches_but_reports_stall():
    m = mon('precopy', postcopy=False, stall=3)
    for i in range(10):
        action, record = m.observe(s(2 + i, 100, dirty_mib=100), float(i))
        assert action is None
    assert record['stalled'] is True


def test_postcopy_strategy_switches_after_first_pass():
    m = mon('postcopy')
    assert m.observe(s(1, 100), 0.0)[0] is None
    assert m.observe(s(2, 80), 1.0)[0] == 'postcopy'


def test_timeout_aborts():
    m = mon('precopy', postcopy=False, timeout=5)
    assert m.observe(s(1, 100), 0.0)[0] is None
    assert m.observe(s(2, 100), 5.5)[0] == 'abort'
    assert 'did not complete within 5 s' in m.aborted_reason


def test_timeout_applies_while_no_job_shows():
    m = mon('precopy', postcopy=False, timeout=5)
    assert m.observe(None, 0.0) == (None, None)
    assert m.observe({'type': 0}, 3.0) == (None, None)
    assert m.observe(None, 5.5)[0] == 'abort'
    assert 'did not complete within 5 s' in m.aborted_reason and m.phase == 'aborting'
    assert m.observe(None, 6.0)[0] is None        # asked once


def test_timeout_switches_to_postcopy_when_asked():
    m = mon('precopy', postcopy=True, timeout=5, action='postcopy')
    m.observe(s(1, 100), 0.0)
    assert m.observe(s(2, 100), 6.0)[0] == 'postcopy'
    assert 'timeout' in m.postcopy_reason


def test_timeout_postcopy_not_allowed_falls_back_to_abort():
    m = mon('precopy', postcopy=False, timeout=5, action='postcopy')
    m.observe(s(1, 100), 0.0)
    assert m.observe(s(2, 100), 6.0)[0] == 'abort'


def test_postcopy_failure_stays_precopy_without_retry():
    m = mon('postcopy')
    m.observe(s(1, 100), 0.0)
    assert m.observe(s(2, 80), 1.0)[0] == 'postcopy'
    m.postcopy_failed('job ended')
    assert m.observe(s(3, 60), 2.0)[0] is None and m.phase == 'precopy'


def test_progress_record_and_log(tmp_path):
    path = str(tmp_path / 'sub' / 'p.jsonl')
    monmod.start_log(path, {'vm': 'vm1'})
    m = mon(progress_log=path)
    _a, rec = m.observe(s(1, 128, dirty_mib=10, bps_mib=30), 0.0)
    assert rec['percent'] == 50.0 and rec['memory_remaining_mib'] == 128.0
    assert rec['dirty_rate_mib_s'] == 10.0 and rec['bandwidth_mib_s'] == 30.0
    assert rec['eta_s'] == 6.4
    m.observe(s(1, 127), 0.2)       # within a second: not logged
    m.observe(s(1, 100), 1.5)
    header, records = monmod.read_log(path)
    assert header == {'vm': 'vm1'} and len(records) == 2
    assert json.loads(open(path).read().splitlines()[1])['phase'] == 'precopy'


def test_unwritable_log_never_fails(tmp_path):
    m = mon(progress_log=str(tmp_path / 'nodir' / 'x' / 'p.jsonl'))
    m.observe(s(1, 100), 0.0)
    assert m.progress_log is None


def test_figures_from_event_stats():
    stats = {'type': 3, 'time_elapsed': 2000, 'downtime': 80, 'data_processed': 100 * MIB,
             'memory_processed': 90 * MIB, 'disk_processed': 10 * MIB, 'memory_iteration': 4,
             'memory_dirty_rate': 256, 'memory_page_size': 4096, 'memory_bps': 50 * MIB,
             'memory_postcopy_requests': 3}
    figs = monmod.figures(stats, 'event')
    assert figs['total_time_ms'] == 2000 and figs['downtime_ms'] == 80
    assert figs['effective_bandwidth_mib_s'] == 50.0
    assert figs['dirty_rate_mib_s'] == 1.0 and figs['postcopy_requests'] == 3
    assert figs['disk_bytes'] == 10 * MIB and figs['memory_iterations'] == 4


def test_figures_of_a_job_that_never_paused_the_guest_keep_only_the_expected_downtime():
    """libvirt's downtime of an active job is the pause it expects, not one that happened."""
    stats = {'type': 2, 'time_elapsed': 900000, 'downtime': 351868, 'data_processed': 478 * MIB}
    figs = monmod.figures(stats, 'last job statistics sample', switched=False)
    assert figs['downtime_ms'] is None and figs['expected_downtime_ms'] == 351868
    assert 'expected_downtime_ms' not in monmod.figures(stats, 'event')


def test_auto_switches_early_on_measured_dirty_rate():
    m = mon(pre_dirty=30 * MIB)
    assert m.observe(s(1, 250, bps_mib=40), 0.0)[0] is None      # link rate not settled yet
    action, _rec = m.observe(s(1, 200, bps_mib=40), 1.0)
    assert action == 'postcopy' and 'measured before the start' in m.postcopy_reason


def test_auto_idle_guest_measured_clean_stays_precopy():
    m = mon(pre_dirty=0.2 * MIB)
    assert m.observe(s(1, 200, bps_mib=40), 1.0)[0] is None
    assert m.observe(s(2, 20, dirty_mib=0.2, bps_mib=40), 2.0)[0] is None


def test_progress_record_is_plain_data_from_the_job_statistics():
    mib = 1024 * 1024
    stats = {'memory_total': 1024 * mib, 'memory_remaining': 256 * mib, 'memory_processed': 900 * mib,
             'memory_bps': 100 * mib, 'memory_dirty_rate': 2560, 'memory_page_size': 4096,
             'memory_iteration': 3, 'auto_converge_throttle': 30}
    record = monmod.progress_record(stats, 'precopy', 12.34)
    assert record['percent'] == 75.0 and record['iteration'] == 3 and record['elapsed_s'] == 12.3
    assert record['memory_remaining_mib'] == 256 and record['bandwidth_mib_s'] == 100
    assert record['dirty_rate_mib_s'] == 10 and record['throttle_percent'] == 30
    # 256 MiB left at 100 MiB/s sent against 10 MiB/s dirtied
    assert record['eta_s'] == round(256 / 90.0, 1) and record['stalled'] is False
    assert monmod.progress_record(stats, 'postcopy', 1)['eta_s'] == 2.6


def test_progress_record_without_figures_has_no_eta():
    record = monmod.progress_record({}, 'precopy', 0)
    assert record['percent'] == 0.0 and record['eta_s'] is None
