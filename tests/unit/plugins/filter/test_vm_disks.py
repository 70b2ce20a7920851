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
    (cloud("elsewhere"), POOL, "storage must be local, shared or rbd"),
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


# ---- storage rbd: the host's own Ceph user, raw images in its libvirt rbd pool ----------------

SECRET = "5a0e8d4e-6f0c-4c53-9b5a-6a1f2b7c0d11"
MONS = ["10.0.0.11", "10.0.0.15"]
RBD = ("<pool type='rbd'><name>skillvl-rbd</name><source><name>vms</name>"
       "<host name='10.0.0.11' port='6789'/><host name='10.0.0.15'/>"
       "<auth type='ceph' username='cloud1'><secret uuid='%s'/></auth></source></pool>" % SECRET)


def rbd_layout(guest, rbd=RBD):
    return vm_disks(guest, IMAGES, DIR, BASE, {}, rbd_pool=rbd)


def test_rbd_cloud_guest_converts_its_base_and_uploads_its_seed():
    root, seed, data = rbd_layout(cloud("rbd"))
    assert (root["pool"], root["volume"], root["format"], root["size_mib"]) == ("skillvl-rbd", "pi-root", "raw", 10240)
    assert root["convert_from"] == BASE + "/debian12-cloud.qcow2" and root["backing"] is None and root["create"]
    # the seed is built locally, then uploaded into an image the destination of a migration opens too
    assert (seed["volume"], seed["source"], seed["device"]) == ("pi-seed", DIR + "/pi-seed.iso", "cdrom")
    assert (data["volume"], data["target"], data["convert_from"]) == ("pi-data", "vdb", None)
    for disk in (root, seed, data):
        element = ET.fromstring(disk["xml"])
        assert element.get("type") == "network" and element.find("driver").get("type") == "raw"
        source = element.find("source")
        assert (source.get("protocol"), source.get("name")) == ("rbd", "vms/" + disk["volume"])
        assert [(h.get("name"), h.get("port")) for h in source.findall("host")] == [(m, "6789") for m in MONS]
        auth = element.find("auth")
        assert auth.get("username") == "cloud1" and auth.find("secret").get("uuid") == SECRET
        assert disk["path"] is None and disk["storage"] == "rbd"
    assert ET.fromstring(seed["xml"]).find("readonly") is not None
    assert ET.fromstring(root["xml"]).find("readonly") is None


def test_rbd_extra_disk_on_a_base_is_a_converted_copy():
    guest = {"name": "g", "image": "skillvl-lab-guest", "storage": "rbd",
             "disks": [{"name": "data", "size_mib": 64, "base": "golden"}]}
    (data,) = rbd_layout(guest)
    assert (data["target"], data["convert_from"]) == ("vda", BASE + "/golden.qcow2")


@pytest.mark.parametrize("guest, rbd, message", [
    (cloud("rbd"), None, "guest pi has storage rbd, but this host has no libvirt rbd pool"),
    (cloud("rbd"), RBD.replace(" uuid='%s'" % SECRET, ""), "missing: secret_uuid"),
    (cloud("rbd"), "<pool type='dir'><name>default</name></pool>", "missing: pool, libvirt_pool, user"),
    (cloud("rbd"), "<pool", "missing: pool"),
    (cloud("rbd", [{"name": "data", "size_mib": 16, "format": "qcow2"}]), RBD, "RBD images are raw"),
    (cloud("rbd", [{"name": "data", "size_mib": 16, "base": "../x"}]), RBD, "not a path"),
])
def test_rbd_bad_input_is_named(guest, rbd, message):
    with pytest.raises(AnsibleFilterError, match=message):
        rbd_layout(guest, rbd)
