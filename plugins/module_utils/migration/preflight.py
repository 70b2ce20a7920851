# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pre-flight of a migration: a verdict and every reason, readable and machine-readable.

Each reason is ``{'check', 'status' (ok/warn/fail), 'message', 'cold_fixable'}``: a failed
check that a cold move can overcome (emulator, machine type, CPU, non-shared disks) says so,
which is what the cold fallback relies on. Nothing here changes any host.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import xml.etree.ElementTree as ET

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    error_text, require_libvirt)

MIB = 1024 * 1024
# virCPUCompareResult
CPU_INCOMPATIBLE, CPU_IDENTICAL, CPU_SUPERSET = 0, 1, 2
CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE = 1
NODE_DEVICES_CAP_NET = 1 << 4   # VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET

# Multifd compression methods and the libvirt release that passes them to QEMU.
MULTIFD_COMPRESSIONS = ('zstd', 'zlib')
MULTIFD_COMPRESSION_LIBVIRT = 9004000
MT_COMPRESSION_QEMU_GONE = 9001000      # QEMU 9.1 removed the compress capability (libvirt's mt)
MT_WITH_XBZRLE_QEMU_GONE = 8002000      # QEMU 8.2 refuses compress together with xbzrle


def version_str(number):
    if not number:
        return 'unknown'
    return '%d.%d.%d' % (number // 1000000, (number // 1000) % 1000, number % 1000)


class Verdict(object):
    def __init__(self):
        self.reasons = []

    def add(self, check, status, message, cold_fixable=False, **data):
        entry = {'check': check, 'status': status, 'message': message, 'cold_fixable': cold_fixable}
        entry.update(data)
        self.reasons.append(entry)
        return entry

    @property
    def failures(self):
        return [r for r in self.reasons if r['status'] == 'fail']

    @property
    def warnings(self):
        return [r for r in self.reasons if r['status'] == 'warn']

    @property
    def ok(self):
        return not self.failures

    @property
    def cold_possible(self):
        return all(r['cold_fixable'] for r in self.failures)

    def summary(self):
        if self.ok:
            text = 'live migration possible'
            if self.warnings:
                text += ' (%d warning(s): %s)' % (len(self.warnings), '; '.join(r['message'] for r in self.warnings))
            return text
        return 'live migration impossible: ' + '; '.join(r['message'] for r in self.failures)

    def as_dict(self):
        return {
            'verdict': 'ok' if self.ok else 'fail',
            'live_possible': self.ok,
            'cold_possible': self.cold_possible,
            'summary': self.summary(),
            'reasons': self.reasons,
        }


def mount_fs_type(path, mounts_file='/proc/self/mounts'):
    """File system type under ``path`` on this host (longest mount prefix), None if unknown."""
    try:
        with open(mounts_file) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return None
    real = os.path.realpath(path) if path else path
    best, fstype = -1, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mnt = fields[1].replace('\\040', ' ')
        if real == mnt or real.startswith(mnt.rstrip('/') + '/'):
            if len(mnt) > best:
                best, fstype = len(mnt), fields[2]
    return fstype


def pool_targets(conn):
    """{target directory: pool name} of a host's active directory-like pools."""
    out = {}
    try:
        pools = conn.listAllStoragePools(0)
    except Exception:  # pylint: disable=broad-except
        return out
    for pool in pools:
        try:
            if not pool.isActive():
                continue
            root = ET.fromstring(pool.XMLDesc(0))
        except Exception:  # pylint: disable=broad-except
            continue
        path = root.findtext('./target/path')
        if path:
            out[os.path.normpath(path)] = pool.name()
    return out


def net_devices(conn):
    """Names of network interfaces a host's libvirt sees (node devices), None if unknown."""
    try:
        devices = conn.listAllDevices(NODE_DEVICES_CAP_NET)
    except Exception:  # pylint: disable=broad-except
        return None
    names = set()
    for dev in devices:
        try:
            root = ET.fromstring(dev.XMLDesc(0))
        except Exception:  # pylint: disable=broad-except
            continue
        name = root.findtext('./capability/interface')
        if name:
            names.add(name)
    return names or None


def classify_disks(vm, storage, fs_type_of=mount_fs_type):
    """For each disk: shared or not, and whether this migration copies it."""
    out = []
    for disk in vm['disks']:
        fs_type = None
        if disk['type'] in ('file', 'block', 'dir') and disk['path'] and not disk['readonly']:
            fs_type = fs_type_of(disk['path']) if fs_type_of else None
        shared = domxml.disk_is_shared(disk, fs_type)
        entry = dict(disk, fs_type=fs_type, shared=shared,
                     copy=(storage in ('copy', 'copy_incremental') and shared is not True))
        out.append(entry)
    return out


def host_capabilities(conn):
    """The host's capabilities as ``domxml.parse_capabilities`` reads them (uuid, arch, CPU...)."""
    return domxml.parse_capabilities(conn.getCapabilities())


def same_host_uuid(src_caps, dst_caps):
    """The shared host UUID when both ends are one host (or libvirtd.conf's host_uuid is duplicated)."""
    return src_caps['uuid'] if src_caps['uuid'] and src_caps['uuid'] == dst_caps['uuid'] else None


class Preflight(object):
    """The pre-flight's answer: the verdict, the facts it reports, and what a mover needs
    besides (the parsed VM, its classified disks, the destination's capabilities)."""

    def __init__(self, verdict, facts, vm, disks, dst_caps, disk_moves=None):
        self.verdict = verdict
        self.facts = facts
        self.vm = vm
        self.disks = disks
        self.dst_caps = dst_caps
        self.disk_moves = disk_moves or []    # dest_disks.plan(): disks the destination defines its own way

    @property
    def copy_disks(self):
        """Target names (vda, ...) of the disks the move must copy."""
        return [d['target'] for d in self.disks if d['copy']]

    def as_dict(self):
        return dict(self.verdict.as_dict(), facts=self.facts)


def check(src_conn, dst_conn, dom, opts, fs_type_of=mount_fs_type, dst_dom=None):
    """Run every check; returns a Preflight."""
    lv = require_libvirt()
    verdict = Verdict()
    facts = {}
    live = opts.get('mode', 'live') == 'live'

    # -- hosts ---------------------------------------------------------------------------
    src_caps = host_capabilities(src_conn)
    dst_caps = host_capabilities(dst_conn)
    facts['source_host_uuid'] = src_caps['uuid']
    facts['dest_host_uuid'] = dst_caps['uuid']
    if same_host_uuid(src_caps, dst_caps):
        verdict.add('host_uuid', 'fail', 'source and destination report the same host UUID %s: '
                    'either the target is the source, or host_uuid in libvirtd.conf is duplicated'
                    % src_caps['uuid'])
    else:
        verdict.add('host_uuid', 'ok', 'distinct host UUIDs')

    src_ver, dst_ver = src_conn.getVersion(), dst_conn.getVersion()
    src_lib, dst_lib = src_conn.getLibVersion(), dst_conn.getLibVersion()
    facts.update({'source_qemu': version_str(src_ver), 'dest_qemu': version_str(dst_ver),
                  'source_qemu_version': src_ver, 'dest_qemu_version': dst_ver,
                  'source_libvirt': version_str(src_lib), 'dest_libvirt': version_str(dst_lib)})
    if dst_ver >= src_ver:
        verdict.add('hypervisor_version', 'ok', 'QEMU %s -> %s (same or newer on the destination)'
                    % (facts['source_qemu'], facts['dest_qemu']))
    else:
        verdict.add('hypervisor_version', 'warn', 'QEMU %s -> %s: newer to older works only while the '
                    'destination knows the machine type and devices; prefer older to newer'
                    % (facts['source_qemu'], facts['dest_qemu']))

    _check_compression(verdict, opts, facts, min(src_lib, dst_lib))
    _check_mt_compression(verdict, opts, facts, max(src_ver, dst_ver))

    # -- the VM ----------------------------------------------------------------------------
    flags = lv.VIR_DOMAIN_XML_SECURE
    if dom.isActive():
        flags |= lv.VIR_DOMAIN_XML_MIGRATABLE
    vm_xml = dom.XMLDesc(flags)
    vm = domxml.parse_domain(vm_xml)
    facts['vm'] = {'name': vm['name'], 'uuid': vm['uuid'], 'machine': vm['machine'], 'arch': vm['arch'],
                   'virt_type': vm['virt_type'], 'cpu_mode': vm['cpu_mode'], 'cpu_model': vm['cpu_model'],
                   'memory_mib': vm['memory_kib'] // 1024, 'vcpus': vm['vcpus'], 'emulator': vm['emulator']}
    if live and not dom.isActive():
        verdict.add('vm_state', 'fail', 'VM "%s" is not running: a live move needs a running VM '
                    '(use mode=cold to move it stopped)' % vm['name'], cold_fixable=True)
    else:
        verdict.add('vm_state', 'ok', 'VM "%s" is %s' % (vm['name'], 'running' if dom.isActive() else 'stopped'))

    if dst_dom is not None:
        try:
            other_uuid = dst_dom.UUIDString()
        except Exception:  # pylint: disable=broad-except
            other_uuid = None
        if other_uuid and other_uuid != vm['uuid']:
            verdict.add('name_clash', 'fail', 'the destination already has another VM called "%s" (UUID %s)'
                        % (vm['name'], other_uuid))

    guest = dst_caps['guests'].get(vm['arch'])
    if guest is None:
        verdict.add('arch', 'fail', 'the destination has no QEMU for architecture %s' % vm['arch'])
    else:
        if vm['virt_type'] not in guest['domain_types']:
            verdict.add('virt_type', 'fail', 'the destination cannot run domain type "%s" (it offers %s)'
                        % (vm['virt_type'], ', '.join(sorted(guest['domain_types']))))
        else:
            verdict.add('virt_type', 'ok', 'domain type %s available' % vm['virt_type'])
        if vm['emulator'] and vm['emulator'] not in guest['emulators']:
            _check_other_emulator(lv, verdict, dst_conn, vm, guest)
        else:
            verdict.add('emulator', 'ok', 'emulator %s present' % vm['emulator'])
            if vm['machine'] and vm['machine'] not in guest['machines']:
                verdict.add('machine_type', 'fail', 'machine type %s is unknown to the destination QEMU %s'
                            % (vm['machine'], facts['dest_qemu']), cold_fixable=True)
            else:
                verdict.add('machine_type', 'ok', 'machine type %s known to the destination' % vm['machine'])

    _check_cpu(lv, verdict, dst_conn, vm, src_caps, dst_caps)

    # -- storage ---------------------------------------------------------------------------
    storage = opts.get('storage', 'shared')
    disks = classify_disks(vm, storage, fs_type_of)
    moves = dest_disks.plan(verdict, dom, dst_conn, vm_xml, opts.get('dest_disks') or [], vm['name'])
    placed = dict((m['target'], m) for m in moves)
    for disk in disks:
        if disk['target'] in placed:
            disk['copy'] = placed[disk['target']]['copy']
    # disks named in dest_disks were checked by dest_disks.plan (an unusable entry already failed)
    named = set(spec['target'] for spec in opts.get('dest_disks') or [])
    facts['disks'] = [{'target': d['target'], 'path': d['path'] or d['name'], 'type': d['type'],
                       'shared': d['shared'], 'copy': d['copy'], 'fs_type': d['fs_type'],
                       'readonly': bool(d['readonly'])} for d in disks]
    dst_pools = None
    for disk in disks:
        label = '%s (%s)' % (disk['target'], disk['path'] or disk['name'] or 'empty')
        if disk['target'] in named:
            continue
        if disk['shared'] is True:
            verdict.add('disk', 'ok', 'disk %s is on shared storage' % label, target=disk['target'])
            continue
        if not disk['copy']:
            if disk['shared'] is None and disk['type'] in ('file', 'block'):
                why = 'on storage whose sharing cannot be determined here'
            else:
                why = 'on local storage (%s)' % (disk['fs_type'] or disk['type'])
            verdict.add('disk', 'fail', 'disk %s is %s: set storage=copy (or copy_incremental) to copy it, '
                        'or move it to shared storage' % (label, why), cold_fixable=True, target=disk['target'])
            continue
        if dst_pools is None:
            dst_pools = pool_targets(dst_conn)
        directory = os.path.normpath(os.path.dirname(disk['path'] or ''))
        if disk['type'] == 'file' and directory not in dst_pools:
            verdict.add('disk', 'fail', 'disk %s needs copying but %s is no storage pool on the destination, '
                        'so libvirt cannot create the disk there' % (label, directory), target=disk['target'])
            continue
        if storage == 'copy_incremental':
            if not disk['backing']:
                verdict.add('disk', 'warn', 'disk %s has no backing image: incremental copy equals a full copy'
                            % label, target=disk['target'])
            for back in disk['backing'][:1]:
                try:
                    dst_conn.storageVolLookupByPath(back['path'])
                    verdict.add('disk', 'ok', 'backing image %s present on the destination' % back['path'],
                                target=disk['target'])
                except lv.libvirtError:
                    verdict.add('disk', 'fail', 'backing image %s of disk %s is not known to the destination '
                                '(copy it there and refresh its pool, or use storage=copy)'
                                % (back['path'], label), target=disk['target'])
            continue
        verdict.add('disk', 'ok', 'disk %s will be copied (%s)' % (label, storage), target=disk['target'])

    # -- memory ----------------------------------------------------------------------------
    need = vm['memory_kib'] * 1024
    try:
        free = dst_conn.getFreeMemory()
    except lv.libvirtError as exc:
        free = None
        verdict.add('memory', 'warn', 'cannot read free memory on the destination: %s' % error_text(exc))
    if free is not None:
        facts['dest_free_memory_mib'] = free // MIB
        if free < need:
            verdict.add('memory', 'fail', 'the destination has %d MiB free, the VM needs %d MiB'
                        % (free // MIB, need // MIB))
        else:
            verdict.add('memory', 'ok', '%d MiB free on the destination for %d MiB' % (free // MIB, need // MIB))

    # -- networks --------------------------------------------------------------------------
    devices = None
    for iface in vm['interfaces']:
        if iface['type'] == 'network' and iface['network']:
            try:
                net = dst_conn.networkLookupByName(iface['network'])
                if net.isActive():
                    verdict.add('network', 'ok', 'network %s active on the destination' % iface['network'])
                else:
                    verdict.add('network', 'fail', 'network %s is defined but not active on the destination'
                                % iface['network'])
            except lv.libvirtError:
                verdict.add('network', 'fail', 'the destination has no libvirt network %s' % iface['network'])
        elif iface['type'] in ('bridge', 'direct') and (iface['bridge'] or iface['dev']):
            name = iface['bridge'] or iface['dev']
            kind = 'Open vSwitch bridge' if iface['virtualport'] == 'openvswitch' else 'bridge'
            if devices is None:
                devices = net_devices(dst_conn) or set()
            if not devices:
                verdict.add('network', 'warn', 'cannot list interfaces on the destination to verify %s %s'
                            % (kind, name))
            elif name in devices:
                verdict.add('network', 'ok', '%s %s present on the destination' % (kind, name))
            else:
                verdict.add('network', 'fail', 'the destination has no %s %s' % (kind, name))
    facts['dest_disks'] = dest_disks.report(moves)
    return Preflight(verdict, facts, vm, disks, dst_caps, moves)


def _check_compression(verdict, opts, facts, libversion):
    """zstd and zlib (multifd compression) are migration parameters libvirt knows from 9.4 on;
    an older one (Debian 12's 9.0) refuses the move only once it has started."""
    wanted = sorted(set(opts.get('compression') or ()) & set(MULTIFD_COMPRESSIONS))
    if not wanted:
        return
    if libversion < MULTIFD_COMPRESSION_LIBVIRT:
        verdict.add('compression', 'fail', '%s compression needs libvirt %s or later on both hosts (source %s, '
                    'destination %s): use xbzrle, or no compression' % (
                        ' and '.join(wanted), version_str(MULTIFD_COMPRESSION_LIBVIRT), facts['source_libvirt'],
                        facts['dest_libvirt']))
    else:
        verdict.add('compression', 'ok', '%s compression known to libvirt on both hosts' % ' and '.join(wanted))


def mt_with_xbzrle(facts):
    """Whether both hosts' QEMU take mt with xbzrle (the pre-flight's facts, versions in libvirt's
    numeric form: 7.2.0 is 7002000)."""
    versions = [facts.get('source_qemu_version') or 0, facts.get('dest_qemu_version') or 0]
    return all(versions) and max(versions) < MT_WITH_XBZRLE_QEMU_GONE


def _check_mt_compression(verdict, opts, facts, qemu_version):
    """mt (QEMU's compress threads) exists up to QEMU 9.0, and goes with xbzrle up to 8.1; a newer
    QEMU on either host would refuse the move once it has started."""
    comp = set(opts.get('compression') or ())
    if 'mt' not in comp:
        return
    versions = 'source QEMU %s, destination %s' % (facts['source_qemu'], facts['dest_qemu'])
    if qemu_version >= MT_COMPRESSION_QEMU_GONE:
        verdict.add('compression', 'fail', 'mt compression is gone from QEMU %s on (%s): use zstd with multifd, '
                    'or xbzrle' % (version_str(MT_COMPRESSION_QEMU_GONE), versions))
    elif 'xbzrle' in comp and qemu_version >= MT_WITH_XBZRLE_QEMU_GONE:
        verdict.add('compression', 'fail', 'QEMU %s and later refuse mt together with xbzrle (%s): choose one'
                    % (version_str(MT_WITH_XBZRLE_QEMU_GONE), versions))
    else:
        verdict.add('compression', 'ok', 'mt compression%s offered by QEMU on both hosts (%s)'
                    % (' with xbzrle' if 'xbzrle' in comp else '', versions))


def _check_other_emulator(lv, verdict, dst_conn, vm, guest):
    """An emulator path the destination's capabilities do not list (a QEMU of the admin's own, or a
    wrapper): libvirt there is asked to probe that binary, then that binary for the VM's machine type."""
    listed = ', '.join(sorted(guest['emulators'])) or 'none'
    try:
        dst_conn.getDomainCapabilities(vm['emulator'], vm['arch'], None, vm['virt_type'], 0)
    except lv.libvirtError as exc:
        verdict.add('emulator', 'fail', 'the destination has no emulator %s (it lists %s; libvirt there: %s)'
                    % (vm['emulator'], listed, error_text(exc)), cold_fixable=True)
        # a cold move onto the destination's own QEMU needs a machine type that one knows
        if vm['machine'] and vm['machine'] not in guest['machines']:
            verdict.add('machine_type', 'fail', 'machine type %s is unknown to the destination QEMU'
                        % vm['machine'], cold_fixable=True)
        return
    verdict.add('emulator', 'ok', 'emulator %s present on the destination (not among the %s it lists: libvirt '
                'there probed it)' % (vm['emulator'], listed))
    if not vm['machine']:
        verdict.add('machine_type', 'ok', 'no machine type named')
        return
    try:
        dst_conn.getDomainCapabilities(vm['emulator'], vm['arch'], vm['machine'], vm['virt_type'], 0)
    except lv.libvirtError as exc:
        verdict.add('machine_type', 'fail', 'machine type %s is unknown to the destination\'s %s (libvirt there: %s)'
                    % (vm['machine'], vm['emulator'], error_text(exc)), cold_fixable=True)
        return
    verdict.add('machine_type', 'ok', 'machine type %s known to the destination\'s %s' % (vm['machine'], vm['emulator']))


def _check_cpu(lv, verdict, dst_conn, vm, src_caps, dst_caps):
    mode = vm['cpu_mode']
    if mode == 'host-passthrough' or mode == 'maximum':
        same = (src_caps['cpu_vendor'], src_caps['cpu_model']) == (dst_caps['cpu_vendor'], dst_caps['cpu_model'])
        if same:
            verdict.add('cpu', 'warn', 'CPU mode %s: the hosts report the same CPU (%s %s), but only identical '
                        'hosts are safe; a baseline model is better' % (mode, dst_caps['cpu_vendor'] or '',
                                                                        dst_caps['cpu_model'] or ''))
        else:
            verdict.add('cpu', 'fail', 'CPU mode %s exposes the source CPU (%s %s), which the destination '
                        '(%s %s) does not have; define the VM with a baseline CPU model'
                        % (mode, src_caps['cpu_vendor'], src_caps['cpu_model'], dst_caps['cpu_vendor'],
                           dst_caps['cpu_model']), cold_fixable=True)
        return
    if not vm['cpu_xml']:
        verdict.add('cpu', 'ok', 'no CPU definition: QEMU default model')
        return
    try:
        result = dst_conn.compareHypervisorCPU(None, vm['arch'], vm['machine'], vm['virt_type'], vm['cpu_xml'], 0)
    except lv.libvirtError as exc:
        verdict.add('cpu', 'fail', 'the destination cannot run the VM\'s CPU (%s): %s'
                    % (vm['cpu_model'] or mode, error_text(exc)), cold_fixable=True)
        return
    if result in (CPU_IDENTICAL, CPU_SUPERSET):
        verdict.add('cpu', 'ok', 'CPU %s runnable on the destination' % (vm['cpu_model'] or mode))
        return
    detail = ''
    try:
        dst_conn.compareHypervisorCPU(None, vm['arch'], vm['machine'], vm['virt_type'], vm['cpu_xml'],
                                      CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE)
    except lv.libvirtError as exc:
        detail = ': ' + error_text(exc)
    verdict.add('cpu', 'fail', 'the VM\'s CPU %s is not runnable on the destination%s'
                % (vm['cpu_model'] or mode, detail), cold_fixable=True)
