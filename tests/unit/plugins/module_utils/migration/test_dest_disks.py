# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""dest_disks: a disk moves into a storage pool of the destination (RBD <-> local file)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks, plan, planner
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

IMAGES = '/var/lib/libvirt/images'
SECRET_SRC = 'aaaaaaaa-1111-2222-3333-444444444444'
SECRET_DST = 'bbbbbbbb-1111-2222-3333-444444444444'
RBD_DISK = ("<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
            "<auth username='cloud1'><secret type='ceph' uuid='%s'/></auth>"
            "<source protocol='rbd' name='vms/vm1-disk'><host name='198.51.100.11' port='6789'/></source>"
            "<target dev='vda' bus='virtio'/><boot order='1'/></disk>" % SECRET_SRC)
FILE_DISK = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
             "<source file='/var/lib/libvirt/images/vm1.qcow2'/><target dev='vda' bus='virtio'/></disk>")


def mig(**kw):
    base = {'name': 'vm1', 'dest': 'ws01', 'transport': 'tcp', 'poll_interval': 0.05, 'strategy': 'precopy'}
    base.update(kw)
    return Migration(base, fs_type_of=lambda p: 'ext4')


@pytest.fixture
def hosts(world):
    """Both hosts have a directory pool and an rbd pool on Ceph pool vms, each with its own user."""
    for host, user, secret in ((world.src, 'cloud1', SECRET_SRC), (world.dst, 'ws01', SECRET_DST)):
        host.pools[IMAGES] = 'default'
        host.rbd_pools['skillvl-rbd'] = {'ceph_pool': 'vms', 'user': user, 'secret': secret}
    return world


def disk_of(xml):
    return ET.fromstring(xml).find('./devices/disk')


def test_an_rbd_disk_becomes_a_local_qcow2_file_on_the_destination(hosts, h):
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    dom.script = [h.sample(1, 0, done=True)]
    res = mig(dest_disks=[{'target': 'vda', 'pool': 'default'}]).run()
    uri, params, flags = dom.migrate_calls[0]
    assert flags & plan.FLAGS['non_shared_disk'] and params['migrate_disks'] == ['vda']
    for key in ('destination_xml', 'persistent_xml'):
        disk = disk_of(params[key])
        assert disk.get('type') == 'file' and disk.find('source').get('file') == IMAGES + '/vm1-vda.qcow2'
        assert disk.find('driver').get('type') == 'qcow2' and disk.find('driver').get('cache') == 'none'
        assert disk.find('auth') is None and disk.find('target').get('dev') == 'vda'
        assert disk.find('boot').get('order') == '1'
    volume = ET.fromstring(hosts.dst.pool_volumes['default']['vm1-vda.qcow2'])
    assert volume.findtext('capacity') == str(1 << 30) and volume.find('./target/format').get('type') == 'qcow2'
    assert res['dest_disks'] == [{'target': 'vda', 'pool': 'default', 'volume': 'vm1-vda.qcow2', 'copy': True,
                                  'where': IMAGES + '/vm1-vda.qcow2', 'format': 'qcow2', 'capacity': 1 << 30,
                                  'copied_before': False}]
    assert 'destination_xml' not in str(res)     # the whole definition never goes into a result
    assert "source's copies kept" in res['msg']
    assert disk_of(hosts.dst.domains['vm1'].xml).get('type') == 'file'


def test_a_local_file_becomes_an_rbd_image_opened_as_the_destinations_user(hosts, h):
    dom = h.add_vm(hosts.src, disks=FILE_DISK)
    dom.script = [h.sample(1, 0, done=True)]
    res = mig(dest_disks=[{'target': 'vda', 'pool': 'skillvl-rbd', 'volume': 'vm1-disk'}]).run()
    _uri, params, _flags = dom.migrate_calls[0]
    disk = disk_of(params['destination_xml'])
    assert disk.get('type') == 'network' and disk.find('driver').get('type') == 'raw'
    source = disk.find('source')
    assert source.get('protocol') == 'rbd' and source.get('name') == 'vms/vm1-disk'
    assert source.find('host').get('name') == '198.51.100.11' and source.find('host').get('port') == '6789'
    assert disk.find('auth').get('username') == 'ws01'
    assert disk.find('./auth/secret').get('uuid') == SECRET_DST and disk.find('./auth/secret').get('type') == 'ceph'
    assert 'vm1-disk' in hosts.dst.pool_volumes['skillvl-rbd']
    assert res['dest_disks'][0]['where'] == 'rbd:vms/vm1-disk' and res['dest_disks'][0]['format'] == 'raw'


def test_an_rbd_disk_that_stays_is_opened_with_the_destinations_own_user(hosts, h):
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    dom.script = [h.sample(1, 0, done=True)]
    res = mig().run()
    _uri, params, flags = dom.migrate_calls[0]
    assert not flags & plan.FLAGS['non_shared_disk'] and 'migrate_disks' not in params
    disk = disk_of(params['destination_xml'])
    assert disk.find('source').get('name') == 'vms/vm1-disk'
    assert disk.find('auth').get('username') == 'ws01' and disk.find('./auth/secret').get('uuid') == SECRET_DST
    assert res['dest_disks'][0]['copy'] is False and hosts.dst.pool_volumes == {}


def test_the_same_user_on_both_hosts_needs_no_new_definition(hosts, h):
    hosts.dst.rbd_pools['skillvl-rbd']['user'] = 'cloud1'
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    dom.script = [h.sample(1, 0, done=True)]
    res = mig().run()
    assert 'destination_xml' not in dom.migrate_calls[0][1] and 'dest_disks' not in res


def test_a_destination_that_cannot_open_the_ceph_pool_is_refused_before_the_move(world, h):
    """ws02 has no Ceph key: moving an RBD disk there without dest_disks would fail in libvirt
    after the start; the pre-flight names the way out instead."""
    dom = h.add_vm(world.src, disks=RBD_DISK)
    with pytest.raises(MigrationError) as err:
        mig().run()
    assert ('disk vda is on Ceph (vms/vm1-disk) and the destination has no running rbd pool on Ceph pool "vms", '
            'nor the disk\'s secret %s' % SECRET_SRC) in str(err.value)
    assert 'dest_disks' in str(err.value) and dom.migrate_calls == []


def test_the_same_secret_on_the_destination_is_enough(world, h):
    world.dst.secrets = {SECRET_SRC}
    dom = h.add_vm(world.src, disks=RBD_DISK)
    dom.script = [h.sample(1, 0, done=True)]
    assert not mig().run().get('failed') and 'destination_xml' not in dom.migrate_calls[0][1]


@pytest.mark.parametrize('setup, spec, message', [
    (None, {'target': 'vda', 'pool': 'nope'}, 'the destination has no storage pool "nope" (it has default, skillvl-rbd)'),
    (None, {'target': 'vdb', 'pool': 'default'}, 'dest_disks names disk vdb, but the VM has vda'),
    (lambda w: w.dst.inactive_pools.add('default'), {'target': 'vda', 'pool': 'default'},
     'storage pool "default" on the destination is not running (virsh pool-start default)'),
    (lambda w: w.dst.pool_volumes.setdefault('default', {}).update({'vm1-vda.qcow2': ''}),
     {'target': 'vda', 'pool': 'default'}, 'pool "default" on the destination already has a volume "vm1-vda.qcow2"'),
    (lambda w: w.dst.pool_free.update({'default': 100 << 20}), {'target': 'vda', 'pool': 'default'},
     'pool "default" on the destination has 100 MiB free, the disk has 256 MiB allocated (1024 MiB virtual)'),
    (None, {'target': 'vda', 'pool': 'skillvl-rbd', 'format': 'qcow2'}, 'an RBD image holds a raw disk, not qcow2'),
])
def test_bad_placements_fail_the_preflight_and_change_nothing(hosts, h, setup, spec, message):
    dom = h.add_vm(hosts.src, disks=RBD_DISK if spec['pool'] != 'skillvl-rbd' else FILE_DISK)
    if setup:
        setup(hosts)
    volumes = dict((k, dict(v)) for k, v in hosts.dst.pool_volumes.items())
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[spec]).run()
    assert message in str(err.value), str(err.value)
    assert dom.migrate_calls == [] and hosts.dst.pool_volumes == volumes and 'vm1' in hosts.src.domains


def test_a_small_pool_is_a_warning_when_the_written_part_fits(hosts, h):
    hosts.dst.pool_free['default'] = 512 << 20
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    res = mig(dest_disks=[{'target': 'vda', 'pool': 'default'}]).run(check_mode=True)
    assert any('less than the disk\'s 1024 MiB virtual size' in w for w in res['warnings'])
    assert res['facts']['dest_disks'][0]['volume'] == 'vm1-vda.qcow2'
    assert hosts.dst.pool_volumes == {} and dom.migrate_calls == []     # check mode makes no volume


def test_an_rbd_image_counts_what_it_holds_not_what_qemu_wrote_since_it_started(hosts, h):
    # QEMU has written 256 MiB since it started; the image holds 600 MiB, all of which the copy carries
    hosts.src.pool_volumes['skillvl-rbd'] = {'vm1-disk': '<volume><capacity>%d</capacity></volume>' % (1 << 30)}
    hosts.src.volume_allocation = {'vm1-disk': 600 << 20}
    hosts.dst.pool_free['default'] = 512 << 20
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[{'target': 'vda', 'pool': 'default'}]).run()
    assert 'pool "default" on the destination has 512 MiB free, the disk has 600 MiB allocated' in str(err.value)
    assert dom.migrate_calls == [] and hosts.dst.pool_volumes == {}


def test_the_planner_counts_the_bytes_the_copy_carries(hosts, h):
    h.add_vm(hosts.src, disks=RBD_DISK)
    conn = session.connect('qemu:///system', 'the source', keepalive=False)
    copied = [{'target': 'vda', 'copy': True}]
    assert planner.disk_bytes(conn, 'vm1', copied) == 256 << 20      # no pool of the source holds the image
    hosts.src.pool_volumes['skillvl-rbd'] = {'vm1-disk': '<volume><capacity>%d</capacity></volume>' % (1 << 30)}
    hosts.src.volume_allocation = {'vm1-disk': 600 << 20}
    assert planner.disk_bytes(conn, 'vm1', copied) == 600 << 20
    assert planner.disk_bytes(conn, 'vm1', [{'target': 'vda', 'copy': False}]) == 0


def test_a_failed_move_removes_the_volume_it_made(hosts, h):
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    dom.fail_with = 'internal error: unable to execute QEMU command \'nbd-server-add\''
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[{'target': 'vda', 'pool': 'default'}]).run()
    assert 'the volumes made on the destination for the move were removed' in str(err.value)
    assert hosts.dst.pool_volumes['default'] == {} and 'vm1' in hosts.src.domains


def test_a_volume_that_cannot_be_made_stops_the_move(hosts, h):
    dom = h.add_vm(hosts.src, disks=RBD_DISK)
    hosts.dst.create_fails = 'cannot create volume: Permission denied'
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[{'target': 'vda', 'pool': 'default'}]).run()
    assert 'cannot create volume "vm1-vda.qcow2" in pool "default" on the destination for disk vda' in str(err.value)
    assert 'nothing was moved' in str(err.value) and dom.migrate_calls == []


@pytest.mark.parametrize('extra, message', [
    ({'dest_disks': [{'target': 'vda', 'pool': 'a'}, {'target': 'vda', 'pool': 'b'}]}, 'names disk vda twice'),
    ({'dest_disks': [{'target': 'vda', 'pool': 'a', 'volume': '../x'}]}, 'volume must be a plain name'),
    ({'dest_disks': [{'target': 'vda'}]}, 'needs target (the disk, e.g. vda) and pool'),
    ({'dest_disks': [{'target': 'vda', 'pool': 'a'}], 'mode': 'cold'}, 'dest_disks works with live moves only'),
    ({'dest_disks': [{'target': 'vda', 'pool': 'a'}], 'storage': 'copy_incremental'}, 'not copy_incremental'),
    ({'dest_disks': [{'target': 'vda', 'pool': 'a'}], 'cold_fallback': True}, 'cannot be combined with cold_fallback'),
])
def test_dest_disks_input_is_checked_before_any_host_is_asked(extra, message):
    with pytest.raises(MigrationError) as err:
        plan.normalize(dict({'name': 'vm1', 'dest': 'ws01'}, **extra))
    assert message in str(err.value)


def test_rewrite_replaces_the_disk_and_keeps_the_metadata_as_written():
    """The vm role's metadata comes back byte for byte: ElementTree would re-declare its namespace
    on the domain (ns0), which libvirt keeps, and the role would then redefine the VM once."""
    xml = ("<domain type='qemu'><name>vm1</name><metadata>"
           "<skillvl:guest xmlns:skillvl=\"https://skillvl.example/offline_first/1\">"
           "<skillvl:home>cloud1</skillvl:home></skillvl:guest></metadata><devices>"
           "<disk type='network' device='disk'><source protocol='rbd' name='vms/vm1-root'/>"
           "<target dev='vda' bus='virtio'/></disk>"
           "<disk type='file' device='disk'><source file='/i/vm1-data.qcow2'/><target dev='vdb' bus='virtio'/></disk>"
           "</devices></domain>")
    new = ET.fromstring("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                        "<source file='/var/lib/libvirt/images/vm1-vda.qcow2'/><target dev='vda' bus='virtio'/></disk>")
    out = dest_disks.rewrite(xml, [{'target': 'vda', 'element': new}])
    assert ('<metadata><skillvl:guest xmlns:skillvl="https://skillvl.example/offline_first/1">'
            '<skillvl:home>cloud1</skillvl:home></skillvl:guest></metadata>') in out
    assert 'ns0' not in out and out.startswith('<domain type="qemu"><name>vm1</name>')
    assert "vms/vm1-root" not in out and '<source file="/var/lib/libvirt/images/vm1-vda.qcow2"/>' in out
    # the other disk, and the order of the disks, as they were
    assert out.index('vm1-vda.qcow2') < out.index('/i/vm1-data.qcow2')
    assert dest_disks.rewrite(xml, []).count('<disk ') == 2


# ---- read-only disks: copied before the move, or opened where their image already is --------

def seed_file_disk(path):
    return ("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='%s'/>"
            "<target dev='sda' bus='sata'/><readonly/></disk>" % path)


SEED_RBD = ("<disk type='network' device='cdrom'><driver name='qemu' type='raw'/>"
            "<auth username='cloud1'><secret type='ceph' uuid='%s'/></auth>"
            "<source protocol='rbd' name='vms/vm1-seed'><host name='198.51.100.11' port='6789'/></source>"
            "<target dev='sda' bus='sata'/><readonly/></disk>" % SECRET_SRC)


def test_a_read_only_file_is_uploaded_before_the_move_and_not_copied_by_libvirt(hosts, h, tmp_path):
    seed = tmp_path / 'vm1-seed.iso'
    seed.write_bytes(b'cloud-init seed ' * 300)
    dom = h.add_vm(hosts.src, disks=RBD_DISK + seed_file_disk(seed))
    dom.block = {'vda': [1 << 30, 256 << 20, 256 << 20], 'sda': [4800, 4800, 4800]}
    dom.script = [h.sample(1, 0, done=True)]
    res = mig(dest_disks=[{'target': 'vda', 'pool': 'default'}, {'target': 'sda', 'pool': 'default'}]).run()
    assert not res.get('failed'), res['msg']
    _uri, params, _flags = dom.migrate_calls[0]
    assert params['migrate_disks'] == ['vda']            # libvirt cannot copy a read-only disk
    assert hosts.dst.uploads[('default', 'vm1-sda.raw')] == seed.read_bytes()
    volume = ET.fromstring(hosts.dst.pool_volumes['default']['vm1-sda.raw'])
    assert volume.findtext('capacity') == '4800' and volume.find('./target/format') is None
    sda = [d for d in ET.fromstring(params['persistent_xml']).findall('./devices/disk')
           if d.find('target').get('dev') == 'sda'][0]
    assert sda.find('source').get('file') == IMAGES + '/vm1-sda.raw' and sda.find('readonly') is not None
    assert sda.get('device') == 'cdrom' and sda.find('driver').get('type') == 'raw'
    placed = dict((d['target'], d) for d in res['dest_disks'])
    assert placed['sda']['copied_before'] and not placed['sda']['copy'] and placed['vda']['copy']


def test_a_read_only_rbd_image_is_read_as_this_hosts_ceph_user(hosts, h, monkeypatch):
    exported = {}

    class Pool(object):
        def __init__(self, conn, name, timeout):
            exported['pool'] = name

        def export(self, volume, path):
            exported.update(volume=volume, dir=os.path.dirname(path))
            with open(path, 'wb') as handle:
                handle.write(b'seed on ceph')

    monkeypatch.setattr(dest_disks, 'RbdPool', Pool)
    dom = h.add_vm(hosts.src, disks=SEED_RBD)
    dom.block = {'sda': [12, 12, 12]}
    dom.script = [h.sample(1, 0, done=True)]
    res = mig(dest_disks=[{'target': 'sda', 'pool': 'default'}]).run()
    assert not res.get('failed'), res['msg']
    assert (exported['pool'], exported['volume']) == ('skillvl-rbd', 'vm1-seed')
    assert hosts.dst.uploads[('default', 'vm1-sda.raw')] == b'seed on ceph'
    assert not os.path.exists(exported['dir'])           # the private temporary copy is gone


def test_a_read_only_disk_goes_back_onto_the_image_it_came_from(hosts, h, tmp_path):
    seed = tmp_path / 'vm1-sda.raw'
    seed.write_bytes(b'x' * 4800)
    hosts.dst.pool_volumes['skillvl-rbd'] = {'vm1-seed': "<volume><name>vm1-seed</name><capacity>4800</capacity></volume>"}
    dom = h.add_vm(hosts.src, disks=seed_file_disk(seed))
    dom.block = {'sda': [4800, 4800, 4800]}
    dom.script = [h.sample(1, 0, done=True)]
    res = mig(dest_disks=[{'target': 'sda', 'pool': 'skillvl-rbd', 'volume': 'vm1-seed'}]).run()
    assert not res.get('failed'), res['msg']
    assert not hosts.dst.uploads and 'migrate_disks' not in dom.migrate_calls[0][1]
    disk = disk_of(dom.migrate_calls[0][1]['destination_xml'])
    assert disk.find('source').get('name') == 'vms/vm1-seed' and disk.find('auth').get('username') == 'ws01'
    assert res['dest_disks'][0]['copy'] is False and res['dest_disks'][0]['copied_before'] is False


@pytest.mark.parametrize('spec, there, message', [
    ({'target': 'sda', 'pool': 'skillvl-rbd', 'volume': 'vm1-seed'}, 9999,
     'has a volume "vm1-seed" of 9999 bytes, the disk has 4800'),
    ({'target': 'sda', 'pool': 'skillvl-rbd', 'volume': 'elsewhere'}, None,
     "libvirt's rbd pool cannot take uploaded content"),
    ({'target': 'sda', 'pool': 'default', 'format': 'qcow2'}, None, 'is read-only and keeps its format (raw)'),
])
def test_a_read_only_disk_that_cannot_be_placed_is_refused_with_nothing_changed(hosts, h, tmp_path, spec, there,
                                                                                message):
    seed = tmp_path / 'seed.iso'
    seed.write_bytes(b'x' * 4800)
    if there:
        hosts.dst.pool_volumes['skillvl-rbd'] = {
            'vm1-seed': "<volume><name>vm1-seed</name><capacity>%d</capacity></volume>" % there}
    dom = h.add_vm(hosts.src, disks=seed_file_disk(seed))
    dom.block = {'sda': [4800, 4800, 4800]}
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[spec]).run()
    assert message in str(err.value)
    assert not dom.migrate_calls and not hosts.dst.uploads
    assert hosts.dst.pool_volumes.get('default', {}) == {}


def test_an_upload_that_fails_removes_the_new_volume_and_moves_nothing(hosts, h, tmp_path):
    seed = tmp_path / 'seed.iso'
    seed.write_bytes(b'x' * 4800)
    hosts.dst.upload_fails = 'stream: I/O error'
    dom = h.add_vm(hosts.src, disks=seed_file_disk(seed))
    dom.block = {'sda': [4800, 4800, 4800]}
    with pytest.raises(MigrationError) as err:
        mig(dest_disks=[{'target': 'sda', 'pool': 'default'}]).run()
    msg = str(err.value)
    assert 'cannot fill volume "vm1-sda.raw"' in msg and 'I/O error' in msg and 'nothing was moved' in msg, msg
    assert not dom.migrate_calls
    assert hosts.dst.pool_volumes['default'] == {}
