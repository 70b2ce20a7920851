# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

F = plan.FLAGS


def norm(**kw):
    base = {'name': 'vm1', 'dest': 'ws01'}
    base.update(kw)
    return plan.normalize(base)


def test_defaults_tls_auto_with_postcopy_and_autoconverge():
    flags, params, names = plan.build(norm())
    assert flags & F['tls'] and flags & F['peer2peer'] and flags & F['live']
    assert flags & F['auto_converge'] and flags & F['postcopy']
    assert flags & F['persist_dest'] and flags & F['undefine_source']
    assert not flags & F['unsafe']
    assert params == {}
    assert 'tls' in names


@pytest.mark.parametrize('strategy, has_ac, has_pc', [
    ('precopy', False, False), ('auto_converge', True, False), ('postcopy', False, True), ('auto', True, True)])
def test_strategy_flags(strategy, has_ac, has_pc):
    flags, _params, _names = plan.build(norm(strategy=strategy, transport='tcp'))
    assert bool(flags & F['auto_converge']) == has_ac
    assert bool(flags & F['postcopy']) == has_pc
    assert not flags & F['tls']


def test_timeout_action_postcopy_enables_postcopy_flag_for_precopy():
    flags, _p, _n = plan.build(norm(strategy='precopy', timeout_action='postcopy'))
    assert flags & F['postcopy']


def test_params_bandwidth_multifd_compression_disks():
    opts = norm(bandwidth=30, postcopy_bandwidth=50, parallel_connections=4, compression=['zstd'],
                compression_level=3, strategy='auto_converge', storage='copy', migrate_uri='tcp://198.51.100.21')
    flags, params, _names = plan.build(opts, copy_disks=['vda'])
    assert flags & F['parallel'] and flags & F['compressed'] and flags & F['non_shared_disk']
    assert params == {'bandwidth': 30, 'parallel.connections': 4, 'compression': ['zstd'],
                      'compression.zstd.level': 3, 'migrate_disks': ['vda'],
                      'migrate_uri': 'tcp://198.51.100.21'}


def test_incremental_copy_flag():
    flags, _p, _n = plan.build(norm(storage='copy_incremental'), copy_disks=['vda'])
    assert flags & F['non_shared_inc'] and not flags & F['non_shared_disk']


def test_auto_with_multifd_drops_postcopy():
    flags, _p, _n = plan.build(norm(parallel_connections=2))
    assert not flags & F['postcopy'] and flags & F['auto_converge']


def test_xbzrle_cache_in_bytes():
    _f, params, _n = plan.build(norm(compression=['xbzrle'], xbzrle_cache=64))
    assert params['compression.xbzrle.cache'] == 64 << 20


@pytest.mark.parametrize('kw, words', [
    ({'bandwidth': -1}, 'bandwidth must be'),
    ({'bandwidth': 'fast'}, 'bandwidth must be'),
    ({'max_downtime': 0}, 'max_downtime must be'),
    ({'max_downtime': 10 ** 9}, 'max_downtime must be'),
    ({'timeout': 0}, 'timeout must be'),
    ({'strategy': 'teleport'}, 'strategy must be one of'),
    ({'compression': ['zstd']}, 'only with multifd'),
    ({'compression': ['lz4']}, 'compression must be'),
    ({'compression': ['xbzrle'], 'parallel_connections': 4}, 'xbzrle compression cannot'),
    ({'strategy': 'postcopy', 'parallel_connections': 4}, 'post-copy cannot be combined'),
    ({'tunnelled': True}, 'tunnelled applies to transport ssh'),
    ({'mode': 'cold', 'cold_fallback': True}, 'cold_fallback applies'),
    ({'migrate_uri': '198.51.100.21'}, 'migrate_uri must look like'),
    ({'name': ''}, 'name (the VM to migrate) is required'),
])
def test_nonsense_is_refused_with_the_option_named(kw, words):
    with pytest.raises(MigrationError) as err:
        norm(**kw)
    assert words in str(err.value)


def test_all_problems_listed_at_once():
    with pytest.raises(MigrationError) as err:
        norm(bandwidth=-5, max_downtime=-1)
    assert 'bandwidth' in str(err.value) and 'max_downtime' in str(err.value)


def test_unknown_option():
    with pytest.raises(MigrationError) as err:
        plan.normalize({'name': 'a', 'dest': 'b', 'speed': 3})
    assert 'speed' in str(err.value)


def test_numeric_strings_accepted():
    assert norm(bandwidth='30')['bandwidth'] == 30


def test_cap_holds_in_postcopy_unless_own_cap():
    _f, params, _n = plan.build(norm(bandwidth=30))
    assert params['bandwidth.postcopy'] == 30
    _f, params, _n = plan.build(norm(bandwidth=30, postcopy_bandwidth=80))
    assert params['bandwidth.postcopy'] == 80
    _f, params, _n = plan.build(norm(strategy='precopy', bandwidth=30))
    assert 'bandwidth.postcopy' not in params
