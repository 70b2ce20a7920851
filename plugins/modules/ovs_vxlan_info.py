#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovs_vxlan_info
short_description: Read Open vSwitch bridges and their VXLAN tunnel ports
version_added: 0.1.0
description:
  - Reads, through the Open vSwitch Python IDL, the bridges of one host with their VXLAN tunnel
    ports, options, OpenFlow port numbers and the errors OVS recorded.
  - Shares its backend with M(skillvl.offline_first.ovs_vxlan).
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - Open vSwitch Python IDL on the managed host (Debian package C(python3-openvswitch))
  - a running C(ovsdb-server)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
  - skillvl.offline_first.ovsdb
attributes:
  platform:
    details: Linux hosts with Open vSwitch.
options:
  bridge:
    description:
      - Only this bridge. All bridges when omitted.
    type: str
seealso:
  - module: skillvl.offline_first.ovs_vxlan
"""

EXAMPLES = r"""
- name: Read the overlay bridge
  skillvl.offline_first.ovs_vxlan_info:
    bridge: br-ovl
  register: ovl

- name: Fail when a tunnel is broken
  ansible.builtin.assert:
    that: ovl.bridges[0].tunnels | selectattr('error') | list | length == 0
"""

RETURN = r"""
ovs_version:
  description: Version of Open vSwitch.
  returned: always
  type: str
  sample: "3.1.0"
bridges:
  description: The bridges (only O(bridge) if given; empty if it does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
    datapath_type:
      description: V(system) or V(netdev).
      type: str
    fail_mode:
      description: V(standalone) or V(secure).
      type: str
    error:
      description: Error recorded by OVS on the bridge's internal interface, if any.
      type: str
    ports:
      description: Names of all ports of the bridge.
      type: list
      elements: str
    tunnels:
      description: VXLAN tunnel ports, as returned by M(skillvl.offline_first.ovs_vxlan).
      type: list
      elements: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import ovsdb
from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import vxlan
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    spec = dict(bridge=dict(type="str"))
    spec.update(vxlan.connection_argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not ovsdb.HAS_OVS:
        module.fail_json(msg=missing_required_lib("ovs (Debian: python3-openvswitch)"),
                         exception=ovsdb.OVS_IMPORT_ERROR)

    def describe():
        with ovsdb.OvsdbSession(module.params["ovsdb"], module.params["ovsdb_timeout"]) as session:
            return dict(vxlan.describe(session, module.params["bridge"]), changed=False)

    run_backend(module, describe)


if __name__ == "__main__":
    main()
