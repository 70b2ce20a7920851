# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Progress of a running migration: the source's live job statistics plus the progress log."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml, home, session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.pools import locate
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import (
    progress_record, read_log)

JOB_TYPES = {0: 'none', 1: 'bounded', 2: 'unbounded', 3: 'completed', 4: 'failed', 5: 'cancelled'}


def job_info(name, source_uri='qemu:///system', progress_log=None, last=20):
    """{'running', 'job', 'progress', 'log_header', 'log'} for VM ``name`` on this host."""
    out = {'name': name, 'running': False, 'job': None, 'progress': None, 'vm_state': 'absent', 'home': None,
           'disks': []}
    header, records = read_log(progress_log, last)
    out['log_header'] = header
    out['log'] = records
    if records and records[-1].get('phase') in ('completed', 'failed', 'lost'):
        out['finished'] = records[-1]['phase']
    conn = session.connect(source_uri, 'the libvirt of this host (%s)' % source_uri, readonly=True, keepalive=False)
    try:
        return _read_domain(conn, name, out, records)
    except session.LibvirtError as exc:
        # A move that ends while the VM is read takes it away from this host between the look-up
        # and the next call: that is an answer (gone), not an error.
        if exc.code == session.ERR_NO_DOMAIN:
            out.update(vm_state='absent', home=None, job=None, running=False, progress=None, disks=[])
            return out
        raise
    finally:
        session.close(conn)


def _read_domain(conn, name, out, records):
    """The VM's state, record and job, added to ``out``."""
    dom = session.lookup_domain(conn, name)
    out['vm_state'] = session.domain_state(dom)[0]
    out['home'] = home.read(dom) if dom is not None else None
    out['disks'] = disk_places(conn, dom) if dom is not None else []
    if dom is None or not session.is_active(dom):
        return out
    lv = session.require_libvirt()
    try:
        stats = dom.jobStats(0)
    except lv.libvirtError as exc:
        raise session.translate(exc, 'cannot read the job of VM "%s"' % name)
    kind = stats.get('type', 0)
    out['job'] = dict(stats, type_name=JOB_TYPES.get(kind, str(kind)))
    if kind in (1, 2):
        out['running'] = True
        phase = records[-1].get('phase', 'precopy') if records else 'precopy'
        out['progress'] = progress_record(stats, phase, (stats.get('time_elapsed') or 0) / 1000.0)
    return out


def disk_places(conn, dom):
    """The VM's disks and where they are: the source (a path, or an RBD pool/image name), and the
    storage pool and volume of this host that hold it (None when no pool does)."""
    lv = session.require_libvirt()
    try:
        xml = dom.XMLDesc(0)
    except lv.libvirtError as exc:
        raise session.translate(exc, 'cannot read the definition of VM "%s"' % dom.name())
    out = []
    for disk in domxml.parse_domain(xml)['disks']:
        place = locate(conn, disk) or {'pool': None, 'volume': None}
        out.append({'target': disk['target'], 'device': disk['device'], 'type': disk['type'],
                    'protocol': disk['protocol'], 'source': disk['path'] or disk['name'], 'format': disk['format'],
                    'readonly': disk['readonly'], 'pool': place['pool'], 'volume': place['volume']})
    return out
