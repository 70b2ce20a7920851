# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes of the OVS Python IDL subset that ovsdb.OvsdbSession uses."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools
import types
import uuid as uuidlib

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import ovsdb

DEFAULTS = {
    "Bridge": {"name": "", "ports": [], "datapath_type": "", "fail_mode": [], "external_ids": {}, "other_config": {}},
    "Port": {"name": "", "interfaces": [], "external_ids": {}, "protected": False},
    "Interface": {"name": "", "type": "", "options": {}, "ofport": [], "error": [], "external_ids": {},
                  "mtu_request": []},
    "Open_vSwitch": {"bridges": [], "cur_cfg": 0, "next_cfg": 0, "ovs_version": ["3.1.0"]},
}


class FakeRow(object):
    def __init__(self, db, table, **values):
        object.__setattr__(self, "_db", db)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "uuid", uuidlib.uuid4())
        data = dict(DEFAULTS[table])
        data.update(values)
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        return self._data[name]

    def __setattr__(self, name, value):
        self._db.writes.append((self._table, self._data.get("name"), name, value))
        self._data[name] = value

    def verify(self, column):
        self._db.verified.append((self._table, self._data.get("name"), column))

    def delete(self):
        self._db.deleted.append((self._table, self._data["name"]))
        del self._db.tables[self._table].rows[self.uuid]

    def increment(self, column):
        self._db.incremented = column


class FakeTable(object):
    def __init__(self, name):
        self.name = name
        self.rows = {}


class FakeIdl(object):
    """An in-memory Open_vSwitch database; commits apply immediately."""

    def __init__(self, status="success", applies=True):
        self.tables = dict((t, FakeTable(t)) for t in DEFAULTS)
        self.writes, self.verified, self.deleted, self.comments = [], [], [], []
        self.incremented = None
        self.status = status
        self.applies = applies
        self.commits = 0
        self.change_seqno = 1
        self.root = self.add("Open_vSwitch")

    def add(self, table, **values):
        row = FakeRow(self, table, **values)
        self.tables[table].rows[row.uuid] = row
        return row

    def add_bridge(self, name, datapath_type="", ports=()):
        internal = self.add("Interface", name=name, type="internal", ofport=[65534])
        bport = self.add("Port", name=name, interfaces=[internal])
        br = self.add("Bridge", name=name, datapath_type=datapath_type, ports=[bport] + list(ports))
        self.root._data["bridges"] = self.root.bridges + [br]
        return br

    def add_vxlan(self, name, options, managed=True, ofport=1, error=None):
        iface = self.add("Interface", name=name, type="vxlan", options=dict(options),
                         ofport=[ofport] if ofport is not None else [], error=[error] if error else [])
        ids = {"skillvl-managed-by": "ovs_vxlan"} if managed else {}
        return self.add("Port", name=name, interfaces=[iface], external_ids=ids, protected=managed)

    def run(self):
        return False

    def wait(self, poller):
        pass

    def close(self):
        pass


class FakeTxn(object):
    SUCCESS = "success"
    UNCHANGED = "unchanged"
    INCOMPLETE = "incomplete"
    TRY_AGAIN = "try again"
    ERROR = "error"
    _ids = itertools.count(1)

    def __init__(self, idl):
        self.idl = idl
        self.inserted = []
        # What a failed commit restores (the real IDL drops uncommitted changes too).
        self.saved = dict((name, [(row, dict(row._data)) for row in table.rows.values()])
                          for name, table in idl.tables.items())

    def add_comment(self, text):
        self.idl.comments.append(text)

    def insert(self, table):
        row = self.idl.add(table.name)
        self.inserted.append(row)
        return row

    def commit(self):
        self.idl.commits += 1
        if self.idl.status == "success":
            self.idl.root._data["next_cfg"] += 1
            if self.idl.applies:
                self.idl.root._data["cur_cfg"] = self.idl.root.next_cfg
                for row in self.inserted:
                    if row._table == "Interface" and not row._data["ofport"]:
                        row._data["ofport"] = [len(self.inserted)]
        else:
            for name, rows in self.saved.items():
                self.idl.tables[name].rows = dict((row.uuid, row) for row, dummy in rows)
                for row, data in rows:
                    object.__setattr__(row, "_data", data)
        return self.idl.status

    def get_increment_new_value(self):
        return self.idl.root.next_cfg

    def get_error(self):
        return "constraint violation"

    def abort(self):
        pass

    def wait(self, poller):
        pass


class FakePoller(object):
    def timer_wait(self, msec):
        pass

    def block(self):
        pass


@pytest.fixture
def fake_ovs(monkeypatch):
    """Patch ovsdb's view of the ovs package with the fakes; returns a factory of sessions."""
    fake = types.SimpleNamespace(
        db=types.SimpleNamespace(idl=types.SimpleNamespace(Transaction=FakeTxn)),
        poller=types.SimpleNamespace(Poller=FakePoller),
    )
    monkeypatch.setattr(ovsdb, "ovs", fake, raising=False)

    def make(idl=None, timeout=0.2):
        session = ovsdb.OvsdbSession(timeout=timeout, log="/nonexistent")
        session.idl = idl or FakeIdl()
        return session
    make.Idl = FakeIdl
    return make
