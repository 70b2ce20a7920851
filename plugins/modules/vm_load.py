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
short_description: Set the CPU and memory load of a running guest, without a reboot
version_added: 0.1.0
description:
  - Reads the load of a running guest and, when it differs from what is asked, changes it; one boot
    serves a whole row of an experiment's matrix.
  - With O(method=stress_ng), any guest with stress-ng and the QEMU guest agent (a Debian cloud image
    with C(qemu-guest-agent) and C(stress-ng), as the research's VM), run on the hypervisor the VM runs
    on. The agent starts one stress-ng (C(--cpu 0 --cpu-load) O(cpu_pct) on every vCPU, C(--vm 1
    --vm-bytes) O(mem_mib)C(M --vm-keep)) and stops the one it started before. Its pid and load are
    kept in C(/run/skillvl-stress-ng) in the guest; a load counts only while that stress-ng lives.
  - With O(method=lab_guest), the lab guest of C(roles/lab_guest). Its heartbeat (TCP port 8080)
    carries its load, a C(LOAD) request changes it. Its memory writer rewrites O(mem_mib) MiB at
    O(rate_mib) MiB/s (0 is as fast as it can, as stress-ng's vm stressor); the CPU load keeps the
    vCPU busy O(cpu_pct) % of the time.
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
    details: >-
      O(method=stress_ng): the hypervisor the VM runs on (libvirt, the QEMU guest agent's channel);
      O(method=lab_guest): a host that reaches the guest's address.
options:
  method:
    description: How the load is made.
    type: str
    choices: [lab_guest, stress_ng]
    default: lab_guest
  name:
    description: The VM's libvirt name; required with O(method=stress_ng).
    type: str
  uri:
    description: The libvirt URI of the hypervisor the VM runs on (O(method=stress_ng)).
    type: str
    default: qemu:///system
  host:
    description: The guest's address; required with O(method=lab_guest).
    type: str
  port:
    description: The lab guest's control port.
    type: int
    default: 8080
  mem_mib:
    description: Size of the memory region the writer rewrites, MiB (0 = none); unchanged when left out.
    type: int
  rate_mib:
    description:
      - MiB/s the writer rewrites (0 = as fast as it can); unchanged when left out.
      - Only 0 with O(method=stress_ng), whose vm stressor has no rate.
    type: int
  cpu_pct:
    description: Share of time the vCPU is kept busy, 0 to 100; unchanged when left out.
    type: int
  timeout:
    description: Seconds one request may take.
    type: float
    default: 10
notes:
  - The guest agent runs commands as root in the guest; guests that block C(guest-exec) (C(qemu-ga
    --block-rpcs)) cannot be loaded this way, and the module says so.
seealso:
  - module: skillvl.offline_first.service_probe
  - name: stress-ng
    description: The stressors the research loaded its VM with.
    link: https://github.com/ColinIanKing/stress-ng
'''

EXAMPLES = r'''
- name: The research's 80 % RAM load (of 2 GiB) in the Debian service VM, through its guest agent
  skillvl.offline_first.vm_load:
    method: stress_ng
    name: skillvl-pi
    mem_mib: 1638
    cpu_pct: 0
  delegate_to: "{{ vm_host }}"

- name: No load
  skillvl.offline_first.vm_load:
    method: stress_ng
    name: skillvl-pi
    mem_mib: 0
    cpu_pct: 0
  delegate_to: "{{ vm_host }}"

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
name:
  description: The VM (O(method=stress_ng)).
  returned: O(method=stress_ng)
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import load, stress_ng
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            method=dict(type='str', choices=['lab_guest', 'stress_ng'], default='lab_guest'),
            name=dict(type='str'),
            uri=dict(type='str', default='qemu:///system'),
            host=dict(type='str'),
            port=dict(type='int', default=8080),
            mem_mib=dict(type='int'),
            rate_mib=dict(type='int'),
            cpu_pct=dict(type='int'),
            timeout=dict(type='float', default=10.0),
        ),
        required_if=[('method', 'lab_guest', ['host']), ('method', 'stress_ng', ['name'])],
        supports_check_mode=True,
    )
    p = module.params
    wanted = dict(mem_mib=p['mem_mib'], rate_mib=p['rate_mib'], cpu_pct=p['cpu_pct'])
    if p['method'] == 'lab_guest':
        run_backend(module, lambda: load.ensure(p['host'], p['port'], p['timeout'], module.check_mode, **wanted))
        return
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    run_backend(module, lambda: stress_ng.ensure_in_vm(p['name'], p['uri'], p['timeout'], module.check_mode, **wanted))


if __name__ == '__main__':
    main()
