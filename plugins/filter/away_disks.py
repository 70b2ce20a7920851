# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: away_disks
short_description: Which disks of a VM turn into local files when it scales away, and where they go back
version_added: 0.1.0
description:
  - Reads the disks M(skillvl.offline_first.vm_migration_info) returns for a VM at its home and picks those that
    live on the cloud's Ceph (RBD disks). Each becomes a file in a storage pool of the workstation with the move
    (M(skillvl.offline_first.vm_migrate)'s O(skillvl.offline_first.vm_migrate#module:dest_disks)), so that a cut
    link does not stop the VM. A read-only one (a cloud-init seed) keeps its format and is copied before the move.
  - Also says where each of them was at home (its libvirt rbd pool and image), which
    M(skillvl.offline_first.vm_home) records for C(playbooks/return.yml), and which of those images are stale
    once the VM has left (the writable ones; a read-only image stays the disk's content).
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The VM's C(disks), as M(skillvl.offline_first.vm_migration_info) returns them on its host.
    type: list
    elements: dict
    required: true
  pool:
    description: The storage pool of the workstation that takes the files.
    type: str
    required: true
  format:
    description: The format of the files of writable disks.
    type: str
    default: qcow2
    choices: [qcow2, raw]
'''

EXAMPLES = r'''
- name: Turn svc-db's RBD disks into local files on the workstation
  skillvl.offline_first.vm_migrate:
    name: svc-db
    dest: ws01
    storage: copy
    dest_disks: "{{ (found.disks | skillvl.offline_first.away_disks(pool='default')).dest_disks }}"
'''

RETURN = r'''
_value:
  description: What moves and where it was.
  type: dict
  contains:
    dest_disks:
      description: The O(skillvl.offline_first.vm_migrate#module:dest_disks) entries (C(target), C(pool), C(format)).
      type: list
      elements: dict
    home:
      description: For each of them, C(target), and the C(pool) and C(volume) it had at home.
      type: list
      elements: dict
    stale:
      description: The entries of RV(_value.home) of writable disks, whose images at home are stale once the VM left.
      type: list
      elements: dict
    unplaced:
      description: RBD disks in no libvirt rbd pool of the home (a return could not put them back), by C(target) and C(source).
      type: list
      elements: dict
'''

from ansible.errors import AnsibleFilterError


def away_disks(disks, pool, format='qcow2'):  # pylint: disable=redefined-builtin
    if not isinstance(disks, list) or not all(isinstance(d, dict) for d in disks):
        raise AnsibleFilterError('away_disks: the input must be the list of disks vm_migration_info returns, not %r'
                                 % (disks,))
    if not pool:
        raise AnsibleFilterError('away_disks: pool (a storage pool of the workstation) is required')
    if format not in ('qcow2', 'raw'):
        raise AnsibleFilterError('away_disks: format must be qcow2 or raw, not %r' % (format,))
    out = {'dest_disks': [], 'home': [], 'stale': [], 'unplaced': []}
    for disk in disks:
        if disk.get('protocol') != 'rbd':
            continue
        if not disk.get('pool'):
            out['unplaced'].append({'target': disk.get('target'), 'source': disk.get('source')})
            continue
        home = {'target': disk['target'], 'pool': disk['pool'], 'volume': disk['volume']}
        out['home'].append(home)
        if disk.get('readonly'):
            out['dest_disks'].append({'target': disk['target'], 'pool': pool})    # its own format, copied before
        else:
            out['dest_disks'].append({'target': disk['target'], 'pool': pool, 'format': format})
            out['stale'].append(home)
    return out


class FilterModule(object):
    def filters(self):
        return {'away_disks': away_disks}
