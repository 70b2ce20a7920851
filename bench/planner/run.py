#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: how close vm_migration_plan's prediction comes to the move it predicts, against
the estimate an admin makes by hand (guest memory / link rate), in one run.

For each memory-write load (0, 25, 50, 80 % of a working-set base at a fixed rate), on the lab
guest (cloud1 -> ws01, real QEMU under TCG), under each bandwidth cap: ask vm_migration_plan
(link = the cap, the move's strategy auto, post-copy not allowed), then move with vm_migrate strategy=auto at that cap,
and compare. Reported per load: predicted, hand-estimated and measured total time, each
estimate's ratio to the measurement, and the model's ratio once the lab's fixed cost of any
move (destination QEMU start under TCG, measured on the idle guest) is added to it.

    .venv/bin/python bench/planner/run.py [--lab planbench] [--caps 20,30,60] [--rate 50] [--base 256]
        [--guest-mib 384] [--loads 0,25,50,80] [--doc docs/planner.md] [--no-build] [--destroy]

Writes bench/results/planner-<time>.csv and the table between <!-- bench:planner:start --> and
<!-- bench:planner:end --> in --doc.
"""
import argparse
import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import (  # noqa: E402  pylint: disable=wrong-import-position
    DST, SRC, TOP, add_load_arguments, bench_lab, boot_loaded, run_ours, write_doc)
MBIT_PER_MIB_S = 8 * 1.048576
START, END = "<!-- bench:planner:start -->", "<!-- bench:planner:end -->"


def predict(lab, name, cap):
    args = {"name": name, "transport": lab.migration_transport, "link_mbit": round(cap * MBIT_PER_MIB_S, 1),
            "candidates": [{"host": DST, "rtt_to_user_ms": 0}], "allow_postcopy": False,
            "strategy": "auto", "first_round_ratio": 1}  # the move below: vm_migrate strategy=auto, no compression
    res = lab.module(SRC, "skillvl.offline_first.vm_migration_plan", args)
    if res.get("failed") or not res.get("prediction"):
        raise AssertionError("no prediction for %s: %s" % (name, res.get("msg")))
    return res


def ratio(estimate, measured):
    return round(estimate / measured, 2) if estimate and measured else None


def table(rows, args, overhead):
    lines = [
        "Lab guest %d MiB, %s -> %s (QEMU 10 TCG, libvirt 9), bandwidth caps %s MiB/s, each given to the planner as "
        "the link, writer rate %d MiB/s, load = %% of a %d MiB working-set base, vm_migrate strategy=auto without "
        "post-copy. Hand estimate = guest memory / cap. Fixed cost of any move here (idle guest's measured total "
        "minus its predicted total, per cap): %s s. Run %s. Ratio = estimate / measured (1.00 is exact)."
        % (args.guest_mib, SRC, DST, args.caps, args.rate, args.base,
           ", ".join("%s: %.1f" % (cap, cost) for cap, cost in sorted(overhead.items())),
           time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        "",
        "| cap MiB/s | load | dirty rate MiB/s (QEMU) | working set MiB (QEMU) | vCPU busy % | touched MiB "
        "| strategy predicted / used "
        "| throttle % predicted / used | measured s | model s "
        "| model ratio | model + fixed cost ratio | hand s | hand ratio | pause predicted / measured ms |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append("| %d | %d %% | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s | %s | %.1f | %s | %s / %s |" % (
            r["cap"], r["load_pct"], r["dirty_mib_s"], r.get("working_set_mib", "-"), r.get("cpu_busy_pct", "-"),
            r["touched_mib"], r["predicted_strategy"],
            r["strategy"], r.get("model_throttle_pct", "-"), r.get("throttle_pct", "-"),
            "%.1f" % r["total_s"] if r.get("total_s") else "-",
            "%.1f" % r["model_s"] if r.get("model_s") is not None else "never",
            r.get("model_ratio") or "-", r.get("model_fixed_ratio") or "-", r["hand_s"], r.get("hand_ratio") or "-",
            r.get("model_pause_ms"), r.get("downtime_ms") if r.get("downtime_ms") is not None else "-"))
    errors = sorted(abs(r["model_ratio"] - 1) for r in rows if r.get("model_ratio"))
    if errors:
        middle = len(errors) // 2
        median = errors[middle] if len(errors) % 2 else (errors[middle - 1] + errors[middle]) / 2
        lines += ["", "Median |model - measured| / measured of the total time: %.0f %% over %d moves (target: at most "
                  "15 %%)." % (median * 100, len(errors))]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    add_load_arguments(ap, "planbench", "planner.md", "0,25,50,80", 300, "vm_migrate timeout per move, s")
    ap.add_argument("--caps", default="20,30,60", help="bandwidth caps, MiB/s, comma-separated (the matrix's columns)")
    args = ap.parse_args()

    rows = []
    with bench_lab(args, "planb-") as (lab, guests):
        for cap in [int(x) for x in args.caps.split(",")]:
            for load_pct in [int(x) for x in args.loads.split(",")]:
                name = "planb-%d-%d" % (cap, load_pct)
                load_mib = boot_loaded(guests, name, args, load_pct)
                plan = predict(lab, name, cap)
                pred = plan["prediction"]
                row = run_ours(lab, name, cap, args.timeout, allow_postcopy=False)
                row.update(cap=cap, load_pct=load_pct, load_mib=load_mib, predicted_strategy=pred["runs_as"],
                           model_s=pred["total_s"] if pred["converges"] else None, model_pause_ms=pred["downtime_ms"],
                           dirty_mib_s=plan["vm"]["dirty_rate_mib_s"], touched_mib=plan["vm"]["touched_mib"],
                           working_set_mib=plan["vm"].get("working_set_mib"),
                           cpu_busy_pct=plan["vm"].get("cpu_busy_pct"), model_throttle_pct=pred.get("max_throttle_pct"),
                           hand_s=round(args.guest_mib / float(cap), 1))
                rows.append(row)
                print(json.dumps(row, sort_keys=True), flush=True)
                guests.remove(name)
    overhead = {}
    for r in rows:
        if r["load_pct"] == 0 and r.get("total_s") and r.get("model_s"):
            overhead[r["cap"]] = max(0.0, r["total_s"] - r["model_s"])
    for r in rows:
        fixed = overhead.get(r["cap"], 0.0)
        r["model_ratio"] = ratio(r.get("model_s"), r.get("total_s"))
        r["model_fixed_ratio"] = ratio((r["model_s"] + fixed) if r.get("model_s") is not None else None,
                                       r.get("total_s"))
        r["hand_ratio"] = ratio(r["hand_s"], r.get("total_s"))
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    out_csv = os.path.join(TOP, "bench", "results", "planner-%s.csv" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    keys = ["cap", "load_pct", "load_mib", "dirty_mib_s", "working_set_mib", "cpu_busy_pct", "model_throttle_pct",
            "touched_mib", "predicted_strategy", "strategy", "completed",
            "total_s", "model_s", "model_ratio", "model_fixed_ratio", "hand_s", "hand_ratio", "model_pause_ms",
            "downtime_ms", "throttle_pct", "iterations", "sent_mib", "error"]
    with open(out_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    text = table(rows, args, overhead)
    write_doc(args.doc, text, START, END)
    print(text)
    for key, what in (("model_ratio", "model"), ("model_fixed_ratio", "model + fixed cost"), ("hand_ratio", "hand")):
        print("%s / measured: %s" % (what, ", ".join("%d/%d%%=%s" % (r["cap"], r["load_pct"], r[key]) for r in rows)))
    print("csv: %s" % out_csv)
    return 0 if all(r["completed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
