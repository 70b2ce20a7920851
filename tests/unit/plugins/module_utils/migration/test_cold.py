# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import types

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import cold
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

PIECE = 256 * 1024   # libvirt streams hand out at most this much per recv


class Stream(object):
    def __init__(self, store):
        self.store = store
        self.buf = b''
        self.pos = 0
        self.finished = self.aborted = False

    def recv(self, size):
        out = self.buf[self.pos:self.pos + min(size, PIECE)]
        self.pos += len(out)
        return out

    def send(self, data):
        self.store['data'] += data

    def finish(self):
        self.finished = True

    def abort(self):
        self.aborted = True


def make(world, h, data, truncate_at=None):
    path = '/var/lib/libvirt/images/d.raw'
    store = {'data': b''}
    src_stream = Stream(store)
    src_stream.buf = data[:truncate_at] if truncate_at else data
    svol = types.SimpleNamespace(info=lambda: [0, len(data), len(data)], infoFlags=lambda f: [0, len(data), len(data)],
                                 download=lambda st, o, l, f: None)
    deleted = []
    dvol = types.SimpleNamespace(upload=lambda st, o, l, f: None, delete=lambda f: deleted.append(True))
    pool = types.SimpleNamespace(createXML=lambda xml, f: dvol, refresh=lambda f: None)
    world.dst.pools['/var/lib/libvirt/images'] = 'default'
    src = types.SimpleNamespace(storageVolLookupByPath=lambda p: svol, newStream=lambda f: src_stream)

    def dst_lookup(p):
        raise h.libvirtError('no vol')
    dst = h.FakeConn(world.dst)
    dst.storageVolLookupByPath = dst_lookup
    dst.storagePoolLookupByName = lambda n: pool
    dst.newStream = lambda f: Stream(store)
    return src, dst, path, store, deleted


FAR = float('inf')


def test_copy_reads_every_piece(world, h):
    data = bytes(bytearray(range(256))) * (4 * 1024 * 17)   # 17 MiB, many 256 KiB pieces
    src, dst, path, store, _deleted = make(world, h, data)
    created = []
    assert cold._copy_disk(src, dst, path, FAR, created=created) == len(data)
    assert store['data'] == data and [p for p, _v in created] == [path]


def test_copy_stops_at_the_deadline_and_removes_the_partial_disk(world, h):
    data = b'x' * (4 * 1024 * 1024)
    src, dst, path, _store, deleted = make(world, h, data)
    ticks = iter(range(1000))
    created = []
    with pytest.raises(MigrationError) as err:
        cold._copy_disk(src, dst, path, 5, clock=lambda: next(ticks), created=created)
    assert 'did not finish within the timeout' in str(err.value)
    assert deleted and created == []


def test_short_copy_is_an_error_and_removes_the_partial_disk(world, h):
    data = b'x' * (2 * 1024 * 1024)
    src, dst, path, _store, deleted = make(world, h, data, truncate_at=1024 * 1024)
    with pytest.raises(MigrationError) as err:
        cold._copy_disk(src, dst, path, FAR)
    assert 'stopped after 1048576 of 2097152 bytes' in str(err.value) and deleted
