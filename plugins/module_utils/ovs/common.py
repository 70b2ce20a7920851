# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the OVS planner (vxlan.py) and the OVSDB transport (ovsdb.py) share: errors, the
marker on the ports this collection manages, and the operations of a plan."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError

DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"

# external_ids key and value on every port ovs_vxlan created or adopted.
MANAGED_KEY = "skillvl-managed-by"
MANAGED_VALUE = "ovs_vxlan"

# The operations of a plan, carried out in order by OvsdbSession.apply in one transaction.
# Each is a dict {"op": KIND, "bridge": NAME, ...}: no secrets, readable in check mode.
CREATE_BRIDGE = "create_bridge"      # + datapath_type, fail_mode, optional hwaddr, mtu
UPDATE_BRIDGE = "update_bridge"      # + any of datapath_type, fail_mode, hwaddr, mtu
DELETE_BRIDGE = "delete_bridge"
ADD_TUNNEL = "add_tunnel"            # + port, options, protected
UPDATE_TUNNEL = "update_tunnel"      # + port, options, protected, mark (adopt an unmarked port)
ADD_UPLINK = "add_uplink"            # + port: an existing network interface (the underlay NIC)
DELETE_PORT = "delete_port"          # + port
OP_KINDS = (CREATE_BRIDGE, UPDATE_BRIDGE, DELETE_BRIDGE, ADD_TUNNEL, UPDATE_TUNNEL, ADD_UPLINK, DELETE_PORT)
BRIDGE_SETTINGS = ("datapath_type", "fail_mode", "hwaddr", "mtu")


def op(kind, bridge, **fields):
    """One plan operation; an unknown kind is a programming error."""
    if kind not in OP_KINDS:
        raise ValueError("unknown OVS operation %r" % kind)
    out = {"op": kind, "bridge": bridge}
    out.update(fields)
    return out


def describe_op(step):
    """The plan operation in an admin's words, as every backend's ``actions`` shows it."""
    kind, bridge = step["op"], step["bridge"]
    settings = ", ".join("%s=%s" % (k, step[k]) for k in BRIDGE_SETTINGS if step.get(k))
    if kind == CREATE_BRIDGE:
        return "create bridge %s%s" % (bridge, " (%s)" % settings if settings else "")
    if kind == UPDATE_BRIDGE:
        return "set %s on bridge %s" % (settings, bridge)
    if kind == DELETE_BRIDGE:
        return "delete bridge %s" % bridge
    opts = step.get("options") or {}
    to = " to %s" % opts["remote_ip"] if opts.get("remote_ip") else ""
    if kind == ADD_TUNNEL:
        return "add tunnel %s%s on %s" % (step["port"], to, bridge)
    if kind == UPDATE_TUNNEL:
        return "%s tunnel %s%s on %s" % ("adopt" if step.get("mark") else "update", step["port"], to, bridge)
    if kind == ADD_UPLINK:
        return "add interface %s to %s" % (step["port"], bridge)
    return "delete port %s from %s" % (step["port"], bridge)


class OvsError(BackendError):
    """Something is wrong with Open vSwitch or its database, explained in an administrator's words."""


class OvsInputError(OvsError):
    """The requested configuration is invalid; nothing was changed."""


class OvsRecordedError(OvsError):
    """ovs-vswitchd accepted the configuration but recorded an error on an interface."""

    def __init__(self, msg, interfaces=None, changed=False):
        super(OvsRecordedError, self).__init__(msg, changed=changed, interfaces_in_error=interfaces or {})
        self.interfaces = interfaces or {}


class OvsTryAgain(OvsError):
    """OVSDB reported a concurrent change; plan again from a fresh snapshot."""


def connection_argument_spec():
    """How a module reaches OVSDB: the same two options in ovs_vxlan and ovs_vxlan_info."""
    return dict(
        ovsdb=dict(type="str", default=DEFAULT_REMOTE),
        ovsdb_timeout=dict(type="int", default=30, aliases=["timeout"]),
    )
