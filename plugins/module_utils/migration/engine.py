# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The migration engine: pre-flight, live move (monitored), cold move, figures.

Usable from plain Python::

    from ...migration.engine import Migration
    result = Migration({'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp'}).run()

Runs on the source host. The live move is libvirt's peer-to-peer ``migrateToURI3`` in a
worker thread; a second connection polls job statistics, switches to post-copy and aborts;
the figures come from the source's job-completed event. Every wait is bounded.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import signal
import threading
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan as planmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import preflight
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold as coldmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import (
    Monitor, figures, start_log)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

EVENT_ID_JOB_COMPLETED = 21     # VIR_DOMAIN_EVENT_ID_JOB_COMPLETED (libvirt's stable ABI)
EVENT_WAIT = 10.0               # s to wait for the job-completed event after the call returned
POSTCOPY_GRACE = 300            # s a post-copy phase may run past the timeout before we report
PAUSED_POSTCOPY, PAUSED_POSTCOPY_FAILED = 12, 13   # virDomainPausedReason (libvirt's stable ABI)
ABORT_WAIT = 30                 # s for libvirt to end an aborted job when the watch is interrupted
STOP_SIGNALS = ('SIGTERM', 'SIGHUP')


class Interrupted(BaseException):
    """A stop signal arrived; BaseException so that no ``except Exception`` swallows it."""


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
        name = self.opts['name']
        out = {}
        for key, conn in (('source', self.src), ('dest', self.dst)):
            try:
                out[key] = session.domain_state(session.lookup_domain(conn, name))[0] if conn else 'unknown'
            except LibvirtError:
                out[key] = 'unknown'
        return out

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
            verdict, facts = self._preflight(src_dom, dst_dom)
            return dict(verdict.as_dict(), dest_uri=self.dest_uri, facts=_public(facts), already_there=False)
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
        if src_running and dst_running:
            raise MigrationError('VM "%s" runs on both the source and %s: refusing to touch either; '
                                 'check which one is current' % (name, opts['dest']),
                                 state={'source': src_state, 'dest': dst_state})

        verdict, facts = self._preflight(src_dom, dst_dom)
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
        copy_disks = [d['target'] for d in facts['_disks'] if d['copy']]
        flags, params, names = planmod.build(opts, copy_disks)
        result = dict(base, changed=True, mode=mode, preflight=verdict.as_dict(), facts=_public(facts),
                      diff={'before': {'host': 'source', 'source': src_state, 'dest': dst_state},
                            'after': {'host': opts['dest'], 'source': 'absent' if opts['undefine_source']
                                      else 'shutoff', 'dest': 'running' if src_running else 'shutoff'}})
        if mode == 'live':
            result['plan'] = {'flags': names, 'params': params, 'strategy': opts['strategy']}
        else:
            result['plan'] = {'cold': True, 'fallback': opts['mode'] == 'live',
                              'adjust': [r['check'] for r in verdict.failures]}
        if check_mode:
            result['msg'] = 'would %s-migrate VM "%s" to %s' % (mode, name, opts['dest'])
            return result
        if mode == 'cold':
            result.update(coldmod.move(self, src_dom, facts, verdict))
        else:
            try:
                result.update(self._live(src_dom, facts, flags, params))
            except MigrationError as exc:
                if not (_postcopy_unsupported(exc.detail) and opts['strategy'] == 'auto'
                        and (exc.state or {}).get('source') == 'running'):
                    if _postcopy_unsupported(exc.detail):
                        exc.message += ('. Post-copy needs userfaultfd for QEMU on both hosts: set sysctl '
                                        'vm.unprivileged_userfaultfd=1 (or give QEMU /dev/userfaultfd)')
                    raise
                # auto: post-copy is only an escalation; go on without it, with auto-converge
                self.warnings.append('post-copy is unavailable on these hosts (%s): migrating with pre-copy and '
                                     'auto-converge only; set sysctl vm.unprivileged_userfaultfd=1 to enable it'
                                     % exc.detail)
                opts['postcopy_unavailable'] = True
                flags, params, names = planmod.build(opts, copy_disks)
                result['plan'] = {'flags': names, 'params': params, 'strategy': opts['strategy']}
                src_dom = session.lookup_domain(self.src, name)
                result.update(self._live(src_dom, facts, flags, params))
        result['state'] = self.where()
        result['warnings'] = self.warnings + [r['message'] for r in verdict.warnings]
        return result

    # -- live ------------------------------------------------------------------------------
    def _live(self, src_dom, facts, flags, params):
        lv = session.require_libvirt()
        opts = self.opts
        name = opts['name']
        uuid = src_dom.UUIDString()
        start_log(opts['progress_log'], {'vm': name, 'dest': opts['dest'], 'strategy': opts['strategy'],
                                         'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                                         'bandwidth_mib_s': opts['bandwidth'] or None})
        completed = {}
        event_seen = threading.Event()

        def on_job_completed(_conn, dom, stats, _opaque):
            try:
                if dom.UUIDString() == uuid:
                    completed.update(stats)
                    event_seen.set()
            except Exception:  # pylint: disable=broad-except
                pass

        callback_id = None
        try:
            callback_id = self.src.domainEventRegisterAny(
                src_dom, getattr(lv, 'VIR_DOMAIN_EVENT_ID_JOB_COMPLETED', EVENT_ID_JOB_COMPLETED), on_job_completed, None)
        except lv.libvirtError as exc:
            self.warnings.append('cannot watch the job-completed event (%s): figures come from job statistics'
                                 % session.error_text(exc))
        control = session.connect(opts['source_uri'], 'a second connection to the source libvirt')
        try:
            cdom = control.lookupByUUIDString(uuid)
            try:
                cdom.migrateSetMaxDowntime(opts['max_downtime'], 0)
            except lv.libvirtError:
                pass   # set again once the job runs
            pre_dirty = None
            if planmod.auto_postcopy(opts):
                pre_dirty = measure_dirty_rate(control, cdom, self.clock, self.sleep)
            outcome = {}
            # an Event, not Thread.join/is_alive: a join interrupted by a signal can mark a running thread
            # as stopped (Python 3.11)
            finished = threading.Event()

            def worker():
                try:
                    src_dom.migrateToURI3(self.dest_uri, params, flags)
                    outcome['ok'] = True
                except lv.libvirtError as exc:
                    outcome['error'] = exc
                except Exception as exc:  # pylint: disable=broad-except
                    outcome['error'] = exc
                finally:
                    finished.set()

            thread = threading.Thread(target=worker, name='migrate-%s' % name)
            thread.daemon = True
            started = self.clock()
            thread.start()
            monitor = Monitor(opts['strategy'], planmod.postcopy_allowed(opts), opts['timeout'],
                              opts['timeout_action'], opts['stall_timeout'], opts['postcopy_ratio'],
                              progress_log=opts['progress_log'], pre_dirty=pre_dirty,
                              auto_postcopy=planmod.auto_postcopy(opts))
            try:
                downtime_set = False
                hard_limit = opts['timeout'] + POSTCOPY_GRACE + 60
                while not finished.is_set():
                    if self.clock() - started > hard_limit:
                        break
                    try:
                        stats = cdom.jobStats(0)
                    except lv.libvirtError:
                        stats = None
                    if stats and stats.get('type') and not downtime_set:
                        try:
                            cdom.migrateSetMaxDowntime(opts['max_downtime'], 0)
                            downtime_set = True
                        except lv.libvirtError:
                            pass
                    action, _record = monitor.observe(stats, self.clock())
                    if action == 'postcopy':
                        try:
                            cdom.migrateStartPostCopy(0)
                        except lv.libvirtError as exc:
                            monitor.postcopy_failed(session.error_text(exc))
                    elif action == 'abort':
                        try:
                            cdom.abortJob()
                        except lv.libvirtError:
                            pass
                    finished.wait(opts['poll_interval'])
                if not finished.is_set():
                    monitor.write({'phase': 'lost', 'why': 'no answer from libvirt within %d s' % hard_limit})
                    raise MigrationError('the migration of VM "%s" did not finish within %d s even in post-copy; '
                                         'libvirt still runs the job: check "virsh domjobinfo %s" on both hosts'
                                         % (name, hard_limit, name), state=self.where())
            except BaseException as exc:   # any exit path (SIGTERM included): the job is not left unwatched
                self._interrupted(exc, finished, cdom, monitor)
                raise
            wall = self.clock() - started
            if 'error' in outcome:
                return self._live_failed(outcome['error'], monitor, cdom, wall)
            event_seen.wait(EVENT_WAIT)
            if completed:
                figs = figures(completed, 'source job-completed event', monitor)
            else:
                figs = self._fallback_figures(monitor)
            figs['wall_time_s'] = round(wall, 2)
            if pre_dirty is not None:
                figs['pre_dirty_rate_mib_s'] = round(pre_dirty / 1048576.0, 1)
            strategy_used = 'precopy'
            if monitor.phase == 'postcopy' or figs['postcopy_requests']:
                strategy_used = 'postcopy'
            elif figs['auto_converge_throttle']:
                strategy_used = 'auto_converge'
            monitor.write({'phase': 'completed', 'strategy_used': strategy_used, 'figures': figs})
            dst_dom = session.lookup_domain(self.dst, name)
            if not session.is_active(dst_dom):
                raise MigrationError('libvirt reported success but VM "%s" is not running on %s'
                                     % (name, opts['dest']), state=self.where(), figures=figs)
            try:
                dest_persistent = bool(dst_dom.isPersistent())
            except lv.libvirtError as exc:
                raise MigrationError('VM "%s" runs on %s, but whether it is persistent there cannot be read: %s'
                                     % (name, opts['dest'], session.error_text(exc)), state=self.where(), figures=figs)
            if opts['persistent'] and not dest_persistent:
                raise MigrationError('VM "%s" runs on %s but is not persistent there (transient: it would be gone '
                                     'at its next shutdown); define it there with "virsh dumpxml --migratable %s > '
                                     '%s.xml && virsh define %s.xml"' % (name, opts['dest'], name, name, name),
                                     state=self.where(), figures=figs)
            msg = 'VM "%s" live-migrated to %s in %.1f s (%s, downtime %s ms, %.1f MiB sent)' % (
                name, opts['dest'], (figs['total_time_ms'] or wall * 1000) / 1000.0, strategy_used,
                figs['downtime_ms'], (figs['data_bytes'] or 0) / 1048576.0)
            return {'msg': msg, 'strategy_used': strategy_used, 'figures': figs,
                    'postcopy_reason': monitor.postcopy_reason, 'progress': monitor.records[-60:]}
        finally:
            if callback_id is not None:
                try:
                    self.src.domainEventDeregisterAny(callback_id)
                except lv.libvirtError:
                    pass
            session.close(control)

    def _interrupted(self, exc, finished, cdom, monitor):
        """The watch ends early: abort the job, or in post-copy leave it recoverable; log it."""
        lv = session.require_libvirt()
        why = str(exc) if isinstance(exc, Interrupted) else '%s: %s' % (type(exc).__name__, exc)
        if finished.is_set():
            exc.outcome = 'the migration job had already ended'
        elif monitor.phase == 'postcopy':
            exc.outcome = ('the migration was in post-copy and has been left running (aborting it now would lose '
                           'the VM); if it fails, recover with "virsh migrate --postcopy --postcopy-resume %s '
                           '%s" once both hosts answer' % (self.opts['name'], self.dest_uri))
        else:
            try:
                cdom.abortJob()
                finished.wait(ABORT_WAIT)
                exc.outcome = 'the migration job was aborted'
            except lv.libvirtError as err:
                exc.outcome = 'aborting the migration job failed (%s)' % session.error_text(err)
            if not finished.is_set():
                exc.outcome += '; libvirt has not ended the job yet: check "virsh domjobinfo %s"' % self.opts['name']
        monitor.write({'phase': 'interrupted', 'why': why, 'outcome': exc.outcome})
        if isinstance(exc, MigrationError):
            exc.message += '; ' + exc.outcome

    def _source_postcopy_paused(self):
        """Whether libvirt says the source is paused by (a failed) post-copy."""
        try:
            state, reason = session.domain_state(session.lookup_domain(self.src, self.opts['name']))
        except LibvirtError:
            return False
        return state == 'paused' and reason in (PAUSED_POSTCOPY, PAUSED_POSTCOPY_FAILED)

    def _fallback_figures(self, monitor):
        lv = session.require_libvirt()
        try:
            ddom = session.lookup_domain(self.dst, self.opts['name'])
            stats = ddom.jobStats(lv.VIR_DOMAIN_JOB_STATS_COMPLETED) if ddom is not None else None
            if stats and stats.get('type'):
                return figures(stats, 'destination completed-job statistics', monitor)
        except lv.libvirtError:
            pass
        return figures(monitor.last, 'last job statistics sample (no completed event)', monitor)

    def _live_failed(self, exc, monitor, cdom, wall):
        name = self.opts['name']
        state = self.where()
        text = session.error_text(exc)
        figs = figures(monitor.last, 'last job statistics sample', monitor)
        figs['wall_time_s'] = round(wall, 2)
        if monitor.aborted_reason:
            what = '%s; aborted' % monitor.aborted_reason
        else:
            what = 'the migration failed: %s' % text
        if self._source_postcopy_paused() or (monitor.phase == 'postcopy' and state.get('source') != 'running'):
            # first: in post-copy the source must never be resumed (its memory is partly on the destination)
            where = ('the failure happened in post-copy: the VM\'s memory is split between the hosts (source %s, '
                     'destination %s); recover with "virsh migrate --postcopy --postcopy-resume %s %s" once both '
                     'hosts answer' % (state.get('source'), state.get('dest'), name, self.dest_uri))
        elif state.get('source') in ('running', 'paused') and state.get('dest') in ('absent', 'shutoff', 'unknown'):
            where = 'VM "%s" is still running on the source' % name
            if state['source'] == 'paused':
                where = 'VM "%s" is paused on the source' % name
                try:
                    cdom.resume()
                    where = 'VM "%s" was paused on the source and has been resumed there' % name
                    state = self.where()
                except Exception:  # pylint: disable=broad-except
                    pass
        else:
            where = 'VM "%s": source %s, destination %s' % (name, state.get('source'), state.get('dest'))
        monitor.write({'phase': 'failed', 'why': what, 'where': where})
        raise MigrationError('%s. %s' % (what, where), state=state, figures=figs, detail=text)


def measure_dirty_rate(conn, dom, clock=time.monotonic, sleep=time.sleep, seconds=1):
    """The guest's dirty rate in bytes/s, measured by QEMU over ``seconds``; None if unavailable."""
    lv = session.require_libvirt()
    try:
        dom.startDirtyRateCalc(seconds, 0)
    except (AttributeError, lv.libvirtError):
        return None
    stats_flag = getattr(lv, 'VIR_DOMAIN_STATS_DIRTYRATE', 1 << 9)
    deadline = clock() + seconds + 3
    while clock() < deadline:
        sleep(0.25)
        try:
            records = conn.domainListGetStats([dom], stats_flag, 0)
        except (AttributeError, lv.libvirtError):
            return None
        if not records:
            return None
        stats = records[0][1]
        if stats.get('dirtyrate.calc_status') == 2 and 'dirtyrate.megabytes_per_second' in stats:
            return stats['dirtyrate.megabytes_per_second'] * 1048576.0
    return None


def _postcopy_unsupported(text):
    text = (text or '').lower()
    return 'postcopy is not supported' in text or 'userfaultfd' in text


def _public(facts):
    return dict((k, v) for k, v in facts.items() if not k.startswith('_'))
