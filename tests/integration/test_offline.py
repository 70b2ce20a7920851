# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale-away and return (issue 10), with real libvirtd/QEMU.

The lab's demo guest (its disk local, `storage: local`) scales away from its home cloud1 to a
workstation with its disk; its home and departure are in its own libvirt metadata there;
return.yml brings it home with only its name and clears the record. A second scale-away, a
return of a VM that is home and of an unknown VM are refused, the VM left where it runs.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import HYPERVISORS  # noqa: E402  pylint: disable=wrong-import-position

NS = "https://skillvl.example/offline_first/1"


def where(guests, name):
    return dict((h, guests.state(h, name)) for h in HYPERVISORS)


def record(lab, host, name):
    """The skillvl metadata element of the running VM, as libvirt returns it."""
    return lab.virsh(host, "metadata", name, NS).stdout


def demo_home(lab, guests):
    if guests.state("cloud1", "demo") != "running":
        running = [h for h in HYPERVISORS if guests.state(h, "demo") == "running"]
        assert len(running) == 1, where(guests, "demo")
        proc = lab.playbook("playbooks/migrate.yml", {"vm": "demo", "target": "cloud1", "storage": "copy"},
                            check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_scale_away_then_return_by_name(lab, guests):
    demo_home(lab, guests)
    assert "<away" not in record(lab, "cloud1", "demo")
    try:
        seq = guests.last_seq("cloud1", "demo")
        proc = lab.playbook("playbooks/scale_away.yml", {"vm": "demo", "target": "ws02"}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        assert where(guests, "demo") == {"cloud1": "absent", "ws01": "absent", "ws02": "running"}
        guests.assert_alive("ws02", "demo", seq, "after scaling away")
        # The disk came along: nothing of the VM is left on the cloud.
        blk = lab.virsh("ws02", "domblklist", "demo").stdout
        assert "/var/lib/libvirt/images/demo-data.qcow2" in blk, blk
        assert lab.run("ws02", "test -s /var/lib/libvirt/images/demo-data.qcow2", check=False).returncode == 0
        meta = record(lab, "ws02", "demo")
        assert re.search(r"<home>cloud1</home>", meta) and re.search(r"<away [^>]*from=\"cloud1\"", meta), meta
        # ... in the persistent definition as well (it survives a restart of the VM there).
        assert "from=\"cloud1\"" in lab.virsh("ws02", "metadata", "demo", NS, "--config").stdout

        # Scaling away again is refused: the one home stays recorded.
        proc = lab.playbook("playbooks/scale_away.yml", {"vm": "demo", "target": "ws01"}, check=False)
        assert proc.returncode != 0
        assert "VM demo is already away from cloud1" in proc.stdout, proc.stdout[-6000:]
        assert where(guests, "demo") == {"cloud1": "absent", "ws01": "absent", "ws02": "running"}

        seq = guests.last_seq("ws02", "demo")
        proc = lab.playbook("playbooks/return.yml", {"vm": "demo"}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        assert "VM demo returns from ws02 to its home cloud1" in proc.stdout
        assert where(guests, "demo") == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
        guests.assert_alive("cloud1", "demo", seq, "after the return")
        meta = record(lab, "cloud1", "demo")
        assert "<home>cloud1</home>" in meta and "<away" not in meta, meta
        assert "<away" not in lab.virsh("cloud1", "metadata", "demo", NS, "--config").stdout

        # Nothing to return now, nor for a VM that does not exist: refused, nothing moves.
        proc = lab.playbook("playbooks/return.yml", {"vm": "demo"}, check=False)
        assert proc.returncode != 0 and "has not scaled away" in proc.stdout, proc.stdout[-6000:]
        proc = lab.playbook("playbooks/return.yml", {"vm": "no-such-vm"}, check=False)
        assert proc.returncode != 0 and "VM no-such-vm runs on no hypervisor" in proc.stdout, proc.stdout[-6000:]
        assert where(guests, "demo") == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    finally:
        demo_home(lab, guests)
