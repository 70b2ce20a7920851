#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: nfs_export
short_description: Manage NFS exports (one, or the whole set) for the kernel NFS server or nfs-ganesha
version_added: 0.1.0
description:
  - Manages exports (a directory and the clients allowed to use it), each as an entry of its own,
    one export (O(name), O(path), O(clients)...), or the whole set at once (O(exports)), which is
    planned, written, applied and verified in one run, with one reload of the server and one diff.
  - For the kernel NFS server (O(backend=kernel)) the entry is a file C(/etc/exports.d/NAME.exports),
    applied with C(exportfs -ra), which exports new entries and unexports removed ones. The exit
    code and messages of C(exportfs) are the syntax check, and the export table is read back
    with C(exportfs -v) to validate the clients and options.
  - For nfs-ganesha (O(backend=ganesha)) the entry is an C(EXPORT) block in
    C(/etc/ganesha/exports.d/NAME.conf), included from C(ganesha.conf) and applied by reloading
    the service (no restart). New configuration errors in ganesha's log and the export list that
    ganesha reports over D-Bus validate the result.
  - When applying or validating fails, the previous files are restored and applied again, and
    the module fails with the reason.
  - Files not written by this module (they carry a marker line) are never changed or removed.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.nfs_server
attributes:
  check_mode:
    support: full
    details: Reports the files that would change, with their diff, and changes nothing.
  diff_mode:
    support: full
    details: Shows the entry files (and for ganesha C(ganesha.conf)) before and after.
  platform:
    details: Debian 12 hosts with nfs-kernel-server (C(exportfs)) or nfs-ganesha.
options:
  name:
    description:
      - Name of the entry; it becomes the file name. Letters, digits, C(.), C(_) and C(-).
      - Required unless O(exports) is given; the two exclude each other.
    type: str
  path:
    description:
      - Absolute path of the exported directory on the server. It must exist when O(state=present).
      - Required when O(state=present).
    type: str
  clients:
    description:
      - Who may use the export. Each client is a host name, an IPv4/IPv6 address or a network
        in CIDR notation without host bits. V(*) is refused unless O(allow_any_client=true).
      - Required (at least one) when O(state=present).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Host name, address or network (for example V(198.51.100.0/24)).
        type: str
        required: true
      access:
        description: Read-write or read-only.
        type: str
        choices: [rw, ro]
        default: ro
      squash:
        description: User mapping for requests from root (or from everyone with V(all_squash)).
        type: str
        choices: [root_squash, no_root_squash, all_squash]
        default: root_squash
      sync:
        description:
          - Reply to writes only after they are on stable storage (kernel C(sync)). nfs-ganesha
            always honours the client's stability request, so this only affects O(backend=kernel).
        type: bool
        default: true
      secure:
        description:
          - Require requests from a privileged source port (kernel C(secure), ganesha
            C(PrivilegedPort)). QEMU's userspace NFS client running as an unprivileged user needs
            V(false).
        type: bool
        default: true
      extra_options:
        description:
          - Further options in the server's own syntax, C(name) or C(name=value), for example
            V(anonuid=64055) (kernel) or V(Anonymous_Uid=64055) (ganesha). The server validates them.
          - An option that overrides O(clients[].access), O(clients[].squash), O(clients[].sync) or
            O(clients[].secure) (for example V(insecure), V(no_root_squash), V(async), V(Squash=None)),
            or maps squashed users to root (V(anonuid=0)), is refused unless
            O(allow_insecure_options=true).
        type: list
        elements: str
        default: []
  state:
    description: Whether the export should exist.
    type: str
    choices: [present, absent]
    default: present
  exports:
    description:
      - The whole set of exports, each described by the same options as a single export
        (O(exports[].name), O(exports[].path), O(exports[].clients)...).
      - With O(exclusive=true), entries of this module that are not in the list (nor in O(keep))
        are removed, so V([]) removes them all.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the entry, as O(name).
        type: str
        required: true
      path:
        description: The exported directory, as O(path).
        type: str
      clients:
        description: Who may use the export, as O(clients).
        type: list
        elements: dict
        default: []
        suboptions:
          host:
            description: As O(clients[].host).
            type: str
            required: true
          access:
            description: As O(clients[].access).
            type: str
            choices: [rw, ro]
            default: ro
          squash:
            description: As O(clients[].squash).
            type: str
            choices: [root_squash, no_root_squash, all_squash]
            default: root_squash
          sync:
            description: As O(clients[].sync).
            type: bool
            default: true
          secure:
            description: As O(clients[].secure).
            type: bool
            default: true
          extra_options:
            description: As O(clients[].extra_options).
            type: list
            elements: str
            default: []
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
        default: present
      allow_any_client:
        description: As O(allow_any_client).
        type: bool
        default: false
      allow_insecure_options:
        description: As O(allow_insecure_options).
        type: bool
        default: false
      protocols:
        description: As O(protocols).
        type: list
        elements: int
        default: [3, 4]
      export_id:
        description: As O(export_id); entries with a fixed id are placed before the others get one.
        type: int
      pseudo:
        description: As O(pseudo).
        type: str
  exclusive:
    description:
      - Also remove every other entry written by this module on this host whose name is neither
        O(name) (or in O(exports)) nor in O(keep) (stale exports left by earlier configurations).
    type: bool
    default: false
  keep:
    description: Entry names that O(exclusive=true) must not remove.
    type: list
    elements: str
    default: []
  allow_any_client:
    description: Allow V(*) and V(0.0.0.0/0) as clients (every host that can reach the server).
    type: bool
    default: false
  allow_insecure_options:
    description:
      - Accept O(clients[].extra_options) that override the client's access, squash, sync or secure
        setting or map squashed users to root. Without it such an option is an error and nothing is written.
    type: bool
    default: false
  protocols:
    description: NFS versions offered for this export (ganesha; the kernel server decides globally).
    type: list
    elements: int
    default: [3, 4]
  export_id:
    description:
      - ganesha C(Export_Id). By default an entry keeps its id and a new entry gets the lowest free id.
    type: int
  pseudo:
    description: ganesha NFSv4 pseudo path; defaults to O(path).
    type: str
requirements:
  - python3-netaddr on the target host
  - nfs-kernel-server (C(exportfs)) or nfs-ganesha with C(dbus-send)
seealso:
  - module: skillvl.offline_first.nfs_export_info
  - name: exports(5)
    description: Kernel NFS server export table format.
    link: https://man7.org/linux/man-pages/man5/exports.5.html
  - name: ganesha-export-config(8)
    description: nfs-ganesha EXPORT block.
    link: https://github.com/nfs-ganesha/nfs-ganesha/blob/next/src/doc/man/ganesha-export-config.rst
"""

EXAMPLES = r"""
- name: Export the VM directory to two hypervisors (kernel NFS server)
  skillvl.offline_first.nfs_export:
    name: vms
    path: /srv/skillvl/vms
    clients:
      - host: cloud1.example.org
        access: rw
      - host: 198.51.100.0/24
        access: ro

- name: The same with nfs-ganesha, for QEMU's userspace NFS client (unprivileged ports)
  skillvl.offline_first.nfs_export:
    name: vms
    path: /srv/skillvl/vms
    backend: ganesha
    clients:
      - host: 198.51.100.0/24
        access: rw
        secure: false

- name: The whole set in one run (one reload), pruning stale entries
  skillvl.offline_first.nfs_export:
    exports:
      - name: vms
        path: /srv/skillvl/vms
        clients: [{host: 198.51.100.0/24, access: rw}]
      - name: isos
        path: /srv/skillvl/isos
        clients: [{host: 198.51.100.0/24}]
    exclusive: true

- name: Remove an export
  skillvl.offline_first.nfs_export:
    name: old
    state: absent
"""

RETURN = r"""
exports:
  description: The exports present after the run (or that would be, in check mode), as validated.
  returned: always
  type: list
  elements: dict
backend:
  description: The backend used.
  returned: always
  type: str
  sample: ganesha
actions:
  description: What was done (or would be, in check mode), in order; the server is told once, last.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/exports.d/vms.exports", "re-export everything (exportfs -ra)"]
files:
  description: Files written or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/exports.d/vms.exports]
removed:
  description: Names of entries removed (this one with O(state=absent), stale ones with O(exclusive=true)).
  returned: always
  type: list
  elements: str
  sample: [old]
export:
  description: The export as configured, with the options of each client filled in.
  returned: when O(name) is given and O(state=present)
  type: dict
  sample:
    name: vms
    path: /srv/skillvl/vms
    clients:
      - host: 198.51.100.0/24
        access: rw
        squash: root_squash
        sync: true
        secure: true
        extra_options: []
    protocols: [3, 4]
    export_id: null
    pseudo: null
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import HAS_NETADDR, NETADDR_IMPORT_ERROR
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import nfs_backends
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(argument_spec=nfs_backends.export_argument_spec(), supports_check_mode=True,
                           **nfs_backends.EXPORT_MODULE_OPTIONS)
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib("netaddr (Debian: python3-netaddr)"),
                         exception=NETADDR_IMPORT_ERROR)
    run_backend(module, lambda: nfs_backends.ensure_export(module.params, check_mode=module.check_mode))


if __name__ == "__main__":
    main()
