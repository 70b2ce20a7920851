#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_cpu_baseline
short_description: A CPU model every host of a fleet can run, for migratable VM definitions
version_added: 0.1.0
description:
  - Reads the host-model CPU of each host's domain capabilities (or the host CPU where host-model
    is not offered) and computes their baseline with C(baselineHypervisorCPU).
  - VM definitions using the returned C(<cpu>) element migrate between all these hosts,
    Intel and AMD included where the features allow.
  - Changes nothing.
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt)) on the host running the module
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
attributes:
  platform:
    details: Any host with libvirt-python that reaches the listed libvirt daemons.
options:
  hosts:
    description: Hosts (names or full libvirt URIs) whose CPUs the baseline must fit.
    type: list
    elements: str
    required: true
  transport:
    description: Transport for host names.
    type: str
    choices: [tls, ssh, tcp]
    default: tls
  virt_type:
    description: Domain type the VMs use (C(kvm), or C(qemu) for emulation).
    type: str
    default: kvm
  arch:
    description: Guest architecture; by default the first host's.
    type: str
  machine:
    description: Machine type to compute the baseline for.
    type: str
  expand_features:
    description: List every feature instead of a model plus differences.
    type: bool
    default: false
seealso:
  - module: skillvl.offline_first.vm_migration_check
'''

EXAMPLES = r'''
- name: Fleet-wide CPU baseline over all hypervisors
  skillvl.offline_first.vm_cpu_baseline:
    hosts: "{{ groups['hypervisors'] }}"
  register: baseline
  run_once: true

- name: Use it in VM definitions
  ansible.builtin.set_fact:
    vm_cpu_xml: "{{ baseline.cpu_xml }}"
'''

RETURN = r'''
cpu_xml:
  description: The baseline C(<cpu>) element, ready for a domain definition.
  returned: always
  type: str
model:
  description: The baseline CPU model.
  returned: always
  type: str
  sample: Skylake-Client-noTSX-IBRS
vendor:
  description: The baseline vendor (empty when hosts mix vendors).
  returned: always
  type: str
features:
  description: Feature name -> policy of the baseline.
  returned: always
  type: dict
hosts:
  description: Per host URI, its CPU vendor, model and host-model.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR, TRANSPORTS, build_uri)
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type='list', elements='str', required=True),
            transport=dict(type='str', default='tls', choices=list(TRANSPORTS)),
            virt_type=dict(type='str', default='kvm'),
            arch=dict(type='str'),
            machine=dict(type='str'),
            expand_features=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.cpu import cpu_baseline

    p = module.params
    if not p['hosts']:
        module.fail_json(msg='hosts must list at least one host')

    def baseline():
        uris = [build_uri(h, p['transport']) for h in p['hosts']]
        result = cpu_baseline(uris, virt_type=p['virt_type'], arch=p['arch'], machine=p['machine'],
                              expand=p['expand_features'])
        return dict(result, vendor=result.get('vendor') or '', changed=False)

    run_backend(module, baseline)


if __name__ == '__main__':
    main()
