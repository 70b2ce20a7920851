# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A small OVSDB session over the Open vSwitch Python IDL (Debian: python3-openvswitch).

Reads the Open_vSwitch database into plain dicts, applies a list of operations in one
transaction (with ``next_cfg`` incremented), and waits until ovs-vswitchd has applied it
(``cur_cfg >= next_cfg``), all bounded in time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time
import traceback

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs.common import (
    ADD_TUNNEL, ADD_UPLINK, CREATE_BRIDGE, DEFAULT_REMOTE, DELETE_BRIDGE, DELETE_PORT, MANAGED_KEY, MANAGED_VALUE,
    UPDATE_BRIDGE, UPDATE_TUNNEL, OvsError, OvsTryAgain)

OVS_IMPORT_ERROR = None
try:
    import ovs.db.idl
    import ovs.jsonrpc
    import ovs.poller
    import ovs.stream
    HAS_OVS = True
except ImportError:
    HAS_OVS = False
    OVS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DEFAULT_LOG = "/var/log/openvswitch/ovs-vswitchd.log"

COLUMNS = {
    "Open_vSwitch": ["bridges", "cur_cfg", "next_cfg", "ovs_version"],
    "Bridge": ["name", "ports", "datapath_type", "fail_mode", "external_ids", "other_config"],
    "Port": ["name", "interfaces", "external_ids", "protected"],
    "Interface": ["name", "type", "options", "ofport", "error", "external_ids", "mtu_request"],
}


def _scalar(value):
    """Optional OVSDB columns come back as lists of zero or one element."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


class OvsdbSession(object):
    """One connection to ovsdb-server; every wait is bounded by ``timeout`` seconds."""

    def __init__(self, remote=DEFAULT_REMOTE, timeout=30, schema=DEFAULT_SCHEMA, log=DEFAULT_LOG):
        self.remote = remote
        self.log = log
        self.timeout = float(timeout)
        self.schema = schema
        self.idl = None

    # --- connection ---------------------------------------------------------------------
    def connect(self):
        if not HAS_OVS:
            raise OvsError("the Open vSwitch Python IDL is not installed on the host "
                           "(Debian: python3-openvswitch)")
        if self.remote.startswith("unix:") and not os.path.exists(self.remote[5:]):
            raise OvsError("OVSDB socket %s does not exist: is openvswitch-switch (ovsdb-server) running?"
                           % self.remote[5:])
        helper = ovs.db.idl.SchemaHelper(**self._schema_source())
        for table, columns in COLUMNS.items():
            helper.register_columns(table, columns)
        self.idl = ovs.db.idl.Idl(self.remote, helper)
        deadline = time.monotonic() + self.timeout
        while not self.idl.has_ever_connected():
            self.idl.run()
            if self.idl.has_ever_connected():
                break
            if time.monotonic() > deadline:
                self.close()
                raise OvsError("could not read the OVS database at %s within %ds: is ovsdb-server running?"
                               % (self.remote, self.timeout))
            self._block(deadline)
        return self

    def _schema_source(self):
        if self.schema and os.path.exists(self.schema):
            return {"location": self.schema}
        # No schema file: ask the server for it.
        error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(self.remote),
                                                     int(self.timeout * 1000))
        if error:
            raise OvsError("could not connect to OVSDB at %s: %s" % (self.remote, os.strerror(error)))
        rpc = ovs.jsonrpc.Connection(stream)
        try:
            error, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request("get_schema", ["Open_vSwitch"]))
        finally:
            rpc.close()
        if error or reply.error:
            raise OvsError("could not read the OVSDB schema from %s" % self.remote)
        return {"schema_json": reply.result}

    def _block(self, deadline):
        poller = ovs.poller.Poller()
        self.idl.wait(poller)
        poller.timer_wait(max(10, min(500, int((deadline - time.monotonic()) * 1000))))
        poller.block()

    def refresh(self):
        """Process pending updates from the server (bounded)."""
        deadline = time.monotonic() + min(2.0, self.timeout)
        seqno = self.idl.change_seqno
        while self.idl.change_seqno == seqno and time.monotonic() < deadline:
            self.idl.run()
            if self.idl.change_seqno != seqno:
                break
            self._block(deadline)

    def close(self):
        if self.idl is not None:
            self.idl.close()
            self.idl = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    # --- reading ------------------------------------------------------------------------
    def _root(self):
        rows = list(self.idl.tables["Open_vSwitch"].rows.values())
        if not rows:
            raise OvsError("the OVS database has no Open_vSwitch row: was it initialised (ovs-vsctl init)?")
        return rows[0]

    def snapshot(self):
        """The bridges, ports and interfaces as plain dicts keyed by name."""
        self.idl.run()
        root = self._root()
        snap = {"bridges": {}, "ports": {}, "interfaces": {},
                "ovs_version": _scalar(root.ovs_version),
                "cur_cfg": root.cur_cfg, "next_cfg": root.next_cfg}
        for br in root.bridges:
            snap["bridges"][br.name] = {
                "uuid": str(br.uuid),
                "datapath_type": br.datapath_type or "",
                "fail_mode": _scalar(br.fail_mode),
                "external_ids": dict(br.external_ids),
                "hwaddr": dict(br.other_config).get("hwaddr"),
                "ports": sorted(p.name for p in br.ports),
            }
            for port in br.ports:
                snap["ports"][port.name] = {
                    "uuid": str(port.uuid),
                    "bridge": br.name,
                    "interfaces": sorted(i.name for i in port.interfaces),
                    "external_ids": dict(port.external_ids),
                    "protected": bool(port.protected),
                }
                for iface in port.interfaces:
                    snap["interfaces"][iface.name] = {
                        "uuid": str(iface.uuid),
                        "name": iface.name,
                        "bridge": br.name,
                        "port": port.name,
                        "type": iface.type or "",
                        "options": dict(iface.options),
                        "ofport": _scalar(iface.ofport),
                        "error": _scalar(iface.error),
                        "mtu_request": _scalar(iface.mtu_request),
                    }
        return snap

    # --- writing ------------------------------------------------------------------------
    def _find(self, table, name):
        for row in self.idl.tables[table].rows.values():
            if row.name == name:
                return row
        raise OvsTryAgain("%s %s disappeared" % (table, name))

    def apply(self, ops, comment=None):
        """Apply ``ops`` (from vxlan.plan) in one transaction; return the new next_cfg."""
        txn = ovs.db.idl.Transaction(self.idl)
        if comment:
            txn.add_comment(comment)
        root = self._root()
        tables = self.idl.tables
        bridge_ports = {}    # bridge row uuid -> (row, list of port rows)
        root_bridges = None

        def ports_of(br):
            if br.uuid not in bridge_ports:
                br.verify("ports")
                bridge_ports[br.uuid] = (br, list(br.ports))
            return bridge_ports[br.uuid][1]

        def new_port(name, iface_type, options=None, external_ids=None, protected=False):
            iface = txn.insert(tables["Interface"])
            iface.name = name
            iface.type = iface_type
            if options:
                iface.options = options
            port = txn.insert(tables["Port"])
            port.name = name
            port.interfaces = [iface]
            if external_ids:
                port.external_ids = external_ids
            if protected:
                port.protected = True
            return port

        def set_hwaddr(br, hwaddr):
            br.verify("other_config")
            config = dict(br.other_config)
            config["hwaddr"] = hwaddr
            br.other_config = config

        def delete_port(port):
            for iface in list(port.interfaces):
                iface.delete()
            port.delete()

        for op in ops:
            kind = op["op"]
            if kind == CREATE_BRIDGE:
                br = txn.insert(tables["Bridge"])
                br.name = op["bridge"]
                br.datapath_type = op["datapath_type"]
                if op.get("fail_mode"):
                    br.fail_mode = [op["fail_mode"]]
                if op.get("hwaddr"):
                    br.other_config = {"hwaddr": op["hwaddr"]}
                own = new_port(op["bridge"], "internal")
                if op.get("mtu"):
                    own.interfaces[0].mtu_request = [op["mtu"]]
                bridge_ports[br.uuid] = (br, [own])
                if root_bridges is None:
                    root.verify("bridges")
                    root_bridges = list(root.bridges)
                root_bridges.append(br)
                continue
            if kind == DELETE_BRIDGE:
                br = self._find("Bridge", op["bridge"])
                for port in list(br.ports):
                    delete_port(port)
                if root_bridges is None:
                    root.verify("bridges")
                    root_bridges = list(root.bridges)
                root_bridges = [b for b in root_bridges if b.uuid != br.uuid]
                bridge_ports.pop(br.uuid, None)
                br.delete()
                continue
            br = self._bridge_in_txn(op["bridge"], bridge_ports)
            if kind == UPDATE_BRIDGE:
                if "datapath_type" in op:
                    br.datapath_type = op["datapath_type"]
                if "fail_mode" in op:
                    br.fail_mode = [op["fail_mode"]]
                if "hwaddr" in op:
                    set_hwaddr(br, op["hwaddr"])
                if "mtu" in op:
                    # mtu_request pins the MTU of the bridge's own port: otherwise OVS gives it the
                    # smallest MTU of the bridge's ports, which changes as VM ports come and go
                    self._find("Interface", op["bridge"]).mtu_request = [op["mtu"]]
            elif kind == ADD_UPLINK:
                ports_of(br).append(new_port(op["port"], ""))
            elif kind == ADD_TUNNEL:
                ports_of(br).append(new_port(op["port"], "vxlan", op["options"], {MANAGED_KEY: MANAGED_VALUE},
                                             op["protected"]))
            elif kind == UPDATE_TUNNEL:
                port = self._find("Port", op["port"])
                iface = port.interfaces[0]
                if iface.options != op["options"]:
                    iface.verify("options")
                    iface.options = op["options"]
                if bool(port.protected) != op["protected"]:
                    port.protected = op["protected"]
                if op.get("mark"):
                    ids = dict(port.external_ids)
                    ids[MANAGED_KEY] = MANAGED_VALUE
                    port.external_ids = ids
            elif kind == DELETE_PORT:
                plist = ports_of(br)
                port = self._find("Port", op["port"])
                bridge_ports[br.uuid] = (br, [p for p in plist if p.uuid != port.uuid])
                delete_port(port)
            else:
                txn.abort()
                raise OvsError("internal error: unknown operation %r" % kind)

        for br, plist in bridge_ports.values():
            br.ports = plist
        if root_bridges is not None:
            root.bridges = root_bridges
        root.increment("next_cfg")
        status = self._commit(txn)
        if status == ovs.db.idl.Transaction.TRY_AGAIN:
            raise OvsTryAgain("OVSDB changed during the transaction")
        if status not in (ovs.db.idl.Transaction.SUCCESS, ovs.db.idl.Transaction.UNCHANGED):
            raise OvsError("OVSDB rejected the change: %s" % txn.get_error())
        return txn.get_increment_new_value() if status == ovs.db.idl.Transaction.SUCCESS else None

    def _bridge_in_txn(self, name, bridge_ports):
        for br, dummy in bridge_ports.values():
            if br.name == name:
                return br
        return self._find("Bridge", name)

    def _commit(self, txn):
        deadline = time.monotonic() + self.timeout
        while True:
            status = txn.commit()
            if status != ovs.db.idl.Transaction.INCOMPLETE:
                return status
            if time.monotonic() > deadline:
                txn.abort()
                raise OvsError("OVSDB did not answer the transaction within %ds" % self.timeout)
            self.idl.run()
            poller = ovs.poller.Poller()
            self.idl.wait(poller)
            txn.wait(poller)
            poller.timer_wait(500)
            poller.block()

    def wait_applied(self, next_cfg):
        """Wait until ovs-vswitchd reports cur_cfg >= next_cfg (bounded)."""
        if next_cfg is None:
            return
        deadline = time.monotonic() + self.timeout
        while True:
            self.idl.run()
            if self._root().cur_cfg >= next_cfg:
                return
            if time.monotonic() > deadline:
                raise OvsError("ovs-vswitchd did not apply the change within %ds (cur_cfg %s < next_cfg %s): "
                               "is ovs-vswitchd running?" % (self.timeout, self._root().cur_cfg, next_cfg))
            self._block(deadline)

    def log_errors(self, names, limit=3, tail_bytes=65536):
        """The last few ERR lines of the ovs-vswitchd log that name one of ``names``."""
        try:
            with open(self.log, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - tail_bytes))
                lines = handle.read().decode("utf-8", "replace").splitlines()
        except (IOError, OSError):
            return []
        hits = []
        for line in lines:
            if "|ERR|" in line and any(name in line for name in names):
                text = line.split("|", 4)[-1].strip()
                if text in hits:
                    hits.remove(text)
                hits.append(text)
        return hits[-limit:]
