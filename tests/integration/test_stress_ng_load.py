# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_load method=stress_ng (issue 11): the research's load, stress-ng, started and changed
through the QEMU guest agent of a running guest, without a reboot. The guest is the lab guest
built with qemu-ga and stress-ng (playbooks/lab.yml, .lab/guest-agent), defined by the vm role
from an image with guest_agent: true, so its domain has the agent's channel as a cloud image's has.
Real qemu-ga, real stress-ng, real libvirt; the load's effect is read from QEMU (dirty rate,
vCPU time), not from the module's word. The first test runs playbooks/experiment.yml with
load: stress_ng (one run), the second loads the guest it leaves at home.
"""
import base64
import csv
import json
import os
import shutil
import time

from labguests import DST, M, SRC

NAME = "stress-agent"
RESULTS = "/tmp/%s-experiment-agent"
# experiments/quick.yml's shape with the research's load: stress-ng through the guest agent, in a
# guest of an image with guest_agent: true (the vm role gives its domain the agent's channel)
DESIGN = {
    "name": "agent", "source": SRC, "target": DST, "user": "ws02", "load": "stress_ng",
    "vm": {"name": NAME, "memory_mib": 256, "address": "203.0.113.52",
           "guest": {"name": NAME, "host": SRC, "image": "skillvl-lab-guest-agent", "memory_mib": 256, "vcpus": 1,
                     "cpu": {"mode": "custom", "model": "qemu64"},
                     "interfaces": [{"network": "skillvl-ovl", "model": "virtio", "mtu": 1450,
                                     "checksum_offload": False}],
                     "kernel_args": "skillvl.hb_ms=500 skillvl.ip=203.0.113.52/24 skillvl.mtu=1450"}},
    "links": [{"name": "lan", "rate_mbit": None, "rtt_ms": 0}],
    "cpu_pct": [0], "ram_pct": [25], "write_rate_mib": 0, "strategies": ["auto"], "repetitions": 1,
    "timeout_s": 600, "warmup_s": 3,
    "probe": {"request": "pi", "points": 20000, "interval_ms": 100, "before_s": 3, "after_s": 3},
}


def load(lab, host=SRC, check_mode=False, **args):
    return lab.module(host, M + "vm_load", dict(args, method="stress_ng", name=NAME), check_mode=check_mode)


def agent_answers(lab, host):
    proc = lab.virsh(host, "qemu-agent-command", NAME, '{"execute":"guest-ping"}', check=False, timeout=30)
    return proc.returncode == 0


def dirty_rate_mib(lab, host):
    lab.virsh(host, "domdirtyrate-calc", NAME, "--seconds", "2")

    def measured():
        stats = lab.virsh(host, "domstats", NAME, "--dirtyrate").stdout
        fields = dict(line.strip().split("=", 1) for line in stats.splitlines() if "=" in line)
        if fields.get("dirtyrate.calc_status") == "2":
            return [float(fields["dirtyrate.megabytes_per_second"])]   # a list: 0 MiB/s is an answer
        return None
    return lab.wait_for(measured, timeout=30, interval=1, what="the dirty rate of " + NAME)[0]


def vcpu_share(lab, host, seconds=3.0):
    """The share of wall time the guest's vCPU ran (1.0 = always)."""
    def cpu_ns():
        out = lab.virsh(host, "domstats", NAME, "--vcpu").stdout
        return sum(int(line.split("=")[1]) for line in out.splitlines() if line.strip().startswith("vcpu.")
                   and line.strip().split("=")[0].endswith(".time"))
    start, first = time.monotonic(), cpu_ns()
    time.sleep(seconds)
    return (cpu_ns() - first) / 1e9 / (time.monotonic() - start)


def stress_ng_processes(lab, host):
    # 'stress-n[g]': the shell's own command line holds the pattern, which the pattern does not match
    script = 'for f in /proc/[0-9]*/cmdline; do grep -q "stress-n[g]" "$f" 2>/dev/null && echo "$f"; done; true'
    out = lab.virsh(host, "qemu-agent-command", NAME, json.dumps(
        {"execute": "guest-exec", "arguments": {"path": "/bin/sh", "arg": ["-c", script], "capture-output": True}})).stdout
    pid = json.loads(out)["return"]["pid"]

    def done():
        status = json.loads(lab.virsh(host, "qemu-agent-command", NAME, json.dumps(
            {"execute": "guest-exec-status", "arguments": {"pid": pid}})).stdout)["return"]
        return status if status.get("exited") else None
    status = lab.wait_for(done, timeout=30, interval=0.5, what="a process list from " + NAME)
    return base64.b64decode(status.get("out-data", "")).decode().split()


def test_an_experiment_loads_its_guest_with_stress_ng_through_the_agent(lab, guests):
    """playbooks/experiment.yml with load stress_ng: the guest is created with the agent's channel,
    loaded before the move on its home, idled on ws01 after it, and brought home."""
    results = RESULTS % lab.name
    shutil.rmtree(results, ignore_errors=True)
    guests.names.append(NAME)
    proc = lab.playbook("playbooks/experiment.yml", {"experiment": DESIGN, "experiment_results_dir": results},
                        check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(os.path.join(results, "results.csv")) as handle:
        row = list(csv.DictReader(handle))[0]
    shutil.rmtree(results, ignore_errors=True)
    assert row["moved"] == "true" and not row["error"] and int(row["writer_mib"]) == 48, row
    # QEMU measured what stress-ng's 48 MiB writer dirties (the idle lab guest: about 0)
    assert float(row["dirty_rate_mib_s"]) > 5, row
    assert "org.qemu.guest_agent.0" in lab.virsh(SRC, "dumpxml", NAME).stdout
    assert guests.state(SRC, NAME) == "running" and guests.state(DST, NAME) == "absent"
    home = load(lab, check_mode=True, mem_mib=0, cpu_pct=0)
    assert not home["changed"], home   # idled for the way home, on ws01


def test_stress_ng_changes_in_one_boot_and_follows_nothing_but_the_vm(lab, guests):
    """On the guest the experiment left at home (or a new one): check mode, idempotence, RAM and CPU
    load seen by QEMU, a change of load without a reboot, stop, bad input, a VM that is elsewhere."""
    if guests.state(SRC, NAME) != "running":
        lab.guests([DESIGN["vm"]["guest"]])
    guests.names.append(NAME)
    try:
        lab.wait_for(lambda: agent_answers(lab, SRC), timeout=120, interval=2, what="the guest agent of " + NAME)
        load(lab, mem_mib=0, cpu_pct=0)
        idle_dirty, idle_cpu = dirty_rate_mib(lab, SRC), vcpu_share(lab, SRC)

        dry = load(lab, check_mode=True, mem_mib=96, cpu_pct=0)
        assert dry["changed"] and dry["before"] == {"mem_mib": 0, "rate_mib": 0, "cpu_pct": 0}, dry
        assert stress_ng_processes(lab, SRC) == []

        res = load(lab, mem_mib=96, cpu_pct=0)
        assert res["changed"] and res["load"] == {"mem_mib": 96, "rate_mib": 0, "cpu_pct": 0}, res
        assert not load(lab, mem_mib=96, cpu_pct=0)["changed"]
        loaded_dirty = dirty_rate_mib(lab, SRC)
        assert loaded_dirty > idle_dirty + 5, (idle_dirty, loaded_dirty)

        # CPU load instead, same boot: the old stress-ng is gone, the vCPU runs nearly all the time
        res = load(lab, mem_mib=0, cpu_pct=100)
        assert res["changed"] and res["before"]["mem_mib"] == 96 and res["load"]["cpu_pct"] == 100, res
        busy_cpu = vcpu_share(lab, SRC)
        assert busy_cpu > idle_cpu + 0.3, (idle_cpu, busy_cpu)
        assert len(stress_ng_processes(lab, SRC)) >= 2   # the parent and its cpu worker

        stop = load(lab, mem_mib=0, cpu_pct=0)
        assert stop["changed"] and stop["load"] == {"mem_mib": 0, "rate_mib": 0, "cpu_pct": 0}, stop
        assert stress_ng_processes(lab, SRC) == []

        bad = load(lab, cpu_pct=120)
        assert bad.get("failed") and "cpu_pct must be 0 to 100" in bad["msg"], bad
        bad = load(lab, mem_mib=16, rate_mib=8)
        assert bad.get("failed") and "rate_mib must be 0 with stress-ng" in bad["msg"], bad
        elsewhere = load(lab, host=DST, mem_mib=16)
        assert elsewhere.get("failed") and "is not running on this host" in elsewhere["msg"], elsewhere
    finally:
        lab.guests([dict(DESIGN["vm"]["guest"], state="absent")])
        guests.remove(NAME)


def test_a_guest_without_an_agent_channel_is_named(lab, guests):
    """The plain lab guest has no agent channel: the error says so, and nothing is started."""
    name = guests.boot("stress-noagent")
    res = lab.module(SRC, M + "vm_load", {"method": "stress_ng", "name": name, "cpu_pct": 50})
    assert res.get("failed") and "has no channel for a QEMU guest agent" in res["msg"], res
    guests.remove(name)
