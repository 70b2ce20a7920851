#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovs_vxlan
short_description: Ensure an Open vSwitch bridge and its VXLAN tunnel ports
version_added: 0.1.0
description:
  - Ensures, on one host, an Open vSwitch bridge and its VXLAN tunnel ports to one or many
    remote VTEPs (VNI, remote and local IP, UDP port, tunnel options), idempotently.
  - Talks to OVSDB directly through the Open vSwitch Python IDL and makes every change in one
    transaction; then waits until C(ovs-vswitchd) has applied it (C(cur_cfg) reaches C(next_cfg))
    and fails with the error that OVS recorded on the bridge or a tunnel interface
    (C(error) column, C(ofport) -1). A bridge that the kernel datapath cannot create is reported
    here, although C(ovs-vsctl add-br) exits 0 in that case.
  - Tunnel ports created by this module carry the marker C(skillvl-managed-by=ovs_vxlan) in the
    port's C(external_ids); O(exclusive=true) removes marked tunnel ports of the bridge that are
    no longer listed. Ports without the marker are never removed by O(exclusive).
  - Invalid input (VNI out of range, invalid or duplicate remote, clashing port names) fails
    before anything is changed.
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - Open vSwitch Python IDL on the managed host (Debian package C(python3-openvswitch))
  - netaddr on the managed host (Debian package C(python3-netaddr))
  - a running C(ovsdb-server) and C(ovs-vswitchd)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.ovsdb
attributes:
  check_mode:
    support: full
    details: Computes the changes from the live OVSDB contents and changes nothing.
  diff_mode:
    support: full
    details: Shows the bridge and its VXLAN tunnel ports (with their options) before and after.
  platform:
    details: Linux hosts with Open vSwitch (kernel C(system) or userspace C(netdev) datapath).
options:
  bridge:
    description:
      - Name of the Open vSwitch bridge (at most 15 characters).
    type: str
    required: true
  state:
    description:
      - V(present) ensures the bridge and the listed tunnels.
      - V(absent) with O(tunnels) removes the listed tunnel ports (matched by name or by remote,
        VNI and UDP port) and keeps the bridge; V(absent) without O(tunnels) removes the whole
        bridge with all its ports.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - Datapath of the bridge. V(system) is the Linux kernel datapath of real hosts, V(netdev)
        the userspace datapath (hosts without the openvswitch kernel module).
      - When omitted, a new bridge gets V(system) and an existing bridge keeps its datapath.
    type: str
    choices: [system, netdev]
  fail_mode:
    description:
      - Fail mode of the bridge. When omitted it is left as it is (a new bridge is V(standalone)).
    type: str
    choices: [standalone, secure]
  mtu:
    description:
      - MTU of the bridge's own port, pinned with C(mtu_request), 68 to 65535. Without it OVS gives that port
        the smallest MTU of the bridge's ports, which changes as VM ports come and go.
      - When omitted it is left as it is.
    type: int
  hwaddr:
    description:
      - MAC address of the bridge (C(other_config:hwaddr)), a unicast address. Give a bridge that takes over a
        NIC (O(uplinks)) the NIC's address, so that the peers' ARP caches stay valid.
      - When omitted it is left as it is.
    type: str
  uplinks:
    description:
      - Existing network interfaces of the host (the underlay NIC) to attach to the bridge as ports.
      - An interface that is already a port of another bridge is refused. Listed interfaces are added, none is
        removed (O(exclusive) concerns VXLAN tunnels only).
    type: list
    elements: str
  vni:
    description:
      - Default VXLAN network identifier (tunnel key) for tunnels that do not set their own, 1 to 16777215.
    type: int
  local_ip:
    description:
      - Default local (source) address of the tunnels. When omitted OVS picks it from the route to the remote.
    type: str
  dst_port:
    description:
      - Default UDP destination port of the tunnels.
    type: int
    default: 4789
  df_default:
    description:
      - Default for the tunnel option C(df_default) (set the DF bit on the outer header). Omitted means the OVS default.
    type: bool
  tos:
    description:
      - Default outer ToS, 0 to 255 or V(inherit). Omitted means the OVS default.
    type: str
  ttl:
    description:
      - Default outer TTL, 1 to 255 or V(inherit). Omitted means the OVS default.
    type: str
  csum:
    description:
      - Default for the tunnel option C(csum) (outer UDP checksum). Omitted means the OVS default.
    type: bool
  tunnels:
    description:
      - The VXLAN tunnel ports, one per remote VTEP (and VNI).
      - Every option left out of an entry comes from the module-level option of the same name.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Port (and interface) name, at most 15 characters. Default V(vx) followed by 8 hex
            digits derived from remote, VNI and UDP port.
        type: str
      remote_ip:
        description: Address of the remote VTEP (IPv4 or IPv6).
        type: str
        required: true
      local_ip:
        description: Local address of this tunnel.
        type: str
      vni:
        description: VXLAN network identifier, 1 to 16777215.
        type: int
      dst_port:
        description: UDP destination port.
        type: int
      df_default:
        description: Tunnel option C(df_default).
        type: bool
      tos:
        description: Outer ToS, 0 to 255 or V(inherit).
        type: str
      ttl:
        description: Outer TTL, 1 to 255 or V(inherit).
        type: str
      csum:
        description: Tunnel option C(csum).
        type: bool
  split_horizon:
    description:
      - Marks the tunnel ports as OVS protected ports (column C(protected) of the C(Port) table), so the bridge does not forward
        traffic from one tunnel port to another. This keeps a full mesh of tunnels free of loops.
      - Set V(false) on the hub of a hub-and-spoke overlay, which must forward between spokes.
    type: bool
    default: true
  exclusive:
    description:
      - With V(true), tunnel ports of the bridge that carry this module's marker and are not in
        O(tunnels) are removed. Only with O(state=present).
    type: bool
    default: false
seealso:
  - module: skillvl.offline_first.ovs_vxlan_info
  - name: Open vSwitch VXLAN interface options
    description: The C(Interface) table in ovs-vswitchd.conf.db(5).
    link: https://www.openvswitch.org/support/dist-docs/ovs-vswitchd.conf.db.5.html
"""

EXAMPLES = r"""
- name: Kernel-datapath bridge with two tunnels on VNI 10100
  skillvl.offline_first.ovs_vxlan:
    bridge: br-ovl
    datapath_type: system
    vni: 10100
    local_ip: 198.51.100.11
    tunnels:
      - name: vx-ws01
        remote_ip: 198.51.100.21
      - name: vx-ws02
        remote_ip: 198.51.100.22
        ttl: "64"
    exclusive: true

- name: Userspace datapath, a second VNI to the same peer
  skillvl.offline_first.ovs_vxlan:
    bridge: br-ovl
    datapath_type: netdev
    tunnels:
      - name: vx-ws01-200
        remote_ip: 198.51.100.21
        vni: 200

- name: Userspace datapath, the underlay NIC on a bridge that takes its MAC address
  skillvl.offline_first.ovs_vxlan:
    bridge: br-phy
    datapath_type: netdev
    fail_mode: standalone
    hwaddr: "52:54:00:12:34:56"
    mtu: 1500
    uplinks: [eth0]

- name: Remove the tunnel to one peer, keep the bridge
  skillvl.offline_first.ovs_vxlan:
    bridge: br-ovl
    state: absent
    tunnels:
      - remote_ip: 198.51.100.22
        vni: 10100

- name: Remove the bridge and everything on it
  skillvl.offline_first.ovs_vxlan:
    bridge: br-ovl
    state: absent
"""

RETURN = r"""
bridge:
  description: Name of the bridge.
  returned: always
  type: str
  sample: br-ovl
actions:
  description: What was done (or would be, in check mode), in one OVSDB transaction.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br-ovl (datapath_type=netdev)", "add tunnel vx-ws01 to 198.51.100.21 on br-ovl"]
added:
  description: Tunnel ports created.
  returned: always
  type: list
  elements: str
  sample: [vx-ws01]
updated:
  description: Tunnel ports whose options changed (or that this module adopted).
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Tunnel ports removed.
  returned: always
  type: list
  elements: str
  sample: [vx-ws02]
bridge_created:
  description: Whether the bridge was created.
  returned: always
  type: bool
bridge_removed:
  description: Whether the bridge was removed.
  returned: always
  type: bool
bridge_updated:
  description: Bridge settings changed (V(datapath_type), V(fail_mode), V(hwaddr), V(mtu)).
  returned: always
  type: list
  elements: str
uplinks_added:
  description: Interfaces of O(uplinks) attached to the bridge by this run.
  returned: always
  type: list
  elements: str
tunnels:
  description: The VXLAN tunnel ports of the bridge after the run (before it in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Port name.
      type: str
    remote_ip:
      description: Remote VTEP.
      type: str
    local_ip:
      description: Local address, if set.
      type: str
    vni:
      description: VXLAN network identifier.
      type: int
    dst_port:
      description: UDP destination port.
      type: int
    options:
      description: All interface options as OVS stores them.
      type: dict
    ofport:
      description: OpenFlow port number (-1 when OVS could not attach the interface).
      type: int
    error:
      description: Error recorded by OVS on the interface, if any.
      type: str
    managed:
      description: Whether the port carries this module's marker.
      type: bool
    split_horizon:
      description: Whether the port is an OVS protected port (no forwarding between tunnel ports).
      type: bool
  sample:
    - name: vx-ws01
      remote_ip: 198.51.100.21
      local_ip: 198.51.100.11
      vni: 10100
      dst_port: 4789
      options: {key: "10100", remote_ip: 198.51.100.21, local_ip: 198.51.100.11, dst_port: "4789"}
      ofport: 2
      error: null
      managed: true
      split_horizon: true
interfaces_in_error:
  description: Interfaces on which OVS recorded an error, with the message (on failure only).
  returned: failure
  type: dict
  sample: {br-ovl: "could not open network device br-ovl (Address family not supported by protocol)"}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import ovsdb
from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import vxlan
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import fail_with_error, run_backend


def main():
    module = AnsibleModule(argument_spec=vxlan.argument_spec(), supports_check_mode=True)
    if not vxlan.HAS_NETADDR:
        module.fail_json(msg=missing_required_lib("netaddr (Debian: python3-netaddr)"))
    if not ovsdb.HAS_OVS:
        module.fail_json(msg=missing_required_lib("ovs (Debian: python3-openvswitch)"),
                         exception=ovsdb.OVS_IMPORT_ERROR)

    # Validate before connecting: bad input fails even where OVS is down.
    try:
        vxlan.normalize(module.params)
    except vxlan.OvsError as exc:
        fail_with_error(module, exc)

    def ensure():
        with ovsdb.OvsdbSession(module.params["ovsdb"], module.params["ovsdb_timeout"]) as session:
            return vxlan.ensure(session, module.params, check_mode=module.check_mode)

    run_backend(module, ensure)


if __name__ == "__main__":
    main()
