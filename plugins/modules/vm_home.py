#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: vm_home
short_description: Record in a VM's own libvirt metadata that it is away from its home host, or back
version_added: 0.1.0
description:
  - Keeps a VM's home and its time away in the domain's C(<metadata>), in the collection's namespace
    (C(https://skillvl.example/offline_first/1)), beside what the C(vm) role writes there (home host, image).
  - O(state=away) records where the VM left from, when, and the base image its disk sits on, before a
    scale-away moves it. The record is part of the domain definition, so it travels with the migration;
    C(playbooks/return.yml) needs only the VM's name. A VM already away keeps its first record.
  - O(state=home) removes the away record (the home host stays).
  - Writes the running VM and its persistent definition.
  - M(skillvl.offline_first.vm_migration_info) returns the record as C(home).
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the record and reports what would change.
  diff_mode:
    support: full
    details: The metadata element before and after.
  platform:
    details: Hosts with libvirt and python3-libvirt; run it on the host where the VM is defined.
options:
  name:
    description: The VM (libvirt domain name) on this host.
    type: str
    required: true
  state:
    description: V(away) records the departure; V(home) clears it.
    type: str
    choices: [away, home]
    required: true
  host:
    description:
      - The inventory name of the host the VM leaves from (V(away)). Required for V(away).
    type: str
  home:
    description:
      - The VM's home host, when the metadata has none yet (a VM not made by the C(vm) role). Default is O(host).
    type: str
  base_image:
    description: The base image the VM's disk is an overlay on, recorded for the return.
    type: str
  disks:
    description:
      - For O(state=away), the disks the move put into a storage pool of this host (an RBD disk that became
        a local file), each with the storage pool and volume it had at home, recorded for the return.
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: The disk's target device name (V(vda)).
        type: str
        required: true
      pool:
        description: The libvirt storage pool of the home host the disk was in.
        type: str
        required: true
      volume:
        description: Its volume in that pool.
        type: str
        required: true
  uri:
    description: libvirt URI of this host.
    type: str
    default: qemu:///system
seealso:
  - module: skillvl.offline_first.vm_migration_info
"""

EXAMPLES = r"""
- name: Record that svc-pi leaves cloud1
  skillvl.offline_first.vm_home:
    name: svc-pi
    state: away
    host: "{{ inventory_hostname }}"

- name: Record that svc-db left cloud1 with its RBD root disk turned into a local file
  skillvl.offline_first.vm_home:
    name: svc-db
    state: away
    host: cloud1
    disks:
      - target: vda
        pool: skillvl-rbd
        volume: svc-db-root

- name: svc-pi is home again
  skillvl.offline_first.vm_home:
    name: svc-pi
    state: home
"""

RETURN = r"""
name:
  description: The VM.
  type: str
  returned: always
record:
  description: The record after the run.
  type: dict
  returned: success
  contains:
    home:
      description: The VM's home host.
      type: str
    image:
      description: The image the vm role made it from, or null.
      type: str
    away:
      description:
        - Null when home; else C(from) (host), C(since) (UTC, ISO 8601), C(base_image) and C(disks) (the
          home pool and volume of each disk that left them, as O(disks)).
      type: dict
"""

import datetime
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend

try:
    import libvirt  # noqa: F401  pylint: disable=unused-import
    HAS_LIBVIRT = True
    LIBVIRT_IMPORT_ERROR = None
except ImportError:
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=['away', 'home']),
            host=dict(type='str'),
            home=dict(type='str'),
            base_image=dict(type='str'),
            disks=dict(type='list', elements='dict', default=[],
                       options=dict(target=dict(type='str', required=True), pool=dict(type='str', required=True),
                                    volume=dict(type='str', required=True))),
            uri=dict(type='str', default='qemu:///system'),
        ),
        required_if=[('state', 'away', ['host'])],
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import home

    p = module.params
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    run_backend(module, lambda: home.ensure(p['name'], p['state'], p['host'], home=p['home'],
                                            base_image=p['base_image'], now=now, uri=p['uri'],
                                            check_mode=module.check_mode, disks=p['disks']))


if __name__ == "__main__":
    main()
