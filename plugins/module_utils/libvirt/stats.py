# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What QEMU measures in a running guest, through libvirt (used before a move and by the planner)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import re
import time
import zlib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session


# QEMU's dirty-rate calculation reports whole MiB/s, rounded down: a reading of r is a rate in [r, r + 1)
DIRTY_RATE_STEP = 1048576.0


def measure_dirty_rate(conn, dom, clock=time.monotonic, sleep=time.sleep, seconds=1):
    """The guest's dirty rate in bytes/s, measured by QEMU over ``seconds`` (in steps of
    DIRTY_RATE_STEP); None if unavailable."""
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


def vcpu_time(conn, dom):
    """(nanoseconds of vCPU time the guest's vCPU threads have run, number of vCPUs), or None."""
    lv = session.require_libvirt()
    try:
        records = conn.domainListGetStats([dom], getattr(lv, 'VIR_DOMAIN_STATS_VCPU', 1 << 3), 0)
    except (AttributeError, lv.libvirtError):
        return None
    if not records:
        return None
    stats = records[0][1]
    count = stats.get('vcpu.current') or 0
    times = [stats.get('vcpu.%d.time' % index) for index in range(count)]
    if not count or None in times:
        return None
    return sum(times), count


SMAPS_HEADER = re.compile(r'^[0-9a-f]+-[0-9a-f]+ ')


def _read(path):
    with open(path) as handle:
        return handle.read()


def resident_guest_ram(conn, dom, memory_bytes, read=_read):
    """Bytes of the guest's RAM its QEMU holds resident: the pages the guest ever touched (QEMU's
    whole RSS also counts its own code, caches and, under TCG, the translation buffer).

    Read from /proc/<QEMU's pid>/smaps: the one mapping the size of the guest's memory. None when
    libvirt is not this host's (qemu:///system), or the mapping is not found unambiguously.
    """
    lv = session.require_libvirt()
    try:
        if not conn.getURI().startswith('qemu:///'):
            return None
        name = dom.name()
    except lv.libvirtError:
        return None
    try:
        smaps = read('/proc/%d/smaps' % int(read('/run/libvirt/qemu/%s.pid' % name).strip()))
    except (EnvironmentError, ValueError):
        return None
    mappings, current = [], None
    for line in smaps.splitlines():
        if SMAPS_HEADER.match(line):
            current = {}
            mappings.append(current)
        elif current is not None and line.startswith(('Size:', 'Rss:')):
            key, value = line.split(':', 1)
            current[key] = int(value.split()[0]) * 1024
    ram = [m for m in mappings if memory_bytes <= m.get('Size', 0) <= memory_bytes + 4 * 1048576]
    if len(ram) != 1 or 'Rss' not in ram[0]:
        return None
    return ram[0]['Rss']


PAGE = 4096
PEEK = 16384                  # a sample: 4 pages (libvirt's RPC takes up to 64 KiB, but larger samples vary more)
PAGE_HEADER = 12              # QEMU's page header on the stream: address and flags, compressed length
LOW_RAM = 2 * 1024 ** 3       # below this the guest's RAM starts at 0 on q35 and pc alike
MIN_PAGES = 16


def first_round_ratio(conn, dom, memory_bytes, reads=128, rng=None):
    """How much QEMU's mt compression (zlib level 1, page by page) shrinks the guest's pages that
    are not zero, from ``reads`` samples of 16 KiB of its physical memory read through libvirt;
    zero pages go as a flag anyway. None when the memory cannot be read or too few pages hold data.
    The sampled bytes stay in this process, compressed only to count them."""
    lv = session.require_libvirt()
    rng = rng or random.Random()
    span = max(1, min(memory_bytes, LOW_RAM) // PEEK)
    zero = bytes(PAGE)
    physical = getattr(lv, 'VIR_MEMORY_PHYSICAL', 2)
    raw = packed = 0
    for dummy in range(reads):
        try:
            chunk = dom.memoryPeek(rng.randrange(span) * PEEK, PEEK, physical)
        except (AttributeError, lv.libvirtError):
            return None
        for start in range(0, len(chunk) - PAGE + 1, PAGE):
            page = chunk[start:start + PAGE]
            if page != zero:
                raw += PAGE
                packed += len(zlib.compress(page, 1)) + PAGE_HEADER
    if raw < MIN_PAGES * PAGE:
        return None
    return raw / float(packed)
