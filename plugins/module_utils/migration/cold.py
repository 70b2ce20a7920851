# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cold move: shut the VM down cleanly, move disks and definition, start it on the destination.

Used when a live move is impossible (emulator, machine type, CPU) and the caller allows it,
or on request (mode=cold). The definition is adapted to the destination where pre-flight
found a difference. Disks are copied only once the VM is confirmed shut off, and the whole
move is bounded by ``timeout``. If anything fails after the shutdown, what was copied and
defined at the destination is removed and the VM is started again on the source: it is
never left nowhere, and a retry starts from a clean destination.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import preflight
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

CHUNK = 4 * 1024 * 1024
START_WAIT = 60
OFF_WAIT = 30     # s for a powered-off VM to show as shut off


def _wait(clock, sleep, predicate, timeout, step=0.5):
    deadline = clock() + timeout
    while clock() < deadline:
        if predicate():
            return True
        sleep(step)
    return predicate()


def adapt_definition(xml, verdict, dst_caps, vm):
    """The definition for the destination, and the list of changes made."""
    failed = set(r['check'] for r in verdict.failures)
    guest = dst_caps['guests'].get(vm['arch']) or {'emulators': set(), 'machines': set()}
    changes = []
    emulator = machine = None
    if 'emulator' in failed and guest['emulators']:
        emulator = sorted(guest['emulators'])[0]
        changes.append('emulator %s -> %s' % (vm['emulator'], emulator))
    if 'machine_type' in failed:
        family = domxml.machine_family(vm['machine'])
        if family and family in guest['machines']:
            machine = family
        else:
            raise MigrationError('machine type %s has no counterpart on the destination' % vm['machine'])
        changes.append('machine type %s -> %s (latest on the destination)' % (vm['machine'], machine))
    drop_cpu = 'cpu' in failed
    if drop_cpu:
        changes.append('CPU %s removed: QEMU default CPU on the destination' % (vm['cpu_model'] or vm['cpu_mode']))
    return domxml.adjust_for_host(xml, emulator=emulator, machine=machine, drop_cpu=drop_cpu), changes


def _copy_disk(src, dst, path, deadline, clock=time.monotonic, created=None):
    """Copy one disk file to the same path on the destination through libvirt streams.

    Fails (removing the partial copy) when ``clock()`` passes ``deadline``; appends the
    destination volume to ``created`` once it is complete, for the caller's clean-up.
    """
    lv = session.require_libvirt()
    try:
        svol = src.storageVolLookupByPath(path)
    except lv.libvirtError:
        raise MigrationError('disk %s is not in a storage pool on the source, so libvirt cannot read it' % path)
    pools = preflight.pool_targets(dst)
    pool_name = pools.get(os.path.normpath(os.path.dirname(path)))
    if pool_name is None:
        raise MigrationError('%s is no storage pool on the destination' % os.path.dirname(path))
    pool = dst.storagePoolLookupByName(pool_name)
    try:
        existing = dst.storageVolLookupByPath(path)
    except lv.libvirtError:
        existing = None
    if existing is not None:
        raise MigrationError('the destination already has a disk at %s: refusing to overwrite it' % path)
    try:
        size = svol.info()[1]
        physical = svol.infoFlags(1)[2] if hasattr(svol, 'infoFlags') else size   # VIR_STORAGE_VOL_GET_PHYSICAL
    except lv.libvirtError:
        physical = os.path.getsize(path)
    vol_xml = ("<volume><name>%s</name><capacity unit='bytes'>%d</capacity>"
               "<target><format type='raw'/></target></volume>" % (os.path.basename(path), physical))
    dvol = pool.createXML(vol_xml, 0)
    sent = 0
    sstream = src.newStream(0)
    dstream = dst.newStream(0)
    try:
        svol.download(sstream, 0, 0, 0)
        dvol.upload(dstream, 0, 0, 0)
        # libvirt hands out stream data in pieces of up to 256 KiB: bound by bytes and time
        for _piece in range(physical // 512 + 16):
            if clock() > deadline:
                raise MigrationError('copying disk %s did not finish within the timeout (%d of %d bytes copied)'
                                     % (path, sent, physical))
            data = sstream.recv(CHUNK)
            if data == -2:
                continue
            if not data:
                break
            dstream.send(data)
            sent += len(data)
        if sent != physical:
            raise MigrationError('copying disk %s stopped after %d of %d bytes' % (path, sent, physical))
        sstream.finish()
        dstream.finish()
    except BaseException as exc:   # whatever stops the copy (SIGTERM included), no partial disk stays
        for stream in (sstream, dstream):
            try:
                stream.abort()
            except lv.libvirtError:
                pass
        try:
            dvol.delete(0)
        except lv.libvirtError:
            pass
        if isinstance(exc, lv.libvirtError):
            raise MigrationError('copying disk %s to the destination failed: %s' % (path, session.error_text(exc)))
        raise
    if created is not None:
        created.append((path, dvol))
    try:
        pool.refresh(0)
    except lv.libvirtError:
        pass
    return sent


def move(ctx, src_dom, pre):
    """Move the VM cold (context.MoveContext, preflight.Preflight); returns the result's fields
    or raises MigrationError with the VM back where it was."""
    lv = session.require_libvirt()
    opts = ctx.opts
    src, dst = ctx.src, ctx.dst
    verdict = pre.verdict
    name = opts['name']
    clock, sleep = ctx.clock, ctx.sleep
    started = clock()
    steps = []
    was_running = bool(src_dom.isActive())
    persistent = bool(src_dom.isPersistent())
    xml_flags = lv.VIR_DOMAIN_XML_SECURE | (lv.VIR_DOMAIN_XML_INACTIVE if persistent else lv.VIR_DOMAIN_XML_MIGRATABLE)
    xml = src_dom.XMLDesc(xml_flags)
    new_xml, changes = adapt_definition(xml, verdict, pre.dst_caps, pre.vm)
    if not persistent:
        try:
            src_dom = src.defineXML(xml)   # keep a definition so the VM can be restarted here if needed
            steps.append('made the transient VM persistent on the source')
        except lv.libvirtError as exc:
            raise MigrationError('cannot keep a definition of transient VM "%s": %s' % (name, session.error_text(exc)))

    deadline = started + opts['timeout']
    if was_running:
        _power_off(ctx, src_dom, deadline, steps)

    dst_dom = None
    copied = 0
    created = []
    try:
        state = session.domain_state(src_dom)[0]
        if state != 'shutoff':
            raise MigrationError('VM "%s" is %s on the source, not shut off: its disks are not copied while it '
                                 'may still write them' % (name, state))
        for disk in pre.disks:
            if disk['shared'] is True or disk['type'] != 'file' or not disk['path']:
                continue
            copied += _copy_disk(src, dst, disk['path'], deadline, clock, created)
            steps.append('copied disk %s (%s)' % (disk['target'], disk['path']))
        _check_deadline(clock, deadline, opts['timeout'], 'after copying the disks')
        try:
            dst_dom = dst.defineXML(new_xml)
        except lv.libvirtError as exc:
            raise MigrationError('the destination refused the definition: %s' % session.error_text(exc))
        steps.append('defined on %s' % opts['dest'])
        if was_running:
            try:
                dst_dom.create()
            except lv.libvirtError as exc:
                raise MigrationError('the VM does not start on the destination: %s' % session.error_text(exc))
            if not _wait(clock, sleep, dst_dom.isActive, max(1, min(START_WAIT, deadline - clock()))):
                raise MigrationError('the VM did not come up on the destination within the timeout')
            steps.append('started on %s' % opts['dest'])
    except BaseException as exc:   # SIGTERM (async kill) included: never leave the VM nowhere
        restored = _restore(src_dom, dst_dom, was_running, created)
        if not isinstance(exc, Exception):
            exc.outcome = 'the cold move was interrupted: %s' % restored
            raise
        text = exc.message if isinstance(exc, MigrationError) else session.error_text(exc)
        raise MigrationError('cold move of VM "%s" failed: %s; %s' % (name, text, restored),
                             state=ctx.where())
    if opts['undefine_source']:
        try:
            src_dom.undefineFlags(getattr(lv, 'VIR_DOMAIN_UNDEFINE_KEEP_NVRAM', 8))
            steps.append('undefined on the source (disk files kept)')
        except lv.libvirtError as exc:
            ctx.warnings.append('VM moved but its source definition remains: %s' % session.error_text(exc))
    elapsed = clock() - started
    reason = 'requested' if opts['mode'] == 'cold' else 'live move impossible: ' + '; '.join(
        r['message'] for r in verdict.failures)
    return {
        'msg': 'VM "%s" moved cold to %s in %.1f s (%s)' % (name, opts['dest'], elapsed, reason),
        'strategy_used': 'cold',
        'cold_reason': reason,
        'cold_steps': steps,
        'adjustments': changes,
        'figures': {'source': 'cold move', 'total_time_ms': int(elapsed * 1000),
                    'downtime_ms': int(elapsed * 1000) if was_running else 0,
                    'disk_bytes': copied, 'memory_bytes': 0, 'data_bytes': copied},
    }


def _check_deadline(clock, deadline, timeout, when):
    if clock() > deadline:
        raise MigrationError('the cold move did not finish within the timeout of %d s (%s)' % (timeout, when))


def _power_off(ctx, src_dom, deadline, steps):
    """Shut the VM down (or power it off when allowed); raises, VM still running, when it stays up."""
    lv = session.require_libvirt()
    opts = ctx.opts
    name = opts['name']
    clock, sleep = ctx.clock, ctx.sleep
    try:
        src_dom.shutdown()
    except lv.libvirtError as exc:
        raise MigrationError('cannot ask VM "%s" to shut down: %s' % (name, session.error_text(exc)),
                             state=ctx.where())
    wait = max(1, min(opts['cold_shutdown_timeout'], deadline - clock()))
    if _wait(clock, sleep, lambda: not src_dom.isActive(), wait):
        steps.append('shut down cleanly')
        return
    if not opts['cold_force_off']:
        raise MigrationError('VM "%s" did not shut down within %d s (no ACPI handling in the guest?); it is '
                             'still running on the source. Set cold_force_off=true to power it off'
                             % (name, wait), state=ctx.where())
    try:
        src_dom.destroy()
    except lv.libvirtError as exc:
        if src_dom.isActive():
            raise MigrationError('VM "%s" did not shut down within %d s and could not be powered off (%s); it is '
                                 'still running on the source, nothing was copied'
                                 % (name, wait, session.error_text(exc)), state=ctx.where())
    if not _wait(clock, sleep, lambda: not src_dom.isActive(), OFF_WAIT):
        raise MigrationError('VM "%s" is still running on the source after the power-off; nothing was copied'
                             % name, state=ctx.where())
    steps.append('did not shut down within %d s: powered off' % wait)


def _restore(src_dom, dst_dom, was_running, created=()):
    lv = session.require_libvirt()
    notes = []
    for path, vol in created:
        try:
            vol.delete(0)
            notes.append('the copy of %s on the destination was deleted' % path)
        except lv.libvirtError as exc:
            notes.append('the copy of %s on the destination could NOT be deleted (%s): remove it before a retry'
                         % (path, session.error_text(exc)))
    if dst_dom is not None:
        try:
            if dst_dom.isActive():
                dst_dom.destroy()
            dst_dom.undefine()
            notes.append('the destination definition was removed')
        except lv.libvirtError:
            notes.append('the destination definition could not be removed')
    if was_running:
        try:
            if not src_dom.isActive():
                src_dom.create()
            notes.append('the VM runs on the source again')
        except lv.libvirtError as exc:
            notes.append('restarting it on the source FAILED (%s): start it by hand' % session.error_text(exc))
    else:
        notes.append('the VM stays defined on the source')
    return ', '.join(notes)
