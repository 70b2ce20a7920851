#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_load
short_description: Set the CPU and memory load of a running lab guest, without a reboot
version_added: 0.1.0
description:
  - Reads the load of a running lab guest from its heartbeat (TCP port 8080) and, when it differs
    from what is asked, changes it with a C(LOAD) request; one boot serves a whole row of an
    experiment's matrix.
  - The memory writer rewrites O(mem_mib) MiB at O(rate_mib) MiB/s (0 is as fast as it can, as
    stress-ng's vm stressor); the CPU load keeps the vCPU busy O(cpu_pct) % of the time.
  - For the lab guest only (C(roles/lab_guest)); loading real guests with stress-ng through the QEMU
    guest agent is not offered yet.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the load and says what would change.
  diff_mode:
    support: none
  platform:
    details: A host that reaches the guest's address.
options:
  host:
    description: The guest's address.
    type: str
    required: true
  port:
    description: The guest's control port.
    type: int
    default: 8080
  mem_mib:
    description: Size of the memory region the writer rewrites, MiB (0 = none); unchanged when left out.
    type: int
  rate_mib:
    description: MiB/s the writer rewrites (0 = as fast as it can); unchanged when left out.
    type: int
  cpu_pct:
    description: Share of time the vCPU is kept busy, 0 to 100; unchanged when left out.
    type: int
  timeout:
    description: Seconds one request may take.
    type: float
    default: 10
seealso:
  - module: skillvl.offline_first.service_probe
'''

EXAMPLES = r'''
- name: 80 % RAM load, unthrottled, no CPU load
  skillvl.offline_first.vm_load:
    host: 203.0.113.50
    mem_mib: 153
    rate_mib: 0
    cpu_pct: 0
  delegate_to: ws02
'''

RETURN = r'''
load:
  description: The load in force after the task (C(mem_mib), C(rate_mib), C(cpu_pct)).
  returned: success
  type: dict
  sample: {"mem_mib": 153, "rate_mib": 0, "cpu_pct": 0}
before:
  description: The load before the task.
  returned: success
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import load
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=8080),
            mem_mib=dict(type='int'),
            rate_mib=dict(type='int'),
            cpu_pct=dict(type='int'),
            timeout=dict(type='float', default=10.0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_backend(module, lambda: load.ensure(p['host'], p['port'], p['timeout'], module.check_mode,
                                            mem_mib=p['mem_mib'], rate_mib=p['rate_mib'], cpu_pct=p['cpu_pct']))


if __name__ == '__main__':
    main()
