# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM's home and its time away, kept in the domain's own libvirt <metadata>.

The vm role writes ``<skillvl:guest>`` with the home host and the image; scaling away adds
``<away from=... since=... base_image=...>``, returning removes it. The away record also names,
for each disk the move put into a storage pool of the target (an RBD disk that became a local
file), the pool and volume it had at home: ``<disk target=... pool=... volume=.../>``. The record lives in the
domain definition, so it travels with every migration (live and persistent config) and a
return needs only the VM's name. Plain Python: a planner can read it too.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

NS = 'https://skillvl.example/offline_first/1'
PREFIX = 'skillvl'
METADATA_ELEMENT = 2            # VIR_DOMAIN_METADATA_ELEMENT
AFFECT_LIVE, AFFECT_CONFIG = 1, 2
ERR_NO_DOMAIN_METADATA = 80
DISK_KEYS = ('target', 'pool', 'volume')   # a disk's place at home, in the away record


def parse(xml):
    """{'home', 'image', 'away'} from the metadata element (None: no record)."""
    if not xml:
        return None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise session.LibvirtError('the skillvl metadata of the VM is not XML: %s' % exc)

    def text(tag):
        node = root.find('{%s}%s' % (NS, tag))
        if node is None:
            node = root.find(tag)
        return node.text.strip() if node is not None and node.text else None
    away = root.find('{%s}away' % NS)
    if away is None:
        away = root.find('away')
    record = {'home': text('home'), 'image': text('image'), 'away': None}
    if away is not None:
        disks = away.findall('{%s}disk' % NS) or away.findall('disk')
        record['away'] = {'from': away.get('from'), 'since': away.get('since'),
                          'base_image': away.get('base_image') or None,
                          'disks': [dict((k, d.get(k)) for k in DISK_KEYS) for d in disks]}
    return record


def render(record):
    """The metadata element for a record (what setMetadata stores under our namespace)."""
    root = ET.Element('guest')
    for tag in ('home', 'image'):
        if record.get(tag):
            ET.SubElement(root, tag).text = record[tag]
    away = record.get('away')
    if away:
        node = ET.SubElement(root, 'away', dict((k, v) for k, v in sorted(away.items()) if v and k != 'disks'))
        for disk in away.get('disks') or []:
            ET.SubElement(node, 'disk', dict((k, disk[k]) for k in DISK_KEYS))
    return ET.tostring(root, encoding='unicode')


def read(dom, inactive=False):
    """The record of a domain, None when it has none."""
    lv = session.require_libvirt()
    flags = AFFECT_CONFIG if inactive or not session.is_active(dom) else AFFECT_LIVE
    try:
        return parse(dom.metadata(METADATA_ELEMENT, NS, flags))
    except lv.libvirtError as exc:
        if session.error_code(exc) == ERR_NO_DOMAIN_METADATA:
            return None
        raise session.translate(exc, 'cannot read the skillvl metadata of VM "%s"' % dom.name())


def write(dom, record):
    """Store the record in the running VM and in its persistent definition."""
    lv = session.require_libvirt()
    flags = AFFECT_CONFIG | (AFFECT_LIVE if session.is_active(dom) else 0)
    if not session.is_persistent(dom):
        flags &= ~AFFECT_CONFIG
    try:
        dom.setMetadata(METADATA_ELEMENT, render(record), PREFIX, NS, flags)
    except lv.libvirtError as exc:
        raise session.translate(exc, 'cannot write the skillvl metadata of VM "%s"' % dom.name())


def desired(have, state, host, home=None, base_image=None, now=None, disks=None):
    """The record after marking the VM away from host (state=away) or home (state=home).

    Away keeps the first departure: a VM already away stays recorded as it left. ``disks``:
    [{'target', 'pool', 'volume'}], where the disks that left their home pools were."""
    have = dict(have or {'home': None, 'image': None, 'away': None})
    if state == 'away':
        if have.get('away'):
            return have
        have['home'] = have.get('home') or home or host
        have['away'] = {'from': host, 'since': now, 'base_image': base_image,
                        'disks': [dict((k, disk[k]) for k in DISK_KEYS) for disk in disks or []]}
        return have
    have['away'] = None
    return have


def ensure(name, state, host, home=None, base_image=None, now=None, uri='qemu:///system', check_mode=False,
           disks=None):
    """Mark VM ``name`` (on this host's libvirt) away from ``host`` or home; a result dict."""
    conn = session.connect(uri, 'the libvirt of this host (%s)' % uri, keepalive=False)
    try:
        dom = session.lookup_domain(conn, name)
        if dom is None:
            raise session.LibvirtError('VM "%s" is not defined on this host' % name)
        before = read(dom)
        after = desired(before, state, host, home=home, base_image=base_image, now=now, disks=disks)
        changed = (before or {}).get('away') != after.get('away') or (before or {}).get('home') != after.get('home')
        if changed and not check_mode:
            write(dom, after)
        return {'changed': changed, 'name': name, 'record': after,
                'diff': {'before': render(before or {}) + '\n', 'after': render(after) + '\n'}}
    finally:
        session.close(conn)
