# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vm role's decision: a VM is defined and started on its home only when it runs nowhere else
and every hypervisor could be asked (issue 14 item 1)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.placement import start_check
from ansible_collections.skillvl.offline_first.plugins.filter.vm_start_check import FilterModule

HOME, B, C = 'cloud1', 'ws01', 'ws02'


def states(a='absent', b='absent', c='absent'):
    return {HOME: a, B: b, C: c}


# (what, states, want, unverified_ok) -> (action, words in msg)
CASES = [
    ('new VM, every host asked', states(), 'running', False, 'manage', 'running on its home cloud1'),
    ('already runs at home', states(a='running'), 'running', False, 'manage', None),
    ('stale stopped copy elsewhere, defined at home', states(a='shutoff', c='shutoff'), 'running', False,
     'manage', None),
    ('migrated: runs on ws01', states(b='running'), 'running', False, 'leave', 'runs on ws01 (it was migrated'),
    ('migrated, home keeps a stopped definition', states(a='shutoff', b='running'), 'running', False, 'leave',
     'not defined or started on its home cloud1'),
    ('paused elsewhere counts as running', states(b='paused'), 'running', False, 'leave', 'runs on ws01'),
    ('paused elsewhere, shutdown wanted', states(b='paused'), 'shutdown', False, 'leave', 'runs on ws01'),
    ('migrated and stopped there', states(b='shutoff'), 'running', False, 'leave', 'defined, stopped, on ws01'),
    ('two running copies', states(a='running', c='running'), 'running', False, 'refuse',
     'runs on cloud1 and ws02: a VM must run in one place'),
    ('a host not asked, would start', states(c=None), 'running', False, 'refuse',
     'not started on cloud1: could not ask ws02'),
    ('a host not asked, stopped at home', states(a='shutoff', c=None), 'running', False, 'refuse',
     'vm_start_unverified=true'),
    ('the home itself not asked', states(a=None), 'running', False, 'refuse', 'could not ask cloud1'),
    ('a host not asked, forced', states(c=None), 'running', True, 'manage', 'vm_start_unverified is set'),
    ('a host not asked, already running at home', states(a='running', c=None), 'running', False, 'manage', None),
    ('a host not asked, only defined', states(c=None), 'shutdown', False, 'manage', None),
    ('runs elsewhere and a host not asked', states(b='running', c=None), 'running', False, 'leave', 'runs on ws01'),
    ('forced never starts a second copy', states(b='running', c=None), 'running', True, 'leave', 'runs on ws01'),
    ('unknown home', {B: 'absent'}, 'running', False, 'refuse', 'not a hypervisor'),
    ('bad state', states(), 'paused', False, 'refuse', 'state must be'),
]


@pytest.mark.parametrize('what,st,want,forced,action,words', CASES, ids=[c[0] for c in CASES])
def test_start_check(what, st, want, forced, action, words):
    got = start_check('demo', st, HOME, want=want, unverified_ok=forced)
    assert got['action'] == action, (what, got)
    assert got['msg'], (what, got)
    if words:
        assert words in got['msg'], (what, got)


def test_unasked_hosts_are_named_with_their_reason():
    got = start_check('demo', states(b=None), HOME, errors={B: 'Failed to connect socket to libvirt-sock-ro'})
    assert got['action'] == 'refuse' and got['unasked'] == [B]
    assert 'could not ask ws01 (Failed to connect socket to libvirt-sock-ro)' in got['msg']


def test_filter_reads_registered_loop_results():
    results = [
        {'item': [HOME, 'demo'], 'vm_state': 'absent'},
        {'item': [B, 'demo'], 'vm_state': 'running', 'failed': False},
        {'item': [C, 'demo'], 'failed': False, 'failed_when_result': False, 'msg': 'Failed to connect socket'},
        {'item': [HOME, 'svc'], 'vm_state': 'shutoff'},
        {'item': [B, 'svc'], 'vm_state': 'absent'},
        {'item': [C, 'svc'], 'failed': False, 'failed_when_result': False, 'msg': 'Failed to connect socket'},
        {'item': [HOME, 'old'], 'vm_state': 'shutoff'},
        {'item': [B, 'old'], 'unreachable': True, 'msg': 'no route'},
        {'item': [C, 'old'], 'vm_state': 'absent'},
    ]
    guests = [{'name': 'demo', 'host': HOME, 'state': 'running'}, {'name': 'svc', 'host': HOME, 'state': 'running'},
              {'name': 'old', 'host': HOME, 'state': 'absent'}]
    check = FilterModule().filters()['vm_start_check']
    got = check(results, guests=guests)
    assert got['demo']['action'] == 'leave' and got['demo']['active'] == [B]
    assert got['svc']['action'] == 'refuse' and 'could not ask ws02 (Failed to connect socket)' in got['svc']['msg']
    assert got['old']['action'] == 'manage' and got['old']['defined'] == [HOME] and got['old']['unasked'] == [B]
    assert got['old']['states'] == {HOME: 'shutoff', B: None, C: 'absent'}
    forced = check(results, guests=guests, unverified_ok='yes')
    assert forced['svc']['action'] == 'manage' and forced['demo']['action'] == 'leave'


def test_filter_refuses_malformed_input():
    check = FilterModule().filters()['vm_start_check']
    with pytest.raises(AnsibleFilterError, match='pair'):
        check([{'item': HOME, 'vm_state': 'absent'}], guests=[{'name': 'demo', 'host': HOME}])
    with pytest.raises(AnsibleFilterError, match='no hypervisor was asked'):
        check([{'item': [HOME, 'demo'], 'vm_state': 'absent'}], guests=[{'name': 'other', 'host': HOME}])
