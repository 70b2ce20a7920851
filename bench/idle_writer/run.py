#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: what an idle lab guest dirties, by what it runs beside its kernel.

On the scaled slow link (4.6 Mbit/s, experiments/seeds.yml) an idle guest's move did not end:
QEMU counted about 150 dirty pages/s where its dirty-rate calculation read 0 MiB/s. This bench
finds the writer. Per case the lab guest (256 MiB) boots on cloud1 and idles, then:

- QEMU's own reading: `virsh domdirtyrate-calc` over 5 s (what the planner sees, whole MiB/s);
- a pre-copy move to ws01 that meets the slow link's end game: its first round at 10 MiB/s, the
  rest at 1 MiB/s with a 150 ms pause budget (150 KiB may be left for the pause, as 300 ms of
  4.6 Mbit/s leave 168 KiB). `virsh domjobinfo`'s dirty rate (pages/s, counted at each round's
  bitmap sync) is sampled every 2 s for --window s; a move that ends in that time converged, one
  that does not is aborted (the guest stays on cloud1).

Cases: the heartbeat every 500 ms (the seeds design), every 4 s, every 10 s (the kernel nearly
alone), every 500 ms with a NIC on the overlay (the seeds guest has one), with the vm role's
virtio-rng, and, as the method's
control, with the guest's writer rewriting 4 MiB at 1 MiB/s. Each case's rate is also given as a
share of the scaled slow link.

    .venv/bin/python bench/idle_writer/run.py [--lab slow] [--no-build] [--destroy] [--window 40]

Writes bench/results/idle-writer-<time>.csv and the table between <!-- bench:idle-writer:start -->
and <!-- bench:idle-writer:end --> in docs/experiments.md.
"""
import argparse
import csv
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import (  # noqa: E402  pylint: disable=wrong-import-position
    DST, MIB, SRC, TOP, bench_lab, jobinfo_bytes, parse_jobinfo, qemu_version, write_doc)

START, END = "<!-- bench:idle-writer:start -->", "<!-- bench:idle-writer:end -->"
SLOW_LINK_MIB_S = 4.6e6 / 8 / MIB
FIRST_ROUND_MIB_S = 10
END_GAME_MIB_S = 1
BUDGET_MS = 150
SLOW_DOWN_BELOW_MIB = 16
RNG = "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
NIC = ("<interface type='network'><source network='skillvl-ovl'/><model type='virtio'/>"
       "<mtu size='1450'/></interface>")
CASES = (
    dict(case="hb-500", hb_ms=500, nic=False),
    dict(case="hb-4000", hb_ms=4000, nic=False),
    dict(case="hb-10000", hb_ms=10000, nic=False),
    dict(case="hb-500-nic", hb_ms=500, nic=True),
    # the vm role gives its guests a virtio-rng, whose reads the device writes into guest memory
    dict(case="hb-500-rng", hb_ms=500, nic=False, rng=True),
    # the method's control: a writer as fast as the end game's link never lets the move end
    dict(case="hb-500-writer-1", hb_ms=500, nic=False, load_mib=4, rate_mib=1),
)


def qemu_reading(lab, name, seconds=5):
    """QEMU's dirty-rate calculation, as the planner asks for it: MiB/s (whole), or None."""
    lab.virsh(SRC, "domdirtyrate-calc", name, "--seconds", str(seconds))
    deadline = time.monotonic() + seconds + 10
    while time.monotonic() < deadline:
        time.sleep(1)
        stats = parse_stats(lab.virsh(SRC, "domstats", name, "--dirtyrate").stdout)
        if stats.get("dirtyrate.calc_status") == "2":
            return float(stats.get("dirtyrate.megabytes_per_second", "nan"))
    return None


def parse_stats(text):
    return dict(line.strip().split("=", 1) for line in text.splitlines() if "=" in line)


def job(lab, name):
    return parse_jobinfo(lab.virsh(SRC, "domjobinfo", name, check=False).stdout)


def end_game(lab, name, window):
    """The move's end game at 1 MiB/s and a 150 ms budget: (dirty pages/s samples, page size,
    rounds, seconds to converge or None)."""
    box = {}
    tls = lab.virsh_migrate_tls(DST)

    def target():
        box["proc"] = lab.run(SRC, "virsh -c qemu:///system migrate --live --bandwidth %d %s %s %s"
                                   % (FIRST_ROUND_MIB_S, tls, name, lab.libvirt_uri(DST)), check=False, timeout=300)
    thread = threading.Thread(target=target)
    thread.daemon = True
    thread.start()
    rates, page, rounds, converged = [], 4096, 0, None
    try:
        lab.wait_for(lambda: job(lab, name).get("Job type") == "Unbounded", 30, 0.5, "the move of %s to start" % name)
        lab.virsh(SRC, "migrate-setmaxdowntime", name, str(BUDGET_MS))

        # slow down before the first round ends: its end is the first convergence check
        def nearly_sent():
            left = jobinfo_bytes(job(lab, name).get("Memory remaining"))
            return left is not None and left < SLOW_DOWN_BELOW_MIB * MIB
        lab.wait_for(nearly_sent, 120, 0.5, "the end of %s's first round" % name)
        lab.virsh(SRC, "migrate-setspeed", name, str(END_GAME_MIB_S))
        started = time.monotonic()
        while time.monotonic() - started < window and thread.is_alive():
            info = job(lab, name)
            if info.get("Dirty rate") and info.get("Iteration", "1") != "1":
                rates.append(float(info["Dirty rate"].split()[0]))
                page = int(float(info.get("Page size", "4096").split()[0]))
                rounds = int(float(info["Iteration"]))
            time.sleep(2)
        thread.join(2)
        if not thread.is_alive():
            converged = round(time.monotonic() - started, 1)
            done = parse_jobinfo(lab.virsh(DST, "domjobinfo", name, "--completed", check=False).stdout)
            rounds = int(float(done.get("Iteration", rounds)))
    finally:
        if thread.is_alive():
            lab.virsh(SRC, "domjobabort", name, check=False)
            thread.join(120)
    return rates, page, rounds, converged


def measure(lab, guests, spec, args):
    name = "idle-%s" % spec["case"]
    guests.boot(name, mem_mib=256, hb_ms=spec["hb_ms"],
                nic_xml=(NIC if spec["nic"] else "") + (RNG if spec.get("rng") else ""),
                load_mib=spec.get("load_mib", 0), rate_mib=spec.get("rate_mib", 0))
    time.sleep(args.settle)
    reading = qemu_reading(lab, name)
    rates, page, rounds, converged = end_game(lab, name, args.window)
    guests.remove(name)
    pages = statistics.median(rates) if rates else 0.0
    mib_s = pages * page / MIB
    return dict(spec, rng=bool(spec.get("rng")), load_mib=spec.get("load_mib", 0), rate_mib=spec.get("rate_mib", 0),
                qemu_reading_mib_s=reading, dirty_pages_s=round(pages, 1), low_pages_s=min(rates or [0]),
                high_pages_s=max(rates or [0]), dirty_mib_s=round(mib_s, 3), rounds=rounds, converged_s=converged,
                slow_link_share=round(mib_s / SLOW_LINK_MIB_S, 2), samples=len(rates))


def table(rows, args, qemu):
    lines = ["Lab guest 256 MiB on cloud1, idle (no client; no writer but in the control), QEMU %s TCG. QEMU's reading: "
             "`domdirtyrate-calc` over 5 s, whole MiB/s. The end game: a pre-copy move, its first round at %d MiB/s, "
             "then %d MiB/s with a %d ms pause budget, watched for %d s; dirty pages/s is `domjobinfo`'s, sampled "
             "every 2 s from the second round on. Share of the slow link: of 4.6 Mbit/s (0.55 MiB/s). Run %s UTC."
             % (qemu, FIRST_ROUND_MIB_S, END_GAME_MIB_S, BUDGET_MS, args.window,
                time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
             "",
             "| case | heartbeat ms | NIC | writer MiB/s | QEMU's reading MiB/s | converged after s | rounds | dirty pages/s "
             "(median, min-max; samples) | MiB/s | share of the slow link |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append("| %s | %d | %s | %d | %s | %s | %s | %.0f (%.0f-%.0f; %d) | %.3f | %.2f |" % (
            row["case"], row["hb_ms"], "yes" if row["nic"] else "no", row["rate_mib"],
            "-" if row["qemu_reading_mib_s"] is None else "%g" % row["qemu_reading_mib_s"],
            "no (%d s)" % args.window if row["converged_s"] is None else "%.1f" % row["converged_s"],
            row["rounds"] or "-", row["dirty_pages_s"], row["low_pages_s"], row["high_pages_s"], row["samples"],
            row["dirty_mib_s"], row["slow_link_share"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "slow"))
    ap.add_argument("--window", type=int, default=40, help="seconds the end game is watched")
    ap.add_argument("--settle", type=int, default=10, help="seconds the guest idles before it is measured")
    ap.add_argument("--cases", default=",".join(c["case"] for c in CASES))
    ap.add_argument("--doc", default=os.path.join(TOP, "docs", "experiments.md"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--destroy", action="store_true")
    args = ap.parse_args()
    wanted = args.cases.split(",")
    rows = []
    with bench_lab(args, "idle-") as (lab, guests):
        qemu = qemu_version(lab)
        for spec in CASES:
            if spec["case"] in wanted:
                rows.append(measure(lab, guests, spec, args))
                print(rows[-1], flush=True)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    out_csv = os.path.join(TOP, "bench", "results",
                           "idle-writer-%s.csv" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    with open(out_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=sorted(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = table(rows, args, qemu)
    write_doc(args.doc, text, START, END)
    print(text)
    print("csv: %s" % out_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
