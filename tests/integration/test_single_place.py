# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM runs in exactly one place (issue 14 item 1), in the lab, with real libvirtd/QEMU.

Below Ansible: kvm_host turns on libvirt's lock manager (virtlockd), so a second QEMU cannot
open a disk in use, on any host sharing the storage. The lab's hypervisors share
/var/lib/libvirt/skillvl-shared (one controller directory bound into each: the stand-in for an
NFS mount), so a disk there is one file whose locks every host sees, as over NFSv4.

In Ansible: the vm role asks every hypervisor of the inventory where a guest runs, --limit or
not, and refuses to start one while a hypervisor cannot be asked.
"""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import DST, HYPERVISORS, SRC, migrate, run_in_thread  # noqa: E402  pylint: disable=wrong-import-position

SHARED = "/var/lib/libvirt/skillvl-shared"
# libvirt's lockd refusal (src/util/virlockspace.c): "Lockspace resource '<disk>' is locked".
LOCKD_BUSY = "is locked"

# QEMU takes image locks of its own (OFD locks), which on this one kernel refuse a second
# writer before libvirt's lease is taken (libvirt takes it as the CPUs start). They do not
# reach every host on every storage (NFSv3 with nolock, some cluster file systems) and can be
# switched off per disk. The copy started on the second host runs this QEMU, with image
# locking off, so that only the lock manager stands between the two: without it, both run.
NOLOCK_QEMU = "/usr/local/bin/qemu-nolock-x86_64"
NOLOCK_WRAPPER = """#!/usr/bin/python3
# Test stand-in for a QEMU whose image locks do not reach the other host: file locking off.
import json, os, sys
args = sys.argv[1:]
for i in range(1, len(args)):
    if args[i - 1] == '-blockdev' and args[i].startswith('{'):
        node = json.loads(args[i])
        if node.get('driver') in ('file', 'host_device'):
            node['locking'] = 'off'
        args[i] = json.dumps(node)
os.execv('/usr/bin/qemu-system-x86_64', ['/usr/bin/qemu-system-x86_64'] + args)
"""


@pytest.fixture(scope="module", autouse=True)
def nolock_qemu(lab):
    for host in HYPERVISORS:
        lab.run(host, "cat > %s && chmod 0755 %s" % (NOLOCK_QEMU, NOLOCK_QEMU), input=NOLOCK_WRAPPER)
    yield NOLOCK_QEMU
    for host in HYPERVISORS:
        lab.run(host, "rm -f %s" % NOLOCK_QEMU, check=False)


def where(guests, name):
    return dict((h, guests.state(h, name)) for h in HYPERVISORS)


def shared_disk(lab, name):
    path = "%s/%s.raw" % (SHARED, name)
    lab.run("cloud1", "rm -f %s && truncate -s 16M %s" % (path, path))
    return path


def remove_shared(lab, guests, name):
    guests.remove(name)
    lab.run("cloud1", "rm -f %s/%s.raw" % (SHARED, name), check=False)


def define_copy(lab, name, src, dst):
    """Define on dst the same domain as on src (the same disk), as a stale or hand-made copy would
    be, run by a QEMU without image locks of its own (NOLOCK_QEMU)."""
    xml = lab.run(src, "virsh -c qemu:///system dumpxml --inactive %s" % name).stdout
    xml = re.sub(r"<emulator>[^<]*</emulator>", "<emulator>%s</emulator>" % NOLOCK_QEMU, xml)
    lab.run(dst, "cat > /tmp/%s.xml" % name, input=xml)
    lab.virsh(dst, "define", "/tmp/%s.xml" % name)


def guest_spec(name, disk_path=None, host="cloud1"):
    spec = {"name": name, "host": host, "image": "skillvl-lab-guest", "memory_mib": 256, "vcpus": 1,
            "interfaces": [], "cpu": {"mode": "custom", "model": "qemu64"},
            "kernel_args": "skillvl.hb_ms=250 skillvl.mem_mib=0", "disks": []}
    if disk_path:
        spec["disks"] = [{"xml": "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                                 "<source file='%s'/><target dev='vda' bus='virtio'/></disk>" % disk_path}]
    return spec


def test_every_hypervisor_runs_the_lock_manager(lab):
    for host in HYPERVISORS:
        conf = lab.run(host, "grep -E '^\\s*lock_manager\\s*=' /etc/libvirt/qemu.conf || true").stdout
        assert conf.strip() == 'lock_manager = "lockd"', (host, conf)
        assert lab.run(host, "systemctl is-active virtlockd.socket", check=False).stdout.strip() == "active", host
        assert lab.run(host, "test -d %s" % SHARED, check=False).returncode == 0, host


def test_virsh_start_on_a_second_host_is_refused_by_the_lock(lab, guests):
    """(a) Plain virsh: the disk on shared storage is locked while the VM runs on cloud1; the lock
    moves with a live migration (handover) and refuses cloud1 afterwards."""
    name = "sp-virsh"
    guests.names.append(name)
    remove_shared(lab, guests, name)
    try:
        disk = shared_disk(lab, name)
        guests.boot(name, host="cloud1", clean=False, disk=disk)
        define_copy(lab, name, "cloud1", "ws01")
        before = guests.last_seq("cloud1", name)

        proc = lab.virsh("ws01", "start", name, check=False)
        assert proc.returncode != 0, proc.stdout
        assert LOCKD_BUSY in proc.stderr and disk in proc.stderr, proc.stderr
        assert where(guests, name) == {"cloud1": "running", "ws01": "shut off", "ws02": "absent"}
        guests.assert_alive("cloud1", name, before, "after the refused second start")

        # Lock handover: the source releases the lease as the guest pauses, the destination takes
        # it as the guest resumes. libvirt sees ext4 here, not NFS: --unsafe stands for that.
        lab.virsh("ws01", "undefine", name)
        before = guests.last_seq("cloud1", name)
        lab.virsh("cloud1", "migrate", "--live", "--p2p", "--persistent", "--undefinesource", "--unsafe",
                  *lab.virsh_migrate_tls("ws01").split(), name, lab.libvirt_uri("ws01"), timeout=300)
        assert where(guests, name) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
        guests.assert_alive("ws01", name, before, "after the migration with lockd")

        define_copy(lab, name, "ws01", "cloud1")
        proc = lab.virsh("cloud1", "start", name, check=False)
        assert proc.returncode != 0 and LOCKD_BUSY in proc.stderr, proc.stderr
        assert where(guests, name) == {"cloud1": "shut off", "ws01": "running", "ws02": "absent"}

        # Once the guest is gone from ws01, its home may start it again: the lock was released.
        lab.virsh("ws01", "destroy", name)
        lab.virsh("cloud1", "start", name)
        assert guests.state("cloud1", name) == "running"
    finally:
        remove_shared(lab, guests, name)


def test_a_second_move_while_one_runs_is_refused_and_the_first_finishes(lab, guests):
    """(c) While a move runs, both hosts hold the VM live. A second vm_migrate (a retried job, a
    second operator) names the running migration and changes nothing; the first one finishes."""
    name = guests.boot("sp-twice", mem_mib=192, load_mib=16, rate_mib=1)
    before = guests.last_seq(SRC, name)
    slow = {"strategy": "precopy", "bandwidth": 8, "timeout": 240}
    thread, box = run_in_thread(lambda: migrate(lab, name, **slow))
    lab.wait_for(lambda: "Unbounded" in lab.virsh(SRC, "domjobinfo", name, check=False).stdout,
                 timeout=120, interval=0.5, what="the first migration of %s to start" % name)
    second = migrate(lab, name, **slow)
    thread.join(400)
    assert second.get("failed"), second
    assert "already running (outgoing job on the source" in second["msg"], second["msg"]
    assert second["state"] == {"source": "running", "dest": "paused"}, second
    first = box.get("result")
    assert first is not None and not first.get("failed"), box
    assert where(guests, name) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
    guests.assert_alive(DST, name, before, "after a second move was refused")
    guests.remove(name)


def test_role_with_limit_leaves_a_migrated_vm_where_it_runs(lab, guests):
    """(b) The vm role, run with --limit on the home host only, must not start a second copy of a
    guest that was migrated away, nor redefine it there."""
    name = "sp-role"
    guests.names.append(name)
    remove_shared(lab, guests, name)
    try:
        disk = shared_disk(lab, name)
        lab.guests([guest_spec(name, disk)])
        assert guests.state("cloud1", name) == "running"
        guests.wait_heartbeats("cloud1", name, 3)
        lab.virsh("cloud1", "migrate", "--live", "--p2p", "--persistent", "--undefinesource", "--unsafe",
                  *lab.virsh_migrate_tls("ws01").split(), name, lab.libvirt_uri("ws01"), timeout=300)
        before = guests.last_seq("ws01", name)

        proc = lab.playbook("tests/integration/playbooks/guests.yml", {"vm_guests": [guest_spec(name, disk)]},
                            check=False, args=["--limit", "cloud1"])
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert "VM %s runs on ws01 (it was migrated there)" % name in proc.stdout, proc.stdout[-6000:]
        assert where(guests, name) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
        guests.assert_alive("ws01", name, before, "after the vm role ran on its home")
    finally:
        remove_shared(lab, guests, name)


def libvirtd(lab, host, up):
    units = "libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-%s.socket" % lab.migration_transport
    if up:
        lab.run(host, "systemctl start %s && systemctl start libvirtd.service" % units)
    else:
        lab.run(host, "systemctl stop %s libvirtd.service" % units)


def test_role_refuses_to_start_while_a_hypervisor_cannot_be_asked(lab, guests):
    name = "sp-unasked"
    guests.names.append(name)
    guests.remove(name)
    libvirtd(lab, "ws02", up=False)
    try:
        assert lab.virsh("ws02", "list", check=False).returncode != 0, "libvirtd still answers on ws02"
        proc = lab.playbook("tests/integration/playbooks/guests.yml", {"vm_guests": [guest_spec(name)]}, check=False)
        assert proc.returncode != 0, proc.stdout[-6000:]
        assert "VM %s is not started on cloud1: could not ask ws02" % name in proc.stdout, proc.stdout[-6000:]
        assert "vm_start_unverified=true" in proc.stdout
        assert guests.state("cloud1", name) == "absent"

        # The admin knows it runs nowhere else: forced, for one run.
        proc = lab.playbook("tests/integration/playbooks/guests.yml",
                            {"vm_guests": [guest_spec(name)], "vm_start_unverified": True}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert "vm_start_unverified is set" in proc.stdout
        assert guests.state("cloud1", name) == "running"
    finally:
        libvirtd(lab, "ws02", up=True)
        guests.remove(name)
    assert lab.virsh("ws02", "list").returncode == 0
