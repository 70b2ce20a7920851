# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live mover: libvirt's peer-to-peer ``migrateToURI3`` in a worker thread, watched.

A second connection to the source polls the job's statistics for the monitor (monitor.py),
which decides when to switch to post-copy or to abort; the figures come from the source's
job-completed event. Every wait is bounded, and on every exit path the job is aborted, or, in
post-copy, left recoverable and said so. Takes a MoveContext (context.py) and the pre-flight's
answer, like the cold mover.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.stats import measure_dirty_rate
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan as planmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import recovery
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.context import Interrupted
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import (
    Monitor, figures, start_log)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

EVENT_ID_JOB_COMPLETED = 21     # VIR_DOMAIN_EVENT_ID_JOB_COMPLETED (libvirt's stable ABI)
EVENT_WAIT = 10.0               # s to wait for the job-completed event after the call returned
POSTCOPY_GRACE = 300            # s a post-copy phase may run past the timeout before we report
ABORT_WAIT = 30                 # s for libvirt to end an aborted job when the watch is interrupted


def move(ctx, src_dom, pre):
    """Move the running VM live; returns the result's fields ('msg', 'figures', ...) or raises
    MigrationError saying where the VM is. Disks placed by dest_disks get their volumes on the
    destination first; those are removed again when the VM did not arrive there."""
    made = _make_volumes(ctx, pre)
    try:
        result = _move(ctx, src_dom, pre)
    except BaseException as exc:
        _drop_volumes(ctx, made, exc)
        raise
    if pre.disk_moves:
        result['dest_disks'] = dest_disks.report(pre.disk_moves)
        kept = [m['target'] for m in pre.disk_moves if m['copy']]
        if kept:
            result['msg'] += '; disk(s) %s copied into the destination\'s pools, the source\'s copies kept' % (
                ', '.join(kept))
    return result


def _make_volumes(ctx, pre):
    try:
        return dest_disks.create_volumes(ctx.dst, pre.disk_moves, src_conn=ctx.src)
    except session.LibvirtError as exc:
        raise MigrationError('%s; nothing was moved' % exc, state=ctx.where())


def _drop_volumes(ctx, made, exc):
    """The move failed: the volumes made for it go, unless the VM (or half of it, in post-copy) is there."""
    if not made:
        return
    if ctx.where().get('dest') != 'absent':
        note = 'the volumes made on the destination for the move are kept (the VM is there): %s' % (
            ', '.join(m['where'] for m, _vol in made))
    else:
        left = dest_disks.remove_volumes(made)
        note = ('the volumes made on the destination for the move were removed' if not left
                else 'these volumes made on the destination could not be removed: %s' % '; '.join(left))
    if isinstance(exc, MigrationError):
        exc.message += '; ' + note


def _params(opts, pre, src_dom):
    """(flags, params, names): the plan's, with the destination's disk definitions when disks move."""
    flags, params, names = planmod.build(opts, pre.copy_disks)
    if pre.disk_moves:
        params.update(dest_disks.migrate_params(src_dom, pre.disk_moves))
    return flags, params, names


def shown(params):
    """The parameters as a result shows them: the definitions (the whole VM XML) left out."""
    return dict((k, v) for k, v in params.items() if k not in ('destination_xml', 'persistent_xml'))


def _move(ctx, src_dom, pre):
    """With strategy auto, hosts without post-copy support get the move again without it
    (pre-copy and auto-converge), with a warning."""
    opts = ctx.opts
    flags, params, _names = _params(opts, pre, src_dom)
    try:
        return _run_job(ctx, src_dom, flags, params)
    except MigrationError as exc:
        if not (_postcopy_unsupported(exc.detail) and opts['strategy'] == 'auto'
                and (exc.state or {}).get('source') == 'running'):
            if _postcopy_unsupported(exc.detail):
                exc.message += ('. Post-copy needs userfaultfd for QEMU on both hosts: set sysctl '
                                'vm.unprivileged_userfaultfd=1 (or give QEMU /dev/userfaultfd)')
            raise
        detail = exc.detail
    # auto: post-copy is only an escalation; go on without it, with auto-converge
    ctx.warnings.append('post-copy is unavailable on these hosts (%s): migrating with pre-copy and '
                        'auto-converge only; set sysctl vm.unprivileged_userfaultfd=1 to enable it' % detail)
    opts['postcopy_unavailable'] = True
    src_dom = session.lookup_domain(ctx.src, ctx.name)
    flags, params, names = _params(opts, pre, src_dom)
    result = _run_job(ctx, src_dom, flags, params)
    result['plan'] = {'flags': names, 'params': shown(params), 'strategy': opts['strategy']}
    return result


def _run_job(ctx, src_dom, flags, params):
    lv = session.require_libvirt()
    opts = ctx.opts
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
        callback_id = ctx.src.domainEventRegisterAny(
            src_dom, getattr(lv, 'VIR_DOMAIN_EVENT_ID_JOB_COMPLETED', EVENT_ID_JOB_COMPLETED), on_job_completed, None)
    except lv.libvirtError as exc:
        ctx.warnings.append('cannot watch the job-completed event (%s): figures come from job statistics'
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
            pre_dirty = measure_dirty_rate(control, cdom, ctx.clock, ctx.sleep)
        outcome = {}
        # an Event, not Thread.join/is_alive: a join interrupted by a signal can mark a running thread
        # as stopped (Python 3.11)
        finished = threading.Event()

        def worker():
            try:
                src_dom.migrateToURI3(ctx.dest_uri, params, flags)
                outcome['ok'] = True
            except lv.libvirtError as exc:
                outcome['error'] = exc
            except Exception as exc:  # pylint: disable=broad-except
                outcome['error'] = exc
            finally:
                finished.set()

        thread = threading.Thread(target=worker, name='migrate-%s' % name)
        thread.daemon = True
        started = ctx.clock()
        thread.start()
        monitor = Monitor(opts['strategy'], planmod.postcopy_allowed(opts), opts['timeout'],
                          opts['timeout_action'], opts['stall_timeout'], opts['postcopy_ratio'],
                          progress_log=opts['progress_log'], pre_dirty=pre_dirty,
                          auto_postcopy=planmod.auto_postcopy(opts), stall_max_downtime=opts['stall_max_downtime'],
                          full_throttle_timeout=opts['full_throttle_timeout'])
        try:
            downtime_set = False
            hard_limit = opts['timeout'] + POSTCOPY_GRACE + 60
            while not finished.is_set():
                if ctx.clock() - started > hard_limit:
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
                action, _record = monitor.observe(stats, ctx.clock())
                if action == 'postcopy':
                    try:
                        cdom.migrateStartPostCopy(0)
                    except lv.libvirtError as exc:
                        monitor.postcopy_failed(session.error_text(exc))
                elif action == 'downtime':
                    try:
                        cdom.migrateSetMaxDowntime(monitor.downtime_raised_to, 0)
                    except lv.libvirtError as exc:
                        monitor.downtime_failed(session.error_text(exc))
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
                                     % (name, hard_limit, name), state=ctx.where())
        except BaseException as exc:   # any exit path (SIGTERM included): the job is not left unwatched
            _interrupted(ctx, exc, finished, cdom, monitor, flags, params)
            raise
        wall = ctx.clock() - started
        resumed = None
        if 'error' in outcome:
            if not (opts['postcopy_resume_timeout'] and recovery.failed_in_postcopy(ctx, monitor)):
                return _failed(ctx, outcome['error'], monitor, cdom, wall, flags, params)
            # the link or the destination failed in post-copy: only finishing the move keeps the VM
            event_seen.clear()
            completed.clear()
            resumed = recovery.resume(ctx, flags, params, monitor, session.error_text(outcome['error']), wall)
            wall = ctx.clock() - started
        event_seen.wait(EVENT_WAIT)
        if completed:
            figs = figures(completed, 'source job-completed event', monitor)
        else:
            figs = _fallback_figures(ctx, monitor)
        figs['wall_time_s'] = round(wall, 2)
        if pre_dirty is not None:
            figs['pre_dirty_rate_mib_s'] = round(pre_dirty / 1048576.0, 1)
        strategy_used = 'precopy'
        if monitor.phase == 'postcopy' or figs['postcopy_requests'] or resumed:
            strategy_used = 'postcopy'
        elif figs['auto_converge_throttle']:
            strategy_used = 'auto_converge'
        monitor.write({'phase': 'completed', 'strategy_used': strategy_used, 'figures': figs})
        dst_dom = session.lookup_domain(ctx.dst, name)
        if not session.is_active(dst_dom):
            raise MigrationError('libvirt reported success but VM "%s" is not running on %s'
                                 % (name, opts['dest']), state=ctx.where(), figures=figs)
        try:
            dest_persistent = bool(dst_dom.isPersistent())
        except lv.libvirtError as exc:
            raise MigrationError('VM "%s" runs on %s, but whether it is persistent there cannot be read: %s'
                                 % (name, opts['dest'], session.error_text(exc)), state=ctx.where(), figures=figs)
        if opts['persistent'] and not dest_persistent:
            raise MigrationError('VM "%s" runs on %s but is not persistent there (transient: it would be gone '
                                 'at its next shutdown); define it there with "virsh dumpxml --migratable %s > '
                                 '%s.xml && virsh define %s.xml"' % (name, opts['dest'], name, name, name),
                                 state=ctx.where(), figures=figs)
        msg = 'VM "%s" live-migrated to %s in %.1f s (%s, downtime %s ms, %.1f MiB sent)' % (
            name, opts['dest'], (figs['total_time_ms'] or wall * 1000) / 1000.0, strategy_used,
            figs['downtime_ms'], (figs['data_bytes'] or 0) / 1048576.0)
        if monitor.downtime_reason:       # raised, or why it could not be
            msg += '; %s' % monitor.downtime_reason
        if resumed:
            msg += '; the post-copy failed (%s) and was resumed: %.1f s, %d resume call(s)' % (
                resumed['failure'], resumed['seconds'], resumed['attempts'])
        return {'msg': msg, 'strategy_used': strategy_used, 'figures': figs,
                'max_downtime_raised_to': monitor.downtime_raised_to,
                'postcopy_reason': monitor.postcopy_reason, 'postcopy_recovery': resumed,
                'progress': monitor.records[-60:]}
    finally:
        if callback_id is not None:
            try:
                ctx.src.domainEventDeregisterAny(callback_id)
            except lv.libvirtError:
                pass
        session.close(control)


def _interrupted(ctx, exc, finished, cdom, monitor, flags, params):
    """The watch ends early: abort the job, or in post-copy leave it recoverable; log it."""
    lv = session.require_libvirt()
    why = str(exc) if isinstance(exc, Interrupted) else '%s: %s' % (type(exc).__name__, exc)
    if finished.is_set():
        exc.outcome = 'the migration job had already ended'
    elif monitor.phase == 'postcopy':
        exc.outcome = ('the migration was in post-copy and has been left running (aborting it now would lose '
                       'the VM); if it fails, recover on the source host with "%s" once both hosts answer, '
                       'or run this module again' % recovery.command(ctx, flags, params))
    else:
        try:
            cdom.abortJob()
            finished.wait(ABORT_WAIT)
            exc.outcome = 'the migration job was aborted'
        except lv.libvirtError as err:
            exc.outcome = 'aborting the migration job failed (%s)' % session.error_text(err)
        if not finished.is_set():
            exc.outcome += '; libvirt has not ended the job yet: check "virsh domjobinfo %s"' % ctx.opts['name']
    monitor.write({'phase': 'interrupted', 'why': why, 'outcome': exc.outcome})
    if isinstance(exc, MigrationError):
        exc.message += '; ' + exc.outcome


def _fallback_figures(ctx, monitor):
    lv = session.require_libvirt()
    try:
        ddom = session.lookup_domain(ctx.dst, ctx.opts['name'])
        stats = ddom.jobStats(lv.VIR_DOMAIN_JOB_STATS_COMPLETED) if ddom is not None else None
        if stats and stats.get('type'):
            return figures(stats, 'destination completed-job statistics', monitor)
    except lv.libvirtError:
        pass
    return figures(monitor.last, 'last job statistics sample (no completed event)', monitor)


def _failed(ctx, exc, monitor, cdom, wall, flags, params):
    name = ctx.opts['name']
    state = ctx.where()
    text = session.error_text(exc)
    in_postcopy = recovery.failed_in_postcopy(ctx, monitor)
    figs = figures(monitor.last, 'last job statistics sample', monitor, switched=in_postcopy)
    figs['wall_time_s'] = round(wall, 2)
    if monitor.aborted_reason:
        what = '%s; aborted' % monitor.aborted_reason
    else:
        what = 'the migration failed: %s' % text
    if in_postcopy:
        # first: in post-copy the source must never be resumed (its memory is partly on the destination)
        recovery.pause_source(ctx)
        where = ('the failure happened in post-copy: the VM\'s memory is split between the hosts (source %s, '
                 'destination %s); do not start or resume it on the source. Once both hosts answer, finish the '
                 'move on the source host with "%s", or run this module again'
                 % (state.get('source'), state.get('dest'), recovery.command(ctx, flags, params)))
        if not ctx.opts['postcopy_resume_timeout']:
            where += ' (postcopy_resume_timeout is 0: no automatic resume)'
    elif state.get('source') in ('running', 'paused') and state.get('dest') in ('absent', 'shutoff', 'unknown'):
        where = 'VM "%s" is still running on the source' % name
        if state['source'] == 'paused':
            where = 'VM "%s" is paused on the source' % name
            try:
                cdom.resume()
                where = 'VM "%s" was paused on the source and has been resumed there' % name
                state = ctx.where()
            except Exception:  # pylint: disable=broad-except
                pass
    else:
        where = 'VM "%s": source %s, destination %s' % (name, state.get('source'), state.get('dest'))
    monitor.write({'phase': 'failed', 'why': what, 'where': where})
    raise MigrationError('%s. %s' % (what, where), state=state, figures=figs, detail=text)


def _postcopy_unsupported(text):
    text = (text or '').lower()
    return 'postcopy is not supported' in text or 'userfaultfd' in text
