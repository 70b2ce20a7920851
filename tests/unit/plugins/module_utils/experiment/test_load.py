# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_load's backend against a loopback stand-in of the lab guest's port 8080 (the real guest
is loaded by tests/integration/test_experiment.py and test_lab_guest.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket
import threading

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import load


@pytest.fixture
def guest():
    state = dict(mem_mib=0, rate_mib=0, cpu_pct=0, loads=0)
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _addr = server.accept()
            except OSError:
                return
            request = conn.recv(1024).decode()
            if request.startswith('LOAD'):
                state.update((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', request))
                state['loads'] += 1
                conn.sendall(('LOAD mem_mib=%(mem_mib)d rate_mib=%(rate_mib)d cpu_pct=%(cpu_pct)d\n' % state).encode())
            else:
                conn.sendall(('HTTP/1.0 200 OK\r\n\r\nSKILLVL-HB seq=3 uptime_ms=9 mem_mib=%(mem_mib)d '
                              'rate_mib=%(rate_mib)d passes=1 memerr=0 cpu_pct=%(cpu_pct)d\n' % state).encode())
            conn.close()
    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    yield server.getsockname()[1], state
    server.close()


def test_the_load_is_set_once_and_then_left(guest):
    port, state = guest
    out = load.ensure('127.0.0.1', port, mem_mib=96, rate_mib=8)
    assert out == dict(changed=True, before=dict(mem_mib=0, rate_mib=0, cpu_pct=0),
                       load=dict(mem_mib=96, rate_mib=8, cpu_pct=0))
    again = load.ensure('127.0.0.1', port, mem_mib=96, rate_mib=8, cpu_pct=None)
    assert not again['changed'] and state['loads'] == 1


def test_check_mode_reads_and_changes_nothing(guest):
    port, state = guest
    out = load.ensure('127.0.0.1', port, check_mode=True, cpu_pct=50)
    assert out['changed'] and out['load']['cpu_pct'] == 50 and state['loads'] == 0


def test_bad_input_and_an_unreachable_guest_are_named(guest):
    port, state = guest
    with pytest.raises(load.LoadError) as err:
        load.ensure('127.0.0.1', port, cpu_pct=150, mem_mib=-1)
    assert 'mem_mib must be 0 or more, not -1' in str(err.value) and 'cpu_pct must be 0 to 100' in str(err.value)
    assert state['loads'] == 0
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        closed = s.getsockname()[1]
    with pytest.raises(load.LoadError) as err:
        load.current('127.0.0.1', closed, timeout=2)
    assert 'cannot reach the guest at 127.0.0.1 port %d' % closed in str(err.value)
