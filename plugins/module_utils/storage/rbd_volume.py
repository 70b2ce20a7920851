# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VM disks as RBD images of a hypervisor's libvirt rbd pool (the ceph_client role's).

libvirt makes and deletes the image, so the pool lists it and its capacity is what libvirt
reports. libvirt's rbd pool cannot upload, so content (a base image converted to raw, a
cloud-init seed) goes in through QEMU's own rbd driver (``qemu-img convert -n``), opened as the
pool's Ceph user with that user's keyring: the key is never on a command line. An image that
exists is never overwritten, resized or converted; an image a QEMU has open (a watcher on its
header, ``rbd status``) is never removed. Every Ceph command is bounded by a timeout: a client
that cannot reach a monitor retries for ever.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.command import ToolError, tool_factory
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.pools import has_volume, pool_view

MIB = 1024 * 1024
SOURCE_FORMATS = ('qcow2', 'raw')
KEYRING = '/etc/ceph/ceph.client.%s.keyring'
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$')
_TIMED_OUT = 124            # timeout(1)'s exit code


class RbdVolumeError(BackendError):
    """An RBD image cannot be read, created, filled or removed; nothing was changed unless said."""


def argument_spec():
    """The options of vm_rbd_volume, beside the backend that reads them."""
    return dict(
        pool=dict(type='str', required=True),
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        size_mib=dict(type='int'),
        source=dict(type='path'),
        source_format=dict(type='str', default='qcow2', choices=list(SOURCE_FORMATS)),
        uri=dict(type='str', default='qemu:///system'),
        timeout=dict(type='int', default=1800),
    )


class RbdPool(object):
    """A libvirt rbd pool of this host and the tools that reach its images as the pool's Ceph user."""

    def __init__(self, conn, name, timeout, tools=None, keyring_exists=os.path.exists):
        view = pool_view(conn, name)
        if view is None:
            raise RbdVolumeError('this host has no libvirt storage pool "%s": put it in the group ceph_clients and run '
                                 'the ceph_client role (playbooks/storage.yml)' % name)
        if view['type'] != 'rbd':
            raise RbdVolumeError('libvirt storage pool "%s" is a %s pool, not an rbd pool' % (name, view['type']))
        if not view['active']:
            raise RbdVolumeError('libvirt storage pool "%s" is not running: start it (virsh pool-start %s)'
                                 % (name, name))
        if not view['username'] or not keyring_exists(KEYRING % view['username']):
            raise RbdVolumeError('libvirt storage pool "%s" names no Ceph user with a keyring on this host (%s): '
                                 'the ceph_client role writes it' % (name, KEYRING % (view['username'] or 'USER')))
        self.view = view
        self.timeout = timeout
        make = tool_factory(tools)
        try:
            self.bounded, self.qemu_img, self.rbd = make('timeout'), make('qemu-img'), make('rbd')
        except ToolError as exc:
            raise RbdVolumeError(str(exc))

    @property
    def name(self):
        return self.view['name']

    def image(self, volume):
        """QEMU's name of the image, opened as the pool's Ceph user (its keyring, from ceph.conf's search path)."""
        return 'rbd:%s/%s:id=%s' % (self.view['ceph_pool'], volume, self.view['username'])

    def volume(self, volume):
        """The libvirt volume (after a pool refresh: an image made with the rbd tool shows too), or None."""
        if not has_volume(self.view, volume):
            return None
        return self.view['handle'].storageVolLookupByName(volume)

    def describe(self, volume):
        handle = self.volume(volume)
        if handle is None:
            return {'exists': False}
        return {'exists': True, 'capacity': int(handle.info()[1]),
                'path': '%s/%s' % (self.view['ceph_pool'], volume)}

    def create(self, volume, capacity):
        lv = session.require_libvirt()
        xml = "<volume><name>%s</name><capacity unit='bytes'>%d</capacity></volume>" % (volume, capacity)
        try:
            return self.view['handle'].createXML(xml, 0)
        except lv.libvirtError as exc:
            raise RbdVolumeError('cannot create RBD image %s in pool "%s": %s'
                                 % (volume, self.name, session.error_text(exc)))

    def delete(self, handle, volume):
        lv = session.require_libvirt()
        try:
            handle.delete(0)
        except lv.libvirtError as exc:
            raise RbdVolumeError('cannot remove RBD image %s from pool "%s": %s'
                                 % (volume, self.name, session.error_text(exc)))

    def watchers(self, volume):
        """The addresses of the clients (QEMUs) that have the image open."""
        out = self._run(self.rbd, ['--id', self.view['username'], 'status', '--format', 'json',
                                   '%s/%s' % (self.view['ceph_pool'], volume)],
                        'cannot ask Ceph who has RBD image %s open' % volume)
        try:
            return [w.get('address') for w in json.loads(out).get('watchers') or []]
        except (ValueError, AttributeError):
            raise RbdVolumeError('rbd status gave no JSON for %s: %s' % (volume, out.strip()[:200]))

    def source_size(self, source, fmt):
        out = self._run(self.qemu_img, ['info', '--output=json', '-f', fmt, source], 'cannot read %s' % source)
        try:
            return int(json.loads(out)['virtual-size'])
        except (ValueError, KeyError, TypeError):
            raise RbdVolumeError('qemu-img info gave no size for %s: %s' % (source, out.strip()[:200]))

    def fill(self, volume, source, fmt):
        """Write the source image's content into the (new, large enough) RBD image."""
        self._run(self.qemu_img, ['convert', '-n', '-f', fmt, '-O', 'raw', source, self.image(volume)],
                  'cannot write %s into RBD image %s' % (source, volume))

    def export(self, volume, path):
        """The RBD image's content into a new raw file (a read-only disk copied before a move)."""
        self._run(self.qemu_img, ['convert', '-f', 'raw', '-O', 'raw', self.image(volume), path],
                  'cannot read RBD image %s into %s' % (volume, path))

    def _run(self, tool, args, what):
        rc, out, err = self.bounded.run([str(self.timeout), tool.path] + args)
        if rc == _TIMED_OUT:
            raise RbdVolumeError('%s: no answer within %d s (can this host reach the Ceph monitors %s?)'
                                 % (what, self.timeout, ', '.join(host[0] for host in self.view['hosts'])))
        if rc != 0:
            raise RbdVolumeError('%s: %s' % (what, (err or out).strip()))
        return out


def _check(params):
    for key in ('pool', 'name'):
        if not _NAME.match(params.get(key) or ''):
            raise RbdVolumeError('%s %r must be a plain name of letters, digits, ".", "_" and "-"'
                                 % (key, params.get(key)))
    if (params.get('timeout') or 0) <= 0:
        raise RbdVolumeError('timeout must be a positive number of seconds, not %s' % params.get('timeout'))
    if params.get('state', 'present') == 'absent':
        return
    if params.get('size_mib') is not None and params['size_mib'] <= 0:
        raise RbdVolumeError('RBD image %s: size_mib must be positive, not %s' % (params['name'], params['size_mib']))
    source = params.get('source')
    if source is None and not params.get('size_mib'):
        raise RbdVolumeError('RBD image %s: size_mib or source is needed for a new image' % params['name'])
    if source is not None and not os.path.isfile(source):
        raise RbdVolumeError('RBD image %s: source %s is not a file on this host' % (params['name'], source))


def ensure_volume(params, check_mode=False, tools=None, connect=session.connect, keyring_exists=os.path.exists):
    """Bring one RBD image of the libvirt rbd pool params['pool'] to params['state']."""
    _check(params)
    uri = params.get('uri') or 'qemu:///system'
    conn = connect(uri, 'the libvirt of this host (%s)' % uri)
    try:
        pool = RbdPool(conn, params['pool'], params.get('timeout') or 1800, tools=tools, keyring_exists=keyring_exists)
        return _ensure(pool, params, check_mode)
    finally:
        session.close(conn)


def _ensure(pool, params, check_mode):
    volume = params['name']
    before = pool.describe(volume)
    if params.get('state', 'present') == 'absent':
        if not before['exists']:
            return _result(pool, volume, before, before, changed=False)
        users = pool.watchers(volume)
        if users:
            raise RbdVolumeError('RBD image %s is open by %s (a running VM): stop the VM first'
                                 % (volume, ', '.join(users)))
        if not check_mode:
            pool.delete(pool.volume(volume), volume)
        return _result(pool, volume, before, {'exists': False}, changed=True)

    size = params['size_mib'] * MIB if params.get('size_mib') else 0
    source = params.get('source')
    if source is not None:
        needed = pool.source_size(source, params.get('source_format') or 'qcow2')
        if size and size < needed:
            raise RbdVolumeError('RBD image %s: size_mib %d is smaller than %s (%d MiB)'
                                 % (volume, params['size_mib'], source, -(-needed // MIB)))
        size = max(size, needed)
    if before['exists']:
        warnings = []
        if size and before['capacity'] != size:
            warnings.append('RBD image %s has %d bytes, not %d; an existing image is never resized or overwritten: '
                            'left as it is' % (volume, before['capacity'], size))
        return _result(pool, volume, before, before, changed=False, warnings=warnings)
    after = {'exists': True, 'capacity': size, 'path': '%s/%s' % (pool.view['ceph_pool'], volume)}
    if check_mode:
        return _result(pool, volume, before, after, changed=True)
    handle = pool.create(volume, size)
    if source is not None:
        try:
            pool.fill(volume, source, params.get('source_format') or 'qcow2')
        except RbdVolumeError:
            # Half-written, it would pass for a made image next time.
            pool.delete(handle, volume)
            raise
    return _result(pool, volume, before, pool.describe(volume), changed=True)


def _result(pool, volume, before, after, changed, warnings=None):
    return {'changed': changed, 'pool': pool.name, 'name': volume, 'ceph_pool': pool.view['ceph_pool'],
            'volume': after, 'warnings': warnings or [], 'diff': {'before': before, 'after': after}}
