# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A running VM's disk layers: cut a new, empty top layer above what it has written, and merge it back.

Scaling away (issue 10) cuts before the move: the VM goes on writing into ``<stem>.away.qcow2``
while the layer below is frozen. The frozen layer is copied to the workstation while the VM
still runs at home (vm_disk_fetch) and stays at home untouched, so the live move copies only
the top layer (storage copy_incremental) and the way back only what the VM wrote since the cut.
At home again the top layer is merged down (an active block commit, then a pivot) and removed:
the chain is what it was before the trip.

Only writable file disks are cut (qcow2 or raw below, the top is always qcow2); read-only
disks (a cloud-init seed), network and block disks are left as they are and named in the result.
Plain Python: a planner or an experiment runner calls ``ensure``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml, session

TOP_SUFFIX = '.away.qcow2'
STATES = ('cut', 'merged')

SNAPSHOT_NO_METADATA, SNAPSHOT_DISK_ONLY, SNAPSHOT_ATOMIC = 4, 16, 128
COMMIT_SHALLOW, COMMIT_ACTIVE = 1, 4
JOB_ABORT_PIVOT = 2


def top_path(path):
    """The top layer a cut puts above ``path``: same directory, ``<stem>.away.qcow2``."""
    return os.path.splitext(path)[0] + TOP_SUFFIX


def is_top(path):
    return bool(path) and path.endswith(TOP_SUFFIX)


def layout(disks):
    """Each disk of a parsed domain as (cuttable, entry): the entry says its top and the layer below."""
    out = []
    for disk in disks:
        entry = {'target': disk['target'], 'path': disk['path'] or disk['name'], 'format': disk['format']}
        if disk['device'] != 'disk' or disk['type'] != 'file' or disk['empty'] or disk['readonly'] \
                or disk['shareable'] or disk['format'] not in ('qcow2', 'raw'):
            entry['skipped'] = ('read-only' if disk['readonly'] else 'shareable' if disk['shareable']
                                else 'not a writable file disk (%s %s)' % (disk['type'], disk['device']))
            out.append((False, entry))
            continue
        chain = [b['path'] for b in disk['backing'] if b.get('path')]
        if is_top(disk['path']):
            entry.update(top=disk['path'], below=chain[0] if chain else None, base=chain[1:], cut=True,
                         below_format=(disk['backing'][0].get('format') if disk['backing'] else None) or 'qcow2')
        else:
            entry.update(top=top_path(disk['path']), below=disk['path'], base=chain, cut=False,
                         below_format=disk['format'])
        out.append((True, entry))
    return out


def snapshot_xml(entries, skipped_targets):
    parts = ["<disk name='%s' snapshot='external'><driver type='qcow2'/><source file='%s'/></disk>"
             % (_attr(e['target']), _attr(e['top'])) for e in entries]
    parts += ["<disk name='%s' snapshot='no'/>" % _attr(t) for t in skipped_targets]
    return '<domainsnapshot><description>skillvl: cut for scale-away</description><disks>%s</disks></domainsnapshot>' \
        % ''.join(parts)


def _attr(text):
    return (text or '').replace('&', '&amp;').replace("'", '&apos;').replace('<', '&lt;').replace('>', '&gt;')


class Layers(object):
    """Cut and merge on one running domain (``exists``/``remove``/``clock``/``sleep`` for tests)."""

    def __init__(self, dom, exists=os.path.exists, remove=os.unlink, clock=time.monotonic, sleep=time.sleep):
        self.dom, self.exists, self.remove, self.clock, self.sleep = dom, exists, remove, clock, sleep
        self.lv = session.require_libvirt()

    def disks(self):
        return layout(domxml.parse_domain(self.dom.XMLDesc(0))['disks'])

    def sizes_mib(self, entries):
        """The guest-visible size of each disk, MiB (what a new top layer needs)."""
        out = {}
        for entry in entries:
            try:
                out[entry['target']] = self.dom.blockInfo(entry['target'], 0)[0] // (1024 * 1024)
            except self.lv.libvirtError:
                out[entry['target']] = None
        return out

    def cut(self, entries, skipped):
        for entry in entries:
            if self.exists(entry['top']):
                raise session.LibvirtError(
                    'VM %s: %s exists already but is not its disk %s: a leftover of an earlier trip? '
                    'remove it (vm_disk state=absent) and cut again' % (self.dom.name(), entry['top'], entry['target']))
        flags = SNAPSHOT_NO_METADATA | SNAPSHOT_DISK_ONLY | SNAPSHOT_ATOMIC
        try:
            self.dom.snapshotCreateXML(snapshot_xml(entries, skipped), flags)
        except self.lv.libvirtError as exc:
            raise session.translate(exc, 'cannot cut the disk layers of VM %s' % self.dom.name())

    def merge(self, entry, timeout):
        """Commit the top layer into the one below, pivot to it, remove the top file."""
        name, target = self.dom.name(), entry['target']
        try:
            self.dom.blockCommit(target, entry['below'], entry['top'], 0, COMMIT_SHALLOW | COMMIT_ACTIVE)
        except self.lv.libvirtError as exc:
            raise session.translate(exc, 'cannot merge the top layer of disk %s of VM %s' % (target, name))
        deadline = self.clock() + timeout
        while True:
            info = self.dom.blockJobInfo(target, 0)
            if info and info.get('end') and info.get('cur') == info.get('end'):
                break
            if not info:
                raise session.LibvirtError('VM %s: the merge of disk %s ended without reaching its pivot; '
                                           'the VM still writes %s' % (name, target, entry['top']))
            if self.clock() > deadline:
                self.dom.blockJobAbort(target, 0)
                raise session.LibvirtError('VM %s: the merge of disk %s did not finish within %d s; stopped, '
                                           'the VM still writes %s' % (name, target, timeout, entry['top']))
            self.sleep(0.5)
        try:
            self.dom.blockJobAbort(target, JOB_ABORT_PIVOT)
        except self.lv.libvirtError as exc:
            raise session.translate(exc, 'cannot pivot disk %s of VM %s to %s' % (target, name, entry['below']))
        for _attempt in range(60):          # the pivot completes asynchronously
            now = dict((e['target'], e['path']) for ok, e in self.disks() if ok)
            if now.get(target) == entry['below']:
                break
            self.sleep(0.5)
        else:
            raise session.LibvirtError('VM %s: disk %s did not pivot to %s' % (name, target, entry['below']))
        if self.exists(entry['top']):
            self.remove(entry['top'])


def ensure(name, state, timeout=600, uri='qemu:///system', check_mode=False, layers_factory=Layers):
    """Bring the disk layers of running VM ``name`` to ``state`` (cut or merged); a result dict."""
    if state not in STATES:
        raise session.LibvirtError('state must be one of %s, not %r' % (', '.join(STATES), state))
    conn = session.connect(uri, 'the libvirt of this host (%s)' % uri, keepalive=False)
    try:
        dom = session.lookup_domain(conn, name)
        if dom is None:
            raise session.LibvirtError('VM "%s" is not defined on this host' % name)
        if not session.is_active(dom):
            raise session.LibvirtError('VM %s is not running here: its layers are cut and merged live' % name)
        layers = layers_factory(dom)
        listed = layers.disks()
        disks = [e for ok, e in listed if ok]
        skipped = [e for ok, e in listed if not ok]
        if not disks:
            verb = 'cut' if state == 'cut' else 'merge'
            raise session.LibvirtError('VM %s has no writable file disk to %s' % (name, verb))
        if state == 'cut':
            todo = [e for e in disks if not e['cut']]
            if todo and not check_mode:
                layers.cut(todo, [e['target'] for e in skipped] + [e['target'] for e in disks if e['cut']])
        else:
            todo = [e for e in disks if e['cut']]
            if not check_mode:
                for entry in todo:
                    layers.merge(entry, timeout)
        if check_mode:
            after = _planned(disks, state)
        else:
            after = [e for ok, e in layers.disks() if ok] if todo else disks
        sizes = layers.sizes_mib(disks)
        return {'changed': bool(todo), 'name': name, 'state': state,
                'disks': [_view(e, sizes) for e in after], 'skipped': skipped,
                'diff': {'before': _chains(disks), 'after': _chains(after)}}
    finally:
        session.close(conn)


def _planned(disks, state):
    out = []
    for e in disks:
        if state == 'cut' and not e['cut']:
            out.append(dict(e, path=e['top'], cut=True))
        elif state == 'merged' and e['cut']:
            out.append(dict(e, path=e['below'], top=top_path(e['below']), below=e['below'], cut=False))
        else:
            out.append(e)
    return out


def _view(entry, sizes):
    """What a caller needs: the disk, the file the VM writes, the layer below it (frozen when cut),
    the layers under that (a base image) and the disk's size."""
    view = {'target': entry['target'], 'path': entry['path'], 'cut': entry['cut'], 'base': entry['base'],
            'size_mib': sizes.get(entry['target'])}
    if entry['cut']:
        view.update(top=entry['top'], below=entry['below'], below_format=entry['below_format'])
    return view


def _chains(disks):
    return ''.join('%s: %s\n' % (e['target'], ' <- '.join(p for p in (e['below'], e['top']) if p) if e['cut']
                                 else e['path']) for e in disks)
