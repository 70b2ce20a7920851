# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The destination's own disk definitions: a disk moves into a storage pool of the destination.

A disk named in ``dest_disks`` gets a volume in a libvirt pool of the destination, made here
before the move (so a name clash or a full pool stops the call with nothing changed), and a
disk element pointing at it: a file for a directory pool, an RBD network disk with the
destination's own Ceph user for an rbd pool. libvirt copies the disk's content into it during
the live move (NBD, as storage=copy) and defines the VM there with the rewritten disks
(VIR_MIGRATE_PARAM_DEST_XML and PERSIST_XML). The source's disk is left as it was.

An RBD disk that stays where it is but is opened on the destination through an rbd pool on the
same Ceph pool gets that pool's user, secret and monitors (each hypervisor has a Ceph user of
its own), without a copy.

A read-only disk (a cloud-init seed) cannot be copied by libvirt during a move. Its content
never changes, so it is copied before the move instead: read here (a file, or an RBD image
through QEMU's rbd driver as this host's Ceph user) and uploaded through libvirt into a new
volume of a file pool of the destination. When the destination's pool already has a volume of
that name and size (the image the disk was copied from when the VM left), that one is opened.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from xml.dom import minidom

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.pools import (
    FILE_POOLS, has_volume, locate, pool_names, pool_view, stored_bytes)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.rbd_volume import RbdPool, RbdVolumeError

# vm_migrate's dest_disks suboptions
SPEC = dict(
    target=dict(type='str', required=True),
    pool=dict(type='str', required=True),
    volume=dict(type='str'),
    format=dict(type='str', choices=['raw', 'qcow2']),
)
POOL_TYPES = FILE_POOLS + ('rbd',)
MIB = 1024 * 1024
CHUNK = 1024 * 1024          # bytes per read of a read-only disk's upload


def validate(specs):
    """Problems with a dest_disks list as given (before any host is asked)."""
    if not isinstance(specs, list):
        return ['dest_disks must be a list of {target, pool, volume, format}']
    problems = []
    seen = set()
    for spec in specs:
        if not isinstance(spec, dict) or not spec.get('target') or not spec.get('pool'):
            problems.append('each dest_disks entry needs target (the disk, e.g. vda) and pool (a storage pool '
                            'of the destination), not "%s"' % (spec,))
            continue
        unknown = sorted(set(spec) - set(SPEC))
        if unknown:
            problems.append('dest_disks entry %s: unknown key(s) %s' % (spec['target'], ', '.join(unknown)))
        if spec['target'] in seen:
            problems.append('dest_disks names disk %s twice' % spec['target'])
        seen.add(spec['target'])
        volume = spec.get('volume')
        if volume is not None and (not volume or '/' in volume or volume in ('.', '..')):
            problems.append('dest_disks %s: volume must be a plain name in the pool, not "%s"' % (spec['target'], volume))
        if spec.get('format') not in (None, 'raw', 'qcow2'):
            problems.append('dest_disks %s: format must be raw or qcow2, not "%s"' % (spec['target'], spec['format']))
    return problems


def _rbd_source(view, image):
    source = ET.Element('source', protocol='rbd', name='%s/%s' % (view['ceph_pool'], image))
    for host, port in view['hosts']:
        attrs = {'name': host}
        if port:
            attrs['port'] = port
        ET.SubElement(source, 'host', attrs)
    return source


def _auth(view):
    if not view['username']:
        return None
    auth = ET.Element('auth', username=view['username'])
    if view['secret_uuid']:
        ET.SubElement(auth, 'secret', type='ceph', uuid=view['secret_uuid'])
    return auth


def disk_element(old, view, volume, fmt):
    """A copy of the disk element ``old`` (target, bus, address, boot order... kept) whose storage
    is ``volume`` in the destination's pool ``view``."""
    new = copy.deepcopy(old)
    for child in list(new):
        if child.tag in ('source', 'auth', 'backingStore'):
            new.remove(child)
    if view['type'] == 'rbd':
        new.set('type', 'network')
        parts = [_rbd_source(view, volume), _auth(view)]
    else:
        new.set('type', 'file')
        parts = [ET.Element('source', file='%s/%s' % (view['path'].rstrip('/'), volume))]
    driver = new.find('driver')
    if driver is None:
        driver = ET.Element('driver', name='qemu')
        new.insert(0, driver)
    driver.set('type', fmt)
    at = list(new).index(driver) + 1
    for part in parts:
        if part is not None:
            new.insert(at, part)
            at += 1
    return new


def _disk_elements(root):
    return dict((d.find('target').get('dev'), d) for d in root.findall('./devices/disk') if d.find('target') is not None)


def plan(verdict, src_dom, dst_conn, vm_xml, specs, vm_name):
    """Check every dest_disks entry (findings go to the pre-flight ``verdict``) and return the moves:
    [{'target', 'pool', 'volume', 'copy', 'element', 'capacity', 'allocation', 'where'}]."""
    root = ET.fromstring(vm_xml)
    elements = _disk_elements(root)
    moves = []
    for spec in specs:
        move = _plan_one(verdict, src_dom, dst_conn, elements, spec, vm_name)
        if move:
            moves.append(move)
    named = set(s['target'] for s in specs)
    for target, elem in sorted(elements.items()):
        if target not in named:
            move = _rbd_user(verdict, dst_conn, target, elem)
            if move:
                moves.append(move)
    return moves


def _plan_one(verdict, src_dom, dst_conn, elements, spec, vm_name):
    lv = session.require_libvirt()
    target, pool = spec['target'], spec['pool']
    elem = elements.get(target)
    if elem is None:
        verdict.add('dest_disk', 'fail', 'dest_disks names disk %s, but the VM has %s'
                    % (target, ', '.join(sorted(elements)) or 'no disks'), target=target)
        return None
    readonly = elem.find('readonly') is not None
    if elem.find('shareable') is not None or not (elem.get('device', 'disk') == 'disk' or readonly):
        verdict.add('dest_disk', 'fail', 'disk %s is a %s: only a disk of this VM alone can move into a pool'
                    % (target, 'shared disk' if elem.find('shareable') is not None else 'writable %s'
                       % elem.get('device')), target=target)
        return None
    view = pool_view(dst_conn, pool)
    if view is None:
        verdict.add('dest_disk', 'fail', 'disk %s: the destination has no storage pool "%s" (it has %s)'
                    % (target, pool, ', '.join(pool_names(dst_conn)) or 'none'), target=target)
        return None
    if not view['active']:
        verdict.add('dest_disk', 'fail', 'disk %s: storage pool "%s" on the destination is not running '
                    '(virsh pool-start %s)' % (target, pool, pool), target=target)
        return None
    if view['type'] not in POOL_TYPES:
        verdict.add('dest_disk', 'fail', 'disk %s: storage pool "%s" is of type %s; a disk can move into a pool of '
                    'type %s' % (target, pool, view['type'], ', '.join(POOL_TYPES)), target=target)
        return None
    if readonly:
        return _plan_readonly(verdict, src_dom, elem, spec, view, vm_name)
    fmt = spec.get('format') or ('raw' if view['type'] == 'rbd' else 'qcow2')
    placed = _volume(verdict, spec, view, vm_name, fmt)
    if placed is None:
        return None
    volume, where = placed
    if _is_current_source(elem, view, volume):
        new = disk_element(elem, view, volume, fmt)
        verdict.add('dest_disk', 'ok', 'disk %s stays on %s, opened by the destination through pool "%s"'
                    % (target, where, pool), target=target)
        return {'target': target, 'pool': pool, 'volume': volume, 'where': where, 'copy': False,
                'element': new, 'capacity': None, 'allocation': None, 'format': fmt}
    if has_volume(view, volume):
        verdict.add('dest_disk', 'fail', 'disk %s: pool "%s" on the destination already has a volume "%s" (%s): '
                    'name another volume, or remove that one if it is not in use' % (target, pool, volume, where),
                    target=target)
        return None
    try:
        capacity, allocation = src_dom.blockInfo(target, 0)[0], copied_bytes(src_dom, target, elem)
    except lv.libvirtError as exc:
        verdict.add('dest_disk', 'fail', 'disk %s: its size cannot be read on the source: %s'
                    % (target, session.error_text(exc)), target=target)
        return None
    available = view['available'] or 0
    # a file pool must hold what the disk has written; an RBD image is thin, the cluster's own quotas hold
    if view['type'] != 'rbd' and available < allocation:
        verdict.add('dest_disk', 'fail', 'disk %s: pool "%s" on the destination has %d MiB free, the disk has %d '
                    'MiB allocated (%d MiB virtual)' % (target, pool, available // MIB, allocation // MIB,
                                                        capacity // MIB), target=target)
        return None
    if view['type'] != 'rbd' and available < capacity:
        verdict.add('dest_disk', 'warn', 'disk %s: pool "%s" on the destination has %d MiB free, less than the '
                    'disk\'s %d MiB virtual size: it fills up if the guest writes that much'
                    % (target, pool, available // MIB, capacity // MIB), target=target)
    verdict.add('dest_disk', 'ok', 'disk %s will be copied to %s (%s, %d MiB virtual, %d MiB allocated)'
                % (target, where, fmt, capacity // MIB, allocation // MIB), target=target)
    return {'target': target, 'pool': pool, 'volume': volume, 'where': where, 'copy': True,
            'element': disk_element(elem, view, volume, fmt), 'capacity': capacity, 'allocation': allocation,
            'format': fmt}


def _volume(verdict, spec, view, vm_name, fmt):
    """(volume, where) of a disk in the destination's pool ``view``, or None (refused in ``verdict``)."""
    if view['type'] == 'rbd' and fmt != 'raw':
        verdict.add('dest_disk', 'fail', 'disk %s: an RBD image holds a raw disk, not %s' % (spec['target'], fmt),
                    target=spec['target'])
        return None
    volume = spec.get('volume') or '%s-%s%s' % (vm_name, spec['target'], '' if view['type'] == 'rbd' else '.' + fmt)
    where = ('rbd:%s/%s' % (view['ceph_pool'], volume) if view['type'] == 'rbd'
             else '%s/%s' % (view['path'].rstrip('/'), volume))
    return volume, where


def _plan_readonly(verdict, src_dom, elem, spec, view, vm_name):
    """A read-only disk: its content is uploaded before the move (file pools), or the destination
    opens the image of that name and size it already has."""
    lv = session.require_libvirt()
    target, pool = spec['target'], spec['pool']
    driver = elem.find('driver')
    fmt = (driver.get('type') if driver is not None else None) or 'raw'
    if spec.get('format') not in (None, fmt):
        verdict.add('dest_disk', 'fail', 'disk %s is read-only and keeps its format (%s), not %s'
                    % (target, fmt, spec['format']), target=target)
        return None
    placed = _volume(verdict, spec, view, vm_name, fmt)
    if placed is None:
        return None
    volume, where = placed
    move = {'target': target, 'pool': pool, 'volume': volume, 'where': where, 'copy': False, 'preload': None,
            'element': disk_element(elem, view, volume, fmt), 'capacity': None, 'allocation': None, 'format': fmt}
    if _is_current_source(elem, view, volume):
        verdict.add('dest_disk', 'ok', 'read-only disk %s stays on %s, opened by the destination through pool "%s"'
                    % (target, where, pool), target=target)
        return move
    try:
        capacity = src_dom.blockInfo(target, 0)[0]
    except lv.libvirtError as exc:
        verdict.add('dest_disk', 'fail', 'disk %s: its size cannot be read on the source: %s'
                    % (target, session.error_text(exc)), target=target)
        return None
    if has_volume(view, volume):
        there = view['handle'].storageVolLookupByName(volume).info()[1]
        if there != capacity:
            verdict.add('dest_disk', 'fail', 'read-only disk %s: pool "%s" on the destination has a volume "%s" of %d '
                        'bytes, the disk has %d: it is not this disk\'s image; name another volume, or remove that one'
                        % (target, pool, volume, there, capacity), target=target)
            return None
        verdict.add('dest_disk', 'ok', 'read-only disk %s opens %s on the destination (same size; read-only '
                    'content is the image it was copied from)' % (target, where), target=target)
        return move
    if view['type'] == 'rbd':
        verdict.add('dest_disk', 'fail', 'read-only disk %s: libvirt\'s rbd pool cannot take uploaded content, and '
                    'pool "%s" has no image "%s": put it there first (vm_rbd_volume with a source)'
                    % (target, pool, volume), target=target)
        return None
    source = _readonly_source(src_dom, elem)
    if source is None:
        verdict.add('dest_disk', 'fail', 'read-only disk %s: its content cannot be read here (only a file, or an RBD '
                    'image of a running rbd pool of this host, can be copied before the move)' % target, target=target)
        return None
    if (view['available'] or 0) < capacity:
        verdict.add('dest_disk', 'fail', 'disk %s: pool "%s" on the destination has %d MiB free, the disk has %d MiB'
                    % (target, pool, (view['available'] or 0) // MIB, capacity // MIB), target=target)
        return None
    verdict.add('dest_disk', 'ok', 'read-only disk %s will be copied to %s before the move (%s, %d MiB)'
                % (target, where, fmt, capacity // MIB), target=target)
    move.update(preload=source, capacity=capacity, allocation=capacity)
    return move


def copied_bytes(src_dom, target, elem=None):
    """Bytes a storage copy of the source's disk ``target`` carries: what QEMU counts allocated,
    or for a disk a storage pool holds (an RBD image), what the pool counts when that is more."""
    if elem is None:
        elem = _disk_elements(ET.fromstring(src_dom.XMLDesc(0))).get(target)
    allocation = src_dom.blockInfo(target, 0)[1]
    if elem is None or elem.get('type') != 'network':
        return allocation
    # QEMU counts for a network disk only the highest offset written since it started
    return max(allocation, stored_bytes(src_dom.connect(), domxml.parse_disk(elem)))


def _readonly_source(src_dom, elem):
    """Where a read-only disk's content is read on the source: {'file': path} or {'rbd_pool', 'volume'}."""
    disk = domxml.parse_disk(elem)
    if disk['type'] == 'file' and disk['path']:
        return {'file': disk['path']}
    place = locate(src_dom.connect(), disk) if disk['type'] == 'network' else None
    if place:
        return {'rbd_pool': place['pool'], 'volume': place['volume']}
    return None


def _is_current_source(elem, view, volume):
    source = elem.find('source')
    if source is None:
        return False
    if view['type'] == 'rbd':
        return elem.get('type') == 'network' and source.get('name') == '%s/%s' % (view['ceph_pool'], volume)
    return elem.get('type') == 'file' and source.get('file') == '%s/%s' % (view['path'].rstrip('/'), volume)


def _rbd_user(verdict, dst_conn, target, elem):
    """An RBD disk not named in dest_disks: opened on the destination as its own Ceph user when the
    destination has an rbd pool on the same Ceph pool with another user."""
    source = elem.find('source')
    if elem.get('type') != 'network' or source is None or source.get('protocol') != 'rbd':
        return None
    ceph_pool, _sep, image = (source.get('name') or '').partition('/')
    auth = elem.find('auth')
    user = auth.get('username') if auth is not None else None
    for name in pool_names(dst_conn):
        view = pool_view(dst_conn, name)
        if not view or view['type'] != 'rbd' or view['ceph_pool'] != ceph_pool or not view['active']:
            continue
        if view['username'] == user:
            return None
        verdict.add('dest_disk', 'ok', 'disk %s stays on Ceph (%s), opened by the destination as client.%s '
                    '(pool "%s")' % (target, source.get('name'), view['username'], name), target=target)
        return {'target': target, 'pool': name, 'volume': image, 'where': 'rbd:%s' % source.get('name'),
                'copy': False, 'element': disk_element(elem, view, image, 'raw'), 'capacity': None,
                'allocation': None, 'format': 'raw'}
    secret = auth.find('secret') if auth is not None else None
    if secret is None or _has_secret(dst_conn, secret.get('uuid')):
        return None     # no cephx, or the destination holds the same secret: it opens the disk as it is
    verdict.add('dest_disk', 'fail', 'disk %s is on Ceph (%s) and the destination has no running rbd pool on Ceph '
                'pool "%s", nor the disk\'s secret %s: make it a Ceph client (role ceph_client), or copy the disk '
                'into one of its pools with dest_disks' % (target, source.get('name'), ceph_pool, secret.get('uuid')),
                target=target)
    return None


def _has_secret(conn, uuid):
    lv = session.require_libvirt()
    try:
        conn.secretLookupByUUIDString(uuid)
        return True
    except lv.libvirtError:
        return False


def rewrite(xml, moves):
    """The domain definition ``xml`` with each moved disk replaced by its destination element.
    Everything else stays as written (minidom keeps each namespace declaration where it was, so the
    metadata of the vm role and vm_home reads back the same on the destination)."""
    doc = minidom.parseString(xml)
    by_target = dict((m['target'], m['element']) for m in moves)
    for devices in _children(doc.documentElement, 'devices'):
        for disk in _children(devices, 'disk'):
            targets = _children(disk, 'target')
            dev = targets[0].getAttribute('dev') if targets else None
            if dev in by_target:
                new = minidom.parseString(ET.tostring(by_target[dev], encoding='unicode')).documentElement
                devices.replaceChild(doc.importNode(new, True), disk)
    return doc.documentElement.toxml()


def _children(node, tag):
    return [n for n in node.childNodes if n.nodeType == n.ELEMENT_NODE and n.tagName == tag]


def migrate_params(src_dom, moves):
    """migrateToURI3 parameters that give the destination its disks (live and persistent definitions).
    They hold the VM's whole definition: never shown in a result."""
    lv = session.require_libvirt()
    secure = lv.VIR_DOMAIN_XML_SECURE | lv.VIR_DOMAIN_XML_MIGRATABLE
    params = {'destination_xml': rewrite(src_dom.XMLDesc(secure), moves)}
    if src_dom.isPersistent():
        params['persistent_xml'] = rewrite(src_dom.XMLDesc(secure | lv.VIR_DOMAIN_XML_INACTIVE), moves)
    return params


def volume_xml(move):
    vol = ET.Element('volume')
    ET.SubElement(vol, 'name').text = move['volume']
    ET.SubElement(vol, 'capacity', unit='bytes').text = str(move['capacity'])
    if move['format'] == 'qcow2':
        ET.SubElement(ET.SubElement(vol, 'target'), 'format', type='qcow2')
    return ET.tostring(vol, encoding='unicode')


def create_volumes(dst_conn, moves, src_conn=None, timeout=1800):
    """Make the destination volumes of the copied disks, and fill those of read-only disks; returns
    them (for remove_volumes). A failure removes those already made and raises LibvirtError naming
    the disk."""
    lv = session.require_libvirt()
    made = []
    for move in moves:
        if not (move['copy'] or move.get('preload')):
            continue
        try:
            pool = dst_conn.storagePoolLookupByName(move['pool'])
            made.append((move, pool.createXML(volume_xml(move), 0)))
            if move.get('preload'):
                _upload(dst_conn, made[-1][1], move, src_conn, timeout)
        except (lv.libvirtError, RbdVolumeError, OSError) as exc:
            remove_volumes(made)
            raise session.LibvirtError('cannot %s volume "%s" in pool "%s" on the destination for disk %s: %s'
                                       % ('fill' if made and made[-1][0] is move else 'create', move['volume'],
                                          move['pool'], move['target'],
                                          session.error_text(exc) if isinstance(exc, lv.libvirtError) else exc))
    return made


def _upload(dst_conn, vol, move, src_conn, timeout):
    """A read-only disk's content into its new volume: a file as it is, an RBD image exported first
    (as this host's Ceph user) into a private temporary file."""
    source = move['preload']
    tmp = None
    try:
        path = source.get('file')
        if path is None:
            tmp = tempfile.mkdtemp(prefix='skillvl-preload-')
            path = os.path.join(tmp, 'disk.raw')
            RbdPool(src_conn, source['rbd_pool'], timeout).export(source['volume'], path)
        stream = dst_conn.newStream(0)
        with open(path, 'rb') as handle:
            vol.upload(stream, 0, os.path.getsize(path), 0)
            try:
                stream.sendAll(lambda _stream, nbytes, fh: fh.read(min(nbytes, CHUNK)), handle)
                stream.finish()
            except BaseException:
                stream.abort()
                raise
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def remove_volumes(made):
    """Delete volumes made for a move that did not happen; returns what could not be removed."""
    left = []
    for move, vol in made:
        try:
            vol.delete(0)
        except Exception as exc:  # pylint: disable=broad-except
            left.append('%s (%s)' % (move['where'], exc))
    return left


def report(moves):
    """The result's view of the moves (no XML)."""
    return [dict([(k, m[k]) for k in ('target', 'pool', 'volume', 'where', 'copy', 'format', 'capacity')]
                 + [('copied_before', bool(m.get('preload')))]) for m in moves]
