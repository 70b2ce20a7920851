# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What QEMU measures in a running guest, through libvirt (used before a move and by the planner)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session


def measure_dirty_rate(conn, dom, clock=time.monotonic, sleep=time.sleep, seconds=1):
    """The guest's dirty rate in bytes/s, measured by QEMU over ``seconds``; None if unavailable."""
    lv = session.require_libvirt()
    try:
        dom.startDirtyRateCalc(seconds, 0)
    except (AttributeError, lv.libvirtError):
        return None
    stats_flag = getattr(lv, 'VIR_DOMAIN_STATS_DIRTYRATE', 1 << 9)
    deadline = clock() + seconds + 3
    while clock() < deadline:
        sleep(0.25)
        try:
            records = conn.domainListGetStats([dom], stats_flag, 0)
        except (AttributeError, lv.libvirtError):
            return None
        if not records:
            return None
        stats = records[0][1]
        if stats.get('dirtyrate.calc_status') == 2 and 'dirtyrate.megabytes_per_second' in stats:
            return stats['dirtyrate.megabytes_per_second'] * 1048576.0
    return None
