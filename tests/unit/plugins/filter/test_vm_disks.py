# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vm role's disk layout: local, on the mounted export (pool) or as QEMU network disks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.vm_disks import vm_disks

IMAGES = {"debian12-cloud": {"kind": "cloud_image"}, "skillvl-lab-guest": {"kind": "direct_kernel"}}
POOL = {"mode": "pool", "directory": "/var/lib/libvirt/skillvl-nfs", "server": "10.0.0.31",
        "export": "/srv/skillvl/vms", "owner": "libvirt-qemu"}
NETWORK = dict(POOL, mode="network_disk", server="198.51.100.31")
BASE = "/var/lib/libvirt/images/base"
DIR = "/var/lib/libvirt/images"


def cloud(storage, disks=None):
    return {"name": "pi", "image": "debian12-cloud", "disk_gib": 10, "storage": storage,
            "disks": disks if disks is not None else [{"name": "data", "size_mib": 16}]}


def layout(guest, shared=None):
    return vm_disks(guest, IMAGES, DIR, BASE, shared if shared is not None else POOL)


def test_local_cloud_guest():
    root, seed, data = layout(cloud("local"))
    assert (root["path"], root["owner"], root["target"], root["size_mib"]) == (DIR + "/pi-root.qcow2", None, "vda", 10240)
    assert root["backing"] == BASE + "/debian12-cloud.qcow2" and root["create"]
    # A local seed is built in place by cloud-localds: nothing to copy.
    assert (seed["path"], seed["create"], seed["source"]) == (DIR + "/pi-seed.iso", False, None)
    assert (data["path"], data["target"]) == (DIR + "/pi-data.qcow2", "vdb")
    disk = ET.fromstring(root["xml"])
    assert disk.get("type") == "file" and disk.find("source").get("file") == root["path"]
    assert disk.find("driver").get("cache") == "none" and disk.find("backingStore") is None
    assert ET.fromstring(seed["xml"]).find("readonly") is not None


def test_shared_cloud_guest_on_the_mounted_export():
    root, seed, data = layout(cloud("shared"))
    assert root["path"] == "/var/lib/libvirt/skillvl-nfs/pi-root.qcow2" and root["owner"] == "libvirt-qemu"
    # The destination of a migration opens the seed too: a copy on the export, from the local build.
    assert (seed["path"], seed["source"], seed["create"]) == ("/var/lib/libvirt/skillvl-nfs/pi-seed.iso",
                                                              DIR + "/pi-seed.iso", True)
    assert ET.fromstring(data["xml"]).find("source").get("file") == "/var/lib/libvirt/skillvl-nfs/pi-data.qcow2"


def test_shared_guest_as_network_disks():
    root, seed, data = layout(cloud("shared"), NETWORK)
    assert root["path"] == "nfs://198.51.100.31/srv/skillvl/vms/pi-root.qcow2"
    disk = ET.fromstring(root["xml"])
    assert disk.get("type") == "network"
    source = disk.find("source")
    assert (source.get("protocol"), source.get("name"), source.find("host").get("name")) == (
        "nfs", "/srv/skillvl/vms/pi-root.qcow2", "198.51.100.31")
    # libvirt cannot read a network image's header: the backing chain is named, and ends.
    back = disk.find("backingStore")
    assert back.find("source").get("file") == BASE + "/debian12-cloud.qcow2"
    assert back.find("backingStore") is not None and len(back.find("backingStore")) == 0
    assert ET.fromstring(data["xml"]).find("backingStore") is None


def test_xml_disks_pass_through_and_keep_their_letter():
    guest = {"name": "g", "image": "skillvl-lab-guest", "storage": "shared",
             "disks": [{"xml": "<disk type='file'/>"}, {"name": "data", "size_mib": 16, "format": "raw"}]}
    passed, data = layout(guest, NETWORK)
    assert passed == {"name": None, "managed": False, "create": False, "xml": "<disk type='file'/>"}
    assert (data["target"], data["path"]) == ("vdb", "nfs://198.51.100.31/srv/skillvl/vms/g-data.raw")


def test_attributes_are_escaped():
    shared = dict(POOL, directory="/srv/it's")
    xml = layout(cloud("shared", disks=[]), shared)[0]["xml"]
    assert ET.fromstring(xml).find("source").get("file") == "/srv/it's/pi-root.qcow2"


@pytest.mark.parametrize("guest,shared,message", [
    (cloud("elsewhere"), POOL, "storage must be local or shared"),
    (cloud("shared"), dict(POOL, mode="iscsi"), "vm_shared_storage.mode is 'iscsi'"),
    (cloud("shared"), dict(POOL, directory=""), "has no directory"),
    (cloud("shared"), dict(NETWORK, server=""), "has no server"),
    (cloud("shared"), dict(NETWORK, export="srv"), "must be an absolute path"),
    (cloud("local", disks=[{"name": "data"}]), POOL, "needs a name and a size_mib"),
    (dict(cloud("local"), image="nope"), POOL, "image 'nope' is not in vm_images"),
    (cloud("local", disks=[{"name": "data", "size_mib": 8, "base": "gold", "format": "raw"}]), POOL,
     "disk data has base 'gold': a base needs format qcow2"),
    (cloud("local", disks=[{"name": "data", "size_mib": 8, "base": "../etc/gold"}]), POOL, "not a path"),
])
def test_bad_input_is_named(guest, shared, message):
    with pytest.raises(AnsibleFilterError) as err:
        layout(guest, shared)
    assert message in str(err.value)


def test_a_local_guest_needs_no_shared_settings():
    assert len(layout(cloud("local"), {})) == 3


def test_an_extra_disk_on_a_base_image_is_an_overlay_on_it():
    guest = {"name": "g", "image": "skillvl-lab-guest", "storage": "local",
             "disks": [{"name": "data", "size_mib": 64, "base": "course-data"}, {"name": "scratch", "size_mib": 8}]}
    data, scratch = layout(guest)
    assert (data["backing"], data["backing_format"], data["size_mib"]) == (BASE + "/course-data.qcow2", "qcow2", 64)
    assert scratch["backing"] is None and scratch["backing_format"] is None
