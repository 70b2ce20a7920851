# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The load of a running lab guest, read and changed over its TCP port (no reboot).

The lab guest's heartbeat carries its load (``mem_mib``, ``rate_mib``, ``cpu_pct``); a
``LOAD`` request changes it (roles/lab_guest/files/skillvl-guest.c, docs/lab.md).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.net.service_probe import ask

KEYS = ('mem_mib', 'rate_mib', 'cpu_pct')


class LoadError(BackendError):
    """A load that cannot be read or set."""


def _fields(text):
    return dict((k, int(v)) for k, v in re.findall(r'\b(mem_mib|rate_mib|cpu_pct)=(\d+)', text))


def _ask(host, port, line, timeout):
    try:
        return ask(host, port, line, timeout)
    except (OSError, socket.error) as exc:
        raise LoadError('cannot reach the guest at %s port %d: %s' % (host, port, exc))


def current(host, port=8080, timeout=10.0):
    found = _fields(_ask(host, port, b'GET / HTTP/1.0\r\n\r\n', timeout))
    if set(found) != set(KEYS):
        raise LoadError('%s port %d did not answer with a lab guest heartbeat that carries its load' % (host, port))
    return found


def check_values(wanted):
    """Refuse a load no guest can make, before anything is asked of the guest."""
    problems = ['%s must be 0 or more, not %s' % (k, v) for k, v in wanted.items() if v is not None and v < 0]
    if wanted.get('cpu_pct') is not None and wanted['cpu_pct'] > 100:
        problems.append('cpu_pct must be 0 to 100, not %s' % wanted['cpu_pct'])
    if problems:
        raise LoadError('; '.join(problems))


def ensure(host, port=8080, timeout=10.0, check_mode=False, **wanted):
    """Set the given parts of the load; returns {changed, before, load}."""
    check_values(wanted)
    before = current(host, port, timeout)
    after = dict(before)
    after.update((k, int(v)) for k, v in wanted.items() if v is not None)
    if after == before or check_mode:
        return dict(changed=after != before, before=before, load=after)
    line = 'LOAD %s\n' % ' '.join('%s=%d' % (k, after[k]) for k in KEYS)
    answer = _ask(host, port, line.encode('ascii'), timeout)
    if _fields(answer) != after:
        raise LoadError('the guest answered %r to %r' % (answer.strip()[:120], line.strip()))
    return dict(changed=True, before=before, load=after)
