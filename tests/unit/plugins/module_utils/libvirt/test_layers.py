# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cutting and merging disk layers against a fake domain that keeps its disk XML the way libvirt
does (the real snapshot, block commit and pivot run in tests/integration/test_offline.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import types

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import layers, session

IMG = '/var/lib/libvirt/images'


def fmt_of(path):
    return 'raw' if path.endswith('.raw') else 'qcow2'


def disk(target, path, backing=None):
    chain = ''
    for below in reversed(backing or []):
        chain = "<backingStore type='file'><format type='%s'/><source file='%s'/>%s</backingStore>" % (
            fmt_of(below), below, chain)
    return ("<disk type='file' device='disk'><driver name='qemu' type='%s'/><source file='%s'/>%s"
            "<target dev='%s' bus='virtio'/></disk>" % (fmt_of(path), path, chain, target))


SEED = ("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='%s/svc-seed.iso'/>"
        "<target dev='sda' bus='sata'/><readonly/></disk>" % IMG)


class FakeDom(object):
    def __init__(self, disks, active=True):
        self.disks = dict(disks)          # target -> (path, [backing paths])
        self.order = [target for target, _layers in disks]
        self.active = active
        self.snapshots = []
        self.job = None
        self.pivots = 0
        self.fail_snapshot = None

    def name(self):
        return 'svc'

    def state(self):
        return [1, 1] if self.active else [5, 0]

    def XMLDesc(self, flags=0):
        body = ''.join(disk(t, self.disks[t][0], self.disks[t][1]) for t in self.order) + SEED
        return "<domain type='kvm'><name>svc</name><memory unit='KiB'>262144</memory><devices>%s</devices></domain>" \
            % body

    def snapshotCreateXML(self, xml, flags):
        assert flags == layers.SNAPSHOT_NO_METADATA | layers.SNAPSHOT_DISK_ONLY | layers.SNAPSHOT_ATOMIC
        if self.fail_snapshot:
            raise session.libvirt.libvirtError(self.fail_snapshot)
        self.snapshots.append(xml)
        for target, top in re.findall(r"<disk name='(\w+)' snapshot='external'><driver type='qcow2'/>"
                                      r"<source file='([^']+)'/>", xml):
            path, chain = self.disks[target]
            self.disks[target] = (top, [path] + chain)

    def blockInfo(self, target, flags):
        return [(10 << 30) if target == 'vda' else (64 << 20), 0, 0]

    def blockCommit(self, target, base, top, bandwidth, flags):
        assert flags == layers.COMMIT_SHALLOW | layers.COMMIT_ACTIVE and bandwidth == 0
        assert (top, base) == (self.disks[target][0], self.disks[target][1][0])
        self.job = {'type': 4, 'cur': 0, 'end': 100, 'target': target}

    def blockJobInfo(self, target, flags):
        if not self.job:
            return {}
        self.job['cur'] = min(self.job['end'], self.job['cur'] + 50)
        return dict(self.job)

    def blockJobAbort(self, target, flags):
        if flags == layers.JOB_ABORT_PIVOT:
            path, chain = self.disks[target]
            self.disks[target] = (chain[0], chain[1:])
            self.pivots += 1
        self.job = None


class FakeConn(object):
    def __init__(self, dom):
        self.dom = dom

    def lookupByName(self, name):
        if self.dom is None or name != 'svc':
            raise session.libvirt.libvirtError('no domain', session.ERR_NO_DOMAIN)
        return self.dom

    def close(self):
        pass


@pytest.fixture
def world(fake_libvirt):
    box = types.SimpleNamespace(dom=None, files=set(), removed=[])
    fake_libvirt.open = lambda uri: FakeConn(box.dom)

    def factory(dom):
        return layers.Layers(dom, exists=lambda p: p in box.files, remove=box.removed.append,
                             clock=iter(range(0, 10000)).__next__, sleep=lambda s: None)
    box.factory = factory
    return box


def run(world, state, check_mode=False, timeout=600):
    return layers.ensure('svc', state, timeout=timeout, check_mode=check_mode, layers_factory=world.factory)


def test_a_cut_puts_one_empty_top_layer_on_every_writable_file_disk_atomically(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.qcow2', [IMG + '/base/debian-12.qcow2'])),
                         ('vdb', (IMG + '/svc-data.raw', []))])
    out = run(world, 'cut')
    assert out['changed'] and len(world.dom.snapshots) == 1
    assert "<disk name='sda' snapshot='no'/>" in world.dom.snapshots[0]
    assert out['disks'] == [
        {'target': 'vda', 'path': IMG + '/svc-root.away.qcow2', 'cut': True, 'size_mib': 10240,
         'top': IMG + '/svc-root.away.qcow2', 'below': IMG + '/svc-root.qcow2', 'base': [IMG + '/base/debian-12.qcow2'],
         'below_format': 'qcow2'},
        {'target': 'vdb', 'path': IMG + '/svc-data.away.qcow2', 'cut': True, 'size_mib': 64,
         'top': IMG + '/svc-data.away.qcow2', 'below': IMG + '/svc-data.raw', 'base': [], 'below_format': 'raw'}]
    assert [s['target'] for s in out['skipped']] == ['sda'] and out['skipped'][0]['skipped'] == 'read-only'
    assert out['diff']['before'] == 'vda: %s/svc-root.qcow2\nvdb: %s/svc-data.raw\n' % (IMG, IMG)
    assert out['diff']['after'].startswith('vda: %s/svc-root.qcow2 <- %s/svc-root.away.qcow2\n' % (IMG, IMG))
    # cut again: nothing to do
    again = run(world, 'cut')
    assert not again['changed'] and len(world.dom.snapshots) == 1 and again['disks'] == out['disks']


def test_check_mode_says_what_a_cut_would_leave_and_cuts_nothing(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.qcow2', []))])
    out = run(world, 'cut', check_mode=True)
    assert out['changed'] and not world.dom.snapshots
    assert out['disks'][0]['path'] == IMG + '/svc-root.away.qcow2'
    assert world.dom.disks['vda'][0] == IMG + '/svc-root.qcow2'


def test_a_leftover_top_file_is_refused_by_name_and_nothing_is_cut(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.qcow2', [])), ('vdb', (IMG + '/svc-data.qcow2', []))])
    world.files.add(IMG + '/svc-data.away.qcow2')
    with pytest.raises(session.LibvirtError) as err:
        run(world, 'cut')
    assert 'svc-data.away.qcow2 exists already but is not its disk vdb' in str(err.value)
    assert not world.dom.snapshots and not world.removed


def test_a_refused_snapshot_is_the_error_and_the_disks_stay(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.qcow2', []))])
    world.dom.fail_snapshot = 'unsupported configuration: nope'
    with pytest.raises(session.LibvirtError) as err:
        run(world, 'cut')
    assert 'cannot cut the disk layers of VM svc' in str(err.value) and 'nope' in str(err.value)
    assert world.dom.disks['vda'] == (IMG + '/svc-root.qcow2', [])


def test_merge_commits_the_top_into_the_layer_below_pivots_and_removes_the_top(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.away.qcow2', [IMG + '/svc-root.qcow2', IMG + '/base/d.qcow2']))])
    world.files.add(IMG + '/svc-root.away.qcow2')
    out = run(world, 'merged')
    assert out['changed'] and world.dom.pivots == 1
    assert world.dom.disks['vda'] == (IMG + '/svc-root.qcow2', [IMG + '/base/d.qcow2'])
    assert world.removed == [IMG + '/svc-root.away.qcow2']
    assert out['disks'] == [{'target': 'vda', 'path': IMG + '/svc-root.qcow2', 'cut': False, 'size_mib': 10240,
                             'base': [IMG + '/base/d.qcow2']}]
    assert not run(world, 'merged')['changed'] and world.dom.pivots == 1


def test_a_merge_that_does_not_finish_is_stopped_and_the_vm_keeps_its_top(world):
    world.dom = FakeDom([('vda', (IMG + '/svc-root.away.qcow2', [IMG + '/svc-root.qcow2']))])
    world.dom.blockJobInfo = lambda target, flags: {'type': 4, 'cur': 1, 'end': 100}
    with pytest.raises(session.LibvirtError) as err:
        run(world, 'merged', timeout=5)
    assert 'did not finish within 5 s; stopped, the VM still writes %s/svc-root.away.qcow2' % IMG in str(err.value)
    assert world.dom.pivots == 0 and not world.removed


@pytest.mark.parametrize('dom, words', [
    (None, 'VM "svc" is not defined on this host'),
    (FakeDom([('vda', (IMG + '/a.qcow2', []))], active=False), 'VM svc is not running here'),
    (FakeDom([]), 'VM svc has no writable file disk to cut'),
])
def test_what_cannot_be_cut_is_named(world, dom, words):
    world.dom = dom
    with pytest.raises(session.LibvirtError) as err:
        run(world, 'cut')
    assert words in str(err.value)


def test_top_path_and_layout_names():
    assert layers.top_path('/i/vm-root.qcow2') == '/i/vm-root.away.qcow2'
    assert layers.top_path('/i/vm-data.raw') == '/i/vm-data.away.qcow2'
    assert layers.is_top('/i/vm-root.away.qcow2') and not layers.is_top('/i/vm-root.qcow2')
