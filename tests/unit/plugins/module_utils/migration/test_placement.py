# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which host a migration starts from: exactly one, or a refusal that says why."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.placement import migration_source
from ansible_collections.skillvl.offline_first.plugins.filter.migration_source import FilterModule

A, B, C = 'cloud1', 'ws01', 'ws02'


def states(a='absent', b='absent', c='absent'):
    return {A: a, B: b, C: c}


# (states, target, source, mode) -> (source chosen, words in the error or None, already_there)
CASES = [
    ('runs on one host', states(a='running'), B, None, 'live', A, None, False),
    ('paused counts as running', states(a='paused'), B, None, 'live', A, None, False),
    ('a stale stopped copy elsewhere is not a source', states(a='running', c='shutoff'), B, None, 'live',
     A, None, False),
    ('already on the target', states(b='running'), B, None, 'live', None, None, True),
    ('runs on two hosts', states(a='running', c='running'), B, None, 'live', None, 'runs on cloud1 and ws02', False),
    ('runs on source and target', states(a='running', b='running'), B, None, 'live', None,
     'must run in one place', False),
    ('nowhere', states(), B, None, 'live', None, 'no hypervisor knows', False),
    ('stopped, live asked', states(a='shutoff'), B, None, 'live', None, 'mode=cold', False),
    ('stopped, cold asked', states(a='shutoff'), B, None, 'cold', A, None, False),
    ('stopped on two hosts, cold', states(a='shutoff', c='shutoff'), B, None, 'cold', None, '-e source=HOST', False),
    ('stopped on two hosts, cold, source named', states(a='shutoff', c='shutoff'), B, C, 'cold', C, None, False),
    ('stopped only on the target, cold', states(b='shutoff'), B, None, 'cold', None, None, True),
    ('running, cold asked moves it', states(a='running'), B, None, 'cold', A, None, False),
    ('source named where it runs', states(a='running'), B, A, 'live', A, None, False),
    ('source named where it does not run', states(a='running'), B, C, 'live', None, 'not on the source ws02', False),
    ('source is the target', states(b='running'), B, B, 'live', None, 'both ws01', False),
    ('unknown target', states(a='running'), 'ws99', None, 'live', None, 'not a hypervisor', False),
    ('unknown source', states(a='running'), B, 'ws99', 'live', None, 'not a hypervisor', False),
    ('bad mode', states(a='running'), B, None, 'warm', None, 'mode must be', False),
    ('a bystander not asked', states(a='running', c=None), B, None, 'live', A, None, False),
    ('the target not asked', states(a='running', b=None), B, None, 'live', None, 'cannot ask the target ws01', False),
    ('not found, one host not asked', states(c=None), B, None, 'live', None, 'could not ask ws02', False),
]


@pytest.mark.parametrize('what,st,target,source,mode,want,error,already', CASES, ids=[c[0] for c in CASES])
def test_migration_source(what, st, target, source, mode, want, error, already):
    got = migration_source('demo', st, target, source=source, mode=mode)
    assert got['source'] == want, (what, got)
    assert got['already_there'] is already, (what, got)
    if error is None:
        assert got['error'] is None and got['msg'], (what, got)
    else:
        assert got['error'] and error in got['error'], (what, got)
        assert got['source'] is None


def test_unasked_hosts_are_named_with_their_reason():
    got = migration_source('demo', states(a='running', c=None), B, errors={C: 'Failed to connect socket'})
    assert got['source'] == A and got['unasked'] == [C]
    assert 'could not ask ws02 (Failed to connect socket)' in got['msg']


def test_filter_reads_registered_loop_results():
    results = [
        {'item': A, 'vm_state': 'running', 'failed': False},
        {'item': B, 'vm_state': 'absent'},
        # libvirtd down: the module failed (failed_when: false clears 'failed'), no vm_state
        {'item': C, 'failed': False, 'failed_when_result': False, 'msg': 'Failed to connect socket'},
    ]
    source_filter = FilterModule().filters()['migration_source']
    got = source_filter(results, vm='demo', target=B)
    assert got['source'] == A and got['unasked'] == [C]
    unreachable = [{'item': A, 'unreachable': True, 'msg': 'ssh: no route'}, {'item': B, 'vm_state': 'absent'},
                   {'item': C, 'vm_state': 'running'}]
    got = source_filter(unreachable, vm='demo', target=A)
    assert got['error'] == 'cannot ask the target cloud1 about VM demo: ssh: no route'
