# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""away_disks: the RBD disks that turn into local files when a VM scales away."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.away_disks import away_disks


def disk(target, protocol=None, readonly=False, pool=None, volume=None, source=None):
    return {'target': target, 'device': 'cdrom' if readonly else 'disk', 'type': 'network' if protocol else 'file',
            'protocol': protocol, 'source': source or '/var/lib/libvirt/images/%s' % target, 'format': 'raw',
            'readonly': readonly, 'pool': pool, 'volume': volume}


def test_rbd_disks_become_files_and_their_home_is_kept():
    disks = [disk('vda', 'rbd', pool='skillvl-rbd', volume='svc-root', source='vms/svc-root'),
             disk('vdb', 'rbd', pool='skillvl-rbd', volume='svc-data', source='vms/svc-data'),
             disk('sda', 'rbd', readonly=True, pool='skillvl-rbd', volume='svc-seed', source='vms/svc-seed'),
             disk('vdc', pool='default', volume='vdc')]
    out = away_disks(disks, pool='default')
    root, data = ({'target': 'vda', 'pool': 'skillvl-rbd', 'volume': 'svc-root'},
                  {'target': 'vdb', 'pool': 'skillvl-rbd', 'volume': 'svc-data'})
    assert out == {
        'dest_disks': [{'target': 'vda', 'pool': 'default', 'format': 'qcow2'},
                       {'target': 'vdb', 'pool': 'default', 'format': 'qcow2'},
                       {'target': 'sda', 'pool': 'default'}],      # the seed keeps its format
        'home': [root, data, {'target': 'sda', 'pool': 'skillvl-rbd', 'volume': 'svc-seed'}],
        'stale': [root, data],                                     # the seed's image stays its content
        'unplaced': []}
    assert away_disks(disks, pool='images', format='raw')['dest_disks'][0] == {
        'target': 'vda', 'pool': 'images', 'format': 'raw'}


def test_a_vm_without_rbd_disks_moves_nothing_into_pools():
    assert away_disks([disk('vda', pool='default', volume='vda')], pool='default') == {
        'dest_disks': [], 'home': [], 'stale': [], 'unplaced': []}
    assert away_disks([], pool='default')['dest_disks'] == []


def test_an_rbd_disk_outside_every_rbd_pool_is_named():
    out = away_disks([disk('vda', 'rbd', source='vms/hand-made')], pool='default')
    assert out['unplaced'] == [{'target': 'vda', 'source': 'vms/hand-made'}] and out['dest_disks'] == []


@pytest.mark.parametrize('args, message', [
    (('not a list', 'default'), 'the input must be the list of disks'),
    (([disk('vda')], ''), 'pool (a storage pool of the workstation) is required'),
])
def test_bad_input_is_named(args, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        away_disks(*args)
    with pytest.raises(AnsibleFilterError, match='format must be qcow2 or raw'):
        away_disks([], 'default', format='vmdk')
