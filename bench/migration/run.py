#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: skillvl.offline_first.vm_migrate strategy=auto, by default (auto-converge) and with
post-copy allowed, against plain `virsh migrate --live`.

In one run, side by side, on the lab guest (cloud1 -> ws01, real QEMU under TCG), with
memory-write loads of 0, 25, 50, 80 and 100 % of a working-set base at a fixed rate, under
a bandwidth cap applied to both. Per case: completed or not, total time, downtime, bytes
sent, and the ratio of total time to the physical limit (touched memory / link rate, the
touched memory being the load plus the idle guest's resident memory measured in the same run).

    .venv/bin/python bench/migration/run.py [--lab mig] [--cap 40] [--rate 30] [--base 256]
        [--guest-mib 320] [--timeout 90] [--loads 0,25,50,80,100] [--doc docs/migration.md]

Builds the lab (playbooks/lab.yml + site.yml) unless --no-build; keeps it afterwards unless
--destroy. Writes bench/results/migration-<time>.csv and the table between the markers
<!-- bench:migration:start --> / <!-- bench:migration:end --> in --doc.
"""
import argparse
import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import (  # noqa: E402  pylint: disable=wrong-import-position
    SRC, TOP, add_load_arguments, bench_lab, boot_loaded, run_ours, run_virsh, write_doc)
START, END = "<!-- bench:migration:start -->", "<!-- bench:migration:end -->"


# method name -> how it runs
METHODS = ("virsh", "auto", "auto+postcopy")


def table(rows, cap, rate, base, guest_mib, overhead):
    lines = [
        "Lab guest %d MiB, cloud1 -> ws01 (QEMU 10 TCG, libvirt 9, plain TCP), bandwidth cap %d MiB/s for both, "
        "writer rate %d MiB/s, load = %% of a %d MiB working-set base. Physical limit = touched memory / cap. "
        "Run %s. Net ratio = (total - %.1f s) / limit: %.1f s is the fixed cost of any migration here "
        "(idle guest's total minus its transfer time: destination QEMU start under TCG, handshakes)."
        % (guest_mib, cap, rate, base, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), overhead, overhead),
        "",
        "| load | method | completed | guest alive | total s | downtime ms | sent MiB | iterations | strategy used "
        "| max throttle % | limit s | ratio | net ratio |",
        "|---:|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append("| %d %% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %s |" % (
            r["load_pct"], r["method"], "yes" if r["completed"] else "**no**",
            "yes" if r.get("alive") and not r.get("memerr") else "**no**",
            "%.1f" % r["total_s"] if r.get("total_s") else "-",
            "%d" % r["downtime_ms"] if r.get("downtime_ms") is not None else "-",
            r.get("sent_mib") if r.get("sent_mib") is not None else "-",
            "%d" % r["iterations"] if r.get("iterations") else "-",
            r.get("strategy") or "-",
            "%d" % r["throttle_pct"] if r.get("throttle_pct") is not None else "-", r["limit_s"],
            "%.2f" % r["ratio"] if r.get("ratio") else "-",
            "%.2f" % r["net_ratio"] if r.get("net_ratio") else "-"))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    add_load_arguments(ap, "migbench", "migration.md", "0,25,50,80,100", 60, "give-up time per virsh run, s")
    args = ap.parse_args()

    rows = []
    idle_touched = None
    with bench_lab(args, "migb-") as (lab, guests):
        for load_pct in [int(x) for x in args.loads.split(",")]:
            for method in METHODS:
                name = "migb-%d-%s" % (load_pct, method)
                load_mib = boot_loaded(guests, name, args, load_pct)
                before = guests.last_seq(SRC, name)
                if method == "virsh":
                    row = run_virsh(lab, name, args.cap, args.timeout)
                else:
                    row = run_ours(lab, name, args.cap, args.timeout, allow_postcopy=method == "auto+postcopy")
                try:
                    alive = guests.wait_heartbeats(row["host"], name, 3, after=before, timeout=60)
                except AssertionError:
                    alive = None
                row.update(load_pct=load_pct, load_mib=load_mib, method=method,
                           alive=bool(alive), memerr=alive["memerr"] if alive else None)
                if load_pct == 0 and method == "auto" and row["completed"]:
                    idle_touched = row["sent_mib"]
                rows.append(row)
                print(json.dumps(row, sort_keys=True), flush=True)
                guests.remove(name)
    idle_touched = idle_touched or 0.0
    idle = [r for r in rows if r["load_pct"] == 0 and r["method"] == "auto" and r.get("total_s")]
    # fixed cost of any migration here (destination QEMU start under TCG, handshakes): idle total - idle transfer
    overhead = max(0.0, idle[0]["total_s"] - idle_touched / float(args.cap)) if idle else 0.0
    for row in rows:
        row["limit_s"] = round((row["load_mib"] + idle_touched) / float(args.cap), 2)
        row["ratio"] = round(row["total_s"] / row["limit_s"], 2) if row.get("total_s") and row["limit_s"] else None
        row["net_ratio"] = (round((row["total_s"] - overhead) / row["limit_s"], 2)
                            if row.get("total_s") and row["limit_s"] else None)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out_csv = os.path.join(TOP, "bench", "results", "migration-%s.csv" % stamp)
    keys = ["load_pct", "load_mib", "method", "completed", "total_s", "wall_s", "downtime_ms", "sent_mib",
            "iterations", "strategy", "throttle_pct", "limit_s", "ratio", "net_ratio", "pre_dirty_mib_s", "why", "alive", "memerr", "host", "error"]
    with open(out_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    text = table(rows, args.cap, args.rate, args.base, args.guest_mib, overhead)
    write_doc(args.doc, text, START, END)
    print(text)
    by = {}
    for r in rows:
        by.setdefault(r["load_pct"], {})[r["method"]] = r
    for method in METHODS[1:]:
        print("%s / physical limit: " % method + ", ".join(
            "%d%%=%s" % (r["load_pct"], r["ratio"]) for r in rows if r["method"] == method))
        print("%s / virsh total time: " % method + ", ".join(
            "%d%%=%s" % (k, round(v[method]["total_s"] / v["virsh"]["total_s"], 2)
                         if v.get(method, {}).get("total_s") and v.get("virsh", {}).get("total_s") else "n/a")
            for k, v in sorted(by.items())))
    print("auto / auto+postcopy total time: " + ", ".join(
        "%d%%=%s" % (k, round(v["auto"]["total_s"] / v["auto+postcopy"]["total_s"], 2)
                     if v.get("auto", {}).get("total_s") and v.get("auto+postcopy", {}).get("total_s") else "n/a")
        for k, v in sorted(by.items())))
    print("csv: %s" % out_csv)
    return 0 if all(r["completed"] for r in rows if r["method"] != "virsh") else 1


if __name__ == "__main__":
    sys.exit(main())
