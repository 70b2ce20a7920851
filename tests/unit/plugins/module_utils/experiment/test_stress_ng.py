# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_load's stress-ng backend: its scripts run for real in /bin/sh here, behind a stand-in of the
guest agent's guest-exec, with a stand-in stress-ng (the real guest agent and stress-ng are in
tests/integration/test_experiment.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import subprocess
import time

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import load, stress_ng
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import guest_agent

# Lives until killed; exits at once on a CPU load of 99 (an option "this stress-ng" refuses).
FAKE_STRESS_NG = '''#!/bin/sh
case " $* " in *" --cpu-load 99 "*) exit 1 ;; esac
echo "$*" >> "%s"
while :; do sleep 1; done
'''


class LocalAgent(object):
    """guest-exec and guest-exec-status, answered by processes of this machine."""

    def __init__(self):
        self.procs = {}
        self.calls = []

    def __call__(self, dom, text, timeout):
        request = json.loads(text)
        args = request.get('arguments', {})
        self.calls.append(request['execute'])
        if request['execute'] == 'guest-exec':
            proc = subprocess.Popen([args['path']] + args['arg'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.procs[proc.pid] = proc
            return json.dumps({'return': {'pid': proc.pid}})
        proc = self.procs[args['pid']]
        if proc.poll() is None:
            return json.dumps({'return': {'exited': False}})
        out, err = proc.communicate()
        return json.dumps({'return': {'exited': True, 'exitcode': proc.returncode,
                                      'out-data': base64.b64encode(out).decode(),
                                      'err-data': base64.b64encode(err).decode()}})


class Dom(object):
    def name(self):
        return 'svc'


@pytest.fixture
def guest(tmp_path, monkeypatch, fake_libvirt):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    started = tmp_path / 'started'
    fake = bindir / 'stress-ng'
    fake.write_text(FAKE_STRESS_NG % started)
    fake.chmod(0o755)
    for tool in ('cat', 'grep', 'rm', 'sleep'):   # and nothing else of this machine (its own stress-ng)
        (bindir / tool).symlink_to(subprocess.check_output(['sh', '-c', 'command -v ' + tool]).decode().strip())
    monkeypatch.setattr(stress_ng, 'STATE', str(tmp_path / 'state'))
    monkeypatch.setattr(stress_ng, 'PATH', 'PATH=%s' % bindir)
    monkeypatch.setattr(stress_ng, 'START_CHECK_S', 0.5)
    monkeypatch.setattr(stress_ng, 'STOP_WAIT_S', 3)
    monkeypatch.setattr(guest_agent, 'POLL_S', 0.05)
    local = LocalAgent()
    monkeypatch.setattr(guest_agent, '_agent_command', local)
    agent = guest_agent.GuestAgent(Dom())
    yield agent, started, fake, local
    stress_ng.ensure(agent, mem_mib=0, cpu_pct=0)   # nothing left running


def started_lines(path):
    return path.read_text().splitlines() if path.exists() else []


def alive(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return b'stress-ng' in handle.read()
    except IOError:
        return False


def running_pid():
    with open(stress_ng.STATE) as handle:
        return int(handle.read().split()[0])


def test_the_command_line_is_the_researchs(guest):
    assert stress_ng.argv(dict(mem_mib=153, rate_mib=0, cpu_pct=50)) == [
        'stress-ng', '--quiet', '--timeout', '0', '--cpu', '0', '--cpu-load', '50',
        '--vm', '1', '--vm-bytes', '153M', '--vm-keep']
    assert stress_ng.argv(dict(mem_mib=0, rate_mib=0, cpu_pct=100))[4:] == ['--cpu', '0', '--cpu-load', '100']
    assert stress_ng.argv(dict(mem_mib=0, rate_mib=0, cpu_pct=0)) is None


def test_a_load_is_started_once_then_left_alone(guest):
    agent, started, dummy, dummy2 = guest
    out = stress_ng.ensure(agent, mem_mib=96, cpu_pct=25)
    assert out == dict(changed=True, before=dict(mem_mib=0, rate_mib=0, cpu_pct=0),
                       load=dict(mem_mib=96, rate_mib=0, cpu_pct=25))
    assert started_lines(started) == ['--quiet --timeout 0 --cpu 0 --cpu-load 25 --vm 1 --vm-bytes 96M --vm-keep']
    assert stress_ng.current(agent) == dict(mem_mib=96, rate_mib=0, cpu_pct=25)
    again = stress_ng.ensure(agent, mem_mib=96, cpu_pct=None)
    assert not again['changed'] and len(started_lines(started)) == 1


def test_a_new_load_replaces_the_old_process_and_no_load_stops_it(guest):
    agent, started, dummy, dummy2 = guest
    stress_ng.ensure(agent, mem_mib=64, cpu_pct=0)
    first = running_pid()
    out = stress_ng.ensure(agent, cpu_pct=100)
    assert out['before'] == dict(mem_mib=64, rate_mib=0, cpu_pct=0) and out['load']['cpu_pct'] == 100
    second = running_pid()
    assert second != first and not alive(first) and alive(second)
    stop = stress_ng.ensure(agent, mem_mib=0, cpu_pct=0)
    assert stop['changed'] and stress_ng.current(agent) == dict(mem_mib=0, rate_mib=0, cpu_pct=0)
    assert not os.path.exists(stress_ng.STATE)
    deadline = time.monotonic() + 5
    while alive(second) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(second)


def test_check_mode_reads_and_starts_nothing(guest):
    agent, started, dummy, local = guest
    out = stress_ng.ensure(agent, check_mode=True, mem_mib=32)
    assert out['changed'] and out['load']['mem_mib'] == 32
    assert started_lines(started) == [] and stress_ng.current(agent)['mem_mib'] == 0


def test_a_load_whose_process_died_counts_as_none(guest):
    agent, dummy, dummy2, dummy3 = guest
    stress_ng.ensure(agent, mem_mib=16)
    os.kill(running_pid(), 9)
    time.sleep(0.2)
    assert stress_ng.current(agent) == dict(mem_mib=0, rate_mib=0, cpu_pct=0)


def test_a_stress_ng_that_exits_at_once_is_an_error(guest):
    agent = guest[0]
    with pytest.raises(load.LoadError, match='stress-ng exited at once with stress-ng .*--cpu-load 99'):
        stress_ng.ensure(agent, cpu_pct=99)


def test_a_guest_without_stress_ng_is_named(guest):
    agent, dummy, fake, dummy2 = guest
    fake.unlink()
    with pytest.raises(load.LoadError, match='VM "svc" has no stress-ng: install it in the guest'):
        stress_ng.ensure(agent, cpu_pct=10)


@pytest.mark.parametrize('wanted, words', [
    (dict(cpu_pct=101), 'cpu_pct must be 0 to 100'),
    (dict(mem_mib=-1), 'mem_mib must be 0 or more'),
    (dict(rate_mib=8), 'rate_mib must be 0 with stress-ng'),
])
def test_bad_input_is_refused_before_the_guest_is_asked(guest, wanted, words):
    agent, dummy, dummy2, local = guest
    with pytest.raises(load.LoadError, match=words):
        stress_ng.ensure(agent, **wanted)
    assert local.calls == []


def test_an_agent_that_does_not_answer_or_refuses_is_named(monkeypatch, fake_libvirt):
    def unresponsive(dom, text, timeout):
        raise fake_libvirt.libvirtError('Guest agent is not responding: QEMU guest agent is not connected',
                                        code=guest_agent.ERR_AGENT_UNRESPONSIVE)
    monkeypatch.setattr(guest_agent, '_agent_command', unresponsive)
    with pytest.raises(guest_agent.GuestAgentError, match='does not answer: is qemu-guest-agent running'):
        stress_ng.current(guest_agent.GuestAgent(Dom()))

    def blocked(dom, text, timeout):
        raise fake_libvirt.libvirtError("internal error: unable to execute QEMU agent command 'guest-exec': "
                                        "Command guest-exec has been disabled", code=1)
    monkeypatch.setattr(guest_agent, '_agent_command', blocked)
    with pytest.raises(guest_agent.GuestAgentError, match='refuses guest-exec: the guest blocks it'):
        stress_ng.current(guest_agent.GuestAgent(Dom()))


def test_a_program_that_outlives_the_wait_is_reported(guest):
    agent = guest[0]
    with pytest.raises(guest_agent.GuestAgentError, match='did not end within 1 s'):
        agent.run(['/bin/sleep', '3'], timeout=1)
