#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_migration_check
short_description: Pre-flight of a libvirt VM migration, with a verdict and every reason
version_added: 0.1.0
description:
  - Checks whether a VM on this host can be live-migrated to a destination, without changing anything.
  - Checks both libvirt daemons are reachable; QEMU versions and direction (older to newer is fine,
    newer to older is a warning); the VM's emulator, machine type and domain type on the destination;
    the VM's CPU definition with C(compareHypervisorCPU) on the destination; distinct host UUIDs;
    each disk shared or needing a copy (as libvirt sees it, no unsafe override); free memory on the
    destination; the VM's libvirt networks, bridges and Open vSwitch bridges on the destination.
  - Returns C(verdict) (C(ok) or C(fail)), C(live_possible), C(cold_possible) and C(reasons), one entry
    per check with C(check), C(status) (C(ok), C(warn), C(fail)), C(message) and C(cold_fixable).
  - The module does not fail on a negative verdict unless O(fail_on_negative=true).
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt)) on the source host
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
  - skillvl.offline_first.libvirt_peer
  - skillvl.offline_first.dest_disks
attributes:
  platform:
    details: The source hypervisor, with libvirt-python.
options:
  name:
    description: Name of the VM on this host.
    type: str
    required: true
  mode:
    description: Check for a C(live) move (the VM must run) or a C(cold) move.
    type: str
    choices: [live, cold]
    default: live
  storage:
    description: Storage handling the migration would use (see M(skillvl.offline_first.vm_migrate)).
    type: str
    choices: [shared, copy, copy_incremental]
    default: shared
  fail_on_negative:
    description: Fail the task when the verdict is negative.
    type: bool
    default: false
seealso:
  - module: skillvl.offline_first.vm_migrate
'''

EXAMPLES = r'''
- name: Can web1 move to ws01?
  skillvl.offline_first.vm_migration_check:
    name: web1
    dest: ws01
  register: check

- name: Show every reason
  ansible.builtin.debug:
    msg: "{{ check.reasons | map(attribute='message') | list }}"
'''

RETURN = r'''
verdict:
  description: C(ok) when a live move is possible, C(fail) otherwise.
  returned: always
  type: str
  sample: ok
live_possible:
  description: Whether a live move is possible.
  returned: always
  type: bool
cold_possible:
  description: Whether every failed check can be overcome by a cold move.
  returned: always
  type: bool
summary:
  description: The verdict in one sentence.
  returned: always
  type: str
reasons:
  description: One entry per check.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "cpu", "status": "ok", "message": "CPU qemu64 runnable on the destination", "cold_fixable": false}]
facts:
  description:
    - Versions, host UUIDs, the VM's machine, CPU, memory and disks as seen by the check.
    - C(source_qemu) and C(dest_qemu) give QEMU's versions as text, C(source_qemu_version) and C(dest_qemu_version) as libvirt's numbers (7.2.0 is 7002000).
  returned: always
  type: dict
dest_uri:
  description: The destination URI used.
  returned: always
  type: str
already_there:
  description: The VM is not on this host but already on the destination.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import PEER_ARGS, stream_warnings
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            PEER_ARGS,
            name=dict(type='str', required=True),
            mode=dict(type='str', default='live', choices=['live', 'cold']),
            storage=dict(type='str', default='shared', choices=['shared', 'copy', 'copy_incremental']),
            fail_on_negative=dict(type='bool', default=False),
            dest_disks=dict(type='list', elements='dict', default=[], options=dest_disks.SPEC),
        ),
        supports_check_mode=True,
    )
    for warning in stream_warnings(module.params, tunnelled_option=False):
        module.warn(warning)
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration

    problems = dest_disks.validate(module.params['dest_disks'])
    if problems:
        module.fail_json(msg='; '.join(problems))

    options = dict((k, v) for k, v in module.params.items() if k != 'fail_on_negative')

    def check():
        result = dict(Migration(options).check(), changed=False)
        if module.params['fail_on_negative'] and result['verdict'] != 'ok':
            module.fail_json(msg=result['summary'], **dict((k, v) for k, v in result.items() if k != 'summary'))
        return result

    run_backend(module, check)


if __name__ == '__main__':
    main()
