# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: vm_disks
short_description: Where each disk of a VM of the vm role lives, and its libvirt disk element
version_added: 0.1.0
description:
  - Takes one completed guest of the C(vm) role and lays out its disks, in the order the guest
    sees them (the root disk and cloud-init seed of a cloud image, then its extra disks).
  - A guest with C(storage=local) keeps its disks in O(disk_dir) on its hypervisor. A guest with
    C(storage=shared) keeps them on the NFS export every hypervisor uses, so that a live migration
    moves only memory, either in the directory where the export is mounted (O(shared_storage.mode=pool)),
    or as network disks QEMU opens itself (O(shared_storage.mode=network_disk)). Shared disks
    are created and removed as O(shared_storage.owner), the user QEMU runs as (exports are
    C(root_squash)).
  - The cloud-init seed is always built locally in O(disk_dir); a shared guest gets a copy of
    it on the export (the destination of a migration must open it too).
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The guest, with C(name), C(image), C(disk_gib), C(disks) and C(storage).
    type: dict
    required: true
  images:
    description: The role's C(vm_images) (each with its C(kind)).
    type: dict
    required: true
  disk_dir:
    description: Local directory of disks (C(vm_disk_dir)).
    type: path
    required: true
  base_image_dir:
    description: Directory of the staged cloud images (C(vm_base_image_dir)).
    type: path
    required: true
  shared_storage:
    description: The role's C(vm_shared_storage) (C(mode), C(directory), C(server), C(export), C(owner)).
    type: dict
    default: {}
  rbd_pool:
    description:
      - The definition (XML) of the host's libvirt rbd pool, as C(community.libvirt.virt_pool) with
        C(command=get_xml) reads it (the C(ceph_client) role defines it); needed by a guest with C(storage=rbd).
      - Such a guest's disks are raw RBD images in that pool, opened by QEMU as the pool's Ceph user with
        the pool's libvirt secret (the key never leaves it). A cloud image's root disk is the base image
        converted into its image; the cloud-init seed is uploaded into an image of its own, so that the
        destination of a migration opens it too.
    type: str
'''

EXAMPLES = r'''
- name: Lay out the disks of one guest
  ansible.builtin.set_fact:
    disks: >-
      {{ vm_guest | skillvl.offline_first.vm_disks(images=vm_images, disk_dir=vm_disk_dir,
                                                   base_image_dir=vm_base_image_dir,
                                                   shared_storage=vm_shared_storage) }}
'''

RETURN = r'''
_value:
  description: The disks in the guest's order.
  type: list
  elements: dict
  contains:
    name:
      description: C(root), C(seed) or the extra disk's name; null for a disk given as C(xml).
      type: str
    managed:
      description: Whether the role creates and removes the image (false for C(xml) disks).
      type: bool
    path:
      description: The image for M(skillvl.offline_first.vm_disk), a file path or C(nfs://SERVER/EXPORT/FILE); null on RBD.
      type: str
    pool:
      description: The libvirt rbd pool of an RBD disk.
      type: str
    volume:
      description: The RBD image (libvirt volume) of an RBD disk.
      type: str
    convert_from:
      description: The qcow2 base image an RBD disk starts as a converted copy of; null for an empty one.
      type: str
    owner:
      description: The user who creates and removes it (null, root).
      type: str
    create:
      description: Whether M(skillvl.offline_first.vm_disk) makes it (a local seed is built in place instead).
      type: bool
    xml:
      description: The libvirt C(disk) element.
      type: str
'''

import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

_LETTERS = 'abcdefghijklmnopqrstuvwxyz'
_MODES = ('pool', 'network_disk')
_STORAGES = ('local', 'shared', 'rbd')
_RBD_KEYS = ('pool', 'libvirt_pool', 'user', 'secret_uuid', 'mon_hosts')


def _attr(value):
    return to_text(value).replace('&', '&amp;').replace("'", '&apos;').replace('<', '&lt;').replace('>', '&gt;')


def _shared_settings(shared, guest_name):
    mode = shared.get('mode')
    if mode not in _MODES:
        raise AnsibleFilterError('guest %s has storage shared, but vm_shared_storage.mode is %r, not one of %s'
                                 % (guest_name, mode, ', '.join(_MODES)))
    need = ('directory',) if mode == 'pool' else ('server', 'export')
    missing = [key for key in need if not to_text(shared.get(key) or '').strip()]
    if missing:
        raise AnsibleFilterError('guest %s has storage shared, but vm_shared_storage (mode %s) has no %s'
                                 % (guest_name, mode, ', '.join(missing)))
    for key in ('directory', 'export'):
        if key in need and not to_text(shared[key]).startswith('/'):
            raise AnsibleFilterError('vm_shared_storage.%s must be an absolute path, not %s' % (key, shared[key]))
    return mode


def _place(file_name, storage, disk_dir, shared, mode):
    """(path for vm_disk, owner, libvirt source element and disk type)."""
    if storage == 'local':
        path = '%s/%s' % (disk_dir.rstrip('/'), file_name)
        return path, None, "<source file='%s'/>" % _attr(path), 'file'
    owner = shared.get('owner') or None
    if mode == 'pool':
        path = '%s/%s' % (to_text(shared['directory']).rstrip('/'), file_name)
        return path, owner, "<source file='%s'/>" % _attr(path), 'file'
    server_path = '%s/%s' % (to_text(shared['export']).rstrip('/'), file_name)
    source = "<source protocol='nfs' name='%s'><host name='%s'/></source>" % (_attr(server_path),
                                                                              _attr(shared['server']))
    return 'nfs://%s%s' % (shared['server'], server_path), owner, source, 'network'


def _disk(name, file_name, fmt, device, target, bus, storage, disk_dir, shared, mode, size_mib=None,
          backing=None, source=None, readonly=False, discard=False):
    path, owner, source_xml, kind = _place(file_name, storage, disk_dir, shared, mode)
    driver = "<driver name='qemu' type='%s'%s%s/>" % (
        fmt, '' if readonly else " cache='none'", " discard='unmap'" if discard else '')
    backing_xml = ''
    if backing and kind == 'network':
        # libvirt cannot read a network image to find its backing file: name it.
        backing_xml = ("<backingStore type='file'><format type='qcow2'/><source file='%s'/><backingStore/>"
                       "</backingStore>" % _attr(backing))
    xml = "<disk type='%s' device='%s'>%s%s%s<target dev='%s' bus='%s'/>%s</disk>" % (
        kind, device, driver, source_xml, backing_xml, target, bus, '<readonly/>' if readonly else '')
    local_seed = source is not None and storage == 'local'
    return {'name': name, 'managed': True, 'file': file_name, 'format': fmt, 'device': device, 'target': target,
            'storage': storage, 'path': path, 'owner': owner,
            'size_mib': size_mib, 'backing': backing, 'backing_format': 'qcow2' if backing else None,
            'source': None if local_seed else source, 'create': not local_seed, 'xml': xml,
            'pool': None, 'volume': None, 'convert_from': None}


def _base_image(guest_name, disk, fmt, base_image_dir, overlay=True):
    """The base image an extra disk starts from (its `base`: a file NAME.qcow2 of the base image
    directory, staged like the cloud images), or None: a qcow2 overlay on it, or (``overlay``
    false, RBD) a copy converted into the image."""
    base = disk.get('base')
    if not base:
        return None
    base = to_text(base)
    if (overlay and fmt != 'qcow2') or '/' in base or base.startswith('.'):
        raise AnsibleFilterError('guest %s: disk %s has base %r: a base %sis the name of an image in the base image '
                                 'directory, not a path' % (guest_name, disk['name'], base,
                                                            'needs format qcow2 and ' if overlay else ''))
    return '%s/%s.qcow2' % (to_text(base_image_dir).rstrip('/'), base)


def _rbd_settings(pool_xml, guest_name):
    """What a disk of the host's libvirt rbd pool needs: Ceph pool, monitors, the Ceph user and its secret."""
    try:
        root = ET.fromstring(to_text(pool_xml)) if pool_xml else None
    except ET.ParseError:
        root = None
    auth = root.find('./source/auth') if root is not None else None
    secret = auth.find('secret') if auth is not None else None
    rbd = {} if root is None or root.get('type') != 'rbd' else {
        'libvirt_pool': root.findtext('name'), 'pool': root.findtext('./source/name'),
        'mon_hosts': [(h.get('name'), h.get('port') or '6789') for h in root.findall('./source/host')],
        'user': auth.get('username') if auth is not None else None,
        'secret_uuid': secret.get('uuid') if secret is not None else None}
    missing = [key for key in _RBD_KEYS if not rbd.get(key)]
    if missing:
        raise AnsibleFilterError(
            'guest %s has storage rbd, but this host has no libvirt rbd pool with a Ceph user and its secret '
            '(missing: %s): put the host in the group ceph_clients and run the ceph_client role (playbooks/storage.yml)'
            % (guest_name, ', '.join(missing)))
    return rbd


def _rbd_disk(name, volume, device, target, bus, rbd, size_mib=None, convert_from=None, upload_from=None,
              readonly=False):
    """An RBD image of the host's libvirt rbd pool, opened by QEMU as the host's own Ceph user."""
    hosts = ''.join("<host name='%s' port='%s'/>" % (_attr(mon), _attr(port)) for mon, port in rbd['mon_hosts'])
    xml = ("<disk type='network' device='%s'><driver name='qemu' type='raw'%s/>"
           "<auth username='%s'><secret type='ceph' uuid='%s'/></auth>"
           "<source protocol='rbd' name='%s/%s'>%s</source><target dev='%s' bus='%s'/>%s</disk>" % (
               device, '' if readonly else " cache='none' discard='unmap'", _attr(rbd['user']),
               _attr(rbd['secret_uuid']), _attr(rbd['pool']), _attr(volume), hosts, target, bus,
               '<readonly/>' if readonly else ''))
    return {'name': name, 'managed': True, 'file': volume, 'format': 'raw', 'device': device, 'target': target,
            'storage': 'rbd', 'path': None, 'owner': None, 'pool': rbd['libvirt_pool'], 'volume': volume,
            'size_mib': size_mib, 'backing': None, 'backing_format': None, 'convert_from': convert_from,
            'source': upload_from, 'create': True, 'xml': xml}


def _extra_disks(guest, name, first, make):
    """The guest's extra disks from virtio letter ``first`` on: an xml disk as it is, the others
    ``make(disk, target)``."""
    out = []
    for index, disk in enumerate(guest.get('disks') or []):
        if index + first >= len(_LETTERS):
            raise AnsibleFilterError('guest %s has more disks than virtio names (vda-vdz)' % name)
        if 'xml' in disk:
            out.append({'name': None, 'managed': False, 'create': False, 'xml': to_text(disk['xml']).strip()})
        else:
            out.append(make(disk, 'vd%s' % _LETTERS[index + first]))
    return out


def _rbd_layout(guest, image, name, disk_dir, base_image_dir, rbd):
    """The disks of an RBD guest: raw images (RBD has no qcow2), the base image converted into
    the root image, the cloud-init seed uploaded into an image of its own (the destination of a
    migration opens it there too)."""
    out, virtio = [], 0
    if image.get('kind') == 'cloud_image':
        out.append(_rbd_disk('root', '%s-root' % name, 'disk', 'vda', 'virtio', rbd,
                             size_mib=int(guest.get('disk_gib', 10)) * 1024,
                             convert_from='%s/%s.qcow2' % (base_image_dir.rstrip('/'), guest['image'])))
        out.append(_rbd_disk('seed', '%s-seed' % name, 'cdrom', 'sda', 'sata', rbd, readonly=True,
                             upload_from='%s/%s-seed.iso' % (disk_dir.rstrip('/'), name)))
        virtio = 1

    def make(disk, target):
        if disk.get('format', 'raw') != 'raw' or not disk.get('name') or not disk.get('size_mib'):
            raise AnsibleFilterError('guest %s has storage rbd: every extra disk needs a name and a size_mib, and RBD '
                                     'images are raw (format raw, not qcow2)' % name)
        return _rbd_disk(disk['name'], '%s-%s' % (name, disk['name']), 'disk', target, 'virtio', rbd,
                         size_mib=int(disk['size_mib']),
                         convert_from=_base_image(name, disk, 'raw', base_image_dir, overlay=False))
    return out + _extra_disks(guest, name, virtio, make)


def vm_disks(guest, images, disk_dir, base_image_dir, shared_storage=None, rbd_pool=None):
    if not isinstance(guest, dict) or 'name' not in guest:
        raise AnsibleFilterError('vm_disks expects one guest of the vm role (a dict with a name)')
    name = to_text(guest['name'])
    storage = guest.get('storage', 'local')
    if storage not in _STORAGES:
        raise AnsibleFilterError('guest %s: storage must be local, shared or rbd, not %r' % (name, storage))
    image = (images or {}).get(guest.get('image'))
    if storage == 'rbd':
        if not isinstance(image, dict):
            raise AnsibleFilterError('guest %s: image %r is not in vm_images' % (name, guest.get('image')))
        return _rbd_layout(guest, image, name, to_text(disk_dir), to_text(base_image_dir), _rbd_settings(rbd_pool, name))
    shared = shared_storage or {}
    mode = _shared_settings(shared, name) if storage == 'shared' else None
    if not isinstance(image, dict):
        raise AnsibleFilterError('guest %s: image %r is not in vm_images' % (name, guest.get('image')))
    out = []
    args = dict(storage=storage, disk_dir=to_text(disk_dir), shared=shared, mode=mode)
    virtio = 0
    if image.get('kind') == 'cloud_image':
        out.append(_disk('root', '%s-root.qcow2' % name, 'qcow2', 'disk', 'vda', 'virtio',
                         size_mib=int(guest.get('disk_gib', 10)) * 1024, discard=True,
                         backing='%s/%s.qcow2' % (to_text(base_image_dir).rstrip('/'), guest['image']), **args))
        out.append(_disk('seed', '%s-seed.iso' % name, 'raw', 'cdrom', 'sda', 'sata', readonly=True,
                         source='%s/%s-seed.iso' % (to_text(disk_dir).rstrip('/'), name), **args))
        virtio = 1

    def make(disk, target):
        fmt = disk.get('format', 'qcow2')
        if fmt not in ('qcow2', 'raw') or not disk.get('name') or not disk.get('size_mib'):
            raise AnsibleFilterError('guest %s: every extra disk needs a name and a size_mib, and a format qcow2 or raw'
                                     % name)
        return _disk(disk['name'], '%s-%s.%s' % (name, disk['name'], fmt), fmt, 'disk', target, 'virtio',
                     size_mib=int(disk['size_mib']), backing=_base_image(name, disk, fmt, base_image_dir), **args)
    return out + _extra_disks(guest, name, virtio, make)


class FilterModule(object):
    def filters(self):
        return {'vm_disks': vm_disks}
