# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The migration engine: one request from options to result.

Usable from plain Python::

    from ...migration.engine import Migration
    result = Migration({'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp'}).run()

Runs on the source host: connects to both libvirts, finds where the VM is, asks the
pre-flight (preflight.py), chooses live or cold, and hands one MoveContext (context.py) and
the pre-flight's answer to the mover (live.py, cold.py). Stop signals become Interrupted, so
that a mover's cleanup runs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import signal
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import live
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan as planmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import preflight
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import recovery
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.context import (
    Interrupted, MoveContext, locate)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import Monitor, figures, start_log
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

STOP_SIGNALS = ('SIGTERM', 'SIGHUP')


@contextlib.contextmanager
def _stop_signals_raise():
    """Turn SIGTERM/SIGHUP into Interrupted in the main thread, so cleanups run; restored after."""
    def handler(signum, _frame):
        raise Interrupted('stopped by %s' % signal.Signals(signum).name)
    previous = {}
    for name in STOP_SIGNALS:
        signum = getattr(signal, name)
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:    # not the main thread: the caller handles signals
            pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Migration(object):
    """One migration request. ``run(check_mode)`` returns a result dict or raises MigrationError."""

    def __init__(self, options, fs_type_of=preflight.mount_fs_type, clock=time.monotonic, sleep=time.sleep):
        self.opts = planmod.normalize(options)
        scheme = session.uri_transport(self.opts['dest'])
        if scheme:
            self.opts['transport'] = scheme    # a full URI says how to reach the destination
        self.fs_type_of = fs_type_of
        self.clock = clock
        self.sleep = sleep
        self.dest_uri = session.build_uri(self.opts['dest'], self.opts['transport'],
                                          user=self.opts['dest_user'], port=self.opts['dest_port'])
        self.src = None
        self.dst = None
        self.warnings = []

    # -- connections -----------------------------------------------------------------------
    def connect(self):
        session.ensure_event_loop()
        self.src = session.connect(self.opts['source_uri'], 'the source libvirt (%s)' % self.opts['source_uri'])
        try:
            self.dst = session.connect(self.dest_uri, 'the destination libvirt (%s)' % self.dest_uri)
        except LibvirtError:
            session.close(self.src)
            self.src = None
            raise

    def close(self):
        session.close(self.dst)
        session.close(self.src)
        self.src = self.dst = None

    def where(self):
        """Where the VM is: {'source': state, 'dest': state}."""
        return locate(self.src, self.dst, self.opts['name'])

    @contextlib.contextmanager
    def context(self):
        """The mover's context; a connection it had to reopen (post-copy recovery) is taken back."""
        ctx = MoveContext(self.opts, self.src, self.dst, self.dest_uri, self.clock, self.sleep, self.warnings)
        try:
            yield ctx
        finally:
            self.src, self.dst = ctx.src, ctx.dst

    # -- the whole request -----------------------------------------------------------------
    def check(self):
        """Pre-flight only: returns the verdict dict (never raises for a negative verdict)."""
        try:
            self.connect()
        except LibvirtError as exc:
            verdict = preflight.Verdict()
            verdict.add('reachable', 'fail', str(exc))
            return dict(verdict.as_dict(), dest_uri=self.dest_uri, facts={})
        try:
            src_dom, dst_dom = self._lookup()
            if src_dom is None:
                verdict = preflight.Verdict()
                if dst_dom is not None:
                    verdict.add('vm_location', 'ok', 'VM "%s" is already on the destination' % self.opts['name'])
                else:
                    verdict.add('vm_location', 'fail', 'no VM called "%s" on the source (%s) or the destination'
                                % (self.opts['name'], self.opts['source_uri']))
                return dict(verdict.as_dict(), dest_uri=self.dest_uri, facts={}, already_there=dst_dom is not None)
            pre = self._preflight(src_dom, dst_dom)
            return dict(pre.as_dict(), dest_uri=self.dest_uri, already_there=False)
        finally:
            self.close()

    def run(self, check_mode=False):
        with _stop_signals_raise():
            self.connect()
            try:
                return self._run(check_mode)
            except Interrupted as exc:
                raise MigrationError('%s: %s' % (exc, getattr(exc, 'outcome', 'no migration job was running')),
                                     state=self.where())
            finally:
                self.close()

    def _lookup(self):
        name = self.opts['name']
        return session.lookup_domain(self.src, name), session.lookup_domain(self.dst, name)

    def _preflight(self, src_dom, dst_dom):
        try:
            return preflight.check(self.src, self.dst, src_dom, self.opts, fs_type_of=self.fs_type_of,
                                   dst_dom=dst_dom)
        except session.libvirt.libvirtError as exc:
            raise MigrationError(str(session.translate(exc, 'pre-flight of VM "%s" failed' % self.opts['name'])))

    def _run(self, check_mode):
        opts = self.opts
        name = opts['name']
        src_dom, dst_dom = self._lookup()
        src_state = session.domain_state(src_dom)[0]
        dst_state = session.domain_state(dst_dom)[0]
        base = {'name': name, 'dest': opts['dest'], 'dest_uri': self.dest_uri}
        src_running = src_state not in ('absent', 'shutoff', 'crashed', 'shutdown')
        dst_running = dst_state not in ('absent', 'shutoff', 'crashed', 'shutdown')

        src_uuid = preflight.same_host_uuid(preflight.host_capabilities(self.src), preflight.host_capabilities(self.dst))
        if src_uuid:
            raise MigrationError('the destination %s is the source host itself (same host UUID %s): '
                                 'nothing to migrate to' % (opts['dest'], src_uuid),
                                 state={'source': src_state, 'dest': src_state})

        if not src_running and dst_running:
            msg = 'VM "%s" already runs on %s' % (name, opts['dest'])
            if src_state != 'absent':
                msg += ' (a stopped definition remains on the source)'
            return dict(base, changed=False, msg=msg, state={'source': src_state, 'dest': dst_state})
        if src_state == 'absent' and dst_state == 'absent':
            raise MigrationError('no VM called "%s" on the source (%s) or on %s'
                                 % (name, opts['source_uri'], opts['dest']),
                                 state={'source': 'absent', 'dest': 'absent'})
        if src_state == 'absent':
            return dict(base, changed=False, msg='VM "%s" is already defined on %s (stopped)' % (name, opts['dest']),
                        state={'source': src_state, 'dest': dst_state})
        if src_state == 'paused' and session.domain_state(src_dom)[1] == recovery.PAUSED_POSTCOPY_FAILED:
            return self._resume_postcopy(base, check_mode)
        if src_running and dst_running:
            self._refuse_if_moving(src_dom, dst_dom, src_state, dst_state)
            raise MigrationError('VM "%s" runs on both the source and %s: refusing to touch either; '
                                 'check which one is current' % (name, opts['dest']),
                                 state={'source': src_state, 'dest': dst_state})

        pre = self._preflight(src_dom, dst_dom)
        verdict = pre.verdict
        mode = opts['mode']
        if mode == 'live' and not verdict.ok:
            if opts['cold_fallback'] and verdict.cold_possible:
                mode = 'cold'
            else:
                hint = ''
                if verdict.cold_possible and not opts['cold_fallback']:
                    hint = ' (a cold move could do it: set cold_fallback=true or mode=cold)'
                raise MigrationError('cannot migrate VM "%s" to %s: %s%s' % (name, opts['dest'], verdict.summary(), hint),
                                     reasons=verdict.reasons, state={'source': src_state, 'dest': dst_state})
        if mode == 'cold':
            blocking = [r for r in verdict.failures if not r['cold_fixable']]
            if blocking:
                raise MigrationError('cannot move VM "%s" to %s even cold: %s'
                                     % (name, opts['dest'], '; '.join(r['message'] for r in blocking)),
                                     reasons=verdict.reasons, state={'source': src_state, 'dest': dst_state})
        result = dict(base, changed=True, mode=mode, preflight=verdict.as_dict(), facts=pre.facts,
                      diff={'before': {'host': 'source', 'source': src_state, 'dest': dst_state},
                            'after': {'host': opts['dest'], 'source': 'absent' if opts['undefine_source']
                                      else 'shutoff', 'dest': 'running' if src_running else 'shutoff'}})
        if mode == 'live':
            _flags, params, names = planmod.build(opts, pre.copy_disks)
            result['plan'] = {'flags': names, 'params': params, 'strategy': opts['strategy'],
                              'stall_max_downtime': opts.get('stall_max_downtime')}
        else:
            result['plan'] = {'cold': True, 'fallback': opts['mode'] == 'live',
                              'adjust': [r['check'] for r in verdict.failures]}
        self.warnings.extend(r['message'] for r in verdict.warnings)
        if check_mode:
            result['msg'] = 'would %s-migrate VM "%s" to %s' % (mode, name, opts['dest'])
            if mode == 'live' and opts.get('stall_max_downtime'):
                result['msg'] += '; ' + planmod.stall_note(opts['stall_max_downtime'])
            result['warnings'] = list(self.warnings)
            return result
        mover = cold if mode == 'cold' else live
        with self.context() as ctx:
            result.update(mover.move(ctx, src_dom, pre))
        result['state'] = self.where()
        result['warnings'] = list(self.warnings)
        return result

    def _refuse_if_moving(self, src_dom, dst_dom, src_state, dst_state):
        """Both hosts hold a live VM because a migration of it runs now (another job, a hand-run
        virsh migrate): refuse, naming it, rather than call it two running copies."""
        name = self.opts['name']
        for where, dom in (('source', src_dom), ('destination', dst_dom)):
            job = session.migration_job(dom)
            if job is None:
                continue
            done = ''
            if job['memory_total']:
                done = ', %d of %d MiB of memory sent' % (job['memory_processed'] // 2 ** 20,
                                                          job['memory_total'] // 2 ** 20)
            raise MigrationError('a migration of VM "%s" is already running (%s job on the %s%s): nothing done; '
                                 'wait for it ("virsh domjobinfo %s" on the source) or stop it there '
                                 '("virsh domjobabort %s"; in post-copy only with --postcopy, which pauses it)'
                                 % (name, job['direction'], where, done, name, name),
                                 state={'source': src_state, 'dest': dst_state})

    def _resume_postcopy(self, base, check_mode):
        """An earlier move of this VM failed in post-copy and was not resumed: finish it."""
        opts = self.opts
        name = opts['name']
        flags, params, names = planmod.build(dict(opts, strategy='postcopy'))
        result = dict(base, changed=True, mode='live',
                      plan={'flags': names + ['postcopy_resume'], 'params': params, 'strategy': 'postcopy'})
        with self.context() as ctx:
            if check_mode:
                result['msg'] = 'would resume the failed post-copy migration of VM "%s" to %s' % (name, opts['dest'])
                return result
            if not opts['postcopy_resume_timeout']:
                raise MigrationError('VM "%s" is held by a failed post-copy migration (paused on the source, its '
                                     'memory split between the hosts): do not start or resume it on the source; '
                                     'finish the move on the source host with "%s", or set postcopy_resume_timeout'
                                     % (name, recovery.command(ctx, flags, params)), state=self.where())
            start_log(opts['progress_log'], {'vm': name, 'dest': opts['dest'], 'strategy': 'postcopy', 'resume': True,
                                             'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})
            monitor = Monitor('postcopy', True, opts['timeout'], opts['timeout_action'], opts['stall_timeout'],
                              opts['postcopy_ratio'], progress_log=opts['progress_log'], auto_postcopy=False)
            started = self.clock()
            resumed = recovery.resume(ctx, flags, params, monitor, 'found paused on the source in failed post-copy')
            figs = figures(monitor.last, 'last job statistics sample (resumed post-copy)', monitor)
            figs['wall_time_s'] = round(self.clock() - started, 2)
            monitor.write({'phase': 'completed', 'strategy_used': 'postcopy', 'figures': figs})
        state = self.where()
        if state.get('dest') != 'running':
            raise MigrationError('the post-copy resume of VM "%s" returned but the VM is not running on %s'
                                 % (name, opts['dest']), state=state, figures=figs)
        result.update(msg='VM "%s": the failed post-copy migration to %s was resumed and completed (%d resume '
                          'call(s), %.1f s)' % (name, opts['dest'], resumed['attempts'], resumed['seconds']),
                      strategy_used='postcopy', figures=figs, postcopy_reason='resume of a failed post-copy',
                      postcopy_recovery=resumed, progress=monitor.records[-60:], state=state,
                      warnings=list(self.warnings))
        return result
