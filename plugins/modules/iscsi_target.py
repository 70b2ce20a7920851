#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: iscsi_target
short_description: Manage an iSCSI target with its LUNs, initiator ACL, CHAP and portals (LIO or tgt)
version_added: 0.1.0
description:
  - Manages one iSCSI target (IQN) on the host, in the live target configuration (no service
    restart) and in the target's persistent configuration.
  - O(backend=lio) drives the kernel target (LIO) with C(targetcli) and reads its state from
    configfs; the configuration is saved with C(targetcli saveconfig). For real hosts.
  - O(backend=tgt) drives the userspace target daemon C(tgtd) with C(tgtadm), and CHAP accounts
    with tgtd's management request sent over its Unix socket (C(/var/run/tgtd/socket.0)), and
    persists the target in C(/etc/tgt/conf.d/skillvl-IQN.conf) and its CHAP accounts apart, in
    C(/etc/tgt/skillvl-chap/skillvl-IQN.conf) (mode 0600), which the hook the
    P(skillvl.offline_first.iscsi_target#role) role adds to C(tgt.service) restores over the
    socket when tgtd starts (C(tgt-admin) would put them on a command line). A target with CHAP
    is refused on a host without that hook. For hosts whose kernel has no LIO.
  - Only the initiators listed in O(initiators) may log in (an empty list admits nobody).
    CHAP secrets are never logged, returned or shown in diffs, and never put on a command line.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reports the planned actions (without secrets) and changes nothing.
  diff_mode:
    support: full
    details: Before and after views of the target, with secrets masked.
  platform:
    details: Debian 12 hosts with targetcli-fb and a kernel with LIO, or with tgt.
options:
  iqn:
    description:
      - Target name, C(iqn.YYYY-MM.reversed.domain[:name]) in lower case.
      - One of O(iqn) (one target, described by the options below) or O(targets) (the whole set) is required.
    type: str
  targets:
    description:
      - The whole set of targets, planned, applied, saved (LIO's C(saveconfig)) and verified once per run.
        Each entry takes the options of the single form; the top-level O(state), O(luns), O(initiators),
        O(chap), O(portals) and O(force) are not used.
      - Targets the list does not name are left alone; remove one with O(targets[].state=absent).
    type: list
    elements: dict
    suboptions:
      iqn:
        description: Target name, as O(iqn).
        type: str
        required: true
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
        default: present
      luns:
        description: As O(luns).
        type: list
        elements: dict
        default: []
        suboptions:
          path:
            description: As O(luns[].path).
            type: str
            required: true
          size:
            description: As O(luns[].size).
            type: str
          name:
            description: As O(luns[].name).
            type: str
      initiators:
        description: As O(initiators).
        type: list
        elements: str
        default: []
      chap:
        description: As O(chap).
        type: dict
        suboptions:
          username:
            description: As O(chap.username).
            type: str
            required: true
          password:
            description: As O(chap.password).
            type: str
            required: true
          mutual_username:
            description: As O(chap.mutual_username).
            type: str
          mutual_password:
            description: As O(chap.mutual_password).
            type: str
      portals:
        description: As O(portals).
        type: list
        elements: str
        default: ['0.0.0.0:3260']
      force:
        description: As O(force).
        type: bool
        default: false
  backend:
    description: Which target implementation the host runs.
    type: str
    choices: [lio, tgt]
    default: lio
  state:
    description: Whether the target should exist.
    type: str
    choices: [present, absent]
    default: present
  luns:
    description:
      - The LUNs in order. With tgt they are LUN 1..n (LUN 0 is tgt's controller); with LIO 0..n-1.
      - A backing path that is a block device gives a block LUN, a regular file a file LUN.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the backing file or block device.
        type: str
        required: true
      size:
        description:
          - Size of the backing file to create (sparse) when it does not exist, like V(10G).
            An existing file is never resized.
        type: str
      name:
        description: LIO backstore name; defaults to the file name with unusual characters replaced.
        type: str
  initiators:
    description: IQNs of the initiators allowed to log in (the ACL).
    type: list
    elements: str
    default: []
  chap:
    description:
      - CHAP authentication of the initiators; with O(chap.mutual_username) also of the target
        (mutual CHAP). Secrets must be 12 to 255 characters without blanks or quotes.
      - Without O(chap), initiators in the ACL log in without a secret.
    type: dict
    suboptions:
      username:
        description: User name the initiators present.
        type: str
        required: true
      password:
        description: Secret the initiators present.
        type: str
        required: true
      mutual_username:
        description: User name the target presents to the initiators (mutual CHAP).
        type: str
      mutual_password:
        description: Secret the target presents to the initiators (mutual CHAP).
        type: str
  portals:
    description:
      - Addresses and ports to listen on, C(ADDRESS[:PORT]) or C([IPv6][:PORT]).
      - LIO has exactly these portals on the target. tgt portals are global to the daemon, so
        listed portals are added and none is removed; a portal whose port tgtd already serves on
        the wildcard address (its default C(0.0.0.0:3260)) counts as present.
    type: list
    elements: str
    default: ['0.0.0.0:3260']
  force:
    description: With O(state=absent), delete the target even when initiators are logged in (tgt).
    type: bool
    default: false
requirements:
  - python3-netaddr on the target host
  - targetcli-fb (LIO) or tgt
notes:
  - The tgt backend sets a CHAP secret again when it cannot know the current one (tgt never
    shows secrets; the persisted file is the reference), which is reported as a change once.
  - CHAP accounts of tgt are global to the daemon; give every target its own user names.
seealso:
  - module: skillvl.offline_first.iscsi_target_info
  - module: community.general.open_iscsi
  - name: tgtadm(8)
    description: tgt administration utility.
    link: https://manpages.debian.org/bookworm/tgt/tgtadm.8.en.html
  - name: targetcli(8)
    description: LIO administration shell.
    link: https://manpages.debian.org/bookworm/targetcli-fb/targetcli.8.en.html
"""

EXAMPLES = r"""
- name: A target for VM disks, two hypervisors, mutual CHAP (kernel LIO)
  skillvl.offline_first.iscsi_target:
    iqn: iqn.2026-11.org.skillvl:storage1.vms
    luns:
      - path: /srv/skillvl/luns/vm1.img
        size: 10G
    initiators:
      - iqn.2026-11.org.skillvl:cloud1
      - iqn.2026-11.org.skillvl:ws01
    chap:
      username: skillvl-vms
      password: "{{ vault_iscsi_chap_password }}"
      mutual_username: storage1-vms
      mutual_password: "{{ vault_iscsi_mutual_password }}"
    portals:
      - 198.51.100.31:3260

- name: The same on a host without LIO (userspace tgt)
  skillvl.offline_first.iscsi_target:
    iqn: iqn.2026-11.org.skillvl:storage1.vms
    backend: tgt
    luns:
      - path: /srv/skillvl/luns/vm1.img
        size: 10G
    initiators: [iqn.2026-11.org.skillvl:cloud1]
    chap:
      username: skillvl-vms
      password: "{{ vault_iscsi_chap_password }}"

- name: Remove it
  skillvl.offline_first.iscsi_target:
    iqn: iqn.2026-11.org.skillvl:storage1.vms
    backend: tgt
    state: absent

- name: The whole set in one run (one plan, one saveconfig)
  skillvl.offline_first.iscsi_target:
    backend: lio
    targets:
      - iqn: iqn.2026-11.org.skillvl:storage1.vms
        luns: [{path: /srv/skillvl/luns/vm1.img, size: 10G}]
        initiators: [iqn.2026-11.org.skillvl:cloud1]
        chap: {username: skillvl-vms, password: "{{ vault_iscsi_chap_password }}"}
      - iqn: iqn.2026-11.org.skillvl:storage1.old
        state: absent
"""

RETURN = r"""
backend:
  description: The backend used.
  returned: always
  type: str
  sample: tgt
actions:
  description: What was done (or would be, in check mode), without secrets.
  returned: always
  type: list
  elements: str
  sample: ["create target iqn.2026-11.org.skillvl:storage1.vms (tid 1)", "add LUN 1 backed by /srv/skillvl/luns/vm1.img"]
targets:
  description: With O(targets), each target as requested, with secrets masked (C(iqn) and C(state=absent) for a removed one).
  returned: with O(targets)
  type: list
  elements: dict
diff:
  description: Before and after views of the target (with O(targets), keyed by IQN), secrets masked.
  returned: with diff mode or changes
  type: dict
target:
  description: The target as requested, with secrets masked.
  returned: when O(state=present)
  type: dict
  sample:
    iqn: iqn.2026-11.org.skillvl:storage1.vms
    luns: [{path: /srv/skillvl/luns/vm1.img, size: 10737418240, kind: file, name: vm1_img}]
    initiators: [iqn.2026-11.org.skillvl:cloud1]
    chap: {username: skillvl-vms, password: "********", mutual_username: null, mutual_password: null}
    portals: ["0.0.0.0:3260"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    HAS_NETADDR, NETADDR_IMPORT_ERROR, check_iqn,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi import (
    build_target, ensure_target, ensure_targets,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_backends import iscsi_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def target_spec():
    """One target's options: the single form's, and each entry of ``targets``."""
    return dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        luns=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="str", required=True),
            size=dict(type="str"),
            name=dict(type="str"),
        )),
        initiators=dict(type="list", elements="str", default=[]),
        chap=dict(type="dict", options=dict(
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            mutual_username=dict(type="str"),
            mutual_password=dict(type="str", no_log=True),
        )),
        portals=dict(type="list", elements="str", default=["0.0.0.0:3260"]),
        force=dict(type="bool", default=False),
    )


def wanted_target(item):
    """A target entry -> what ensure_targets takes (validated; nothing touched yet)."""
    target = None
    if item["state"] == "present":
        target = build_target(item["iqn"], item["luns"], item["initiators"], item["chap"], item["portals"])
    else:
        check_iqn(item["iqn"], "target IQN")
    return dict(target=target, state=item["state"], iqn=item["iqn"], force=item["force"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            target_spec(),
            iqn=dict(type="str"),
            targets=dict(type="list", elements="dict", options=dict(target_spec(), iqn=dict(type="str", required=True))),
            backend=dict(type="str", choices=["lio", "tgt"], default="lio"),
        ),
        mutually_exclusive=[("iqn", "targets")],
        required_one_of=[("iqn", "targets")],
        supports_check_mode=True,
    )
    p = module.params
    if not HAS_NETADDR:
        module.fail_json(msg=missing_required_lib("netaddr (Debian: python3-netaddr)"),
                         exception=NETADDR_IMPORT_ERROR)

    def ensure():
        if p["targets"] is not None:
            return ensure_targets(iscsi_backend(p["backend"]), [wanted_target(t) for t in p["targets"]],
                                  check_mode=module.check_mode)
        one = wanted_target(p)
        return ensure_target(iscsi_backend(p["backend"]), one["target"], state=one["state"], iqn=one["iqn"],
                             force=one["force"], check_mode=module.check_mode)

    run_backend(module, ensure)


if __name__ == "__main__":
    main()
