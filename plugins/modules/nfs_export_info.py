#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: nfs_export_info
short_description: Report the NFS exports managed by skillvl.offline_first.nfs_export
version_added: 0.1.0
description:
  - Lists the export entries written by M(skillvl.offline_first.nfs_export) and what the server
    reports (kernel C(exportfs -v) table and whether C(nfsd) runs; ganesha's export list over D-Bus).
  - For the kernel server, RV(server.running) is true only when C(/proc/fs/nfsd/threads) shows
    threads, which catches the init script of nfs-kernel-server that exits 0 on a kernel
    without NFS server support.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
  - skillvl.offline_first.nfs_server
attributes:
  platform:
    details: Debian 12 hosts with nfs-kernel-server or nfs-ganesha.
seealso:
  - module: skillvl.offline_first.nfs_export
"""

EXAMPLES = r"""
- name: What does storage1 export?
  skillvl.offline_first.nfs_export_info:
    backend: ganesha
  register: exports

- name: Fail when the kernel NFS server is not really running
  ansible.builtin.assert:
    that: exports.server.running
"""

RETURN = r"""
exports:
  description: Managed entries, parsed from their files.
  returned: always
  type: list
  elements: dict
  sample: [{name: vms, path: /srv/skillvl/vms, file: /etc/exports.d/vms.exports,
            clients: {198.51.100.11: [rw, sync, root_squash, no_subtree_check, secure]}}]
server:
  description: What the server reports.
  returned: always
  type: dict
  contains:
    running:
      description: Whether the NFS server really runs.
      type: bool
      returned: always
    exported:
      description: Kernel, path to clients and options; ganesha, export id to path.
      type: dict
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import nfs_backends
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(argument_spec=nfs_backends.server_argument_spec(), supports_check_mode=True)
    run_backend(module, lambda: nfs_backends.describe_exports(module.params))


if __name__ == "__main__":
    main()
