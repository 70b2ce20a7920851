# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fetching an image through a fake libvirt stream into real files (the real libvirt stream over
TLS runs in tests/integration/test_offline.py and bench/offline)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import types

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import disk_fetch as df

SRC = '/var/lib/libvirt/images/svc-root.qcow2'
URI = 'qemu+tls://cloud1/system'


class FakeStream(object):
    def __init__(self, world):
        self.world, self.data, self.sent, self.finished, self.aborted = world, b'', 0, False, False

    def recv(self, size):
        if self.world.cut_after is not None and self.sent >= self.world.cut_after:
            raise session.libvirt.libvirtError('End of file while reading data: Input/output error')
        block = self.data[:min(size, 1000)]
        self.data = self.data[len(block):]
        self.sent += len(block)
        return block

    def finish(self):
        self.finished = True

    def abort(self):
        self.aborted = True


class FakeVol(object):
    def __init__(self, world, data):
        self.world, self.content = world, data

    def infoFlags(self, flags):
        assert flags == df.VOL_GET_PHYSICAL
        return [0, 10 << 30, len(self.content)]

    def download(self, stream, offset, length, flags):
        assert length == 0 and flags == 0
        self.world.offsets.append(offset)
        stream.data = self.content[offset:]


class FakePool(object):
    def __init__(self, world, path):
        self.world, self.path = world, path

    def XMLDesc(self, flags):
        return "<pool type='dir'><name>p</name><target><path>%s</path></target></pool>" % self.path

    def isActive(self):
        return 1

    def refresh(self, flags):
        self.world.refreshed.append(self.path)


class FakeConn(object):
    def __init__(self, world, uri):
        self.world, self.uri = world, uri

    def storageVolLookupByPath(self, path):
        vol = self.world.volumes.get(path) if self.uri == URI else None
        if vol is None:
            raise session.libvirt.libvirtError('Storage volume not found: no storage vol with matching path %s' % path)
        return vol

    def listAllStoragePools(self, flags):
        return [FakePool(self.world, path) for path in self.world.pool_dirs]

    def newStream(self, flags):
        return FakeStream(self.world)

    def close(self):
        pass


@pytest.fixture
def world(fake_libvirt, tmp_path):
    w = types.SimpleNamespace(volumes={}, offsets=[], refreshed=[], cut_after=None, opened=[])
    w.content = os.urandom(10 * 1000 + 123)
    w.volumes[SRC] = FakeVol(w, w.content)
    w.dest = str(tmp_path / 'svc-root.qcow2')
    w.pool_dirs = [os.path.dirname(SRC), str(tmp_path)]
    w.sha = hashlib.sha256(w.content).hexdigest()

    def connect(uri, what=None, readonly=False, keepalive=True):
        w.opened.append(uri)
        return FakeConn(w, uri)
    w.connect = connect
    return w


def fetch(world, **kw):
    kw.setdefault('dest', world.dest)
    return df.fetch(SRC, URI, connect=world.connect, sleep=lambda s: None, **kw)


def test_a_fetch_copies_the_file_checks_it_and_tells_libvirt(world):
    out = fetch(world, checksum='sha256:' + world.sha.upper())
    assert out['changed'] and out['bytes'] == len(world.content) == out['size'] and out['resumed_from'] == 0
    assert out['sha256'] == world.sha and not os.path.exists(world.dest + '.part')
    with open(world.dest, 'rb') as handle:
        assert handle.read() == world.content
    assert os.stat(world.dest).st_mode & 0o777 == 0o600
    assert world.opened == [URI, 'qemu:///system'] and world.refreshed == [os.path.dirname(world.dest)]
    again = fetch(world, checksum=world.sha)
    assert not again['changed'] and again['bytes'] == 0 and 'checksum matches' in again['msg']


def test_a_cut_link_leaves_the_part_and_the_next_run_continues_from_it(world):
    world.cut_after = 4000
    with pytest.raises(df.DiskFetchError) as err:
        fetch(world, checksum=world.sha)
    assert 'stopped after 0 MiB' in str(err.value) and 'run again to continue' in str(err.value)
    assert err.value.changed and os.path.getsize(world.dest + '.part') == 4000 and not os.path.exists(world.dest)
    world.cut_after = None
    out = fetch(world, checksum=world.sha)
    assert out['resumed_from'] == 4000 and out['bytes'] == len(world.content) - 4000 and world.offsets == [0, 4000]
    with open(world.dest, 'rb') as handle:
        assert handle.read() == world.content


def test_a_copy_that_does_not_match_its_checksum_is_removed(world):
    with pytest.raises(df.DiskFetchError) as err:
        fetch(world, checksum='sha256:' + '0' * 64)
    assert 'does not match its checksum' in str(err.value) and 'removed' in str(err.value)
    assert not os.path.exists(world.dest) and not os.path.exists(world.dest + '.part')


def test_an_existing_file_that_differs_is_never_overwritten(world):
    with open(world.dest, 'wb') as handle:
        handle.write(b'other')
    with pytest.raises(df.DiskFetchError) as err:
        fetch(world, checksum=world.sha)
    assert 'exists here and differs from the source' in str(err.value) and world.opened == []
    with open(world.dest, 'rb') as handle:
        assert handle.read() == b'other'


def test_check_mode_says_how_much_would_cross_and_writes_nothing(world):
    with open(world.dest + '.part', 'wb') as handle:
        handle.write(world.content[:3000])
    out = fetch(world, check_mode=True)
    assert out['changed'] and out['bytes'] == len(world.content) - 3000 and out['resumed_from'] == 3000
    assert not os.path.exists(world.dest) and os.path.getsize(world.dest + '.part') == 3000


def test_the_cap_paces_the_transfer():
    clock = [0.0]
    slept = []
    pacer = df.Pacer(1, clock=lambda: clock[0], sleep=slept.append)
    pacer.account(df.MIB // 2)          # half a MiB at once, at 1 MiB/s: half a second ahead
    assert slept == [0.5]
    clock[0] = 2.0
    pacer.account(df.MIB)               # behind time: no sleep
    assert slept == [0.5]
    free = df.Pacer(0, clock=lambda: 0.0, sleep=slept.append)
    free.account(10 * df.MIB)
    assert slept == [0.5]


@pytest.mark.parametrize('kw, words', [
    (dict(checksum='md5:abc'), 'checksum must be sha256:<64 hex digits>'),
    (dict(dest='relative/x.qcow2'), 'dest must be an absolute file path'),
    (dict(bandwidth_mib_s=-1), 'bandwidth must be 0 (no cap) or a positive MiB/s'),
    (dict(dest='/nonexistent-dir-skillvl/x.qcow2'), 'directory /nonexistent-dir-skillvl does not exist here'),
])
def test_bad_input_is_refused_before_anything_is_fetched(world, kw, words):
    with pytest.raises(df.DiskFetchError) as err:
        fetch(world, **kw)
    assert words in str(err.value) and world.opened == []


def test_a_file_outside_the_sources_pools_is_named(world):
    with pytest.raises(df.DiskFetchError) as err:
        df.fetch('/root/secret.img', URI, dest=world.dest, connect=world.connect)
    assert '/root/secret.img on cloud1 is no volume of a storage pool there' in str(err.value)
    assert not os.path.exists(world.dest + '.part')
