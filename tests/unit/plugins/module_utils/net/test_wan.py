# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The WAN backend's state handling (idempotence, exact removal, what is not ours) and the
check of a measured path. The forwarder's process runs in the lab (tests/integration)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan

from .wan_fakes import FakeHost

LINK = wan.build_spec(rate_mbit=37, rtt_ms=37)


def netem(host, tmp_path):
    return wan.backend('netem', 'eth1', state_dir=str(tmp_path), tools=host.tools)


def test_the_same_link_again_changes_nothing_and_other_figures_replace_it(tmp_path):
    host = FakeHost(links=['eth1'])
    assert netem(host, tmp_path).ensure(LINK)['changed']
    state_file = tmp_path / 'host--eth1.json'
    assert stat.S_IMODE(os.stat(str(state_file)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(tmp_path)).st_mode) in (0o700, 0o755)   # tmp_path exists already
    host.calls = []
    again = netem(host, tmp_path).ensure(LINK)
    assert not again['changed'] and host.changes() == []
    other = wan.build_spec(rate_mbit=10, rtt_ms=100)
    preview = netem(host, tmp_path).ensure(other, check_mode=True)
    assert preview['changed'] and host.changes() == []
    assert preview['diff'] == dict(before=LINK, after=other)
    netem(host, tmp_path).ensure(other)
    assert host.changes()[:3] == [['tc', 'qdisc', 'del', 'dev', 'eth1', 'root'],
                                  ['tc', 'qdisc', 'del', 'dev', 'eth1', 'handle', 'ffff:', 'ingress'],
                                  ['ip', 'link', 'del', 'wi-eth1']]
    assert json.loads(state_file.read_text())['spec'] == other


def test_absent_removes_exactly_what_was_added(tmp_path):
    host = FakeHost(links=['eth1'])
    netem(host, tmp_path).ensure(LINK)
    host.calls = []
    gone = netem(host, tmp_path).ensure(None, state='absent')
    assert gone['changed'] and gone['spec'] is None
    assert host.changes() == [['tc', 'qdisc', 'del', 'dev', 'eth1', 'root'],
                              ['tc', 'qdisc', 'del', 'dev', 'eth1', 'handle', 'ffff:', 'ingress'],
                              ['ip', 'link', 'del', 'wi-eth1']]
    assert os.listdir(str(tmp_path)) == [] and 'wi-eth1' not in host.links
    host.calls = []
    assert not netem(host, tmp_path).ensure(None, state='absent')['changed'] and host.changes() == []


def test_a_root_qdisc_someone_else_added_is_left_alone(tmp_path):
    host = FakeHost(links=['eth1'], roots={'eth1': '1:'})
    with pytest.raises(wan.WanError) as err:
        netem(host, tmp_path).ensure(LINK)
    assert 'root qdisc (handle 1:) that this module did not add' in str(err.value)
    assert host.changes() == [] and os.listdir(str(tmp_path)) == []


def test_a_setup_found_half_there_is_removed_before_a_new_one(tmp_path):
    host = FakeHost(links=['eth1'])
    netem(host, tmp_path).ensure(LINK)
    del host.roots['wi-eth1']                   # say the ifb device lost its qdisc
    host.calls = []
    assert netem(host, tmp_path).info()['stale']
    assert netem(host, tmp_path).ensure(LINK)['changed']
    assert host.changes()[0] == ['tc', 'qdisc', 'del', 'dev', 'eth1', 'root']
    assert netem(host, tmp_path).info() == dict(method='netem', interface='eth1', netns=None, spec=LINK, stale=False)


def test_a_missing_interface_is_named(tmp_path):
    with pytest.raises(wan.WanError) as err:
        netem(FakeHost(), tmp_path).ensure(LINK)
    assert str(err.value) == 'interface eth1 does not exist'


def test_the_interface_is_found_by_its_address():
    class AddrHost(FakeHost):
        def ip(self, args):
            if args[:2] == ['-j', 'addr']:
                return 0, json.dumps([{'ifname': 'lo', 'addr_info': [{'local': '127.0.0.1'}]},
                                      {'ifname': 'enp1s0', 'addr_info': [{'local': '10.20.0.21'}]}]), ''
            return FakeHost.ip(self, args)
    host = AddrHost(links=['enp1s0'])
    assert wan.backend('netem', address='10.20.0.21', tools=host.tools).interface == 'enp1s0'
    with pytest.raises(wan.WanError) as err:
        wan.backend('netem', address='10.20.0.99', tools=host.tools)
    assert 'no interface of this host holds 10.20.0.99' in str(err.value)


def test_the_forwarder_needs_a_bridge_port_and_netem_no_namespace(tmp_path):
    host = FakeHost(links=['ws01'])
    with pytest.raises(wan.WanError) as err:
        wan.backend('forwarder', 'ws01', netns='x', state_dir=str(tmp_path), tools=host.tools).ensure(LINK)
    assert 'ws01 is not a bridge port' in str(err.value) and host.changes() == []
    with pytest.raises(wan.WanError) as err:
        wan.backend('netem', 'eth1', netns='x', tools=host.tools)
    assert 'netns is for the forwarder method' in str(err.value)


def test_the_forwarder_plan_in_check_mode_changes_nothing(tmp_path):
    host = FakeHost(links=['ws01', 'br0'], masters={'ws01': 'br0'})
    out = wan.backend('forwarder', 'ws01', netns='lab-underlay', state_dir=str(tmp_path),
                      tools=host.tools).ensure(LINK, check_mode=True)
    assert out['changed'] and out['actions'] == ['put a forwarder (37 Mbit/s, +37 ms RTT) between ws01 and bridge br0']
    assert host.changes() == [] and os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('measured, problems', [
    ({'mbit': 36.1, 'rtt_ms': {'median': 37.9}}, []),
    ({'mbit': 34.0, 'rtt_ms': {'median': 37.9}}, ['rate 34.0 Mbit/s, asked 37 (35.1-38.9)']),
    ({'mbit': 36.1, 'rtt_ms': {'median': 41.0}}, ['round trip 41.0 ms, asked 37.0 (+/- 3.7)']),
    ({'mbit': 36.1, 'rtt_ms': {'median': 0.4}}, ['round trip 0.4 ms, asked 37.0 (+/- 3.7)']),
])
def test_a_measured_path_is_checked_against_the_asked_one(measured, problems):
    assert wan.check_measured(LINK, measured) == problems


def test_a_short_round_trip_gets_two_milliseconds_of_slack():
    spec = wan.build_spec(rtt_ms=10)
    assert wan.check_measured(spec, {'mbit': 900, 'rtt_ms': {'median': 11.1}}) == []     # seen in CI
    assert wan.check_measured(spec, {'mbit': 900, 'rtt_ms': {'median': 12.1}}) != []


def test_the_least_round_trip_slack_is_a_setting():
    spec = wan.build_spec(rtt_ms=10)
    seen_in_the_lab = {'mbit': 900, 'rtt_ms': {'median': 12.4}}
    assert wan.check_measured(spec, seen_in_the_lab) == ['round trip 12.4 ms, asked 10.0 (+/- 2.0)']
    assert wan.check_measured(spec, seen_in_the_lab, rtt_slack_ms=4) == []
    assert wan.check_measured(spec, {'mbit': 900, 'rtt_ms': {'median': 14.5}}, rtt_slack_ms=4) == [
        'round trip 14.5 ms, asked 10.0 (+/- 4.0)']
    # past 40 ms the percentage is the wider one
    assert wan.check_measured(wan.build_spec(rtt_ms=50), {'rtt_ms': {'median': 54.5}}, rtt_slack_ms=4) == []


def test_the_line_rate_carries_the_headers_of_full_frames():
    assert wan.line_rate_bit(37) == 38686464
    assert wan.line_rate_bit(1000, mtu=9000) == int(round(1e9 * 9014 / 8948))
