# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""WAN emulation on one host's side of the underlay: rate, round-trip time, jitter, loss.

One model, two methods:
- ``netem`` (real hosts): netem on the interface's egress, and on an ifb device that its
  ingress is redirected to, so both directions are shaped; with ``peers`` only the traffic
  to and from those addresses (a prio qdisc and u32 filters).
- ``forwarder`` (kernels without sch_netem, such as the lab's): the interface is a bridge
  port; a veth takes its place in the bridge and ``wan_forwarder.py`` carries the frames
  between the two, shaped the same way.

Half the round trip is added in each direction. ``rate_mbit`` is what TCP gets through the
link (what iperf3 reports); the shaper's line rate adds the Ethernet, IP and TCP headers of
full frames. What was applied is kept in a state file per interface, so a second run changes
nothing and ``absent`` removes exactly what was added.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError, Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.command import ToolError, tool_factory
from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan_forwarder

METHODS = ('netem', 'forwarder')
STATE_DIR = '/run/skillvl/wan'
HANDLE = '5e1:'                # our root qdisc; a root qdisc with another handle is not ours
NETEM_HANDLE = '5e2:'
TCP_OVERHEAD = 14 + 20 + 32    # Ethernet header; IPv4 header; TCP header with timestamps
MAX_RTT_MS = 10000
FORWARDER_START_S = 5.0
MIN_RTT_SLACK_MS = 2.0


class WanError(BackendError):
    """A WAN emulation that cannot be set up or removed, in an administrator's words."""


def line_rate_bit(rate_mbit, mtu=1500):
    """The shaper's rate (bit/s on the wire) that gives TCP ``rate_mbit`` through full frames."""
    return int(round(rate_mbit * 1e6 * (mtu + 14) / (mtu - TCP_OVERHEAD + 14)))


def _address(text):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return text
        except (OSError, socket.error, ValueError, TypeError):
            continue
    return None


def build_spec(rate_mbit=None, rtt_ms=0.0, jitter_ms=0.0, loss_percent=0.0, peers=None, queue_ms=50.0, mtu=1500):
    """The checked model of the emulated link; every problem of the input is named at once."""
    problems = []
    if rate_mbit is not None and not rate_mbit > 0:
        problems.append('rate_mbit must be above 0 (leave it out for no rate limit), not %s' % rate_mbit)
    if not 0 <= (rtt_ms or 0) <= MAX_RTT_MS:
        problems.append('rtt_ms must be 0 to %d, not %s' % (MAX_RTT_MS, rtt_ms))
    if not 0 <= (jitter_ms or 0) <= (rtt_ms or 0):
        problems.append('jitter_ms must be 0 to rtt_ms (%s), not %s: a frame cannot arrive before it is sent'
                        % (rtt_ms or 0, jitter_ms))
    if not 0 <= (loss_percent or 0) < 100:
        problems.append('loss_percent must be 0 or more and below 100, not %s' % loss_percent)
    if not 1 <= (queue_ms or 0) <= MAX_RTT_MS:
        problems.append('queue_ms must be 1 to %d, not %s' % (MAX_RTT_MS, queue_ms))
    if not 576 <= mtu <= 9000:
        problems.append('mtu must be 576 to 9000, not %s' % mtu)
    bad = [p for p in (peers or []) if not _address(str(p))]
    if bad:
        problems.append('peers must be IP addresses; not: %s' % ', '.join(str(p) for p in bad))
    if not problems and rate_mbit is None and not rtt_ms and not loss_percent:
        problems.append('nothing to emulate: give rate_mbit, rtt_ms or loss_percent (or state=absent)')
    if problems:
        raise WanError('; '.join(problems))
    spec = dict(rate_mbit=rate_mbit, rtt_ms=float(rtt_ms or 0), jitter_ms=float(jitter_ms or 0),
                loss_percent=float(loss_percent or 0), peers=sorted(str(p) for p in peers or []),
                queue_ms=float(queue_ms), mtu=int(mtu))
    spec['line_rate_bit'] = line_rate_bit(rate_mbit, mtu) if rate_mbit else None
    return spec


def argument_spec():
    """The module's options, beside the model they feed (build_spec, backend)."""
    return dict(
        interface=dict(type='str'),
        address=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        method=dict(type='str', default='netem', choices=list(METHODS)),
        netns=dict(type='str'),
        rate_mbit=dict(type='float'),
        rtt_ms=dict(type='float', default=0.0),
        jitter_ms=dict(type='float', default=0.0),
        loss_percent=dict(type='float', default=0.0),
        peers=dict(type='list', elements='str', default=[]),
        queue_ms=dict(type='float', default=50.0),
        mtu=dict(type='int', default=1500),
        state_dir=dict(type='path', default=STATE_DIR),
    )


def _key(interface, netns):
    return '%s--%s' % (netns or 'host', interface)


class StateFile(object):
    """What this backend applied to one interface (JSON, 0600, in a root-only directory)."""

    def __init__(self, directory, interface, netns):
        self.directory = directory
        self.base = os.path.join(directory, _key(interface, netns))
        self.path = self.base + '.json'

    def read(self):
        return read_json(self.path)

    def write(self, data):
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True))

    def remove(self):
        for suffix in ('.json', '.spec.json', '.stats.json', '.log'):
            try:
                os.unlink(self.base + suffix)
            except OSError:
                pass


def read_json(path):
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def write_private(path, text, mode=0o600):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


class WanBackend(object):
    """The common part: tools, the state file, the plan of present/absent."""

    method = None

    def __init__(self, interface, netns=None, state_dir=STATE_DIR, tools=None):
        if not interface or '/' in interface or len(interface) > 15:
            raise WanError('interface %r is not a network interface name (1-15 characters)' % (interface,))
        self.interface = interface
        self.netns = netns or None
        self.state = StateFile(state_dir, interface, netns)
        factory = tool_factory(tools)
        try:
            self.ip = factory('ip')
            self.tc = factory('tc')
        except ToolError as exc:
            raise WanError(str(exc))

    def run(self, tool, args, check=True):
        try:
            return tool.run(args, check=check)
        except ToolError as exc:
            raise WanError(str(exc))

    def ip_args(self, args):
        return (['-n', self.netns] if self.netns else []) + list(args)

    def link(self, name):
        rc, out, _err = self.run(self.ip, self.ip_args(['-j', '-d', 'link', 'show', 'dev', name]), check=False)
        if rc != 0:
            return None
        try:
            return json.loads(out)[0]
        except (ValueError, IndexError):
            return None

    def require_interface(self):
        if self.link(self.interface) is None:
            raise WanError('interface %s does not exist%s' % (
                self.interface, ' in network namespace %s' % self.netns if self.netns else ''))

    # what is there now, as the state file and the system both say
    def current(self):
        """The applied spec, or None; a state file whose setup is gone counts as nothing."""
        state = self.state.read()
        if not state or state.get('method') != self.method or not self.intact(state):
            return None
        return state['spec']

    def plan(self, spec, state='present'):
        recorded = self.state.read()
        current = self.current()
        plan = Plan(before=current, after=spec if state == 'present' else None)
        if state == 'absent':
            if recorded:
                self.plan_remove(plan, recorded)
            return plan
        self.require_interface()
        if current == spec:
            return plan
        if recorded and current is None:
            self.plan_remove(plan, recorded)       # half there (a crash, a reboot): start clean
        self.plan_apply(plan, spec, recorded if current is not None else None)
        return plan

    def ensure(self, spec, state='present', check_mode=False):
        plan = self.plan(spec, state)
        if plan and not check_mode:
            plan.run()
        return plan.result(method=self.method, interface=self.interface, netns=self.netns,
                           spec=spec if state == 'present' else None)

    def info(self):
        state = self.state.read()
        current = self.current()
        return dict(method=self.method, interface=self.interface, netns=self.netns, spec=current,
                    stale=bool(state) and current is None)

    def intact(self, state):
        raise NotImplementedError

    def plan_apply(self, plan, spec, recorded):
        raise NotImplementedError

    def plan_remove(self, plan, recorded):
        raise NotImplementedError


def _us(ms):
    return '%dus' % int(round(ms * 1000))


def netem_args(spec, one_way=True):
    """netem's options for one direction of the spec (half the round trip)."""
    share = 2.0 if one_way else 1.0
    args = []
    limit = 1000
    if spec['line_rate_bit']:
        limit = max(10, int(spec['queue_ms'] / 1000.0 * spec['line_rate_bit'] / 8 / (spec['mtu'] + 14)) + 1)
    args += ['limit', str(limit)]
    if spec['rtt_ms']:
        args += ['delay', _us(spec['rtt_ms'] / share)]
        if spec['jitter_ms']:
            args += [_us(spec['jitter_ms'] / share)]
    if spec['loss_percent']:
        args += ['loss', '%g%%' % spec['loss_percent']]
    if spec['line_rate_bit']:
        args += ['rate', '%dbit' % spec['line_rate_bit']]
    return args


class NetemBackend(WanBackend):
    """netem on egress and, through an ifb device, on ingress."""

    method = 'netem'

    @property
    def ifb(self):
        return 'wi-' + self.interface[:12]

    def root_handle(self, device):
        rc, out, _err = self.run(self.tc, ['-j', 'qdisc', 'show', 'dev', device], check=False)
        if rc != 0:
            return None
        try:
            qdiscs = json.loads(out or '[]')
        except ValueError:
            return None
        for qdisc in qdiscs:
            if qdisc.get('root'):
                return qdisc.get('handle')
        return None

    def intact(self, state):
        return (self.root_handle(self.interface) == HANDLE and self.link(self.ifb) is not None
                and self.root_handle(self.ifb) == HANDLE)

    def commands(self, spec):
        """The tc/ip argv lists that shape both directions (unit cases check them exactly)."""
        dev, ifb = self.interface, self.ifb
        cmds = [('ip', ['link', 'add', ifb, 'type', 'ifb']), ('ip', ['link', 'set', ifb, 'up']),
                ('tc', ['qdisc', 'replace', 'dev', dev, 'handle', 'ffff:', 'ingress']),
                ('tc', ['filter', 'replace', 'dev', dev, 'parent', 'ffff:', 'protocol', 'all', 'prio', '10',
                        'u32', 'match', 'u32', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', ifb])]
        for device, side in ((dev, 'dst'), (ifb, 'src')):
            if not spec['peers']:
                cmds.append(('tc', ['qdisc', 'replace', 'dev', device, 'root', 'handle', HANDLE, 'netem']
                             + netem_args(spec)))
                continue
            cmds.append(('tc', ['qdisc', 'replace', 'dev', device, 'root', 'handle', HANDLE, 'prio', 'bands', '2',
                                'priomap'] + ['0'] * 16))
            cmds.append(('tc', ['qdisc', 'replace', 'dev', device, 'parent', HANDLE + '2', 'handle', NETEM_HANDLE,
                                'netem'] + netem_args(spec)))
            for number, peer in enumerate(spec['peers']):
                v6 = ':' in peer
                cmds.append(('tc', ['filter', 'replace', 'dev', device, 'parent', HANDLE,
                                    'protocol', 'ipv6' if v6 else 'ip', 'prio', str(10 + number), 'u32',
                                    'match', 'ip6' if v6 else 'ip', side, peer + ('/128' if v6 else '/32'),
                                    'flowid', HANDLE + '2']))
        return cmds

    def plan_apply(self, plan, spec, recorded):
        handle = self.root_handle(self.interface)
        if recorded is None and handle not in (None, '0:', HANDLE):     # 0: is the kernel's default qdisc
            raise WanError('%s already has a root qdisc (handle %s) that this module did not add: '
                           'remove it first, nothing was changed' % (self.interface, handle))
        if recorded is not None:
            self.plan_remove(plan, dict(recorded))
        cmds = self.commands(spec)

        def apply():
            for tool, args in cmds:
                self.run(self.ip if tool == 'ip' else self.tc, args)
            self.state.write(dict(method=self.method, interface=self.interface, netns=None, spec=spec,
                                  ifb=self.ifb))
        plan.add('shape %s with netem (%s), ingress through %s' % (self.interface, describe(spec), self.ifb), apply)

    def plan_remove(self, plan, recorded):
        dev, ifb = self.interface, recorded.get('ifb') or self.ifb

        def remove():
            if self.root_handle(dev) == HANDLE:
                self.run(self.tc, ['qdisc', 'del', 'dev', dev, 'root'])
            if self.link(dev) is not None:
                self.run(self.tc, ['qdisc', 'del', 'dev', dev, 'handle', 'ffff:', 'ingress'], check=False)
            if self.link(ifb) is not None:
                self.run(self.ip, ['link', 'del', ifb])
            self.state.remove()
        plan.add('remove the WAN emulation from %s (netem, ingress redirect, %s)' % (dev, ifb), remove)


class ForwarderBackend(WanBackend):
    """The userspace forwarder between a bridge port and a veth that takes its place."""

    method = 'forwarder'

    def __init__(self, interface, netns=None, state_dir=STATE_DIR, tools=None, python=None):
        super(ForwarderBackend, self).__init__(interface, netns, state_dir, tools)
        self.python = python or sys.executable
        self.program = os.path.join(state_dir, 'wan_forwarder.py')
        self.spec_path = self.state.base + '.spec.json'
        self.stats_path = self.state.base + '.stats.json'
        self.log_path = self.state.base + '.log'

    @property
    def host_side(self):
        return 'wf-' + self.interface[:12]

    @property
    def bridge_side(self):
        return 'wb-' + self.interface[:12]

    def _netns_prefix(self):
        return [self.ip.path, 'netns', 'exec', self.netns] if self.netns else []

    def running(self, pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                argv = handle.read().split(b'\0')
        except (IOError, OSError, TypeError):
            return False
        return self.program.encode() in argv and self.interface.encode() in argv

    def intact(self, state):
        if not self.running(state.get('pid')):
            return False
        port, bridge_side = self.link(self.interface), self.link(self.bridge_side)
        return (port is not None and bridge_side is not None and not port.get('master')
                and bridge_side.get('master') == state.get('bridge'))

    def counters(self):
        return read_json(self.stats_path)

    def info(self):
        out = super(ForwarderBackend, self).info()
        out['counters'] = self.counters() if out['spec'] else None
        return out

    def start(self, spec):
        write_private(self.program, inspect.getsource(wan_forwarder), 0o700)
        write_private(self.spec_path, json.dumps(spec))
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            argv = self._netns_prefix() + [self.python, self.program, self.interface, self.host_side,
                                           self.spec_path, self.stats_path]
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                                    start_new_session=True)
        finally:
            os.close(log)
        deadline = time.time() + FORWARDER_START_S
        while time.time() < deadline:
            if proc.poll() is not None:
                raise WanError('the forwarder for %s stopped at start (rc %s): %s'
                               % (self.interface, proc.returncode, self._log_tail()))
            if os.path.exists(self.stats_path):      # written once its sockets are bound
                return proc.pid
            time.sleep(0.05)
        self.stop(proc.pid)
        raise WanError('the forwarder for %s did not start within %d s: %s'
                       % (self.interface, FORWARDER_START_S, self._log_tail()))

    def _log_tail(self):
        try:
            with open(self.log_path) as handle:
                return handle.read()[-400:].strip() or 'no output'
        except (IOError, OSError):
            return 'no output'

    def stop(self, pid):
        if not self.running(pid):
            return
        os.kill(pid, signal.SIGTERM)
        for _tick in range(50):
            if not self.running(pid):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def remove_program_if_unused(self):
        """The last forwarder gone: its program and the state directory go too."""
        directory = self.state.directory
        try:
            if any(name.endswith('.json') for name in os.listdir(directory)):
                return
            os.unlink(self.program)
            os.removedirs(directory)          # and /run/skillvl when it is empty
        except OSError:
            pass

    def plan_apply(self, plan, spec, recorded):
        if recorded is not None:                     # plumbing in place: a new forwarder only
            def restart():
                self.stop(recorded['pid'])
                if os.path.exists(self.stats_path):
                    os.unlink(self.stats_path)
                self.state.write(dict(recorded, spec=spec, pid=self.start(spec)))
            plan.add('restart the forwarder of %s with %s' % (self.interface, describe(spec)), restart)
            return
        bridge = (self.link(self.interface) or {}).get('master')
        if not bridge:
            raise WanError('%s is not a bridge port: the forwarder method takes a bridge port\'s place in its '
                           'bridge (use method netem on a host NIC); nothing was changed' % self.interface)
        port, bside = self.host_side, self.bridge_side

        def apply():
            self.run(self.ip, self.ip_args(['link', 'add', port, 'type', 'veth', 'peer', 'name', bside]))
            for name in (port, bside):
                self.run(self.ip, self.ip_args(['link', 'set', name, 'up']))
            for name in (port, self.interface):
                self.run(self.ip, self.ip_args(['link', 'set', name, 'promisc', 'on']))
            if os.path.exists(self.stats_path):
                os.unlink(self.stats_path)
            state = dict(method=self.method, interface=self.interface, netns=self.netns, spec=spec,
                         bridge=bridge, veth=[port, bside], pid=None)
            state['pid'] = self.start(spec)
            self.state.write(state)
            self.run(self.ip, self.ip_args(['link', 'set', self.interface, 'nomaster']))
            self.run(self.ip, self.ip_args(['link', 'set', bside, 'master', bridge]))
        plan.add('put a forwarder (%s) between %s and bridge %s' % (describe(spec), self.interface, bridge), apply)

    def plan_remove(self, plan, recorded):
        def remove():
            self.stop(recorded.get('pid'))
            port = self.link(self.interface)
            bridge = recorded.get('bridge')
            if port is not None and not port.get('master') and bridge and self.link(bridge) is not None:
                self.run(self.ip, self.ip_args(['link', 'set', self.interface, 'master', recorded['bridge']]))
            if port is not None:
                self.run(self.ip, self.ip_args(['link', 'set', self.interface, 'promisc', 'off']), check=False)
            if self.link(self.host_side) is not None:
                self.run(self.ip, self.ip_args(['link', 'del', self.host_side]))
            self.state.remove()
            self.remove_program_if_unused()
        plan.add('remove the forwarder of %s and give the port back to bridge %s'
                 % (self.interface, recorded.get('bridge')), remove)


def describe(spec):
    parts = []
    if spec.get('rate_mbit'):
        parts.append('%g Mbit/s' % spec['rate_mbit'])
    if spec.get('rtt_ms'):
        parts.append('+%g ms RTT' % spec['rtt_ms'] + (' +/- %g' % spec['jitter_ms'] if spec.get('jitter_ms') else ''))
    if spec.get('loss_percent'):
        parts.append('%g %% loss' % spec['loss_percent'])
    if spec.get('peers'):
        parts.append('to/from %s' % ', '.join(spec['peers']))
    return ', '.join(parts) or 'nothing'


BACKENDS = dict(netem=NetemBackend, forwarder=ForwarderBackend)


def interface_of(address, tools=None):
    """The local interface that holds ``address`` (the underlay address of a host)."""
    try:
        ip = tool_factory(tools)('ip')
        rc, out, err = ip.run(['-j', 'addr', 'show'])
    except ToolError as exc:
        raise WanError(str(exc))
    try:
        links = json.loads(out) if rc == 0 else None
    except ValueError:
        links = None
    if links is None:
        raise WanError('cannot list the addresses of this host: %s' % (err or out).strip())
    for link in links:
        if any(a.get('local') == address for a in link.get('addr_info') or []):
            return link['ifname']
    raise WanError('no interface of this host holds %s: give the interface to shape' % address)


def backend(method, interface=None, netns=None, state_dir=STATE_DIR, tools=None, address=None):
    if method not in BACKENDS:
        raise WanError('method must be one of %s, not %r' % (', '.join(METHODS), method))
    if netns and method == 'netem':
        raise WanError('netns is for the forwarder method; netem shapes an interface of the host itself')
    if not interface:
        if not address or netns:
            raise WanError('give the interface to shape (or, without netns, the address it holds)')
        interface = interface_of(address, tools)
    return BACKENDS[method](interface, netns=netns, state_dir=state_dir, tools=tools)


def check_measured(spec, measured, rate_tolerance=0.05, rtt_tolerance=0.10, rtt_slack_ms=MIN_RTT_SLACK_MS):
    """Does a probe of the path (link_probe's figures) show the asked link? A list of problems.

    The round trip is compared with the added one; a tolerance of at least ``rtt_slack_ms``
    allows for the path's own round trip (a LAN's) and the probe's scheduling.
    """
    problems = []
    if spec.get('rate_mbit') and measured.get('mbit') is not None:
        low, high = spec['rate_mbit'] * (1 - rate_tolerance), spec['rate_mbit'] * (1 + rate_tolerance)
        if not low <= measured['mbit'] <= high:
            problems.append('rate %.1f Mbit/s, asked %g (%.1f-%.1f)' % (measured['mbit'], spec['rate_mbit'], low, high))
    rtt = (measured.get('rtt_ms') or {}).get('median')
    if rtt is not None:
        want = spec.get('rtt_ms', 0)
        slack = max(want * rtt_tolerance, rtt_slack_ms)
        if abs(rtt - want) > slack:
            problems.append('round trip %.1f ms, asked %.1f (+/- %.1f)' % (rtt, want, slack))
    return problems
