# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale-away, offline operation and return (issue 10), with real libvirtd/QEMU.

The lab's demo guest (its disk local, `storage: local`) scales away from its home cloud1 to a
workstation with its disk; its home and departure are in its own libvirt metadata there;
return.yml brings it home with only its name and clears the record. Check mode changes nothing;
a second scale-away, a return of a VM that is home and of an unknown VM are refused, the VM left
where it runs.
"""
import base64
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import HYPERVISORS, M, recap, run_in_thread  # noqa: E402  pylint: disable=wrong-import-position
import heartbeat  # noqa: E402  pylint: disable=wrong-import-position

NS = "https://skillvl.example/offline_first/1"
IMAGES = "/var/lib/libvirt/images"


def exists(lab, host, path):
    return lab.run(host, "test -e %s" % path, check=False).returncode == 0


def backing(lab, host, path):
    return json.loads(lab.run(host, "qemu-img info -U --output=json %s" % path).stdout).get("backing-filename")


def crossed(text, pattern):
    """The MiB figures of a playbook's 'what crossed the link' line (the callback may wrap it)."""
    found = re.search(pattern, " ".join(text.split()))
    assert found, text[-6000:]
    return [float(x) for x in found.groups()]


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
    # Bad input: a user host or a VM the inventory does not know; refused, nothing cut or moved.
    proc = lab.playbook("playbooks/scale_away.yml", {"vm": "demo", "user": "nobody"}, check=False)
    assert proc.returncode != 0 and "user nobody is not a host of this inventory" in proc.stdout, proc.stdout[-4000:]
    proc = lab.playbook("playbooks/scale_away.yml", {"vm": "no-such-vm", "target": "ws02"}, check=False)
    assert proc.returncode != 0 and "no hypervisor knows a VM called no-such-vm" in proc.stdout, proc.stdout[-4000:]
    # Check mode says what it would cut, fetch and move, and does none of it.
    proc = lab.playbook("playbooks/scale_away.yml", {"vm": "demo", "target": "ws02"}, check=False, args=["--check"])
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
    text = " ".join(proc.stdout.split())
    assert re.search(r"frozen layers to fetch to ws02: [0-9.]+ MiB \(1 of 1 files\)", text), proc.stdout[-6000:]
    assert "VM demo would move from cloud1 to ws02" in text, proc.stdout[-6000:]
    assert not exists(lab, "ws02", "%s/demo-data.qcow2" % IMAGES)
    assert where(guests, "demo") == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    assert "demo-data.away" not in lab.virsh("cloud1", "domblklist", "demo").stdout
    try:
        seq = guests.last_seq("cloud1", "demo")
        proc = lab.playbook("playbooks/scale_away.yml", {"vm": "demo", "target": "ws02"}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        assert where(guests, "demo") == {"cloud1": "absent", "ws01": "absent", "ws02": "running"}
        guests.assert_alive("ws02", "demo", seq, "after scaling away")
        # The disk came along, cut in two: the frozen layer fetched before the move, the top layer
        # the VM writes now; nothing of the VM is left on the cloud but the frozen layer at home.
        blk = lab.virsh("ws02", "domblklist", "demo").stdout
        assert "%s/demo-data.away.qcow2" % IMAGES in blk, blk
        assert backing(lab, "ws02", "%s/demo-data.away.qcow2" % IMAGES) == "%s/demo-data.qcow2" % IMAGES
        assert exists(lab, "cloud1", "%s/demo-data.qcow2" % IMAGES)
        assert not exists(lab, "cloud1", "%s/demo-data.away.qcow2" % IMAGES)
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
        # home with one layer again, live and in the definition; the workstation keeps nothing of it
        assert "%s/demo-data.qcow2" % IMAGES in lab.virsh("cloud1", "domblklist", "demo").stdout
        assert "demo-data.away" not in lab.virsh("cloud1", "dumpxml", "--inactive", "demo").stdout
        assert not exists(lab, "cloud1", "%s/demo-data.away.qcow2" % IMAGES)
        assert not exists(lab, "ws02", "%s/demo-data.qcow2" % IMAGES)
        assert not exists(lab, "ws02", "%s/demo-data.away.qcow2" % IMAGES)
        assert "<away" not in lab.virsh("cloud1", "metadata", "demo", NS, "--config").stdout

        # Nothing to return now, nor for a VM that does not exist: refused, nothing moves.
        proc = lab.playbook("playbooks/return.yml", {"vm": "demo"}, check=False)
        assert proc.returncode != 0 and "has not scaled away" in proc.stdout, proc.stdout[-6000:]
        proc = lab.playbook("playbooks/return.yml", {"vm": "no-such-vm"}, check=False)
        assert proc.returncode != 0 and "VM no-such-vm runs on no hypervisor" in proc.stdout, proc.stdout[-6000:]
        assert where(guests, "demo") == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    finally:
        demo_home(lab, guests)


PI_GUEST = {"name": "offl-pi", "host": "cloud1", "image": "skillvl-lab-guest", "memory_mib": 256, "vcpus": 1,
            "cpu": {"mode": "custom", "model": "qemu64"}, "storage": "local",
            "interfaces": [{"network": "skillvl-ovl", "model": "virtio", "mtu": 1450, "checksum_offload": False}],
            "kernel_args": "skillvl.hb_ms=500 skillvl.mem_mib=32 skillvl.rate_mib=4 "
                           "skillvl.ip=203.0.113.60/24 skillvl.mtu=1450",
            "disks": [{"name": "data", "size_mib": 64, "base": "offl-base"}]}
PI_ADDR = "203.0.113.60"
STOP = "/run/skillvl-probe-offl-pi.stop"
BASE = "/var/lib/libvirt/images/base/offl-base.qcow2"


def cut(lab, host, down):
    """The host's cable on the lab's underlay: its port on the underlay bridge down or up."""
    subprocess.run(["ip", "netns", "exec", "%s-underlay" % lab.name, "ip", "link", "set", host,
                    "down" if down else "up"], check=True, timeout=30)


def reaches(lab, src, host, port=16514):
    """Whether src opens a TCP connection to host's libvirt TLS port over the underlay."""
    addr = lab.hostvars(host)["skillvl_underlay_address"]
    probe = "import socket; socket.create_connection(('%s', %d), 2).close()" % (addr, port)
    return lab.run(src, "python3 -c \"%s\"" % probe, check=False, timeout=30).returncode == 0


def disk_seqs(lab, host, path):
    """The heartbeat seqs recorded on a disk image on host (with its backing layers)."""
    raw = lab.run(host, "qemu-img convert -U -O raw {p} /tmp/seqs.raw && head -c 1200000 /tmp/seqs.raw | base64 -w0; "
                        "rm -f /tmp/seqs.raw".format(p=path)).stdout
    return set(r["seq"] for r in heartbeat.parse_disk(base64.b64decode(raw)))


def guest_writes(lab, offset_mib, mib, byte):
    """The guest fills its disk from offset_mib on (its WRITE request), 1 MiB per request so that
    its pi service, one request at a time, keeps answering; asked from ws02 over the overlay."""
    ask = ("import socket\nfor i in range(%d):\n    s = socket.create_connection(('%s', 8080), 10)\n"
           "    s.sendall(b'WRITE offset_mib=%%d mib=1 byte=%d\\n' %% (%d + i))\n    print(s.recv(200).decode().strip())\n"
           "    s.close()\n" % (mib, PI_ADDR, byte, offset_mib))
    out = lab.run("ws02", "python3 -c \"%s\"" % ask, timeout=120).stdout.split("\n")
    assert len([x for x in out if x.startswith("WRITE offset_mib=")]) == mib, out


def staged(proc):
    """(images staged now, MiB, already here) from stage.yml's summary on ws01."""
    return crossed(proc.stdout, r"ws01: ([0-9]+) image\(s\) staged now \(([0-9.]+) MiB[^)]*\), ([0-9]+) already here")


def test_the_service_keeps_serving_with_the_cloud_cut_off(lab, guests):
    """Issue 10's offline operation: the pi service, its data disk an overlay on a base image, scales
    away from cloud1 to ws01 (the user's workstation) once the base is staged there; cloud1's cable
    is pulled; the client on ws02 gets every answer over the workstations' part of the overlay; a
    return during the cut fails and leaves the VM serving; with the cable back, return.yml brings it
    home with what it wrote while away, and only that."""
    name = PI_GUEST["name"]
    data = "%s/%s-data.qcow2" % (IMAGES, name)
    guests.names.append(name)
    # A 64 MiB base image with 32 MiB of content, on the cloud only; the data disk sits on it.
    lab.run("cloud1", "qemu-img create -q -f qcow2 {b} 64M && qemu-io -f qcow2 -c 'write -P 0x5a 4M 32M' {b} "
                      ">/dev/null && chmod 0644 {b}".format(b=BASE))
    try:
        offline_round_trip(lab, guests, name, data)
    finally:
        for host in ("cloud1", "ws01", "ws02"):
            lab.run(host, "rm -f %s %s.part" % (BASE, BASE))


def offline_round_trip(lab, guests, name, data):
    lab.guests([PI_GUEST])
    # 8 MiB of its own before it leaves (clear of the heartbeat's first MiB), written with the VM stopped
    lab.virsh("cloud1", "destroy", name)
    lab.run("cloud1", "qemu-io -f qcow2 -c 'write -P 0x3c 40M 8M' %s" % data)
    lab.virsh("cloud1", "start", name)
    lab.run("ws02", "rm -f %s" % STOP)

    # Bad input, refused before anything is cut or moved: a target without the base image,
    # a time budget no candidate meets.
    proc = lab.playbook("playbooks/scale_away.yml", {"vm": name, "target": "ws02"}, check=False)
    assert proc.returncode != 0 and "ws02 lacks the base image(s) %s" % BASE in proc.stdout, proc.stdout[-4000:]
    proc = lab.playbook("playbooks/scale_away.yml", {"vm": name, "user": "ws01", "time_budget": 1}, check=False)
    assert proc.returncode != 0 and "no target for VM %s near ws01" % name in proc.stdout, proc.stdout[-4000:]
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    assert ".away" not in lab.virsh("cloud1", "domblklist", name).stdout

    # The base goes to the user's workstation ahead of time, checked; a second run finds it there.
    proc = lab.playbook("playbooks/stage.yml", {"images": "offl-base"}, check=False, args=["--limit", "ws01"])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    count, mib, here = staged(proc)
    assert count == 1 and mib >= 32 and here == 0, (count, mib, here)
    sums = [lab.run(h, "sha256sum %s" % BASE).stdout.split()[0] for h in ("cloud1", "ws01")]
    assert sums[0] == sums[1], sums
    proc = lab.playbook("playbooks/stage.yml", {"images": "offl-base"}, check=False, args=["--limit", "ws01"])
    assert proc.returncode == 0 and staged(proc) == [0, 0, 1], proc.stdout[-4000:]
    assert recap(proc.stdout, "ws01")["changed"] == "0", proc.stdout[-4000:]
    ask = {"host": PI_ADDR, "request": "pi", "points": 20000, "seconds": 2, "interval_ms": 100}
    lab.wait_for(lambda: lab.module("ws02", M + "service_probe", ask).get("answered"), timeout=90, interval=2,
                 what="the pi service of %s answering ws02" % name)
    probe, box = run_in_thread(lambda: lab.module(
        "ws02", M + "service_probe", dict(ask, seconds=900, interval_ms=100, timeout_ms=2000, stop_file=STOP)))
    try:
        proc = lab.playbook("playbooks/scale_away.yml", {"vm": name, "user": "ws01"}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        # the user's own workstation is the closest, not a neighbour a noisy timing puts nearer
        assert "(item=ws01: the user itself)" in proc.stdout, proc.stdout[-8000:]
        assert where(guests, name) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
        # its own 8 MiB went with the frozen layer before the move, not the staged base; the move
        # copied the top layer only
        layer, disk_away, _memory = crossed(proc.stdout, r"([0-9.]+) MiB of frozen layers before the move, "
                                                         r"([0-9.]+) MiB of disk and ([0-9.]+) MiB of memory")
        assert 8 <= layer < 16 and disk_away < 8, (layer, disk_away)
        guest_writes(lab, 48, 12, 0xa5)
        seq = guests.last_seq("ws01", name)

        cut(lab, "cloud1", down=True)
        try:
            assert not reaches(lab, "ws02", "cloud1") and not reaches(lab, "ws01", "cloud1")
            assert reaches(lab, "ws02", "ws01"), "the workstations lost each other"
            cut_at = time.time()
            # A return now cannot reach the home: refused, the VM goes on serving on ws01.
            proc = lab.playbook("playbooks/return.yml", {"vm": name}, check=False)
            assert proc.returncode != 0, proc.stdout[-6000:]
            assert "cloud1" in proc.stdout[-4000:], proc.stdout[-6000:]
            assert where(guests, name) == {"cloud1": "absent", "ws01": "running", "ws02": "absent"}
            time.sleep(max(0.0, 20 - (time.time() - cut_at)))
            guests.assert_alive("ws01", name, seq, "while the cloud was cut off")
            cut_until = time.time()
        finally:
            cut(lab, "cloud1", down=False)
        lab.wait_for(lambda: reaches(lab, "ws01", "cloud1"), timeout=60, interval=2, what="cloud1 back on the underlay")
        away = disk_seqs(lab, "ws01", "%s/%s-data.away.qcow2" % (IMAGES, name))

        proc = lab.playbook("playbooks/return.yml", {"vm": name}, check=False)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-2000:]
        assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
        guests.assert_alive("cloud1", name, seq, "after the return")
        # incremental: the 12 MiB it wrote while away (and its heartbeats), not the 53 MiB it had
        disk_home, _memory = crossed(proc.stdout, r"returned from ws01 to cloud1: ([0-9.]+) MiB of disk and "
                                                  r"([0-9.]+) MiB of memory \(the top layers only\)")
        assert 12 <= disk_home < 20, disk_home
        for pattern, offset, mib in ((0x5a, 4, 32), (0x3c, 40, 8), (0xa5, 48, 12)):
            check = lab.run("cloud1", "qemu-io -U -r -f qcow2 -c 'read -P %d %dM %dM' %s"
                            % (pattern, offset, mib, data)).stdout
            assert "read %d/%d bytes" % (mib << 20, mib << 20) in check and "fail" not in check.lower(), check
        # what the VM wrote on its disk while away came home with it
        assert max(away) > seq and max(away) in disk_seqs(lab, "cloud1", data), (seq, max(away))
        time.sleep(3)
    finally:
        lab.run("ws02", "touch %s" % STOP)
        probe.join(120)
        lab.run("ws02", "rm -f %s" % STOP)
    assert not probe.is_alive(), "the probe did not stop"
    res = box.get("result")
    assert res and not res.get("failed") and res["stopped_by_file"], box
    assert res["requests"] > 100, res["requests"]
    # not one failed request: before, during both moves, through the cut and after
    assert res["unanswered"] == 0, (res["unanswered"], res["errors"])
    during = [s for s in res["samples"] if cut_at <= res["started_at"] + s[0] / 1000.0 <= cut_until]
    assert len(during) > 50 and all(s[1] is not None for s in during), len(during)
    assert res["max_gap_ms"] < 3000, res["max_gap_ms"]
    guests.remove(name)
