# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt secrets against a fake connection that keeps secrets the way libvirt does (private
values cannot be read back); the real libvirt is used by tests/integration/test_ceph_rbd.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import os
import re

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import secret as backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError

KEY = base64.b64encode(b'0123456789abcdef0123456789').decode()


class FakeSecret(object):
    def __init__(self, conn, xml):
        self.conn = conn
        self.xml = xml
        self.stored = None

    def UUIDString(self):
        return re.search(r'<uuid>(.*)</uuid>', self.xml).group(1)

    def usage(self):
        return re.search(r"<usage type='(\w+)'>\s*<\w+>(.*)</\w+>", self.xml).groups()

    def XMLDesc(self, flags):
        return self.xml

    def setValue(self, value, flags):
        assert isinstance(value, bytes)
        self.stored = value

    def value(self, flags):
        if "private='yes'" in self.xml:
            raise self.conn.lv.libvirtError('secret is private', code=55)
        return self.stored

    def undefine(self):
        del self.conn.secrets[self.UUIDString()]


class FakeConn(object):
    def __init__(self, lv):
        self.lv = lv
        self.secrets = {}
        self.calls = []

    def _missing(self):
        raise self.lv.libvirtError('Secret not found', code=backend.ERR_NO_SECRET)

    def secretLookupByUUIDString(self, uuid):
        return self.secrets.get(uuid) or self._missing()

    def secretLookupByUsage(self, usage_id, name):
        kind = [k for k, v in backend.USAGE_ID.items() if v == usage_id][0]
        for s in self.secrets.values():
            if s.usage() == (kind, name):
                return s
        return self._missing()

    def secretDefineXML(self, xml, flags):
        self.calls.append('define')
        new = FakeSecret(self, xml)
        old = self.secrets.get(new.UUIDString())
        if old is not None:
            new.stored = old.stored
        self.secrets[new.UUIDString()] = new
        return new


@pytest.fixture
def conn(fake_libvirt):
    return FakeConn(fake_libvirt)


def ensure(conn, tmp_path, **kw):
    args = dict(usage_type='ceph', usage_name='client.ws01 secret', value=KEY, digest_dir=str(tmp_path / 'd'))
    args.update(kw)
    return backend.ensure_secret('qemu:///system', conn=conn, **args)


def test_defines_sets_then_changes_nothing(conn, tmp_path):
    first = ensure(conn, tmp_path)
    assert first['changed'] and len(first['actions']) == 2
    stored = conn.secrets[first['uuid']]
    assert stored.stored == base64.b64decode(KEY)          # libvirt keeps a ceph key decoded
    assert "private='yes'" in stored.xml and '<name>client.ws01 secret</name>' in stored.xml
    digest = tmp_path / 'd' / (first['uuid'] + '.digest')
    assert oct(os.stat(str(digest)).st_mode & 0o777) == '0o600'
    second = ensure(conn, tmp_path)
    assert not second['changed'] and second['actions'] == []
    assert second['uuid'] == first['uuid']


def test_the_value_is_nowhere_in_the_result(conn, tmp_path):
    for result in (ensure(conn, tmp_path), ensure(conn, tmp_path, value=base64.b64encode(b'x' * 20).decode())):
        text = repr(result)
        assert KEY not in text and base64.b64encode(b'x' * 20).decode() not in text


def test_a_new_value_is_set_again(conn, tmp_path):
    ensure(conn, tmp_path)
    other = base64.b64encode(b'another key of 16+ bytes').decode()
    result = ensure(conn, tmp_path, value=other)
    assert result['actions'] == ['set the value of the libvirt secret client.ws01 secret']
    assert conn.secrets[result['uuid']].stored == base64.b64decode(other)


def test_public_secret_compares_libvirts_value(conn, tmp_path):
    ensure(conn, tmp_path, private=False)
    assert not ensure(conn, tmp_path, private=False)['changed']
    (tmp_path / 'd').joinpath  # digest not needed for a readable value
    for f in os.listdir(str(tmp_path / 'd')):
        os.remove(str(tmp_path / 'd' / f))
    assert not ensure(conn, tmp_path, private=False)['changed']


def test_check_mode_changes_nothing(conn, tmp_path):
    result = ensure(conn, tmp_path, check_mode=True)
    assert result['changed'] and conn.secrets == {} and conn.calls == []
    ensure(conn, tmp_path)
    assert not ensure(conn, tmp_path, check_mode=True)['changed']


def test_same_uuid_everywhere_by_default(conn, tmp_path, fake_libvirt):
    other = FakeConn(fake_libvirt)
    assert ensure(conn, tmp_path)['uuid'] == ensure(other, tmp_path / 'o')['uuid']


def test_usage_taken_by_another_uuid_is_refused(conn, tmp_path):
    ensure(conn, tmp_path, uuid='11111111-2222-3333-4444-555555555555')
    with pytest.raises(LibvirtError, match='already has a ceph secret named client.ws01 secret'):
        ensure(conn, tmp_path)


def test_absent_removes_secret_and_digest(conn, tmp_path):
    uuid = ensure(conn, tmp_path)['uuid']
    result = ensure(conn, tmp_path, state='absent', value=None)
    assert result['changed'] and conn.secrets == {}
    assert not os.path.exists(str(tmp_path / 'd' / (uuid + '.digest')))
    assert not ensure(conn, tmp_path, state='absent', value=None)['changed']


@pytest.mark.parametrize('bad, message', [
    (dict(value='not base64!'), 'must be a cephx key'),
    (dict(value=base64.b64encode(b'short').decode()), 'must be a cephx key'),
    (dict(value=None), 'needs the secret value'),
    (dict(usage_name=''), 'needs a usage name'),
    (dict(uuid='nope'), 'is not a UUID'),
    (dict(usage_type='smb'), 'usage_type must be one of'),
])
def test_bad_input_is_refused_before_libvirt(conn, tmp_path, bad, message):
    with pytest.raises(LibvirtError, match=message) as err:
        ensure(conn, tmp_path, **bad)
    assert KEY not in str(err.value)
    assert conn.secrets == {} and conn.calls == []
