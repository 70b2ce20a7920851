# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Commands to a guest's QEMU guest agent through libvirt (virDomainQemuAgentCommand).

``GuestAgent(dom).run(argv)`` runs a program in the guest (``guest-exec``) and waits for it, bounded;
the agent must run in the guest on the ``org.qemu.guest_agent.0`` channel, and ``guest-exec`` must
not be blocked there (``qemu-ga --block-rpcs``). Plain Python: a module, a planner or an experiment
runner can use it; ``command`` is the one place that talks to libvirt, and tests replace it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

ERR_AGENT_UNRESPONSIVE = 86   # virErrorNumber VIR_ERR_AGENT_UNRESPONSIVE
ERR_AGENT_UNSYNCED = 97       # VIR_ERR_AGENT_UNSYNCED
POLL_S = 0.2


class GuestAgentError(session.LibvirtError):
    """The agent is missing, does not answer, refuses a command, or a program failed in the guest."""


def _agent_command(dom, text, timeout):
    session.require_libvirt()
    import libvirt_qemu   # shipped with the libvirt bindings, beside libvirt
    return libvirt_qemu.qemuAgentCommand(dom, text, int(timeout), 0)


class GuestAgent(object):
    """The guest agent of one running domain."""

    def __init__(self, dom, name=None, timeout=10):
        self.dom = dom
        self.name = name or dom.name()
        self.timeout = timeout

    def command(self, execute, arguments=None):
        """One agent command; returns its ``return`` member."""
        request = {'execute': execute}
        if arguments:
            request['arguments'] = arguments
        lv = session.require_libvirt()
        try:
            answer = _agent_command(self.dom, json.dumps(request), self.timeout)
        except lv.libvirtError as exc:
            code = session.error_code(exc)
            if code in (ERR_AGENT_UNRESPONSIVE, ERR_AGENT_UNSYNCED):
                raise GuestAgentError('the QEMU guest agent of VM "%s" does not answer: is qemu-guest-agent '
                                      'running in the guest, on a channel org.qemu.guest_agent.0?' % self.name,
                                      detail=session.error_text(exc), code=code)
            text = session.error_text(exc)
            if 'not configured' in text:
                raise GuestAgentError('VM "%s" has no channel for a QEMU guest agent (org.qemu.guest_agent.0): add one '
                                      'to its domain (the vm role does for cloud images)' % self.name,
                                      detail=text, code=code)
            if 'has been disabled' in text or 'is disabled' in text:
                raise GuestAgentError('the QEMU guest agent of VM "%s" refuses %s: the guest blocks it '
                                      '(qemu-ga --block-rpcs or an allow-list)' % (self.name, execute),
                                      detail=text, code=code)
            raise GuestAgentError('the QEMU guest agent of VM "%s" failed %s' % (self.name, execute),
                                  detail=text, code=code)
        try:
            return json.loads(answer)['return']
        except (ValueError, KeyError, TypeError):
            raise GuestAgentError('the QEMU guest agent of VM "%s" gave no answer to %s: %r'
                                  % (self.name, execute, (answer or '')[:200]))

    def run(self, argv, timeout=30, stdin=None):
        """Run ``argv`` in the guest and wait for it, at most ``timeout`` s.

        Returns (exit code, stdout bytes, stderr bytes); a program that outlives the wait is left
        running and reported as an error (the agent has no way to stop it)."""
        arguments = {'path': argv[0], 'arg': list(argv[1:]), 'capture-output': True}
        if stdin is not None:
            arguments['input-data'] = base64.b64encode(stdin).decode('ascii')
        pid = self.command('guest-exec', arguments)['pid']
        deadline = time.monotonic() + timeout
        while True:
            status = self.command('guest-exec-status', {'pid': pid})
            if status.get('exited'):
                break
            if time.monotonic() > deadline:
                raise GuestAgentError('%s did not end within %d s in VM "%s" (guest pid %s)'
                                      % (argv[0], timeout, self.name, pid))
            time.sleep(POLL_S)
        if 'signal' in status:
            code = 128 + int(status['signal'])
        else:
            code = int(status.get('exitcode', 0))
        return (code, base64.b64decode(status.get('out-data') or ''),
                base64.b64decode(status.get('err-data') or ''))

    def shell(self, script, timeout=30):
        """Run a POSIX shell script in the guest; returns (exit code, stdout text, stderr text)."""
        code, out, err = self.run(['/bin/sh', '-c', script], timeout)
        return code, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
