# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab's test guests, shared by the integration tests and the benchmarks.

A guest boots its kernel directly (no disk needed), writes a heartbeat to its serial console
and, when asked, keeps writing memory (``load_mib`` at ``rate_mib``): ``Guests`` boots, watches
and removes them; ``migrate`` runs vm_migrate from the source. The ``guests`` fixture in
conftest.py gives every test module its own ``Guests``.
"""
import os
import re
import sys
import threading

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "lab"))

import heartbeat  # noqa: E402  pylint: disable=wrong-import-position

SRC, DST = "cloud1", "ws01"
HYPERVISORS = ("cloud1", "ws01", "ws02")
BOOT = "/var/lib/libvirt/boot/skillvl-lab-guest"
IMAGES = "/var/lib/libvirt/images"
M = "skillvl.offline_first."
MIB = 1024 * 1024


def guest_xml(name, mem_mib=256, load_mib=0, rate_mib=0, cpu_pct=0, disk=None, emulator="/usr/bin/qemu-system-x86_64",
              cpu="<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>", disk_xml="",
              hb_ms=250, nic_xml="", kernel_args=""):
    """The lab guest's domain XML; disk is a raw file's path, disk_xml a whole <disk> element,
    nic_xml a whole <interface> element; cpu_pct keeps its vCPU busy that share of every 100 ms;
    hb_ms is its heartbeat's interval; kernel_args more of the guest's parameters (skillvl.ip=...)."""
    if disk:
        disk_xml = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    "<source file='%s'/><target dev='vda' bus='virtio'/></disk>" % disk)
    return """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{mem}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <kernel>{boot}/vmlinuz</kernel><initrd>{boot}/initrd.img</initrd>
    <cmdline>console=ttyS0 skillvl.hb_ms={hb_ms} skillvl.mem_mib={load} skillvl.rate_mib={rate} skillvl.cpu_pct={cpu_pct}{more}</cmdline>
  </os>
  {cpu}
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    {disk}
    {nic}
    <serial type='pty'><log file='/var/log/libvirt/qemu/{name}-console.log' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>""".format(name=name, mem=mem_mib, boot=BOOT, load=load_mib, rate=rate_mib, cpu_pct=cpu_pct, disk=disk_xml,
                    emulator=emulator, cpu=cpu, hb_ms=hb_ms, nic=nic_xml,
                    more=" " + kernel_args if kernel_args else "")


class Guests(object):
    """Boot, watch and clean up test guests."""

    def __init__(self, lab):
        self.lab = lab
        self.names = []

    def boot(self, name, host=SRC, start=True, clean=True, **kw):
        if name not in self.names:
            self.names.append(name)
        if clean:
            self.remove(name)
        path = "/tmp/%s.xml" % name
        self.lab.run(host, "cat > %s" % path, input=guest_xml(name, **kw))
        self.lab.virsh(host, "define", path)
        if start:
            self.lab.virsh(host, "start", name)
            self.wait_heartbeats(host, name, 3)
        return name

    def console(self, host, name):
        out = self.lab.run(host, "cat /var/log/libvirt/qemu/%s-console.log 2>/dev/null || true" % name).stdout
        return heartbeat.parse_console(out)

    def wait_heartbeats(self, host, name, more, after=None, timeout=90):
        def enough():
            hb = heartbeat.summary(self.console(host, name))
            if hb["last_seq"] is None:
                return None
            base = after if after is not None else -1
            return hb if hb["last_seq"] >= base + more else None
        return self.lab.wait_for(enough, timeout=timeout, interval=1, what="%d heartbeats of %s on %s"
                                 % (more, name, host))

    def last_seq(self, host, name):
        return heartbeat.summary(self.console(host, name))["last_seq"]

    def state(self, host, name):
        proc = self.lab.virsh(host, "domstate", name, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else "absent"

    def remove(self, name):
        for host in HYPERVISORS:
            self.lab.run(host, "virsh -c qemu:///system destroy {n} >/dev/null 2>&1; "
                               "virsh -c qemu:///system undefine {n} --nvram >/dev/null 2>&1; "
                               "rm -f /var/log/libvirt/qemu/{n}-console.log /tmp/{n}.xml {img}/{n}.raw {img}/{n}-*.qcow2; "
                               "virsh -c qemu:///system pool-refresh default >/dev/null 2>&1; true"
                         .format(n=name, img=IMAGES), check=False)

    def assert_alive(self, host, name, before_seq, what):
        """The guest's heartbeat continues on host after a migration, without memory errors."""
        hb = self.wait_heartbeats(host, name, 4, after=before_seq, timeout=60)
        assert hb["memerr"] == 0 and hb["memerr_lines"] == 0, "%s: memory errors %s" % (what, hb)
        return hb


def migrate(lab, name, check_mode=False, host=SRC, extra_vars=None, **args):
    params = {"name": name, "dest": DST, "transport": lab.migration_transport}
    params.update(args)
    return lab.module(host, M + "vm_migrate", params, check_mode=check_mode, extra_vars=extra_vars)


def recap(stdout, host):
    """host's PLAY RECAP counters of a playbook run, {'ok': '12', 'changed': '0', ...}."""
    line = [x for x in stdout.splitlines() if x.startswith(host + " ") and "ok=" in x]
    assert line, stdout[-3000:]
    return dict(kv.split("=") for kv in line[-1].split(":", 1)[1].split())


def changed_tasks(output):
    """'host: TASK [role : name]' for each task that reported a change, in the order run."""
    found, task = [], None
    for line in output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.rstrip(" *")
        match = re.match(r"^changed: \[([^\]]+)\]", line)
        if match:
            found.append("%s: %s" % (match.group(1), task))
    return found


def run_in_thread(func):
    box = {}

    def target():
        try:
            box["result"] = func()
        except Exception as exc:  # pylint: disable=broad-except
            box["error"] = exc
    thread = threading.Thread(target=target)
    thread.daemon = True
    thread.start()
    return thread, box


def wait_job(lab, name, timeout=60):
    def running():
        out = lab.virsh(SRC, "domjobinfo", name, check=False).stdout
        return "Unbounded" in out or "Bounded" in out
    lab.wait_for(running, timeout=timeout, interval=0.5, what="migration job of %s" % name)
