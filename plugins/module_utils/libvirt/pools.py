# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's libvirt storage pools as the movers and the volume modules see them: type, target,
Ceph pool, user and secret, and whether a volume is there."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import xml.etree.ElementTree as ET

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

FILE_POOLS = ('dir', 'fs', 'netfs')   # pools whose volumes are files in the pool's target directory


def pool_view(conn, name):
    """What a move needs to know about the storage pool ``name`` of a host, or None when it has none."""
    lv = session.require_libvirt()
    try:
        pool = conn.storagePoolLookupByName(name)
        root = ET.fromstring(pool.XMLDesc(0))
        active = bool(pool.isActive())
        available = pool.info()[3] if active else None
    except lv.libvirtError:
        return None
    auth = root.find('./source/auth')
    secret = auth.find('secret') if auth is not None else None
    return {
        'name': name, 'handle': pool, 'type': root.get('type'), 'active': active, 'available': available,
        'path': root.findtext('./target/path'), 'ceph_pool': root.findtext('./source/name'),
        'hosts': [(h.get('name'), h.get('port')) for h in root.findall('./source/host')],
        'username': auth.get('username') if auth is not None else None,
        'secret_uuid': secret.get('uuid') if secret is not None else None,
    }


def pool_names(conn):
    try:
        return sorted(p.name() for p in conn.listAllStoragePools(0))
    except Exception:  # pylint: disable=broad-except
        return []


def has_volume(view, volume):
    """Whether the pool holds ``volume``, after a refresh: libvirt lists only what it has seen (an
    image made with the rbd tool, a file copied in by hand, are there but not yet listed)."""
    lv = session.require_libvirt()
    try:
        view['handle'].refresh(0)
    except lv.libvirtError:
        pass
    try:
        view['handle'].storageVolLookupByName(volume)
        return True
    except lv.libvirtError:
        return False


def locate(conn, disk):
    """The storage pool and volume of this host that hold a disk (an entry of domxml's disk list),
    {'pool', 'volume'}, or None when no running pool of this host holds it."""
    rbd = disk['type'] == 'network' and disk['protocol'] == 'rbd' and disk['name']
    if not rbd and not (disk['type'] == 'file' and disk['path']):
        return None
    for name in pool_names(conn):
        view = pool_view(conn, name)
        if not view or not view['active']:
            continue
        if rbd and view['type'] == 'rbd':
            ceph_pool, _sep, image = disk['name'].partition('/')
            if view['ceph_pool'] == ceph_pool:
                return {'pool': name, 'volume': image}
        elif not rbd and view['type'] in FILE_POOLS and view['path'] \
                and os.path.dirname(disk['path']) == os.path.normpath(view['path']):
            return {'pool': name, 'volume': os.path.basename(disk['path'])}
    return None


def stored_bytes(conn, disk):
    """Bytes a disk (an entry of domxml's disk list) holds as the storage pool of this host that
    holds it counts them (an RBD image: its used objects with fast-diff, else its whole size), 0
    when no running pool holds it. An image made outside libvirt is listed after a refresh."""
    place = locate(conn, disk)
    if place is None:
        return 0
    lv = session.require_libvirt()
    try:
        pool = conn.storagePoolLookupByName(place['pool'])
        try:
            volume = pool.storageVolLookupByName(place['volume'])
        except lv.libvirtError:
            pool.refresh(0)
            volume = pool.storageVolLookupByName(place['volume'])
        return volume.info()[2]     # libvirt refreshes the volume for this
    except lv.libvirtError:
        return 0
