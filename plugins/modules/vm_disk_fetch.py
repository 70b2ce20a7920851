#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: vm_disk_fetch
short_description: Fetch a disk image from another hypervisor through its libvirt - resumable, capped, checked
version_added: 0.1.0
description:
  - Copies the file O(path) of the hypervisor O(source) to this host (at O(dest), by default the same path), reading
    it as a volume of one of the source's libvirt storage pools over the libvirt connection the hosts use for
    migration (TLS by default). No other credential or daemon is involved.
  - Run it on the host that needs the file. C(playbooks/stage.yml) stages base images on the workstations this way;
    C(playbooks/scale_away.yml) fetches the frozen layers of a cut VM (M(skillvl.offline_first.vm_disk_layer))
    before the move.
  - Bytes land in C(<dest>.part); a run that stops (a cut link, a timeout) leaves it, and the next run continues
    from where it stopped. The finished file is checked against O(checksum) before it takes its name, then the
    local storage pool that holds it is refreshed, so that libvirt knows it (a migration's pre-flight looks for
    backing images there).
  - An existing O(dest) is never overwritten; with O(checksum) it must match, or the task fails.
  - Files are 0600 for root; libvirt gives QEMU access when a VM opens them.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Looks at the source volume and the local file and says what would be fetched.
  diff_mode:
    support: none
  platform:
    details: Hypervisors with libvirt and python3-libvirt whose libvirt can reach the source's.
options:
  path:
    description: The file on the source, a volume of one of its libvirt storage pools.
    type: path
    required: true
  source:
    description: The hypervisor to fetch from (a host name or address, or a libvirt URI).
    type: str
    required: true
  transport:
    description: How to reach the source's libvirt when O(source) is not a URI.
    type: str
    choices: [tls, tcp, ssh]
    default: tls
  dest:
    description: Where the file goes here; default O(path).
    type: path
  checksum:
    description:
      - The file's C(sha256:<hex>) as the source has it (for example from M(ansible.builtin.stat) with
        C(checksum_algorithm=sha256) on the source). Strongly advised; without it the copy is not checked.
    type: str
  bandwidth:
    description: Cap in MiB/s on the transfer (a quiet-time staging must not fill the lab's link); 0 is no cap.
    type: float
    default: 0
seealso:
  - module: skillvl.offline_first.vm_disk_layer
  - module: skillvl.offline_first.vm_disk
"""

EXAMPLES = r"""
- name: Checksum of the base image where it is
  ansible.builtin.stat:
    path: /var/lib/libvirt/images/base/debian-12.qcow2
    checksum_algorithm: sha256
  delegate_to: cloud1
  register: base

- name: Stage it on this workstation at 20 MiB/s
  skillvl.offline_first.vm_disk_fetch:
    path: /var/lib/libvirt/images/base/debian-12.qcow2
    source: cloud1
    checksum: "sha256:{{ base.stat.checksum }}"
    bandwidth: 20
"""

RETURN = r"""
dest:
  description: The file here.
  returned: always
  type: str
size:
  description: Its size, bytes.
  returned: success
  type: int
bytes:
  description: Bytes that crossed the link in this run (0 when the file was here already).
  returned: always
  type: int
resumed_from:
  description: The offset this run continued from (the size of a C(.part) file an earlier run left).
  returned: always
  type: int
sha256:
  description: The file's sha256 (computed when it was fetched, or with O(checksum) when it was here).
  returned: success
  type: str
seconds:
  description: How long the transfer took.
  returned: changed
  type: float
rate_mib_s:
  description: The transfer's mean rate.
  returned: changed
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import disk_fetch


def main():
    module = AnsibleModule(argument_spec=disk_fetch.argument_spec(), supports_check_mode=True)
    p = module.params

    def run():
        uri = session.build_uri(p['source'], p['transport'])
        return disk_fetch.fetch(p['path'], uri, dest=p['dest'], checksum=p['checksum'],
                                bandwidth_mib_s=p['bandwidth'], check_mode=module.check_mode)

    run_backend(module, run)


if __name__ == '__main__':
    main()
