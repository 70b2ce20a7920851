#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: vm_disk_layer
short_description: Cut a running VM's disks to a new top layer, or merge the top layer back
version_added: 0.1.0
description:
  - O(state=cut) puts a new, empty qcow2 layer C(<stem>.away.qcow2) on top of every writable file disk of a
    running VM (a disk-only external snapshot, atomic over all disks, without snapshot metadata). From then on
    the VM writes only the top layer; the layer below is frozen and can be copied while the VM runs.
    C(playbooks/scale_away.yml) cuts before the move, so that the move and the way back carry only the top layer.
  - O(state=merged) commits the top layer into the layer below (an active block commit), pivots the VM to it and
    removes the top file; the chain is what it was before the cut.
  - Read-only disks (a cloud-init seed), shareable disks, network and block disks are left as they are and listed
    in RV(skipped).
  - Works on the running VM; its persistent definition follows.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the disks and reports the chains a run would leave.
  diff_mode:
    support: full
    details: Each disk's chain (C(below <- top)) before and after.
  platform:
    details: Hosts with libvirt and python3-libvirt; run it where the VM runs.
options:
  name:
    description: The running VM (libvirt domain name) on this host.
    type: str
    required: true
  state:
    description: V(cut) adds the top layer; V(merged) commits it down and removes it.
    type: str
    choices: [cut, merged]
    required: true
  timeout:
    description: Seconds one disk's merge may take before it is stopped (the VM then keeps writing the top layer).
    type: int
    default: 600
  uri:
    description: libvirt URI of this host.
    type: str
    default: qemu:///system
notes:
  - A cut refuses to reuse a file at the top layer's path that is not the VM's disk (a leftover of an earlier trip);
    remove it with M(skillvl.offline_first.vm_disk) first.
seealso:
  - module: skillvl.offline_first.vm_disk_fetch
  - module: skillvl.offline_first.vm_migrate
"""

EXAMPLES = r"""
- name: Freeze what svc-pi has written so far; it writes a new top layer from now on
  skillvl.offline_first.vm_disk_layer:
    name: svc-pi
    state: cut
  register: layers

- name: Home again - merge the top layer down
  skillvl.offline_first.vm_disk_layer:
    name: svc-pi
    state: merged
"""

RETURN = r"""
name:
  description: The VM.
  returned: always
  type: str
state:
  description: The state asked for.
  returned: always
  type: str
disks:
  description: The VM's writable file disks after the run (in check mode, as a run would leave them).
  returned: success
  type: list
  elements: dict
  contains:
    target:
      description: The guest's device name.
      type: str
      sample: vda
    path:
      description: The file the VM writes.
      type: str
      sample: /var/lib/libvirt/images/svc-pi-root.away.qcow2
    cut:
      description: Whether the disk has a top layer.
      type: bool
    top:
      description: The top layer (when cut).
      type: str
    below:
      description: The frozen layer under the top (when cut).
      type: str
      sample: /var/lib/libvirt/images/svc-pi-root.qcow2
    below_format:
      description: The format of RV(disks[].below) (V(qcow2) or V(raw)).
      type: str
    base:
      description: The layers under RV(disks[].below) (a staged base image), deepest last.
      type: list
      elements: str
    size_mib:
      description: The disk's size as the guest sees it, MiB (what a new top layer on another host needs).
      type: int
skipped:
  description: Disks left as they are, each with C(target), C(path) and why (C(skipped)).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import layers
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', required=True, choices=list(layers.STATES)),
            timeout=dict(type='int', default=600),
            uri=dict(type='str', default='qemu:///system'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_backend(module, lambda: layers.ensure(p['name'], p['state'], timeout=p['timeout'], uri=p['uri'],
                                              check_mode=module.check_mode))


if __name__ == '__main__':
    main()
