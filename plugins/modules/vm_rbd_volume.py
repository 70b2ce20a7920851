#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: vm_rbd_volume
short_description: Create, fill or remove a VM disk as an RBD image of a hypervisor's libvirt rbd pool
version_added: 0.1.0
description:
  - Creates one raw RBD image through the host's libvirt rbd pool (the one the
    M(skillvl.offline_first.libvirt_secret) key and the C(ceph_client) role give it), optionally with
    the content of a local image (a base image converted to raw, a cloud-init seed), or removes it.
  - libvirt's rbd pool cannot upload, so the content goes in with C(qemu-img convert) through QEMU's own
    rbd driver, opened as the pool's Ceph user with that user's keyring (C(/etc/ceph/ceph.client.USER.keyring));
    the key is never on a command line. A failed copy removes the image again.
  - An image that exists is never overwritten, resized or converted (its content is not compared with
    O(source)); a different capacity is reported as a warning.
  - An image that a QEMU has open (a watcher on it, as C(rbd status) shows, on any host) is not removed.
  - Every Ceph command is bounded by O(timeout), since a client that cannot reach a monitor would retry for ever.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the pool and the image (and who has it open) and reports what would be created or removed.
  diff_mode:
    support: full
    details: The image (exists, capacity) before and after.
  platform:
    details: Debian 12 hypervisors with ceph-common, qemu-block-extra and libvirt's rbd storage driver (the C(ceph_client) role).
options:
  pool:
    description: The libvirt rbd storage pool of this host (the C(ceph_client) role's C(ceph_client_libvirt_pool)).
    type: str
    required: true
  name:
    description: The RBD image (libvirt volume) name, letters, digits, C(.), C(_) and C(-).
    type: str
    required: true
  state:
    description: V(present) creates the image when there is none; V(absent) removes it unless a QEMU has it open.
    type: str
    choices: [present, absent]
    default: present
  size_mib:
    description:
      - Capacity of a new image in MiB. Required unless O(source) is given; with O(source), at least its
        virtual size (the image gets the larger of the two).
    type: int
  source:
    description: A local image on this host whose content a new image gets, converted to raw.
    type: path
  source_format:
    description: The format of O(source) (never probed).
    type: str
    choices: [qcow2, raw]
    default: qcow2
  uri:
    description: This host's libvirt.
    type: str
    default: qemu:///system
  timeout:
    description: Seconds any one Ceph command (a status query, the whole copy of O(source)) may take.
    type: int
    default: 1800
seealso:
  - module: skillvl.offline_first.vm_disk
  - module: skillvl.offline_first.vm_migrate
"""

EXAMPLES = r"""
- name: Root disk of vm1 on Ceph, the staged cloud image converted into it
  skillvl.offline_first.vm_rbd_volume:
    pool: skillvl-rbd
    name: vm1-root
    size_mib: 10240
    source: /var/lib/libvirt/images/base/debian12-cloud.qcow2

- name: The cloud-init seed of vm1, uploaded into an image the destination of a migration opens too
  skillvl.offline_first.vm_rbd_volume:
    pool: skillvl-rbd
    name: vm1-seed
    source: /var/lib/libvirt/images/vm1-seed.iso
    source_format: raw

- name: An empty data disk
  skillvl.offline_first.vm_rbd_volume:
    pool: skillvl-rbd
    name: vm1-data
    size_mib: 4096

- name: Remove it (refused while a VM has it open)
  skillvl.offline_first.vm_rbd_volume:
    pool: skillvl-rbd
    name: vm1-data
    state: absent
"""

RETURN = r"""
pool:
  description: The libvirt pool, as given.
  type: str
  returned: always
name:
  description: The image, as given.
  type: str
  returned: always
ceph_pool:
  description: The Ceph pool the libvirt pool shows.
  type: str
  returned: always
  sample: vms
volume:
  description: The image after the run.
  type: dict
  returned: always
  contains:
    exists:
      description: Whether there is an image.
      type: bool
    capacity:
      description: Its capacity in bytes.
      type: int
      returned: when exists
    path:
      description: C(CEPH_POOL/NAME), as a disk's C(source name) gives it.
      type: str
      returned: when exists
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import rbd_volume


def main():
    module = AnsibleModule(argument_spec=rbd_volume.argument_spec(), supports_check_mode=True)
    run_backend(module, lambda: rbd_volume.ensure_volume(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
