#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: libvirt_secret
short_description: A libvirt secret (a Ceph client key, a CHAP password), its value never on a command line
version_added: 0.1.0
description:
  - Defines a persistent libvirt secret with a usage (C(ceph), C(iscsi), ...) and sets its value through
    libvirt-python (C(secretDefineXML), C(setValue)), so the value never appears on a command line, in a
    process list or in a file other than libvirt's own.
  - A private secret's value cannot be read back from libvirt; whether it changed is told by a salted
    SHA-256 digest in a root-only file under O(digest_dir). A value changed behind the module's back
    (C(virsh secret-set-value)) is not seen until the digest file is removed.
  - The same O(uuid) on every hypervisor lets a migrated VM find its secret; by default it is derived from
    O(usage_type) and O(usage_name).
  - Never logs the value (the option is C(no_log)); the result and the diff carry the UUID and usage only.
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt)) on the host running the module
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: A host running libvirtd.
options:
  usage_type:
    description: What the secret is for, as libvirt's C(<usage type>).
    type: str
    choices: [ceph, iscsi, volume, tls, vtpm]
    required: true
  usage_name:
    description:
      - The usage's name (C(<name>) for ceph, tls and vtpm, C(<target>) for iscsi, C(<volume>) for volume), unique
        per usage type on a host; disks name a ceph secret by it or by its UUID in C(<auth><secret usage=...>).
    type: str
    required: true
  value:
    description:
      - The secret. For O(usage_type=ceph) the cephx key as C(ceph auth print-key) prints it (base64);
        libvirt keeps it decoded.
      - Required with O(state=present).
    type: str
  uuid:
    description: The secret's UUID; by default one derived from O(usage_type) and O(usage_name), the same on every host.
    type: str
  description:
    description: Free text stored in the secret's definition.
    type: str
    default: ''
  private:
    description: Whether libvirt refuses to hand the value out again (C(private='yes')).
    type: bool
    default: true
  state:
    description: Whether the secret should exist.
    type: str
    choices: [present, absent]
    default: present
  uri:
    description: The libvirt connection.
    type: str
    default: qemu:///system
  digest_dir:
    description: Root-only directory for the digests that tell whether a private secret's value changed.
    type: path
    default: /var/lib/skillvl/libvirt-secrets
seealso:
  - module: community.libvirt.virt_pool
  - name: libvirt secret XML format
    description: The secret definition this module writes.
    link: https://libvirt.org/formatsecret.html
'''

EXAMPLES = r'''
- name: Keep this hypervisor's Ceph key in libvirt
  skillvl.offline_first.libvirt_secret:
    usage_type: ceph
    usage_name: client.{{ inventory_hostname }} secret
    value: "{{ ceph_key }}"
  no_log: true
  diff: false
  register: secret

- name: Remove it
  skillvl.offline_first.libvirt_secret:
    usage_type: ceph
    usage_name: client.{{ inventory_hostname }} secret
    state: absent
'''

RETURN = r'''
uuid:
  description: The secret's UUID (name it in C(<auth><secret uuid=...>) of a disk or a pool).
  returned: always
  type: str
  sample: 3f1c2a7e-5b7d-5d39-9c1e-0a4f1b7c2d10
usage_name:
  description: The secret's usage name.
  returned: always
  type: str
actions:
  description: What was done (or would be, in check mode); never the value.
  returned: always
  type: list
  elements: str
  sample: ["define the libvirt secret client.ws01 secret (3f1c...)", "set the value of the libvirt secret client.ws01 secret"]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.secret import USAGE_TYPES, ensure_secret
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            usage_type=dict(type='str', required=True, choices=list(USAGE_TYPES)),
            usage_name=dict(type='str', required=True),
            value=dict(type='str', no_log=True),
            uuid=dict(type='str'),
            description=dict(type='str', default=''),
            private=dict(type='bool', default=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            uri=dict(type='str', default='qemu:///system'),
            digest_dir=dict(type='path', default='/var/lib/skillvl/libvirt-secrets'),
        ),
        required_if=[('state', 'present', ['value'])],
        supports_check_mode=True,
    )
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    p = module.params
    run_backend(module, lambda: ensure_secret(
        p['uri'], p['usage_type'], p['usage_name'], state=p['state'], value=p['value'], uuid=p['uuid'],
        description=p['description'], private=p['private'], digest_dir=p['digest_dir'],
        check_mode=module.check_mode))


if __name__ == '__main__':
    main()
