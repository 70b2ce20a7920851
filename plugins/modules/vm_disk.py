#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: vm_disk
short_description: Create or remove a VM disk image, locally or on the shared NFS export, as the user QEMU runs as
version_added: 0.1.0
description:
  - Creates one disk image with C(qemu-img) (qcow2 or raw, optionally over a backing image, or
    with the content of a local file such as a cloud-init seed), or removes it.
  - The image is a local file (also a file on a mounted NFS export) or a file that QEMU reaches
    with its own NFS client, C(nfs://SERVER/EXPORT/FILE), as the C(vm) role's shared disks in
    C(network_disk) mode.
  - Every C(qemu-img) and every removal runs as O(owner), with umask 077, so the image is 0600
    for that one user. NFS exports are C(root_squash) (root on the hypervisor is nobody there), so
    give the user QEMU runs as, C(libvirt-qemu).
  - An image that exists is never overwritten, resized or converted; what differs from the
    options is reported as a warning. An image that a running QEMU holds (its lock) is not removed.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the image and reports what would be created or removed.
  diff_mode:
    support: full
    details: The image (exists, format, virtual size, backing file) before and after.
  platform:
    details: Debian 12 hypervisors with qemu-utils (and qemu-block-extra, with libnfs, for nfs:// images).
options:
  path:
    description:
      - The image, an absolute file path or C(nfs://SERVER/ABSOLUTE/PATH).
    type: str
    required: true
  state:
    description:
      - V(present) creates the image when there is none; V(absent) removes it.
      - C(qemu-img) cannot delete an C(nfs://) image; it is removed through NFS with libnfs (QEMU's
        NFS client), with the uid and gid of O(owner), never on the server's file system behind its back.
      - A local image that a running QEMU holds (its image lock) is not removed; libnfs takes no
        locks, so for an C(nfs://) image stop the VM first.
    type: str
    choices: [present, absent]
    default: present
  format:
    description: Image format of a new image.
    type: str
    choices: [qcow2, raw]
    default: qcow2
  size_mib:
    description: Virtual size of a new image in MiB. Required unless O(source) is given.
    type: int
  backing:
    description: Absolute path of the backing image of a new qcow2 image (the guest sees its content until it writes).
    type: str
  backing_format:
    description: Format of O(backing).
    type: str
    choices: [qcow2, raw]
    default: qcow2
  source:
    description:
      - A local raw file whose content a new image gets (a cloud-init seed built on this host).
        The owner need not be able to read it. An existing image that differs from it is reported, not replaced.
    type: path
  owner:
    description:
      - The local user who creates, reads and removes the image. Default is the user the module runs as.
    type: str
seealso:
  - module: skillvl.offline_first.vm_migrate
"""

EXAMPLES = r"""
- name: Root disk of vm1 on the mounted NFS export, over the staged cloud image
  skillvl.offline_first.vm_disk:
    path: /var/lib/libvirt/skillvl-nfs/vm1-root.qcow2
    size_mib: 10240
    backing: /var/lib/libvirt/images/base/debian12-cloud.qcow2
    owner: libvirt-qemu

- name: A data disk that QEMU opens with its own NFS client
  skillvl.offline_first.vm_disk:
    path: nfs://198.51.100.31/srv/skillvl/vms/vm1-data.qcow2
    size_mib: 16
    owner: libvirt-qemu

- name: The cloud-init seed of vm1 on shared storage, from the one built locally
  skillvl.offline_first.vm_disk:
    path: /var/lib/libvirt/skillvl-nfs/vm1-seed.iso
    format: raw
    source: /var/lib/libvirt/images/vm1-seed.iso
    owner: libvirt-qemu

- name: Remove a disk on the NFS export, through NFS as libvirt-qemu
  skillvl.offline_first.vm_disk:
    path: nfs://198.51.100.31/srv/skillvl/vms/vm1-data.qcow2
    owner: libvirt-qemu
    state: absent

- name: Remove a local disk (refused while a VM uses it)
  skillvl.offline_first.vm_disk:
    path: /var/lib/libvirt/images/vm1-data.qcow2
    state: absent
"""

RETURN = r"""
path:
  description: The image, as given.
  type: str
  returned: always
owner:
  description: The user the image was read, created or removed as (null, the module's own user).
  type: str
  returned: always
disk:
  description: The image after the run.
  type: dict
  returned: always
  contains:
    exists:
      description: Whether there is an image.
      type: bool
    format:
      description: Its format (qcow2, raw...).
      type: str
      returned: when exists
    virtual_size_mib:
      description: Its virtual size in MiB.
      type: int
      returned: when exists
    backing:
      description: Its backing file, or null.
      type: str
      returned: when exists
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import disk_image


def main():
    module = AnsibleModule(argument_spec=disk_image.argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[('source', 'backing')])
    run_backend(module, lambda: disk_image.ensure_disk(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
