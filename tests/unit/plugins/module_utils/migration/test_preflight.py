# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import preflight
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration

DISK = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/>"
        "<target dev='vda' bus='virtio'/></disk>")
NFS = ("<disk type='network' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
       "<source protocol='nfs' name='/export/vm1.qcow2'><host name='storage1'/></source>"
       "<target dev='vdb' bus='virtio'/></disk>")
BRIDGE = "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br-int'/>" \
         "<virtualport type='openvswitch'/></interface>"


def fs_local(path):
    return 'ext4'


def run(world, **opts):
    base = {'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp'}
    base.update(opts)
    return Migration(base, fs_type_of=fs_local).check()


def by_check(result, name):
    return [r for r in result['reasons'] if r['check'] == name]


def test_all_good(world, h):
    h.add_vm(world.src, disks=NFS)
    res = run(world)
    assert res['verdict'] == 'ok', res['summary']
    assert res['live_possible'] and res['facts']['dest_qemu'] == '10.0.0'
    assert res['facts']['dest_qemu_version'] == 10000000
    assert by_check(res, 'disk')[0]['status'] == 'ok'


def test_unreachable_destination_is_a_reason(world, h):
    h.add_vm(world.src)
    world.dst.reachable = False
    res = run(world)
    assert res['verdict'] == 'fail'
    assert 'cannot connect to the destination libvirt (qemu+tcp://ws01/system)' in res['summary']


def test_same_host_uuid(world, h):
    h.add_vm(world.src)
    world.dst.caps = world.src.caps
    res = run(world)
    assert by_check(res, 'host_uuid')[0]['status'] == 'fail'
    assert not res['cold_possible']


def test_newer_to_older_warns(world, h):
    h.add_vm(world.src)
    world.dst.version = 7002000
    res = run(world)
    assert res['verdict'] == 'ok'
    assert by_check(res, 'hypervisor_version')[0]['status'] == 'warn'


def test_unknown_machine_and_emulator_are_cold_fixable(world, h):
    h.add_vm(world.src, machine='pc-q35-11.0', emulator='/usr/libexec/qemu-kvm')
    res = run(world)
    assert res['verdict'] == 'fail' and res['cold_possible']
    assert 'machine type pc-q35-11.0 is unknown' in res['summary']
    assert 'no emulator /usr/libexec/qemu-kvm' in res['summary']


def test_an_emulator_of_its_own_that_the_destination_has_is_probed_there(world, h):
    h.add_vm(world.src, machine='pc-q35-7.2', emulator='/opt/q72/qemu-system-x86_64')
    world.dst.other_emulators = {'/opt/q72/qemu-system-x86_64': ['pc-q35-7.2']}
    res = run(world)
    assert res['verdict'] == 'ok', res['summary']
    assert 'libvirt there probed it' in by_check(res, 'emulator')[0]['message']
    assert by_check(res, 'machine_type')[0]['status'] == 'ok'


def test_an_emulator_of_its_own_is_refused_with_libvirts_reason(world, h):
    h.add_vm(world.src, machine='pc-q35-7.2', emulator='/opt/q72/qemu-system-x86_64')
    res = run(world)
    assert res['verdict'] == 'fail' and res['cold_possible']
    assert 'no emulator /opt/q72/qemu-system-x86_64 (it lists /usr/bin/qemu-system-x86_64; libvirt there: ' \
           'Cannot check QEMU binary' in by_check(res, 'emulator')[0]['message']
    world.dst.other_emulators = {'/opt/q72/qemu-system-x86_64': ['pc-q35-7.1']}
    res = run(world)
    assert by_check(res, 'emulator')[0]['status'] == 'ok'
    machine = by_check(res, 'machine_type')[0]
    assert machine['status'] == 'fail' and machine['cold_fixable']
    assert "unknown to the destination's /opt/q72/qemu-system-x86_64" in machine['message']


def test_incompatible_cpu_names_features(world, h):
    h.add_vm(world.src)
    world.dst.cpu_compat = 0
    res = run(world)
    cpu = by_check(res, 'cpu')[0]
    assert cpu['status'] == 'fail' and 'avx512f' in cpu['message'] and cpu['cold_fixable']


def test_host_passthrough_between_different_cpus(world, h):
    h.add_vm(world.src, cpu="<cpu mode='host-passthrough'/>")
    world.dst.caps = world.dst.caps.replace('Intel', 'AMD')
    res = run(world)
    assert 'host-passthrough' in by_check(res, 'cpu')[0]['message']
    assert res['verdict'] == 'fail'


def test_local_disk_needs_copy(world, h):
    h.add_vm(world.src, disks=DISK % '/var/lib/libvirt/images/vm1.qcow2')
    res = run(world)
    disk = by_check(res, 'disk')[0]
    assert disk['status'] == 'fail' and 'storage=copy' in disk['message'] and disk['cold_fixable']


def test_copy_needs_pool_on_destination(world, h):
    h.add_vm(world.src, disks=DISK % '/var/lib/libvirt/images/vm1.qcow2')
    res = run(world, storage='copy')
    assert 'is no storage pool on the destination' in res['summary']
    world.dst.pools['/var/lib/libvirt/images'] = 'default'
    res = run(world, storage='copy')
    assert res['verdict'] == 'ok'
    assert res['facts']['disks'][0]['copy'] is True


def test_nfs_file_disk_is_shared(world, h):
    h.add_vm(world.src, disks=DISK % '/mnt/nfs/vm1.qcow2')
    res = Migration({'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp'}, fs_type_of=lambda p: 'nfs4').check()
    assert res['verdict'] == 'ok'


def test_memory_short(world, h):
    h.add_vm(world.src)
    world.dst.free = 64 << 20
    res = run(world)
    assert 'has 64 MiB free, the VM needs 256 MiB' in res['summary']


def test_missing_ovs_bridge(world, h):
    h.add_vm(world.src, ifaces=BRIDGE)
    res = run(world)
    assert 'no Open vSwitch bridge br-int' in res['summary']
    world.dst.netdevs.add('br-int')
    assert run(world)['verdict'] == 'ok'


def test_unknown_vm(world, h):
    res = run(world, name='nope')
    assert res['verdict'] == 'fail' and 'no VM called "nope"' in res['summary']


def test_stopped_vm_live_fails_cold_ok(world, h):
    h.add_vm(world.src, active=False)
    assert run(world)['cold_possible'] and run(world)['verdict'] == 'fail'
    assert run(world, mode='cold')['verdict'] == 'ok'


def test_mount_fs_type(tmp_path):
    mounts = tmp_path / 'mounts'
    mounts.write_text('overlay / overlay rw 0 0\nserver:/x /mnt/nfs nfs4 rw 0 0\n')
    assert preflight.mount_fs_type('/mnt/nfs/a/b.qcow2', str(mounts)) == 'nfs4'
    assert preflight.mount_fs_type('/mnt/nfsother', str(mounts)) == 'overlay'
    assert preflight.mount_fs_type('/x', str(tmp_path / 'missing')) is None
