# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Post-copy recovery: a live move that failed after the switch to post-copy is finished, never undone.

From the switch on, the VM runs on the destination while part of its memory is still on the
source: neither copy can run alone. When the link or the destination's libvirt fails then,
libvirt (8.5 or later) keeps the migration resumable and leaves the source paused with reason
"post-copy failed". QEMU may go on waiting on the dead socket for minutes (TCP's
retransmission timeout), so the source's migration stream is paused first
(VIR_DOMAIN_ABORT_JOB_POSTCOPY, QEMU's migrate-pause; the VM's run state does not change);
once the destination's libvirt answers again, the same migration is resumed
(VIR_MIGRATE_POSTCOPY_RESUME, the same URI and parameters), until it completes or
``postcopy_resume_timeout`` runs out. The VM is never resumed on the source.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan as planmod
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import figures
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

ABORT_JOB_POSTCOPY = 1          # VIR_DOMAIN_ABORT_JOB_POSTCOPY (libvirt >= 8.5)
PAUSED_POSTCOPY, PAUSED_POSTCOPY_FAILED = 12, 13   # virDomainPausedReason (libvirt's stable ABI)
RETRY = 5.0                     # s between probes of the destination and between resume attempts
PROBE_TIMEOUT = 3.0             # s for one TCP probe of the destination's libvirt
SETTLE = 10.0                   # s libvirt gets to undefine the source itself after a resumed move
UNDEFINE_KEEP_NVRAM = 8         # VIR_DOMAIN_UNDEFINE_KEEP_NVRAM


def source_pause_reason(ctx):
    """libvirt's pause reason of the VM on the source (None when it is not paused or unknown)."""
    try:
        state, reason = session.domain_state(session.lookup_domain(ctx.src, ctx.name))
    except LibvirtError:
        return None
    return reason if state == 'paused' else None


def failed_in_postcopy(ctx, monitor):
    """Whether a failed move had switched to post-copy: the VM's memory is split between the hosts.
    libvirt's pause reason says so even when the watch never saw the switch."""
    if source_pause_reason(ctx) in (PAUSED_POSTCOPY, PAUSED_POSTCOPY_FAILED):
        return True
    return monitor.phase == 'postcopy' and ctx.where().get('source') not in ('running', 'absent', 'shutoff')


def command(ctx, flags, params):
    """The virsh command that resumes the move by hand on the source host."""
    return planmod.resume_command(ctx.name, ctx.dest_uri, flags, params, ctx.opts['source_uri'])


def pause_source(ctx):
    """Pause the source's migration stream (QEMU postcopy-paused), which a resume needs; None or
    libvirt's answer when it was not needed (already paused, no job)."""
    try:
        dom = session.lookup_domain(ctx.src, ctx.name)
        if dom is not None:
            dom.abortJobFlags(ABORT_JOB_POSTCOPY)
        return None
    except LibvirtError as exc:
        return str(exc)
    except session.libvirt.libvirtError as exc:
        return session.error_text(exc)
    except AttributeError:
        return 'this libvirt-python has no abortJobFlags (libvirt 8.5 or later is needed)'


def dest_answers(ctx):
    """A TCP connection to the destination's libvirt opens within PROBE_TIMEOUT (libvirt's own
    connect can wait minutes for an unreachable host)."""
    return session.port_problem(ctx.dest_uri, ctx.opts['transport'], PROBE_TIMEOUT) is None


def _reconnect_dest(ctx):
    """A live connection to the destination (keepalive closes the old one while the link is down)."""
    try:
        if ctx.dst is not None and ctx.dst.isAlive() == 1:
            return
    except Exception:  # pylint: disable=broad-except
        pass
    session.close(ctx.dst)
    ctx.dst = None
    ctx.dst = session.connect(ctx.dest_uri, 'the destination libvirt (%s)' % ctx.dest_uri)


def _finished(ctx):
    state = ctx.where()
    return state.get('source') in ('absent', 'shutoff') and state.get('dest') == 'running'


def resume(ctx, flags, params, monitor, failure, wall=0.0):
    """Resume the failed post-copy until it completes or ``postcopy_resume_timeout`` runs out.

    Returns {'failure', 'attempts', 'seconds'}; raises MigrationError naming the command to run
    by hand, the VM left paused in post-copy (recoverable), when the time runs out.
    """
    opts = ctx.opts
    budget = opts['postcopy_resume_timeout']
    resume_flags = flags | planmod.FLAGS['postcopy'] | planmod.FLAGS['postcopy_resume']
    how = command(ctx, flags, params)
    began = ctx.clock()
    deadline = began + budget

    def elapsed():
        return round(wall + ctx.clock() - began, 1)

    monitor.phase = 'postcopy'
    monitor.write({'phase': 'postcopy_failed', 'elapsed_s': elapsed(), 'why': failure,
                   'resume_within_s': budget, 'command': how})
    attempts = 0
    last = failure
    control = None
    try:
        while True:
            if _finished(ctx):
                last = None
                break
            if ctx.clock() >= deadline:
                break
            pause_source(ctx)
            if not dest_answers(ctx):
                last = 'the destination libvirt (%s) does not answer' % ctx.dest_uri
                monitor.write({'phase': 'recovering', 'elapsed_s': elapsed(), 'waiting': last})
                ctx.sleep(min(RETRY, max(0.0, deadline - ctx.clock())))
                continue
            try:
                _reconnect_dest(ctx)
                if control is None:
                    control = session.connect(opts['source_uri'], 'a second connection to the source libvirt')
            except LibvirtError as exc:
                last = str(exc)
                ctx.sleep(min(RETRY, max(0.0, deadline - ctx.clock())))
                continue
            attempts += 1
            monitor.write({'phase': 'recovering', 'elapsed_s': elapsed(), 'attempt': attempts,
                           'action': 'postcopy_resume'})
            last = _resume_once(ctx, control, resume_flags, params, monitor, deadline)
            if last is None or last == 'running':
                break
            monitor.write({'phase': 'recovering', 'elapsed_s': elapsed(), 'attempt': attempts, 'error': last})
            ctx.sleep(min(RETRY, max(0.0, deadline - ctx.clock())))
    finally:
        session.close(control)
    seconds = round(ctx.clock() - began, 1)
    if last is None:
        outcome = {'failure': failure, 'attempts': attempts, 'seconds': seconds,
                   'source_definition': settle_source(ctx)}
        monitor.write(dict(outcome, phase='recovered'))
        return outcome
    if last != 'running':
        pause_source(ctx)    # recoverable by hand: a resume needs the source's stream paused
    state = ctx.where()
    if last == 'running':
        where = ('a post-copy resume still runs past postcopy_resume_timeout (%d s) and libvirt goes on with it: '
                 'watch "virsh domjobinfo %s" on the source; if it fails, run "%s" there' % (budget, ctx.name, how))
    else:
        where = ('the VM waits in post-copy with its memory split between the hosts (source %s, destination %s): '
                 'do not start or resume it on the source. Once both hosts answer, finish the move on the source '
                 'host with "%s", or run this module again' % (state.get('source'), state.get('dest'), how))
    what = ('the migration of VM "%s" failed in post-copy (%s) and could not be resumed within %d s '
            '(postcopy_resume_timeout; %d attempt(s), last: %s)' % (ctx.name, failure, budget, attempts, last))
    monitor.write({'phase': 'failed', 'why': what, 'where': where, 'command': how})
    raise MigrationError('%s. %s' % (what, where), state=state, detail=failure,
                         figures=figures(monitor.last, 'last job statistics sample', monitor))


def settle_source(ctx):
    """After a resumed post-copy: the source's stopped definition is removed, as undefine_source asks.

    libvirt removes it in the resume call's confirm phase; when the move completed without that
    phase (the resume call failed after QEMU had finished, or the move ended while no call ran),
    the source keeps a stopped definition someone could start beside the running VM. It gets
    SETTLE seconds to go by itself, then is undefined here (disks and NVRAM kept). Returns what
    became of it: 'absent' (libvirt's own), 'undefined' (here), 'kept' or 'remains' (with a warning).
    """
    if not ctx.opts.get('undefine_source', True):
        return 'kept'
    deadline = ctx.clock() + SETTLE
    while ctx.where().get('source') == 'shutoff' and ctx.clock() < deadline:
        ctx.sleep(0.5)
    if ctx.where().get('source') != 'shutoff':
        return 'absent'
    try:
        dom = session.lookup_domain(ctx.src, ctx.name)
        if dom is not None:
            dom.undefineFlags(UNDEFINE_KEEP_NVRAM)
        return 'undefined'
    except LibvirtError as exc:
        error = str(exc)
    except session.libvirt.libvirtError as exc:
        error = session.error_text(exc)
    ctx.warnings.append('VM "%s" runs on %s, but its stopped definition remains on the source: %s; remove it '
                        'there with "virsh undefine --keep-nvram %s"' % (ctx.name, ctx.opts['dest'], error, ctx.name))
    return 'remains'


def _resume_once(ctx, control, resume_flags, params, monitor, deadline):
    """One resume call in a worker thread, watched with progress records: None when it completed,
    'running' when it outlives the deadline, else libvirt's error."""
    lv = session.require_libvirt()
    dom = session.lookup_domain(ctx.src, ctx.name)
    if dom is None:
        return 'VM "%s" is no longer defined on the source' % ctx.name
    watched = control.lookupByUUIDString(dom.UUIDString())
    box = {}
    done = threading.Event()

    def worker():
        try:
            dom.migrateToURI3(ctx.dest_uri, params, resume_flags)
        except lv.libvirtError as exc:
            box['error'] = session.error_text(exc)
        except Exception as exc:  # pylint: disable=broad-except
            box['error'] = '%s: %s' % (type(exc).__name__, exc)
        finally:
            done.set()

    thread = threading.Thread(target=worker, name='resume-%s' % ctx.name)
    thread.daemon = True
    thread.start()
    while not done.is_set() and ctx.clock() < deadline:
        try:
            stats = watched.jobStats(0)
        except lv.libvirtError:
            stats = None
        monitor.observe(stats, ctx.clock())
        done.wait(ctx.opts['poll_interval'])
    if not done.is_set():
        return 'running'
    return box.get('error')
