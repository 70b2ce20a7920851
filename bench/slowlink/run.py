#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the research's slow link, vm_migrate with its slow-link settings against plain
`virsh migrate --live`.

The research's 37 Mbit/s and 36.8 ms, scaled as experiments/seeds.yml scales them (memory 2048
-> 256 MiB, rate / 8 = 4.6 Mbit/s, round trip unscaled), emulated on cloud1's underlay side by
the wan_emulation role (playbooks/wan.yml, the lab's forwarder). In one run, side by side, on the
lab guest cloud1 -> ws01, for RAM loads of 0, 50 and 80 % of the guest's free memory written at
a fixed rate:

- plain: `virsh migrate --live --persistent --undefinesource` with libvirt's defaults (pre-copy,
  one stream, no compression), given up after --timeout;
- ours: vm_migration_plan measures the guest and picks the settings for this link (post-copy
  allowed: the question is whether the move ends), vm_migrate runs them, bounded by the same
  --timeout (a move that has switched to post-copy is not aborted: from the switch on, it ends
  on the destination). The planner chooses among pre-copy, auto-converge, post-copy after a
  round and early post-copy, and adds XBZRLE for pre-copy rounds over a slow link (docs/planner.md).
  One stream: one fills a link this slow; zstd/zlib (multifd compression) need libvirt 9.4,
  Debian 12 has 9.0.

Per case: completed, total time, downtime, bytes on the wire, the planner's prediction; ours /
plain as ratios.

    .venv/bin/python bench/slowlink/run.py [--lab slow] [--loads 0,50,80] [--timeout 600]
        [--rate-mbit 4.6] [--rtt-ms 36.8] [--no-build] [--destroy] [--debian12-qemu]

Writes bench/results/slowlink-<time>.csv and the table between <!-- bench:slowlink:start -->
and <!-- bench:slowlink:end --> in docs/experiments.md.

--debian12-qemu runs both sides on Debian 12's own QEMU 7.2 instead of the lab's QEMU 10 from
bookworm-backports: apt downloads bookworm's qemu-system-x86 and qemu-system-common on this
machine, and the bench puts them into cloud1 and ws01 behind a wrapper for as long as it runs.
Only QEMU up to 8.1 compresses the first round with mt beside xbzrle. QEMU 7.2 under TCG loses a
writing guest's memory during a move (lab-notes), so this suits the idle case (--loads 0). Its
table goes between <!-- bench:slowlink-debian12:start --> and its end marker.
"""
import argparse
import contextlib
import csv
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import (  # noqa: E402  pylint: disable=wrong-import-position
    DST, MIB, SRC, TOP, bench_lab, boot_loaded, debian12_qemu, qemu_version, run_virsh, shape_wan, write_doc)

START, END = "<!-- bench:slowlink:start -->", "<!-- bench:slowlink:end -->"
# --debian12-qemu's table has a place of its own: the two QEMUs are never compared in one table
START12, END12 = "<!-- bench:slowlink-debian12:start -->", "<!-- bench:slowlink-debian12:end -->"
METHODS = ("plain", "ours")


def plan(lab, name, args):
    """vm_migration_plan's choice for this link: the strategy and the settings that run it."""
    params = {"name": name, "transport": lab.migration_transport, "link_mbit": args.rate_mbit,
              "allow_postcopy": True,
              "candidates": [{"host": DST, "rtt_to_user_ms": 0, "rtt_ms": args.rtt_ms}]}
    res = lab.module(SRC, "skillvl.offline_first.vm_migration_plan", params)
    if res.get("failed") or not res.get("settings"):
        raise AssertionError("no plan for %s: %s" % (name, res.get("msg")))
    return res


def describe(settings):
    words = [settings["strategy"] + (" + post-copy" if settings.get("allow_postcopy") and
                                     settings["strategy"] == "auto" else "")]
    if settings.get("compression"):
        words.append("%s %d MiB" % ("+".join(settings["compression"]), settings.get("xbzrle_cache") or 0))
    if settings.get("stall_max_downtime"):
        words.append("pause up to %d ms once stalled" % settings["stall_max_downtime"])
    return ", ".join(words)


def run_ours(lab, name, args):
    chosen = plan(lab, name, args)
    started = time.monotonic()
    params = dict(chosen["settings"], name=name, dest=DST, transport=lab.migration_transport,
                  timeout=args.timeout, timeout_action="abort")
    res = lab.module(SRC, "skillvl.offline_first.vm_migrate", params, timeout=args.timeout + 900)
    figs = res.get("figures") or {}
    ok = not res.get("failed") and res.get("state", {}).get("dest") == "running"
    pred = chosen["prediction"]
    return {"completed": ok, "wall_s": round(time.monotonic() - started, 2),
            "total_s": (figs.get("total_time_ms") or 0) / 1000.0 if ok else None,
            "downtime_ms": figs.get("downtime_ms") if ok else None,
            "sent_mib": round((figs.get("data_bytes") or 0) / MIB, 1) if ok else None,
            "iterations": figs.get("memory_iterations"), "throttle_pct": figs.get("auto_converge_throttle"),
            "strategy": "%s (planned %s; used %s)" % (describe(chosen["settings"]), chosen["strategy"],
                                                      res.get("strategy_used") or "-"),
            "predicted_s": pred["total_s"], "dirty_mib_s": chosen["vm"]["dirty_rate_mib_s"],
            "first_round_ratio": chosen["vm"].get("first_round_ratio"),
            "host": DST if ok else SRC, "error": None if ok else (res.get("msg") or "")[-200:]}


def table(rows, args, qemu):
    lines = [
        "Lab guest %d MiB (QEMU %s under TCG), cloud1 -> ws01 over the emulated WAN %.1f Mbit/s, %.1f ms round trip "
        "(the research's 37 Mbit/s and 36.8 ms scaled with the memory, experiments/seeds.yml); load = %% of %d MiB "
        "written at %d MiB/s; give-up %d s for both. Run %s."
        % (args.guest_mib, qemu, args.rate_mbit, args.rtt_ms, args.base, args.rate, args.timeout,
           time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        "",
        "| load | method | completed | total s | predicted s | downtime ms | on the wire MiB | iterations "
        "| max throttle % | how | ours / plain time | ours / plain bytes |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append("| %d %% | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["load_pct"], r["method"], "yes" if r["completed"] else "**no** (%d s)" % r["wall_s"],
            "%.1f" % r["total_s"] if r.get("total_s") else "-",
            "%.1f" % r["predicted_s"] if r.get("predicted_s") else "-",
            "%d" % r["downtime_ms"] if r.get("downtime_ms") is not None else "-",
            r.get("sent_mib") if r.get("sent_mib") is not None else "-",
            "%d" % r["iterations"] if r.get("iterations") else "-",
            "%d" % r["throttle_pct"] if r.get("throttle_pct") is not None else "-",
            r.get("strategy") or "-", r.get("time_ratio") or "-", r.get("bytes_ratio") or "-"))
    return "\n".join(lines)


def ratios(rows):
    by = {}
    for r in rows:
        by.setdefault(r["load_pct"], {})[r["method"]] = r
    for pair in by.values():
        ours, plain = pair.get("ours"), pair.get("plain")
        if not ours:
            continue
        if ours.get("total_s") and plain and plain.get("total_s"):
            ours["time_ratio"] = "%.2f" % (ours["total_s"] / plain["total_s"])
            ours["bytes_ratio"] = "%.2f" % (ours["sent_mib"] / plain["sent_mib"]) if plain.get("sent_mib") else "-"
        elif ours.get("total_s") and plain:
            ours["time_ratio"] = "plain did not end"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "slow"))
    ap.add_argument("--rate-mbit", type=float, default=4.6)
    ap.add_argument("--rtt-ms", type=float, default=36.8)
    ap.add_argument("--guest-mib", type=int, default=256)
    ap.add_argument("--base", type=int, default=192, help="free memory of the guest (100 %% load), MiB")
    ap.add_argument("--rate", type=int, default=2, help="memory writer rate, MiB/s")
    ap.add_argument("--loads", default="0,50,80")
    ap.add_argument("--timeout", type=int, default=600, help="give-up time of each move, s")
    ap.add_argument("--doc", default=os.path.join(TOP, "docs", "experiments.md"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--destroy", action="store_true")
    ap.add_argument("--debian12-qemu", action="store_true",
                    help="both sides on Debian 12's own QEMU 7.2 (apt downloads it) instead of the lab's")
    args = ap.parse_args()

    rows = []
    with bench_lab(args, "slow-") as (lab, guests), contextlib.ExitStack() as stack:
        if args.debian12_qemu:
            stack.enter_context(debian12_qemu(lab))
        qemu = qemu_version(lab)
        print(shape_wan(lab, args.rate_mbit, args.rtt_ms)[-1500:], flush=True)
        try:
            for load_pct in [int(x) for x in args.loads.split(",")]:
                for method in METHODS:
                    name = "slow-%d-%s" % (load_pct, method)
                    load_mib = boot_loaded(guests, name, args, load_pct)
                    if method == "plain":
                        row = run_virsh(lab, name, 0, args.timeout)
                    else:
                        row = run_ours(lab, name, args)
                    row.update(load_pct=load_pct, load_mib=load_mib, method=method)
                    rows.append(row)
                    print(json.dumps(row, sort_keys=True), flush=True)
                    guests.remove(name)
        finally:
            shape_wan(lab, state="absent")
    ratios(rows)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    out_csv = os.path.join(TOP, "bench", "results", "slowlink-%s.csv" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    keys = ["load_pct", "load_mib", "method", "completed", "total_s", "predicted_s", "wall_s", "downtime_ms",
            "sent_mib", "iterations", "throttle_pct", "dirty_mib_s", "first_round_ratio", "strategy", "time_ratio", "bytes_ratio", "host", "error"]
    with open(out_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    text = table(rows, args, qemu)
    write_doc(args.doc, text, *((START12, END12) if args.debian12_qemu else (START, END)))
    print(text)
    print("csv: %s" % out_csv)
    return 0 if all(r["completed"] for r in rows if r["method"] == "ours") else 1


if __name__ == "__main__":
    sys.exit(main())
