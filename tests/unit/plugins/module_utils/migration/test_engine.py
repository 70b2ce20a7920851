# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import signal
import threading

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import recovery
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

MIB = 1 << 20


def mig(**kw):
    base = {'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp', 'poll_interval': 0.05}
    base.update(kw)
    return Migration(base, fs_type_of=lambda p: 'ext4')


def test_check_mode_changes_nothing(world, h):
    dom = h.add_vm(world.src)
    res = mig().run(check_mode=True)
    assert res['changed'] and res['mode'] == 'live'
    assert 'postcopy' not in res['plan']['flags'] and 'tls' not in res['plan']['flags']
    assert 'auto_converge' in res['plan']['flags']
    assert res['plan']['stall_max_downtime'] is None and 'pause may grow' not in res['msg']
    assert dom.migrate_calls == [] and 'vm1' in world.src.domains


def test_check_mode_says_the_pause_a_stall_may_bring(world, h):
    h.add_vm(world.src)
    res = mig(stall_max_downtime=2500).run(check_mode=True)
    assert res['plan']['stall_max_downtime'] == 2500
    assert res['msg'] == 'would live-migrate VM "vm1" to ws01; should pre-copy stall, the pause may grow to 2500 ms'


def test_live_precopy_figures_from_event(world, h, tmp_path):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20), h.sample(2, 10 << 20), h.sample(3, 0, done=True)]
    log = str(tmp_path / 'p.jsonl')
    res = mig(strategy='precopy', bandwidth=30, max_downtime=250, progress_log=log).run()
    assert res['changed'] and res['strategy_used'] == 'precopy'
    assert res['figures']['source'] == 'source job-completed event'
    assert res['figures']['downtime_ms'] == 42 and res['figures']['total_time_ms'] == 1500
    assert res['state'] == {'source': 'absent', 'dest': 'running'}
    uri, params, flags = dom.migrate_calls[0]
    assert uri == h.DST and params == {'bandwidth': 30}
    assert flags & plan.FLAGS['peer2peer'] and not flags & plan.FLAGS['postcopy']
    assert dom.downtime == 250
    assert open(log).read().count('"phase": "completed"') == 1


@pytest.mark.parametrize('mode', ['live', 'cold'])
def test_movers_get_one_context_and_the_preflight(world, h, monkeypatch, mode):
    """The engine hands a mover a MoveContext and the pre-flight's answer, never itself."""
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold, live
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.context import MoveContext
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.preflight import Preflight
    dom = h.add_vm(world.src)
    seen = []

    def fake_move(ctx, src_dom, pre):
        seen.append((ctx, src_dom, pre))
        ctx.warnings.append('from the mover')
        return {'msg': 'moved', 'strategy_used': mode}
    monkeypatch.setattr(cold if mode == 'cold' else live, 'move', fake_move)
    res = mig(mode=mode).run()
    (ctx, src_dom, pre), = seen
    assert isinstance(ctx, MoveContext) and isinstance(pre, Preflight)
    assert ctx.name == 'vm1' and ctx.dest_uri == h.DST and ctx.where() == {'source': 'running', 'dest': 'absent'}
    assert src_dom.name() == dom.name() and pre.verdict.ok and pre.copy_disks == []
    assert res['msg'] == 'moved' and 'from the mover' in res['warnings']


def test_idempotent_second_run(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 0, done=True)]
    mig().run()
    res = mig().run()
    assert res['changed'] is False and 'already runs on ws01' in res['msg']


def test_auto_escalates_to_postcopy_and_takes_source_event(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20, dirty_pages=(100 * MIB) // 4096)] + \
        [h.sample(2, 150 << 20, dirty_pages=(100 * MIB) // 4096)] * 50
    res = mig(strategy='auto', bandwidth=30, allow_postcopy=True).run()
    assert res['strategy_used'] == 'postcopy'
    assert dom.postcopy_started
    assert 'dirties' in res['postcopy_reason']
    assert res['figures']['postcopy_requests'] == 7
    assert res['figures']['source'] == 'source job-completed event'


def test_auto_finishes_non_converging_guest_by_throttling_not_postcopy(world, h):
    dom = h.add_vm(world.src)
    heavy = (100 * MIB) // 4096
    dom.script = [h.sample(1, 200 << 20, dirty_pages=heavy)] + \
        [h.sample(2 + i // 10, 150 << 20, dirty_pages=heavy, throttle=min(20 + i, 99)) for i in range(60)] + \
        [h.sample(9, 0, throttle=99, done=True)]
    res = mig(strategy='auto', bandwidth=30, stall_timeout=1).run()
    assert not dom.postcopy_started
    assert res['strategy_used'] == 'auto_converge' and res['postcopy_reason'] is None
    _uri, _params, flags = dom.migrate_calls[0]
    assert flags & plan.FLAGS['auto_converge'] and not flags & plan.FLAGS['postcopy']
    assert res['state'] == {'source': 'absent', 'dest': 'running'}


def test_a_stalled_precopy_ends_once_stall_max_downtime_raises_the_limit(world, h, tmp_path):
    # over a slow link a guest rewriting a small working set leaves 330 KiB in every round, more
    # than 300 ms allow; only the raised limit lets QEMU switch over
    dom = h.add_vm(world.src)
    end_game = [h.sample(2 + i, 330 << 10, dirty_pages=80, bps=560 << 10) for i in range(400)]
    dom.script = [h.sample(1, 200 << 20)] + end_game

    def set_downtime(ms, flags=0):
        dom.downtime = ms
        if ms == 2400:
            with dom.lock:
                dom.script = dom.script[:dom.job['i'] + 1] + [h.sample(60, 0, done=True)]
    dom.migrateSetMaxDowntime = set_downtime
    log = str(tmp_path / 'p.jsonl')
    res = mig(strategy='precopy', max_downtime=300, stall_max_downtime=2400, stall_timeout=1, progress_log=log).run()
    assert res['state'] == {'source': 'absent', 'dest': 'running'} and dom.downtime == 2400
    assert res['max_downtime_raised_to'] == 2400 and res['strategy_used'] == 'precopy'
    assert res['msg'].endswith('; pre-copy stalled with 330 KiB left at 0.5 MiB/s: the pause may now take up to 2400 ms')
    raised = [json.loads(line) for line in open(log) if '"downtime"' in line]
    assert len(raised) == 1 and raised[0]['why'].startswith('pre-copy stalled'), raised


def test_live_move_leaving_a_transient_vm_fails_clearly(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 0, done=True)]
    real = dom.migrateToURI3

    def migrate(uri, params, flags):
        out = real(uri, params, flags)
        world.dst.domains['vm1'].persistent = False     # as if PERSIST_DEST had been ignored
        return out
    dom.migrateToURI3 = migrate
    with pytest.raises(MigrationError) as err:
        mig(strategy='precopy').run()
    assert 'not persistent' in str(err.value) and 'virsh' in str(err.value)
    assert err.value.state['dest'] == 'running'


def test_persistent_false_with_undefine_source_refused_before_anything(world, h):
    dom = h.add_vm(world.src)
    with pytest.raises(MigrationError) as err:
        mig(persistent=False).run()
    assert 'persistent=false with undefine_source=true' in str(err.value)
    assert dom.migrate_calls == [] and dom.active and world.opened == []


def test_timeout_aborts_and_vm_stays(world, h):
    dom = h.add_vm(world.src)
    dom.script = [dict(h.sample(1, 200 << 20), downtime=6500)] * 1000
    with pytest.raises(MigrationError) as err:
        mig(strategy='precopy', timeout=1).run()
    assert 'did not complete within 1 s; aborted' in err.value.message
    assert 'still running on the source' in err.value.message
    assert err.value.state['source'] == 'running' and 'vm1' not in world.dst.domains
    # the guest never paused: libvirt's figure is the pause it expected, not a downtime
    assert err.value.figures['downtime_ms'] is None and err.value.figures['expected_downtime_ms'] == 6500


def test_a_move_auto_converge_cannot_end_is_given_up_before_its_timeout(world, h):
    dom = h.add_vm(world.src)
    dom.script = [dict(h.sample(1, 200 << 20), downtime=6500)] + \
        [dict(h.sample(2 + i // 40, 120 << 20, dirty_pages=256, bps=1 << 20, throttle=99), downtime=6500)
         for i in range(1000)]
    with pytest.raises(MigrationError) as err:
        mig(strategy='auto_converge', timeout=600, full_throttle_timeout=1).run()
    assert 'cannot complete: the guest has been throttled at 99 % for 1 s with 120.0 MiB left' in err.value.message
    assert '; aborted. VM "vm1" is still running on the source' in err.value.message
    assert dom.aborted and err.value.state['source'] == 'running' and 'vm1' not in world.dst.domains
    assert err.value.figures['auto_converge_throttle'] == 99 and err.value.figures['downtime_ms'] is None


def test_timeout_applies_while_job_stats_fail(world, h):
    dom = h.add_vm(world.src)

    def no_stats(flags=0):
        raise h.libvirtError('Timed out during operation: cannot acquire state change lock')
    dom.jobStats = no_stats
    with pytest.raises(MigrationError) as err:
        mig(strategy='precopy', timeout=1).run()
    assert 'did not complete within 1 s (no job statistics from libvirt); aborted' in err.value.message
    assert dom.aborted and err.value.state['source'] == 'running'


def _sigterm_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    return timer


def test_sigterm_mid_migration_aborts_the_job_and_logs_it(world, h, tmp_path):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20)] * 1000
    log = str(tmp_path / 'p.jsonl')
    before = signal.getsignal(signal.SIGTERM)
    timer = _sigterm_after(0.5)
    try:
        with pytest.raises(MigrationError) as err:
            mig(strategy='precopy', progress_log=log).run()
    finally:
        timer.cancel()
    assert 'stopped by SIGTERM' in err.value.message and 'job was aborted' in err.value.message
    assert dom.aborted and err.value.state == {'source': 'running', 'dest': 'absent'}
    last = json.loads(open(log).read().splitlines()[-1])
    assert last['phase'] == 'interrupted' and 'SIGTERM' in last['why']
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigterm_in_postcopy_leaves_the_job_recoverable(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20), h.sample(2, 150 << 20)] * 500
    switched = []
    dom.migrateStartPostCopy = lambda flags=0: switched.append(True)   # the job goes on in post-copy
    timer = _sigterm_after(0.8)
    try:
        with pytest.raises(MigrationError) as err:
            mig(strategy='postcopy').run()
    finally:
        timer.cancel()
        dom.fail_with = 'test over'
    assert switched and not dom.aborted
    assert 'post-copy' in err.value.message and '--postcopy-resume' in err.value.message


@pytest.mark.parametrize('strategy, resume_within', [('postcopy', 0), ('precopy', 0), ('postcopy', 1)])
def test_postcopy_failure_reported_as_such_and_source_not_resumed(world, h, strategy, resume_within, monkeypatch):
    """A link cut in post-copy: the source is paused (reason post-copy failed), the destination unknown.
    It must not be reported as "paused on the source" nor resumed there (libvirt refuses; memory is split).
    With strategy precopy the watch never saw the switch: the pause reason alone tells. With a resume
    bound and the link still down, the module gives up after it, the source's stream paused."""
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20), h.sample(2, 150 << 20)] * 500
    resumed = []
    dom.resume = lambda: resumed.append(True)

    def start_postcopy(flags=0):
        dom.state_override = (3, 13)
        dom.fail_with = 'internal error: qemu unexpectedly closed the monitor: connection reset'
    dom.migrateStartPostCopy = start_postcopy
    if strategy == 'precopy':
        original = dom.migrateToURI3

        def migrate(uri, params, flags):
            dom.state_override = (3, 13)
            dom.fail_with = 'operation failed: job \'migration out\' failed: connection reset'
            return original(uri, params, flags)
        dom.migrateToURI3 = migrate
    monkeypatch.setattr(recovery, 'dest_answers', lambda ctx: False)   # the link stays down
    with pytest.raises(MigrationError) as err:
        mig(strategy=strategy, postcopy_resume_timeout=resume_within).run()
    msg = err.value.message
    assert 'post-copy' in msg and 'virsh -c qemu:///system migrate --live --p2p' in msg and '--postcopy-resume' in msg
    assert 'paused on the source' not in msg and not resumed and dom.postcopy_paused
    assert 'do not start or resume it on the source' in msg
    if resume_within:
        assert 'could not be resumed within 1 s' in msg, msg
    else:
        assert 'postcopy_resume_timeout is 0' in msg


def test_postcopy_failure_resumed_when_the_link_returns(world, h, monkeypatch, tmp_path):
    """The link returns after two probes: the source's stream is paused, the same migration resumed (same
    URI and parameters, POSTCOPY_RESUME added), the source never resumed; the VM ends on the destination."""
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20), h.sample(2, 150 << 20)] * 500
    resumed = []
    dom.resume = lambda: resumed.append(True)

    def start_postcopy(flags=0):
        dom.state_override = (3, 13)
        dom.fail_with = 'internal error: client socket is closed'
    dom.migrateStartPostCopy = start_postcopy
    original = dom.migrateToURI3

    def migrate(uri, params, flags):
        if flags & plan.FLAGS['postcopy_resume']:
            assert dom.postcopy_paused, 'resumed before the source stream was paused'
            dom.fail_with = dom.state_override = None
            dom.script = [h.sample(3, 0, done=True)]
        return original(uri, params, flags)
    dom.migrateToURI3 = migrate
    probes = []
    monkeypatch.setattr(recovery, 'dest_answers', lambda ctx: len(probes) >= 2 or probes.append(1))
    monkeypatch.setattr(recovery, 'RETRY', 0.05)
    log = str(tmp_path / 'p.jsonl')
    res = mig(strategy='postcopy', postcopy_resume_timeout=60, progress_log=log, bandwidth=5).run()
    assert res['state'] == {'source': 'absent', 'dest': 'running'} and not resumed, res
    assert res['strategy_used'] == 'postcopy' and res['postcopy_recovery']['attempts'] == 1, res
    assert res['postcopy_recovery']['failure'] == 'internal error: client socket is closed'
    assert 'was resumed' in res['msg']
    first, again = dom.migrate_calls[0], dom.migrate_calls[-1]
    assert again[0] == first[0] and again[1] == first[1]
    assert again[2] == first[2] | plan.FLAGS['postcopy_resume']
    phases = [json.loads(line).get('phase') for line in open(log).read().splitlines()[1:]]
    assert phases.index('postcopy_failed') < phases.index('recovering') < phases.index('recovered')
    assert phases[-1] == 'completed'


@pytest.mark.parametrize('undefine_fails', [False, True])
def test_a_resume_that_completes_without_confirm_leaves_no_stopped_source(world, h, monkeypatch, undefine_fails):
    """The resume call errs after QEMU finished the move (libvirt's confirm phase never ran): the VM runs
    on the destination and the source keeps a stopped definition. It is undefined, disks kept; when
    that fails, the move still succeeded and a warning names the command."""
    dom = h.add_vm(world.src)
    h.add_vm(world.dst)
    dom.state_override = (3, 13)
    undefined = []

    def undefine_flags(flags=0):
        if undefine_fails:
            raise h.libvirtError('Requested operation is not valid: cannot undefine domain')
        undefined.append(flags)
        dom.undefine()
    dom.undefineFlags = undefine_flags

    def migrate(uri, params, flags):
        dom.state_override, dom.active = None, False
        raise h.libvirtError('internal error: unexpected migration status in post-copy resume')
    dom.migrateToURI3 = migrate
    monkeypatch.setattr(recovery, 'dest_answers', lambda ctx: True)
    monkeypatch.setattr(recovery, 'RETRY', 0.01)
    monkeypatch.setattr(recovery, 'SETTLE', 0.2)
    res = mig(postcopy_resume_timeout=30).run()
    if undefine_fails:
        assert res['state'] == {'source': 'shutoff', 'dest': 'running'}, res
        assert res['postcopy_recovery']['source_definition'] == 'remains'
        assert any('virsh undefine --keep-nvram vm1' in w for w in res['warnings']), res['warnings']
    else:
        assert res['state'] == {'source': 'absent', 'dest': 'running'}, res
        assert res['postcopy_recovery']['source_definition'] == 'undefined' and undefined == [8]


def test_a_retry_resumes_a_failed_postcopy_left_by_an_earlier_run(world, h, monkeypatch):
    """The source paused in failed post-copy, the destination running: a retry resumes (check mode says
    so), never refuses as "runs on both", never resumes the source; with postcopy_resume_timeout 0 it
    names the command instead."""
    dom = h.add_vm(world.src)
    h.add_vm(world.dst)
    dom.state_override = (3, 13)
    dom.script = [h.sample(1, 0, done=True)]
    resumed = []
    dom.resume = lambda: resumed.append(True)
    original = dom.migrateToURI3

    def migrate(uri, params, flags):
        assert flags & plan.FLAGS['postcopy_resume'] and flags & plan.FLAGS['postcopy']
        dom.state_override = None
        return original(uri, params, flags)
    dom.migrateToURI3 = migrate
    monkeypatch.setattr(recovery, 'dest_answers', lambda ctx: True)
    with pytest.raises(MigrationError) as err:
        mig(postcopy_resume_timeout=0).run()
    assert '--postcopy-resume' in err.value.message and 'do not start or resume it' in err.value.message
    dry = mig(postcopy_resume_timeout=30).run(check_mode=True)
    assert dry['changed'] and 'would resume' in dry['msg'] and not dom.migrate_calls
    res = mig(postcopy_resume_timeout=30).run()
    assert res['state'] == {'source': 'absent', 'dest': 'running'} and not resumed, res
    assert 'was resumed and completed' in res['msg'] and res['postcopy_recovery']['attempts'] == 1


def test_resume_command_repeats_the_flags():
    flags, params, _names = plan.build(plan.normalize({'name': 'g1', 'dest': 'ws01', 'transport': 'tls',
                                                       'strategy': 'postcopy', 'bandwidth': 8,
                                                       'migrate_uri': 'tcp://10.0.0.2'}))
    cmd = plan.resume_command('g1', 'qemu+tls://ws01/system', flags, params)
    assert cmd == ('virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource --abort-on-error '
                   '--postcopy --tls --postcopy-resume --migrateuri tcp://10.0.0.2 --postcopy-bandwidth 8 '
                   'g1 qemu+tls://ws01/system')


@pytest.mark.parametrize('value', [-1, 604801, 'soon', True])
def test_postcopy_resume_timeout_range(value):
    with pytest.raises(MigrationError) as err:
        plan.normalize({'name': 'g1', 'dest': 'ws01', 'postcopy_resume_timeout': value})
    assert 'postcopy_resume_timeout must be' in err.value.message


def test_unexpected_error_in_the_watch_aborts_the_job(world, h, monkeypatch):
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import Monitor
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20)] * 1000

    def broken(self, stats, now):
        raise ZeroDivisionError('a bug')
    monkeypatch.setattr(Monitor, 'observe', broken)
    with pytest.raises(ZeroDivisionError):
        mig(strategy='precopy').run()
    assert dom.aborted and dom.active and 'vm1' in world.src.domains


def test_destination_failure_mid_migration(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 200 << 20)] * 1000
    dom.fail_with = 'internal error: connection closed due to keepalive timeout'
    with pytest.raises(MigrationError) as err:
        mig(strategy='precopy').run()
    assert 'keepalive timeout' in err.value.message and 'still running on the source' in err.value.message


@pytest.mark.parametrize('kw, words', [
    ({'name': 'ghost'}, 'no VM called "ghost"'),
    ({'bandwidth': -3}, 'bandwidth must be'),
    ({'max_downtime': 1}, 'max_downtime must be'),
])
def test_bad_input_no_change(world, h, kw, words):
    dom = h.add_vm(world.src)
    with pytest.raises(MigrationError) as err:
        mig(**kw).run()
    assert words in str(err.value)
    assert dom.migrate_calls == [] and dom.active


def test_target_is_source(world, h):
    dom = h.add_vm(world.src)
    world.dst.caps = world.src.caps
    with pytest.raises(MigrationError) as err:
        mig().run()
    assert 'is the source host itself' in str(err.value) and dom.active


def test_unreachable_target(world, h):
    h.add_vm(world.src)
    world.dst.reachable = False
    with pytest.raises(Exception) as err:
        mig().run()
    assert 'cannot connect to the destination libvirt' in str(err.value)


def test_incompatible_cpu_refused_with_hint(world, h):
    dom = h.add_vm(world.src)
    world.dst.cpu_compat = 0
    with pytest.raises(MigrationError) as err:
        mig().run()
    assert 'not runnable on the destination' in str(err.value)
    assert 'cold_fallback=true' in str(err.value)
    assert dom.migrate_calls == [] and dom.active
    assert any(r['check'] == 'cpu' and r['status'] == 'fail' for r in err.value.reasons)


def test_runs_on_both_hosts_refused(world, h):
    h.add_vm(world.src)
    h.add_vm(world.dst)
    with pytest.raises(MigrationError) as err:
        mig().run()
    assert 'runs on both' in str(err.value)


@pytest.mark.parametrize('where, operation, direction', [
    ('src', 5, 'outgoing job on the source'),
    ('dst', 4, 'incoming job on the destination'),
])
def test_a_move_already_running_is_named_not_called_two_copies(world, h, where, operation, direction):
    """Another job (or a hand-run virsh migrate) moves the VM now: both hosts hold it live. The
    module refuses, names the running migration and how far it is, and touches neither."""
    doms = {'src': h.add_vm(world.src), 'dst': h.add_vm(world.dst)}
    doms['dst'].state_override = (3, 2)          # paused, incoming migration
    busy = doms[where]
    busy.job = {'i': 0}
    busy.script = [dict(h.sample(1, 64 << 20), operation=operation)]
    with pytest.raises(MigrationError) as err:
        mig().run()
    msg = str(err.value)
    assert 'already running (%s, 192 of 256 MiB of memory sent)' % direction in msg, msg
    assert 'runs on both' not in msg and 'virsh domjobabort vm1' in msg
    assert err.value.state == {'source': 'running', 'dest': 'paused'}
    assert doms['src'].migrate_calls == [] and doms['src'].active and not doms['src'].aborted


def test_cold_fallback_adapts_and_moves(world, h):
    h.add_vm(world.src, emulator='/usr/local/bin/qemu-lab', machine='pc-q35-11.0')
    world.dst.cpu_compat = 0
    res = mig(cold_fallback=True, cold_shutdown_timeout=1).run()
    assert res['strategy_used'] == 'cold' and res['mode'] == 'cold'
    assert 'live move impossible' in res['cold_reason']
    assert any('machine type pc-q35-11.0 -> q35' in a for a in res['adjustments'])
    assert any('emulator' in a for a in res['adjustments'])
    new = world.dst.domains['vm1']
    assert new.active and '<cpu' not in new.xml and 'machine="q35"' in new.xml
    assert 'vm1' not in world.src.domains


def test_cold_refuses_when_guest_ignores_shutdown(world, h):
    dom = h.add_vm(world.src)
    dom.shutdown_works = False
    with pytest.raises(MigrationError) as err:
        mig(mode='cold', cold_shutdown_timeout=1).run()
    assert 'did not shut down within 1 s' in str(err.value) and dom.active
    res = mig(mode='cold', cold_shutdown_timeout=1, cold_force_off=True).run()
    assert 'powered off' in ' '.join(res['cold_steps']) and world.dst.domains['vm1'].active


def test_cold_power_off_that_fails_copies_nothing(world, h):
    dom = h.add_vm(world.src)
    dom.shutdown_works = False

    def broken_destroy():
        raise h.libvirtError('Failed to terminate process 4242 with SIGKILL: Device or resource busy')
    dom.destroy = broken_destroy
    with pytest.raises(MigrationError) as err:
        mig(mode='cold', cold_shutdown_timeout=1, cold_force_off=True).run()
    assert 'could not be powered off' in str(err.value) and 'still running on the source' in str(err.value)
    assert dom.active and 'vm1' in world.src.domains and 'vm1' not in world.dst.domains


def test_cold_power_off_that_leaves_it_running_copies_nothing(world, h, monkeypatch):
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold
    monkeypatch.setattr(cold, 'OFF_WAIT', 1)
    dom = h.add_vm(world.src)
    dom.shutdown_works = False
    dom.destroy = lambda: None       # libvirt said yes, the QEMU process lives on
    with pytest.raises(MigrationError) as err:
        mig(mode='cold', cold_shutdown_timeout=1, cold_force_off=True).run()
    assert 'still running on the source after the power-off' in str(err.value)
    assert dom.active and 'vm1' not in world.dst.domains


def _local_disks(world, h, count=2):
    disks = ''.join("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    "<source file='/var/lib/libvirt/images/d%d.raw'/><target dev='vd%s' bus='virtio'/></disk>"
                    % (i, 'abcdef'[i]) for i in range(count))
    for host in (world.src, world.dst):
        host.pools['/var/lib/libvirt/images'] = 'default'
    for i in range(count):
        world.src.volumes['/var/lib/libvirt/images/d%d.raw' % i] = 1 << 20
    return h.add_vm(world.src, disks=disks)


def test_cold_timeout_during_copy_removes_every_copy_and_restarts_the_source(world, h, monkeypatch):
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold
    dom = _local_disks(world, h)
    deleted = []
    deadlines = []

    def fake_copy(src, dst, path, deadline, clock, created):
        deadlines.append(deadline)
        if created:
            raise MigrationError('copying disk %s did not finish within the timeout' % path)
        created.append((path, type('Vol', (), {'delete': lambda self, f: deleted.append(path)})()))
        return 1 << 20
    monkeypatch.setattr(cold, '_copy_disk', fake_copy)
    with pytest.raises(MigrationError) as err:
        mig(mode='cold', storage='copy', timeout=30).run()
    text = str(err.value)
    assert 'did not finish within the timeout' in text and 'the VM runs on the source again' in text
    assert deleted == ['/var/lib/libvirt/images/d0.raw'] and 'd0.raw on the destination was deleted' in text
    assert dom.active and 'vm1' in world.src.domains and 'vm1' not in world.dst.domains
    assert len(deadlines) == 2 and deadlines[0] - deadlines[1] == 0


def test_cold_interrupted_by_sigterm_restores_the_source(world, h, monkeypatch):
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold
    dom = h.add_vm(world.src)

    def killed(xml):
        raise SystemExit('SIGTERM')
    monkeypatch.setattr(h.FakeConn, 'defineXML', lambda self, xml: killed(xml))
    with pytest.raises(SystemExit):
        mig(mode='cold').run()
    assert dom.active and 'vm1' in world.src.domains


def test_cold_start_failure_restores_source(world, h):
    dom = h.add_vm(world.src)

    def broken_create():
        raise h.libvirtError('qemu failed to start')
    FakeConn = h.FakeConn
    real_define = FakeConn.defineXML

    def define(self, xml):
        new = real_define(self, xml)
        new.create = broken_create
        return new
    FakeConn.defineXML = define
    try:
        with pytest.raises(MigrationError) as err:
            mig(mode='cold').run()
    finally:
        FakeConn.defineXML = real_define
    assert 'the VM runs on the source again' in str(err.value)
    assert dom.active and 'vm1' not in world.dst.domains


def test_auto_without_userfaultfd_falls_back_to_precopy(world, h):
    dom = h.add_vm(world.src)
    dom.script = [h.sample(1, 0, done=True)]
    real = dom.migrateToURI3
    calls = []

    def migrate(uri, params, flags):
        calls.append(flags)
        if flags & plan.FLAGS['postcopy']:
            raise h.libvirtError("internal error: unable to execute QEMU command 'migrate-set-capabilities': "
                                 "Postcopy is not supported: Userfaultfd not available: Operation not permitted")
        return real(uri, params, flags)
    dom.migrateToURI3 = migrate
    res = mig(allow_postcopy=True).run()
    assert res['state']['dest'] == 'running' and len(calls) == 2
    assert 'postcopy' not in res['plan']['flags'] and 'auto_converge' in res['plan']['flags']
    assert any('vm.unprivileged_userfaultfd' in w for w in res['warnings'])


def test_explicit_postcopy_without_userfaultfd_says_how_to_fix(world, h):
    dom = h.add_vm(world.src)

    def migrate(uri, params, flags):
        raise h.libvirtError('Postcopy is not supported: Userfaultfd not available')
    dom.migrateToURI3 = migrate
    with pytest.raises(MigrationError) as err:
        mig(strategy='postcopy').run()
    assert 'vm.unprivileged_userfaultfd=1' in str(err.value) and dom.active
