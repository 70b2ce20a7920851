# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Production keeps VM disks on the NFS export (issue 14, "the production settings are the ones
tested"), with real libvirtd/QEMU and nfs-ganesha.

The lab inherits `vm_disk_storage: shared` and `vm_shared_storage` from inventories/skillvl (only
the client mode differs: QEMU's own NFS client, as the platform forces). A guest that names no
storage gets its disks on storage1's root_squash export, created as libvirt-qemu, 0600; the vm
role is idempotent on them; migrate.yml with its default `storage: shared` moves the guest live
with its memory only; removing the guest removes its images on the server.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import HYPERVISORS, recap  # noqa: E402  pylint: disable=wrong-import-position

NAME = "sh-guest"
EXPORT = "/srv/skillvl/vms"
IMAGE = "%s/%s-data.qcow2" % (EXPORT, NAME)
GUESTS = "tests/integration/playbooks/guests.yml"
URL = "nfs://198.51.100.31" + IMAGE


def spec(state="running"):
    # No storage key: the inherited production default decides.
    return {"name": NAME, "host": "cloud1", "state": state, "image": "skillvl-lab-guest", "memory_mib": 256,
            "vcpus": 1, "interfaces": [], "cpu": {"mode": "custom", "model": "qemu64"},
            "kernel_args": "skillvl.hb_ms=250 skillvl.mem_mib=8 skillvl.rate_mib=1",
            "disks": [{"name": "data", "size_mib": 16}]}


def remove_image(lab):
    """Through NFS, as the role does: a file deleted on storage1 behind ganesha's back stays in its
    cache, and the next image of that name would be "found" there instead of made."""
    res = lab.module("cloud1", "skillvl.offline_first.vm_disk", {"path": URL, "owner": "libvirt-qemu", "state": "absent"})
    assert not res.get("failed"), res


def where(guests):
    return dict((h, guests.state(h, NAME)) for h in HYPERVISORS)


def test_a_shared_guest_lives_on_the_export_and_moves_with_its_memory_only(lab, guests):
    guests.names.append(NAME)
    guests.remove(NAME)
    remove_image(lab)
    try:
        proc = lab.playbook(GUESTS, {"vm_guests": [spec()]}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]

        # On the export, made by the user QEMU runs as (root is squashed there), private to it.
        owner_mode = lab.run("storage1", "stat -c '%%u %%a' %s" % IMAGE).stdout.split()
        assert owner_mode == ["64055", "600"], owner_mode
        assert lab.run("cloud1", "ls /var/lib/libvirt/images/%s-data.qcow2" % NAME, check=False).returncode != 0
        xml = lab.virsh("cloud1", "dumpxml", "--inactive", NAME).stdout
        assert "<source protocol='nfs' name='%s'" % IMAGE in xml, xml
        guests.wait_heartbeats("cloud1", NAME, 3)

        # The role again: nothing changes, the image is neither recreated nor truncated (the guest
        # writes its heartbeat into it, so it only grows).
        inode, size = lab.run("storage1", "stat -c '%%i %%s' %s" % IMAGE).stdout.split()
        proc = lab.playbook(GUESTS, {"vm_guests": [spec()]}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        assert recap(proc.stdout, "cloud1")["changed"] == "0", proc.stdout[-6000:]
        inode_again, size_again = lab.run("storage1", "stat -c '%%i %%s' %s" % IMAGE).stdout.split()
        assert inode_again == inode and int(size_again) >= int(size)

        # Scaling away would leave the disk on the cloud's storage: refused, nothing moves.
        proc = lab.playbook("playbooks/scale_away.yml", {"vm": NAME, "target": "ws01"}, check=False)
        assert proc.returncode != 0
        assert "would still use %s on the cloud's shared storage" % IMAGE in proc.stdout, proc.stdout[-6000:]
        assert where(guests) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}

        # migrate.yml with the production default storage: shared, nothing asked of the disk.
        seq = guests.last_seq("cloud1", NAME)
        proc = lab.playbook("playbooks/migrate.yml", {"vm": NAME, "target": "ws01"}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        assert where(guests) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
        guests.assert_alive("ws01", NAME, seq, "after a shared-storage migration")
        xml = lab.virsh("ws01", "dumpxml", NAME).stdout
        assert "<source protocol='nfs' name='%s'" % IMAGE in xml, xml
        assert "is on shared storage" in proc.stdout and ", disk 0.0 MiB" in proc.stdout, proc.stdout[-8000:]

        # Removing the guest (wherever it runs) removes its image on the server.
        proc = lab.playbook(GUESTS, {"vm_guests": [spec("absent")]}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert where(guests) == {"cloud1": "absent", "ws01": "absent", "ws02": "absent"}
        assert lab.run("storage1", "test -e %s" % IMAGE, check=False).returncode != 0

        # ... through NFS: the guest made again gets a new image, not a ghost of the old one.
        proc = lab.playbook(GUESTS, {"vm_guests": [spec()]}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert "changed: [cloud1] => (item=%s)" % URL in proc.stdout, proc.stdout[-6000:]
        assert lab.run("storage1", "stat -c %%u %s" % IMAGE).stdout.split() == ["64055"]
        guests.wait_heartbeats("cloud1", NAME, 2)
    finally:
        guests.remove(NAME)
        remove_image(lab)
