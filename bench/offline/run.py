#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: scale-away and return with the disk layers cut (the default) against a full copy of
the disks both ways (-e layers=false, the baseline), in one run, same guest, same capped link.

The lab guest (--guest-mib of memory, a --disk-mib data disk of which --written-mib are written
before it leaves) scales away cloud1 -> ws01 over a WAN on ws01's side of the underlay
(--rate-mbit, --rtt-ms, the wan_emulation role), stays away --away-s seconds (its heartbeat
writes its disk), and returns. Per leg and variant: MiB that crossed the link (frozen layers
fetched before the move, disk and memory during it), the playbook's wall time, and the
planner's predicted time of the live move against the measured one (migrate.yml's records).
Reported as ratios cut/full.

    .venv/bin/python bench/offline/run.py [--lab offbench] [--rate-mbit 100] [--rtt-ms 10]
        [--disk-mib 256] [--written-mib 128] [--away-s 20] [--doc docs/offline.md] [--no-build]

Writes bench/results/offline-<time>.json and the table between <!-- bench:offline:start --> and
<!-- bench:offline:end --> in --doc.
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import TOP, write_doc  # noqa: E402  pylint: disable=wrong-import-position
import conftest  # noqa: E402  pylint: disable=wrong-import-position
import labguests  # noqa: E402  pylint: disable=wrong-import-position

START, END = "<!-- bench:offline:start -->", "<!-- bench:offline:end -->"
IMAGES = "/var/lib/libvirt/images"
AWAY_LINE = (r"scaled away from cloud1 to ws01: ([0-9.]+) MiB of frozen layers before the move, ([0-9.]+) MiB of "
             r"disk and ([0-9.]+) MiB of memory")
HOME_LINE = r"returned from ws01 to cloud1: ([0-9.]+) MiB of disk and ([0-9.]+) MiB of memory"


def guest(name, args):
    return {"name": name, "host": "cloud1", "image": "skillvl-lab-guest", "memory_mib": args.guest_mib, "vcpus": 1,
            "cpu": {"mode": "custom", "model": "qemu64"}, "storage": "local", "interfaces": [],
            "kernel_args": "skillvl.hb_ms=500 skillvl.mem_mib=32 skillvl.rate_mib=4",
            "disks": [{"name": "data", "size_mib": args.disk_mib}]}


def play(lab, path, extra, records):
    started = time.monotonic()
    proc = lab.playbook(path, dict(extra, skillvl_migration_records=records), check=False, timeout=3600)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise AssertionError("%s %s failed:\n%s" % (path, extra, proc.stdout[-6000:]))
    return proc.stdout, round(wall, 1)


def last_record(records):
    with open(records) as handle:
        move = json.loads(handle.read().strip().splitlines()[-1])
    predicted = (move.get("prediction") or {}).get("total_s")
    measured = (move.get("figures") or {}).get("total_time_ms")
    return {"predicted_s": predicted, "measured_s": round(measured / 1000.0, 1) if measured else None}


def trip(lab, name, layers, args, records):
    """scale_away + return of ``name`` with or without layers; the figures of both legs."""
    out, wall = play(lab, "playbooks/scale_away.yml", {"vm": name, "target": "ws01", "layers": layers}, records)
    fetched, disk, memory = [float(x) for x in re.search(AWAY_LINE, " ".join(out.split())).groups()]
    away = dict(last_record(records), leg="away", wall_s=wall, layers_mib=fetched, disk_mib=disk, memory_mib=memory)
    time.sleep(args.away_s)
    out, wall = play(lab, "playbooks/return.yml", {"vm": name, "layers": layers}, records)
    disk, memory = [float(x) for x in re.search(HOME_LINE, " ".join(out.split())).groups()]
    home = dict(last_record(records), leg="home", wall_s=wall, layers_mib=0.0, disk_mib=disk, memory_mib=memory)
    for leg in (away, home):
        leg["link_mib"] = round(leg["layers_mib"] + leg["disk_mib"] + leg["memory_mib"], 1)
        leg["variant"] = "cut" if layers else "full"
    return [away, home]


def ratio(ours, base):
    return "%.2fx" % (ours / base) if ours and base else "-"


def table(rows, args):
    by = dict(((r["variant"], r["leg"]), r) for r in rows)
    lines = ["Run %s, lab `%s`: guest %d MiB memory, data disk %d MiB with %d MiB written before it leaves, %d s away; "
             "link %d Mbit/s, %d ms on ws01's side. MiB crossing the link (frozen layers before the move + disk + "
             "memory during it), the playbook's wall time, and the planner's prediction of the live move against "
             "QEMU's measured time. Ratios: layers cut / full copy, same run."
             % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), args.lab, args.guest_mib, args.disk_mib,
                args.written_mib, args.away_s, args.rate_mbit, args.rtt_ms),
             "",
             "| leg | variant | layers MiB | disk MiB | memory MiB | link MiB | wall s | predicted s | measured s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for leg in ("away", "home"):
        for variant in ("full", "cut"):
            r = by[(variant, leg)]
            lines.append("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %s |" % (
                leg, variant, r["layers_mib"], r["disk_mib"], r["memory_mib"], r["link_mib"], r["wall_s"],
                r["predicted_s"] if r["predicted_s"] is not None else "-", r["measured_s"] or "-"))
        lines.append("| %s | **cut/full** | | %s | | **%s** | **%s** | | |" % (
            leg, ratio(by[("cut", leg)]["disk_mib"], by[("full", leg)]["disk_mib"]),
            ratio(by[("cut", leg)]["link_mib"], by[("full", leg)]["link_mib"]),
            ratio(by[("cut", leg)]["wall_s"], by[("full", leg)]["wall_s"])))
    total = dict((v, sum(by[(v, leg)]["link_mib"] for leg in ("away", "home"))) for v in ("full", "cut"))
    wall = dict((v, sum(by[(v, leg)]["wall_s"] for leg in ("away", "home"))) for v in ("full", "cut"))
    lines += ["", "Both legs: %.1f MiB against %.1f MiB on the link (**%s**), %.1f s against %.1f s (**%s**)."
              % (total["cut"], total["full"], ratio(total["cut"], total["full"]), wall["cut"], wall["full"],
                 ratio(wall["cut"], wall["full"]))]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "offbench"))
    parser.add_argument("--rate-mbit", type=int, default=100)
    parser.add_argument("--rtt-ms", type=int, default=10)
    parser.add_argument("--guest-mib", type=int, default=256)
    parser.add_argument("--disk-mib", type=int, default=256)
    parser.add_argument("--written-mib", type=int, default=128)
    parser.add_argument("--away-s", type=int, default=20)
    parser.add_argument("--doc", default=os.path.join(TOP, "docs", "offline.md"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    lab = conftest.Lab(args.lab)
    if not args.no_build:
        lab.playbook("playbooks/lab.yml")
        lab.playbook("playbooks/site.yml")
    guests = labguests.Guests(lab)
    name = "offbench"
    guests.names.append(name)
    records = tempfile.NamedTemporaryFile(prefix="offline-bench-", suffix=".jsonl", delete=False).name
    rows = []
    try:
        lab.guests([guest(name, args)])
        lab.virsh("cloud1", "destroy", name)
        lab.run("cloud1", "qemu-io -f qcow2 -c 'write -P 0x5a 2M %dM' %s/%s-data.qcow2"
                % (args.written_mib, IMAGES, name), timeout=600)
        lab.virsh("cloud1", "start", name)
        guests.wait_heartbeats("cloud1", name, 3)
        lab.playbook("playbooks/wan.yml", {"wan_hosts": "ws01", "wan_emulation_rate_mbit": args.rate_mbit,
                                           "wan_emulation_rtt_ms": args.rtt_ms, "wan_emulation_verify_from": "cloud1"})
        for layers in (False, True):
            rows += trip(lab, name, layers, args, records)
    finally:
        lab.playbook("playbooks/wan.yml", {"wan_hosts": "ws01", "wan_emulation_state": "absent"}, check=False)
        lab.playbook("tests/integration/playbooks/guests.yml",
                     {"vm_guests": [dict(guest(name, args), state="absent")]}, check=False)
        guests.remove(name)
        os.unlink(records)
    text = table(rows, args)
    print(text)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with open(os.path.join(TOP, "bench", "results", "offline-%s.json" % stamp), "w") as out:
        json.dump({"args": vars(args), "rows": rows}, out, indent=1)
    write_doc(args.doc, text, START, END)


if __name__ == "__main__":
    main()
