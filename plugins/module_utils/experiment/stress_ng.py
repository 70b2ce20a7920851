# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The load of a real guest: stress-ng started, read and changed through its QEMU guest agent.

The research loaded its VM with stress-ng (CPU ``--cpu-load``, RAM ``--vm-bytes``); this runs
the same in any guest that has stress-ng and the agent, without a reboot. One stress-ng at a
time: its pid and the load it makes are kept in ``STATE`` in the guest, and a load is "in force"
only while that process is alive. Same vocabulary as the lab guest's load (``load.py``):
``mem_mib``, ``rate_mib``, ``cpu_pct``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment.load import LoadError, check_values
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.guest_agent import GuestAgent

STATE = '/run/skillvl-stress-ng'
PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
NO_STRESS_NG = 3          # the exit code of a script that finds no stress-ng
STOP_WAIT_S = 10
START_CHECK_S = 2         # a stress-ng that does not like its arguments exits at once

# The state file's stress-ng, if it is still that process: prints "PID MEM_MIB CPU_PCT".
READ = '''
read -r pid mem cpu 2>/dev/null < %(state)s || exit 0
[ -n "$pid" ] && grep -q stress-ng /proc/"$pid"/cmdline 2>/dev/null || exit 0
echo "$pid $mem $cpu"
'''

# Stop the state file's stress-ng (TERM, then KILL after STOP_WAIT_S) and start the next one
# ("$@", its argv). A process that has ended has an empty cmdline, also as a zombie nobody reaps.
CHANGE = '''
%(path)s
command -v stress-ng >/dev/null || exit %(missing)d
alive() { grep -q stress-ng /proc/"$1"/cmdline 2>/dev/null; }
if read -r pid mem cpu 2>/dev/null < %(state)s && [ -n "$pid" ] && alive "$pid"; then
  kill "$pid"
  i=0
  while alive "$pid" && [ $i -lt %(wait)d ]; do sleep 1; i=$((i + 1)); done
  if alive "$pid"; then kill -9 "$pid"; fi
fi
rm -f %(state)s
[ -n "$1" ] || exit 0
"$@" </dev/null >/dev/null 2>&1 &
echo "$! $MEM $CPU" > %(state)s
'''


def argv(load):
    """stress-ng's command line for a load; None for no load."""
    args = ['stress-ng', '--quiet', '--timeout', '0']
    if load['cpu_pct']:
        # every online CPU at this share: the guest's CPU load, as the research's --cpu-load
        args += ['--cpu', '0', '--cpu-load', str(load['cpu_pct'])]
    if load['mem_mib']:
        # one worker rewriting the same region as fast as it can (--vm-keep: never unmapped)
        args += ['--vm', '1', '--vm-bytes', '%dM' % load['mem_mib'], '--vm-keep']
    return args if (load['cpu_pct'] or load['mem_mib']) else None


def _parse(text, name):
    """The load of READ's "PID MEM_MIB CPU_PCT" line (none: no stress-ng of ours runs)."""
    fields = text.split()
    if not fields:
        return dict(mem_mib=0, rate_mib=0, cpu_pct=0)
    try:
        dummy_pid, mem, cpu = (int(f) for f in fields[:3])
    except ValueError:
        raise LoadError('VM "%s": %s does not hold a load (%r)' % (name, STATE, text.strip()[:120]))
    return dict(mem_mib=mem, rate_mib=0, cpu_pct=cpu)


def current(agent):
    """The load stress-ng makes in the guest now (all zero when none runs)."""
    code, out, err = agent.shell(READ % dict(state=STATE))
    if code:
        raise LoadError('VM "%s": cannot read the stress-ng load (exit %d): %s' % (agent.name, code, err.strip()[:200]))
    return _parse(out, agent.name)


def ensure(agent, check_mode=False, **wanted):
    """Set the given parts of the load; returns {changed, before, load}."""
    check_values(wanted)
    if wanted.get('rate_mib'):
        raise LoadError('rate_mib must be 0 with stress-ng: its vm stressor rewrites as fast as the guest can')
    before = current(agent)
    after = dict(before)
    after.update((k, int(v)) for k, v in wanted.items() if v is not None)
    if after == before or check_mode:
        return dict(changed=after != before, before=before, load=after)
    command = argv(after) or []
    script = 'MEM=%d CPU=%d\n%s' % (after['mem_mib'], after['cpu_pct'], CHANGE % dict(
        path=PATH, missing=NO_STRESS_NG, state=STATE, wait=STOP_WAIT_S))
    code, dummy, err = agent.run(['/bin/sh', '-c', script, 'sh'] + command, timeout=STOP_WAIT_S + 20)
    if code == NO_STRESS_NG:
        raise LoadError('VM "%s" has no stress-ng: install it in the guest (Debian: apt install stress-ng, or '
                        'cloud-init packages: [stress-ng])' % agent.name)
    if code:
        raise LoadError('VM "%s": changing the stress-ng load failed (exit %d): %s'
                        % (agent.name, code, err.decode('utf-8', 'replace').strip()[:200]))
    if command:
        time.sleep(START_CHECK_S)
        if current(agent) != after:
            raise LoadError('VM "%s": stress-ng exited at once with %s (an option this stress-ng does not know?)'
                            % (agent.name, ' '.join(command)))
    return dict(changed=True, before=before, load=after)


def ensure_in_vm(name, uri='qemu:///system', timeout=10, check_mode=False, **wanted):
    """ensure() for VM ``name``, running on the libvirt at ``uri``."""
    check_values(wanted)
    conn = session.connect(uri, 'the libvirt of this host (%s)' % uri, keepalive=False)
    try:
        dom = session.lookup_domain(conn, name)
        if dom is None or not session.is_active(dom):
            raise LoadError('VM "%s" is not running on this host (%s): load it where it runs' % (name, uri))
        result = ensure(GuestAgent(dom, name, timeout), check_mode, **wanted)
        result['name'] = name
        return result
    finally:
        session.close(conn)
