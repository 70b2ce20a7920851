#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_migration_info
short_description: Progress of a running libvirt VM migration
version_added: 0.1.0
description:
  - Reads the live job statistics of a VM on this host (the migration source) and, when given,
    the progress log that M(skillvl.offline_first.vm_migrate) writes.
  - Meant to be polled while M(skillvl.offline_first.vm_migrate) runs as an async task.
  - Returns percentage, remaining memory, dirty rate, bandwidth, iteration and an estimate of the
    remaining time.
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt))
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
attributes:
  platform:
    details: The migration's source hypervisor, with libvirt-python.
options:
  name:
    description: Name of the VM on this host.
    type: str
    required: true
  source_uri:
    description: libvirt URI of this host.
    type: str
    default: qemu:///system
  progress_log:
    description: Progress log written by M(skillvl.offline_first.vm_migrate).
    type: path
  last:
    description: How many records of the progress log to return.
    type: int
    default: 20
seealso:
  - module: skillvl.offline_first.vm_migrate
'''

EXAMPLES = r'''
- name: Poll the progress of a background migration
  skillvl.offline_first.vm_migration_info:
    name: web1
    progress_log: /var/log/skillvl/migrate-web1.jsonl
  register: prog
  until: not prog.running
  retries: 360
  delay: 5
'''

RETURN = r'''
running:
  description: Whether a migration job is running for the VM on this host.
  returned: always
  type: bool
vm_state:
  description: State of the VM on this host (C(absent) once it has left).
  returned: always
  type: str
home:
  description:
    - The VM's home record from its libvirt metadata (the C(vm) role and M(skillvl.offline_first.vm_home)),
      null when the VM is not here or has none.
  returned: always
  type: dict
  contains:
    home:
      description: Its home host.
      type: str
    image:
      description: The image the vm role made it from.
      type: str
    away:
      description: Null when home; else C(from), C(since) and C(base_image) of its scale-away.
      type: dict
disks:
  description: The VM's disks on this host and where they are (empty when the VM is not here).
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target device name (V(vda)).
      type: str
    device:
      description: C(disk) or C(cdrom).
      type: str
    type:
      description: libvirt's disk type (C(file), C(block), C(network)).
      type: str
    protocol:
      description: The network protocol (C(rbd)) of a network disk, else null.
      type: str
    source:
      description: The file or device path, or the Ceph pool and image (C(vms/svc-root)).
      type: str
    format:
      description: The disk's format (C(raw), C(qcow2)).
      type: str
    readonly:
      description: Whether the guest sees it read-only.
      type: bool
    pool:
      description: The libvirt storage pool of this host that holds the disk, null when none does.
      type: str
    volume:
      description: Its volume in that pool.
      type: str
  sample:
    - {target: vda, device: disk, type: network, protocol: rbd, source: vms/svc-root, format: raw,
       readonly: false, pool: skillvl-rbd, volume: svc-root}
progress:
  description: Current progress (percent, memory_remaining_mib, dirty_rate_mib_s, bandwidth_mib_s, iteration, eta_s).
  returned: always
  type: dict
job:
  description: Raw libvirt job statistics.
  returned: always
  type: dict
log:
  description: The last records of the progress log.
  returned: always
  type: list
  elements: dict
log_header:
  description: First record of the progress log (VM, destination, strategy, start time).
  returned: always
  type: dict
finished:
  description: C(completed) or C(failed) when the progress log says the migration ended.
  returned: when the log says so
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            source_uri=dict(type='str', default='qemu:///system'),
            progress_log=dict(type='path'),
            last=dict(type='int', default=20),
        ),
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.info import job_info

    if not 0 < module.params['last'] <= 10000:
        module.fail_json(msg='last must be between 1 and 10000, not %s' % module.params['last'])

    def info():
        result = job_info(module.params['name'], module.params['source_uri'], module.params['progress_log'],
                          module.params['last'])
        for key in ('log_header', 'progress', 'job'):
            result[key] = result[key] or {}
        return dict(result, changed=False)

    run_backend(module, info)


if __name__ == '__main__':
    main()
