# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read and adjust libvirt domain and capabilities XML (standard library only)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import xml.etree.ElementTree as ET

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError

# Network disk protocols every host reaches the same way: shared by construction.
SHARED_PROTOCOLS = ('nfs', 'iscsi', 'rbd', 'gluster', 'sheepdog', 'nbd', 'http', 'https', 'ssh', 'vxhs')
# File systems libvirt treats as shared (virFileIsSharedFS) or clustered.
SHARED_FS_TYPES = ('nfs', 'nfs4', 'gfs2', 'ocfs2', 'cifs', 'smb3', 'ceph', 'fuse.glusterfs',
                   'glusterfs', 'beegfs', 'gpfs', 'quobyte', 'fuse.quobyte', 'virtiofs', 'fuse.ceph')


def _parse(xml, what):
    try:
        return ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LibvirtError('the %s is not valid XML: %s' % (what, exc))


def _int(text, default=0):
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def memory_kib(elem):
    """A <memory>/<currentMemory> element in KiB."""
    if elem is None:
        return 0
    value = _int(elem.text)
    unit = (elem.get('unit') or 'KiB').lower()
    factors = {'b': 1.0 / 1024, 'bytes': 1.0 / 1024, 'k': 1, 'kib': 1, 'kb': 1000.0 / 1024,
               'm': 1024, 'mib': 1024, 'mb': 1e6 / 1024, 'g': 1024 ** 2, 'gib': 1024 ** 2,
               'gb': 1e9 / 1024, 't': 1024 ** 3, 'tib': 1024 ** 3}
    return int(value * factors.get(unit, 1))


def parse_domain(xml):
    """The facts about a domain that migration needs, as plain data."""
    root = _parse(xml, 'domain definition')
    os_type = root.find('./os/type')
    cpu = root.find('./cpu')
    info = {
        'name': root.findtext('name'),
        'uuid': root.findtext('uuid'),
        'virt_type': root.get('type'),
        'arch': os_type.get('arch') if os_type is not None else None,
        'machine': os_type.get('machine') if os_type is not None else None,
        'emulator': root.findtext('./devices/emulator'),
        'memory_kib': max(memory_kib(root.find('memory')), memory_kib(root.find('maxMemory'))),
        'vcpus': _int(root.findtext('vcpu'), 1),
        'cpu_mode': None,
        'cpu_model': None,
        'cpu_xml': None,
        'disks': [],
        'interfaces': [],
    }
    if cpu is not None:
        info['cpu_mode'] = cpu.get('mode') or ('custom' if cpu.find('model') is not None else None)
        info['cpu_model'] = cpu.findtext('model')
        info['cpu_xml'] = ET.tostring(cpu, encoding='unicode')
    for disk in root.findall('./devices/disk'):
        info['disks'].append(parse_disk(disk))
    for iface in root.findall('./devices/interface'):
        source = iface.find('source')
        vport = iface.find('virtualport')
        info['interfaces'].append({
            'type': iface.get('type'),
            'mac': iface.find('mac').get('address') if iface.find('mac') is not None else None,
            'bridge': source.get('bridge') if source is not None else None,
            'network': source.get('network') if source is not None else None,
            'dev': source.get('dev') if source is not None else None,
            'virtualport': vport.get('type') if vport is not None else None,
        })
    return info


def parse_disk(disk):
    source = disk.find('source')
    driver = disk.find('driver')
    target = disk.find('target')
    dtype = disk.get('type')
    entry = {
        'target': target.get('dev') if target is not None else None,
        'device': disk.get('device') or 'disk',
        'type': dtype,
        'path': None,
        'protocol': None,
        'name': None,
        'format': driver.get('type') if driver is not None else None,
        'cache': driver.get('cache') if driver is not None else None,
        'readonly': disk.find('readonly') is not None,
        'shareable': disk.find('shareable') is not None,
        'backing': [],
        'empty': source is None,
    }
    if source is not None:
        if dtype == 'file':
            entry['path'] = source.get('file')
        elif dtype == 'block':
            entry['path'] = source.get('dev')
        elif dtype == 'dir':
            entry['path'] = source.get('dir')
        elif dtype == 'network':
            entry['protocol'] = source.get('protocol')
            entry['name'] = source.get('name')
        elif dtype == 'volume':
            entry['name'] = '%s/%s' % (source.get('pool'), source.get('volume'))
        entry['empty'] = not (entry['path'] or entry['name'])
    backing = disk.find('backingStore')
    while backing is not None and backing.find('source') is not None:
        bsrc = backing.find('source')
        bfmt = backing.find('format')
        entry['backing'].append({'path': bsrc.get('file') or bsrc.get('dev'),
                                 'format': bfmt.get('type') if bfmt is not None else None})
        backing = backing.find('backingStore')
    return entry


def disk_is_shared(disk, fs_type=None):
    """True/False when known, None when it depends on storage this code cannot see."""
    if disk['empty'] or disk['readonly']:
        return True
    if disk['type'] == 'network':
        return disk['protocol'] in SHARED_PROTOCOLS
    if disk['type'] in ('file', 'block', 'dir'):
        if fs_type is None:
            return None
        return fs_type in SHARED_FS_TYPES
    return None


def parse_capabilities(xml):
    """Host UUID, CPU arch/vendor/model and guest machine types from getCapabilities()."""
    root = _parse(xml, 'host capabilities')
    host = root.find('host')
    caps = {
        'uuid': host.findtext('uuid') if host is not None else None,
        'arch': host.findtext('./cpu/arch') if host is not None else None,
        'cpu_vendor': host.findtext('./cpu/vendor') if host is not None else None,
        'cpu_model': host.findtext('./cpu/model') if host is not None else None,
        'guests': {},
    }
    for guest in root.findall('guest'):
        arch = guest.find('arch')
        if arch is None:
            continue
        name = arch.get('name')
        entry = caps['guests'].setdefault(name, {'machines': set(), 'domain_types': set(), 'emulators': set()})
        emulator = arch.findtext('emulator')
        if emulator:
            entry['emulators'].add(emulator)
        for machine in arch.findall('machine'):
            if machine.text:
                entry['machines'].add(machine.text)
            if machine.get('canonical'):
                entry['machines'].add(machine.get('canonical'))
        for dom in arch.findall('domain'):
            entry['domain_types'].add(dom.get('type'))
            emu = dom.findtext('emulator')
            if emu:
                entry['emulators'].add(emu)
            for machine in dom.findall('machine'):
                if machine.text:
                    entry['machines'].add(machine.text)
    return caps


def machine_family(machine):
    """'pc-q35-7.2' -> 'q35', 'pc-i440fx-8.0' -> 'pc', 'virt-9.2' -> 'virt'; None when unknown."""
    if not machine:
        return None
    if machine.startswith('pc-q35') or machine == 'q35':
        return 'q35'
    if machine.startswith('pc-i440fx') or machine == 'pc':
        return 'pc'
    m = re.match(r'^([a-z]+)(-[0-9.]+)?$', machine)
    return m.group(1) if m else None


def adjust_for_host(xml, emulator=None, machine=None, drop_cpu=False):
    """A copy of a domain definition with another emulator/machine type, or without <cpu>."""
    root = _parse(xml, 'domain definition')
    if emulator:
        elem = root.find('./devices/emulator')
        if elem is not None:
            elem.text = emulator
    if machine:
        os_type = root.find('./os/type')
        if os_type is not None:
            os_type.set('machine', machine)
    if drop_cpu:
        cpu = root.find('cpu')
        if cpu is not None:
            root.remove(cpu)
    return ET.tostring(root, encoding='unicode')


def cpu_baseline_summary(xml):
    """Model, vendor and feature policies from a <cpu> element (baseline result)."""
    root = _parse(xml, 'CPU definition')
    return {
        'model': root.findtext('model'),
        'vendor': root.findtext('vendor'),
        'mode': root.get('mode'),
        'features': dict((f.get('name'), f.get('policy') or 'require') for f in root.findall('feature')),
    }


def host_model_cpu(domcaps_xml):
    """The host-model CPU of getDomainCapabilities() as a <cpu> element, None if unsupported."""
    root = _parse(domcaps_xml, 'domain capabilities')
    for mode in root.findall('./cpu/mode'):
        if mode.get('name') != 'host-model' or mode.get('supported') != 'yes':
            continue
        model = mode.find('model')
        if model is None or not model.text:
            return None
        cpu = ET.Element('cpu', {'mode': 'custom', 'match': 'exact'})
        ET.SubElement(cpu, 'model', {'fallback': 'forbid'}).text = model.text
        vendor = mode.findtext('vendor')
        if vendor:
            ET.SubElement(cpu, 'vendor').text = vendor
        for feat in mode.findall('feature'):
            ET.SubElement(cpu, 'feature', {'policy': feat.get('policy') or 'require', 'name': feat.get('name')})
        return ET.tostring(cpu, encoding='unicode')
    return None


def host_cpu(caps_xml):
    """The host's own <cpu> from getCapabilities(), for baselines where host-model is unsupported."""
    root = _parse(caps_xml, 'host capabilities')
    cpu = root.find('./host/cpu')
    if cpu is None or cpu.find('model') is None:
        return None
    out = ET.Element('cpu')
    for child in cpu:
        if child.tag in ('arch', 'model', 'vendor', 'feature', 'topology'):
            out.append(child)
    return ET.tostring(out, encoding='unicode')
