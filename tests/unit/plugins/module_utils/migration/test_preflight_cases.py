# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_migration_check's verdict for a pair of hosts and a VM (test_preflight_cases.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_preflight_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)

SNIPPETS = {
    "local_disk": "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                  "<source file='/var/lib/libvirt/images/vm1.qcow2'/><target dev='vda' bus='virtio'/></disk>",
    "nfs_file_disk": "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                     "<source file='/mnt/nfs/vm1.qcow2'/><target dev='vda' bus='virtio'/></disk>",
    "nfs_network_disk": "<disk type='network' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
                        "<source protocol='nfs' name='/export/vm1.qcow2'><host name='storage1'/></source>"
                        "<target dev='vdb' bus='virtio'/></disk>",
    "ovs_interface": "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br-int'/>"
                     "<virtualport type='openvswitch'/></interface>",
    "passthrough_cpu": "<cpu mode='host-passthrough'/>",
}

# case key -> conftest.domain_xml argument
XML_ARGUMENTS = {"disks": "disks", "interfaces": "ifaces", "cpu": "cpu"}


def shape_host(host, spec, source=None):
    if spec.get("same_uuid_as_source"):
        host.caps = source.caps
    if "vendor" in spec:
        host.caps = host.caps.replace("<vendor>Intel</vendor>", "<vendor>%s</vendor>" % spec["vendor"])
    if "model" in spec:
        host.caps = host.caps.replace("<model>Skylake-Client</model>", "<model>%s</model>" % spec["model"])
    if "qemu_version" in spec:
        host.version = spec["qemu_version"]
    if "libvirt_version" in spec:
        host.libversion = spec["libvirt_version"]
    if "free_mib" in spec:
        host.free = spec["free_mib"] << 20
    host.pools.update(spec.get("pools") or {})
    host.netdevs.update(spec.get("netdevs") or [])
    if "cpu_compat" in spec:
        host.cpu_compat = spec["cpu_compat"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_preflight_case(case, world, h):
    vm = dict(case.get("vm") or {})
    xml = dict((argument, SNIPPETS[vm.pop(key)]) for key, argument in XML_ARGUMENTS.items() if key in vm)
    h.add_vm(world.src, active=vm.pop("running", True), **dict(xml, **vm))
    shape_host(world.src, case.get("source") or {})
    shape_host(world.dst, case.get("destination") or {}, source=world.src)
    options = dict({"name": "vm1", "dest": "ws01", "transport": "tcp"}, **(case.get("options") or {}))
    res = Migration(options, fs_type_of=lambda path: case.get("fs", "ext4")).check()

    assert res["verdict"] == case["verdict"], res["summary"]
    for key in ("live_possible", "cold_possible"):
        if key in case:
            assert res[key] == case[key], res["summary"]
    statuses = {}
    for reason in res["reasons"]:
        statuses.setdefault(reason["check"], set()).add(reason["status"])
    for check, status in (case.get("checks") or {}).items():
        assert status in statuses.get(check, set()), (check, res["reasons"])
        if status == "ok":
            assert statuses[check] == {"ok"}, (check, res["reasons"])
    if "summary" in case:
        assert case["summary"] in res["summary"]
