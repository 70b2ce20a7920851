# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a mover (live.py, cold.py) is given by the engine: one object, no engine internals."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError


class Interrupted(BaseException):
    """A stop signal arrived; BaseException so that no ``except Exception`` swallows it."""


def locate(src, dst, name):
    """Where VM ``name`` is: {'source': state, 'dest': state} ('unknown' when a host cannot say)."""
    out = {}
    for key, conn in (('source', src), ('dest', dst)):
        try:
            out[key] = session.domain_state(session.lookup_domain(conn, name))[0] if conn else 'unknown'
        except LibvirtError:
            out[key] = 'unknown'
    return out


class MoveContext(object):
    """One move: the normalized options, both libvirt connections, the destination URI, the
    clock (injectable for tests) and the list the mover adds its warnings to."""

    def __init__(self, opts, src, dst, dest_uri, clock=time.monotonic, sleep=time.sleep, warnings=None):
        self.opts = opts
        self.src = src
        self.dst = dst
        self.dest_uri = dest_uri
        self.clock = clock
        self.sleep = sleep
        self.warnings = warnings if warnings is not None else []

    @property
    def name(self):
        return self.opts['name']

    def where(self):
        return locate(self.src, self.dst, self.opts['name'])
