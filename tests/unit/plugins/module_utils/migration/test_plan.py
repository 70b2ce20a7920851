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


def test_defaults_tls_auto_with_autoconverge_and_no_postcopy():
    flags, params, names = plan.build(norm())
    assert flags & F['tls'] and flags & F['peer2peer'] and flags & F['live']
    assert flags & F['auto_converge'] and not flags & F['postcopy']
    assert flags & F['persist_dest'] and flags & F['undefine_source']
    assert not flags & F['unsafe']
    assert params == {}
    assert 'tls' in names


@pytest.mark.parametrize('strategy, allow, has_ac, has_pc', [
    ('precopy', False, False, False), ('auto_converge', False, True, False), ('postcopy', False, False, True),
    ('auto', False, True, False), ('auto', True, True, True), ('precopy', True, False, False)])
def test_strategy_flags(strategy, allow, has_ac, has_pc):
    flags, _params, _names = plan.build(norm(strategy=strategy, allow_postcopy=allow, transport='tcp'))
    assert bool(flags & F['auto_converge']) == has_ac
    assert bool(flags & F['postcopy']) == has_pc
    assert not flags & F['tls']


def test_timeout_action_postcopy_enables_postcopy_flag_for_precopy():
    flags, _p, _n = plan.build(norm(strategy='precopy', timeout_action='postcopy'))
    assert flags & F['postcopy']


@pytest.mark.parametrize('kw, escalates', [
    ({}, False), ({'allow_postcopy': True}, True), ({'timeout_action': 'postcopy'}, False),
    ({'allow_postcopy': True, 'parallel_connections': 2}, False), ({'strategy': 'precopy', 'allow_postcopy': True}, False)])
def test_auto_escalates_to_postcopy_only_when_allowed(kw, escalates):
    assert plan.auto_postcopy(norm(**kw)) is escalates


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


def test_mt_with_xbzrle_compresses_the_first_round_at_the_level_given():
    flags, params, names = plan.build(norm(compression=['xbzrle', 'mt'], compression_level=1, xbzrle_cache=64,
                                           strategy='precopy'))
    assert 'compressed' in names and flags & F['compressed'] and not flags & F['postcopy']
    assert params == {'compression': ['mt', 'xbzrle'], 'compression.mt.level': 1,
                      'compression.xbzrle.cache': 64 << 20}


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
    ({'persistent': False}, 'persistent=false with undefine_source=true'),
    ({'postcopy_ratio': 7}, 'postcopy_ratio must be'),
    ({'postcopy_ratio': 0}, 'postcopy_ratio must be'),
    ({'postcopy_ratio': True}, 'postcopy_ratio must be'),
    ({'postcopy_ratio': float('nan')}, 'postcopy_ratio must be'),
    ({'poll_interval': 0}, 'poll_interval must be'),
    ({'postcopy_bandwidth': -1}, 'postcopy_bandwidth must be'),
    ({'parallel_connections': 256}, 'parallel_connections must be'),
    ({'timeout': 10 ** 7}, 'timeout must be'),
    ({'stall_timeout': 0}, 'stall_timeout must be'),
    ({'stall_max_downtime': 5}, 'stall_max_downtime must be a whole number between 10 and 600000 ms'),
    ({'stall_max_downtime': 200, 'max_downtime': 300}, 'stall_max_downtime (200 ms) must be at least max_downtime (300 ms)'),
    ({'full_throttle_timeout': 0}, 'full_throttle_timeout must be a whole number between 1 and 604800 s'),
    ({'cold_shutdown_timeout': 0}, 'cold_shutdown_timeout must be'),
    ({'auto_converge_initial': 0, 'strategy': 'auto_converge'}, 'auto_converge_initial must be'),
    ({'auto_converge_increment': 101, 'strategy': 'auto_converge'}, 'auto_converge_increment must be'),
    ({'compression': ['zlib'], 'parallel_connections': 2, 'compression_level': 10}, 'compression_level must be'),
    ({'compression': ['zstd'], 'parallel_connections': 2, 'compression_level': 21}, 'compression_level must be'),
    ({'compression_level': 3}, 'compression_level applies to mt, zstd or zlib'),
    ({'compression': ['mt'], 'compression_level': 10}, 'compression_level must be'),
    ({'compression': ['mt'], 'parallel_connections': 2}, 'mt compression works on the main stream'),
    ({'compression': ['mt', 'xbzrle'], 'allow_postcopy': True}, 'mt compression cannot be combined with post-copy'),
    ({'compression': ['mt'], 'strategy': 'postcopy'}, 'mt compression cannot be combined with post-copy'),
    ({'compression': ['mt'], 'timeout_action': 'postcopy'}, 'mt compression cannot be combined with post-copy'),
    ({'xbzrle_cache': 0, 'compression': ['xbzrle']}, 'xbzrle_cache must be'),
    ({'dest_port': 70000}, 'dest_port must be'),
    ({'allow_postcopy': 'maybe'}, 'allow_postcopy must be true or false'),
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


def test_persistent_false_is_fine_when_the_source_keeps_its_definition():
    assert norm(persistent=False, undefine_source=False)['persistent'] is False


def test_postcopy_ratio_range_edges():
    assert norm(postcopy_ratio=1)['postcopy_ratio'] == 1
    assert norm(postcopy_ratio=0.05)['postcopy_ratio'] == 0.05


def test_cap_holds_in_postcopy_unless_own_cap():
    _f, params, _n = plan.build(norm(bandwidth=30, allow_postcopy=True))
    assert params['bandwidth.postcopy'] == 30
    _f, params, _n = plan.build(norm(bandwidth=30, postcopy_bandwidth=80, allow_postcopy=True))
    assert params['bandwidth.postcopy'] == 80
    _f, params, _n = plan.build(norm(strategy='precopy', bandwidth=30))
    assert 'bandwidth.postcopy' not in params


@pytest.mark.parametrize('kw, warned', [
    (dict(transport='ssh'), True),
    (dict(transport='ssh', storage='copy'), True),
    (dict(dest='qemu+ssh://ws01/system', transport='tls'), True),
    (dict(transport='ssh', tunnelled=True), False),
    (dict(transport='ssh', mode='cold'), False),
    (dict(transport='tls'), False),
    (dict(dest='qemu+tls://ws01/system', transport='ssh'), False),
])
def test_ssh_without_tunnel_warns_that_the_stream_is_plain_text(kw, warned):
    for opts in (norm(**kw), dict({'name': 'vm1', 'dest': 'ws01'}, **kw)):
        got = plan.stream_warnings(opts)
        assert bool(got) == warned, (kw, got)
        if warned:
            assert 'plain text' in got[0] and 'tunnelled=true' in got[0]
            assert ('copied disks' in got[0]) == (kw.get('storage') == 'copy')


def test_defaults_are_generated_from_the_module_spec():
    spec = plan.argument_spec()
    assert set(plan.DEFAULTS) == set(spec)
    assert all(plan.DEFAULTS[key] == opts.get('default') for key, opts in spec.items())
    # the choices are the module_utils' own vocabulary, not a restatement
    assert spec['strategy']['choices'] == list(plan.STRATEGIES)
    assert spec['storage']['choices'] == list(plan.STORAGE_MODES)
    assert spec['transport']['choices'] == list(plan.TRANSPORTS)


def test_defaults_are_not_shared_between_calls():
    first = plan.normalize({'name': 'vm1', 'dest': 'ws01'})
    first['compression'].append('zstd')
    assert plan.DEFAULTS['compression'] == []
    assert plan.normalize({'name': 'vm1', 'dest': 'ws01'})['compression'] == []
