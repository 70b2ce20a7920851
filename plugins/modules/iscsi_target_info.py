#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: iscsi_target_info
short_description: Report the iSCSI targets of a host (LIO or tgt)
version_added: 0.1.0
description:
  - Lists the targets of the host with their LUNs, ACL, CHAP user names (never secrets) and,
    for tgt, the number of connected sessions and the daemon's portals.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
attributes:
  platform:
    details: Debian 12 hosts with targetcli-fb and a kernel with LIO, or with tgt.
options:
  backend:
    description: Which target implementation the host runs.
    type: str
    choices: [lio, tgt]
    default: lio
seealso:
  - module: skillvl.offline_first.iscsi_target
"""

EXAMPLES = r"""
- name: Which targets does storage1 serve?
  skillvl.offline_first.iscsi_target_info:
    backend: tgt
  register: iscsi
"""

RETURN = r"""
targets:
  description: One entry per target.
  returned: always
  type: list
  elements: dict
  sample: [{iqn: iqn.2026-11.org.skillvl:storage1.vms, exists: true, tid: 1, luns: [/srv/skillvl/luns/vm1.img],
            initiators: [iqn.2026-11.org.skillvl:cloud1], chap_users: [skillvl-vms], mutual_chap_users: [],
            sessions: 0}]
portals:
  description: Portals of the tgt daemon (empty for LIO, whose portals are per target).
  returned: always
  type: list
  elements: str
  sample: ["0.0.0.0:3260", "[::]:3260"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_backends import describe_targets
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(backend=dict(type="str", choices=["lio", "tgt"], default="lio")),
        supports_check_mode=True,
    )
    run_backend(module, lambda: describe_targets(module.params["backend"]))


if __name__ == "__main__":
    main()
