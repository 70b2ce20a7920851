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
share of the scaled slow link. Two more cases are the seeds design's guest itself: the NIC, address
and virtio-rng the vm role gives it (`seeds-guest`), and that guest asked for pi every 800 ms by
the research's client on ws02 (`seeds-guest-client`, the seeds' slow-link probe).

With --wan RATE_MBIT,RTT_MS the move runs over that emulated link instead (the wan_emulation role
on cloud1's underlay side, measured from ws01 before its first case, removed after the last): no
speed limit and a 300 ms pause budget, as the seeds' planner sets them (--budget-ms 300,2400: each
case once per budget), the end game watched from the move's second round on. --wan given again
adds links (the round-trip sweep: --wan 37,5 --wan 37,36.8 --wan 37,150). The WAN table also
gives what QEMU decides the switch-over by in the end game: the bandwidth it measured and the
pause it expected (medians of `domjobinfo`'s samples). It goes between
<!-- bench:idle-writer-wan:start --> and <!-- bench:idle-writer-wan:end -->, or with --mark NAME
between <!-- bench:idle-writer-NAME:start --> and <!-- bench:idle-writer-NAME:end -->.

    .venv/bin/python bench/idle_writer/run.py [--lab slow] [--no-build] [--destroy] [--window 40]
        [--cases hb-500,seeds-guest] [--wan 4.6,36.8 [--wan 4.6,5 ...] [--budget-ms 300,2400] [--mark rtt]]

Writes bench/results/idle-writer-<time>.csv and the table between <!-- bench:idle-writer:start -->
and <!-- bench:idle-writer:end --> in docs/experiments.md.
"""
import argparse
import csv
import os
import re
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import (  # noqa: E402  pylint: disable=wrong-import-position
    DST, MIB, SRC, TOP, bench_lab, jobinfo_bytes, parse_jobinfo, qemu_version, shape_wan, write_doc)

GUEST_MIB = 256
START, END = "<!-- bench:idle-writer:start -->", "<!-- bench:idle-writer:end -->"
WAN_START, WAN_END = "<!-- bench:idle-writer-wan:start -->", "<!-- bench:idle-writer-wan:end -->"
USER = "ws02"
SLOW_LINK_MIB_S = 4.6e6 / 8 / MIB
FIRST_ROUND_MIB_S = 10
END_GAME_MIB_S = 1
BUDGET_MS = 150
WAN_BUDGET_MS = 300                 # libvirt's default, the seeds' planner's
SLOW_DOWN_BELOW_MIB = 16
RNG = "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
NIC = ("<interface type='network'><source network='skillvl-ovl'/><model type='virtio'/>"
       "<mtu size='1450'/></interface>")
# the seeds guest's NIC as the vm role writes it (checksum offload off), and its address
SEEDS_NIC = ("<interface type='network'><source network='skillvl-ovl'/><model type='virtio'/>"
             "<driver name='qemu'><host csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/>"
             "<guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>"
             "<mtu size='1450'/></interface>")
SEEDS_ADDRESS = "203.0.113.59"
CASES = (
    dict(case="hb-500", hb_ms=500, nic=False),
    dict(case="hb-4000", hb_ms=4000, nic=False),
    dict(case="hb-10000", hb_ms=10000, nic=False),
    dict(case="hb-500-nic", hb_ms=500, nic=True),
    # the vm role gives its guests a virtio-rng, whose reads the device writes into guest memory
    dict(case="hb-500-rng", hb_ms=500, nic=False, rng=True),
    # the method's control: a writer as fast as the end game's link never lets the move end
    dict(case="hb-500-writer-1", hb_ms=500, nic=False, load_mib=4, rate_mib=1),
    dict(case="seeds-guest", hb_ms=500, nic=True, rng=True, seeds=True),
    dict(case="seeds-guest-client", hb_ms=500, nic=True, rng=True, seeds=True, client_ms=800),
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


def end_game(lab, name, window, wan=None, wan_budget_ms=WAN_BUDGET_MS):
    """The move's end game. Over the lab's own link: its first round at 10 MiB/s, then 1 MiB/s
    with a 150 ms pause budget. Over an emulated link (wan): at the link's pace with a
    wan_budget_ms pause budget. Returns (dirty pages/s samples, memory left samples (bytes), page
    size, rounds, seconds to converge or None, QEMU's bandwidth samples (MiB/s), its expected pause
    samples (ms))."""
    box = {}
    tls = lab.virsh_migrate_tls(DST)
    # the first round's bound: all of the guest's memory over the link, and a margin
    first_round_s = 120 if not wan else GUEST_MIB * MIB * 8 / (wan[0] * 1e6) + 60
    speed = "" if wan else "--bandwidth %d" % FIRST_ROUND_MIB_S

    def target():
        box["proc"] = lab.run(SRC, "virsh -c qemu:///system migrate --live %s %s %s %s"
                                   % (speed, tls, name, lab.libvirt_uri(DST)), check=False,
                              timeout=first_round_s + window + 180)
    thread = threading.Thread(target=target)
    thread.daemon = True
    thread.start()
    rates, left, page, rounds, converged = [], [], 4096, 0, None
    bandwidth, expected = [], []
    try:
        lab.wait_for(lambda: job(lab, name).get("Job type") == "Unbounded", 30, 0.5, "the move of %s to start" % name)
        lab.virsh(SRC, "migrate-setmaxdowntime", name, str(wan_budget_ms if wan else BUDGET_MS))
        if wan:
            lab.wait_for(lambda: not thread.is_alive() or _iteration(job(lab, name)) >= 2, first_round_s, 2,
                         "the end of %s's first round over the emulated link" % name)
        else:
            # slow down before the first round ends: its end is the first convergence check
            def nearly_sent():
                left = jobinfo_bytes(job(lab, name).get("Memory remaining"))
                return left is not None and left < SLOW_DOWN_BELOW_MIB * MIB
            lab.wait_for(nearly_sent, first_round_s, 0.5, "the end of %s's first round" % name)
            lab.virsh(SRC, "migrate-setspeed", name, str(END_GAME_MIB_S))
        started = time.monotonic()
        while time.monotonic() - started < window and thread.is_alive():
            info = job(lab, name)
            if info.get("Dirty rate") and _iteration(info) > 1:
                rates.append(float(info["Dirty rate"].split()[0]))
                left.append(jobinfo_bytes(info.get("Memory remaining")) or 0)
                page = int(float(info.get("Page size", "4096").split()[0]))
                rounds = _iteration(info)
                if info.get("Memory bandwidth"):
                    bandwidth.append(jobinfo_bytes(info["Memory bandwidth"].replace("/s", "")) / MIB)
                if info.get("Expected downtime"):
                    expected.append(float(info["Expected downtime"].split()[0]))
            time.sleep(2)
        thread.join(2)
        if not thread.is_alive():
            converged = round(time.monotonic() - started, 1)
            done = parse_jobinfo(lab.virsh(DST, "domjobinfo", name, "--completed", check=False).stdout)
            rounds = int(float(done.get("Iteration", rounds)))
    finally:
        if thread.is_alive():
            lab.virsh(SRC, "domjobabort", name, check=False)
            thread.join(first_round_s + 120)
    return rates, left, page, rounds, converged, bandwidth, expected


def _iteration(info):
    return int(float(info.get("Iteration", "1")))


class Client(object):
    """The research's pi client on ws02, asking the guest every interval_ms until stopped."""

    STOP = "/tmp/idle-writer-client.stop"

    def __init__(self, lab, interval_ms, bound_s):
        self.lab, self.box = lab, {}
        lab.run(USER, "rm -f %s" % self.STOP)
        params = {"host": SEEDS_ADDRESS, "request": "pi", "points": 100000, "interval_ms": interval_ms,
                  "seconds": bound_s, "stop_file": self.STOP}
        self.thread = threading.Thread(target=lambda: self.box.update(
            lab.module(USER, "skillvl.offline_first.service_probe", params, timeout=bound_s + 120)))
        self.thread.daemon = True
        self.thread.start()

    def stop(self):
        """Stop the client; (requests, answered)."""
        self.lab.run(USER, "touch %s" % self.STOP)
        self.thread.join(180)
        self.lab.run(USER, "rm -f %s" % self.STOP)
        if self.box.get("failed") or "answered" not in self.box:
            raise RuntimeError("the pi client failed: %s" % self.box.get("msg", self.box))
        return self.box["requests"], self.box["answered"]


def measure(lab, guests, spec, args, budget_ms=BUDGET_MS, wan=None):
    name = "idle-%s" % spec["case"]
    seeds = spec.get("seeds")
    guests.boot(name, mem_mib=GUEST_MIB, hb_ms=spec["hb_ms"],
                nic_xml=(SEEDS_NIC if seeds else NIC if spec["nic"] else "") + (RNG if spec.get("rng") else ""),
                kernel_args="skillvl.ip=%s/24 skillvl.mtu=1450" % SEEDS_ADDRESS if seeds else "",
                load_mib=spec.get("load_mib", 0), rate_mib=spec.get("rate_mib", 0))
    client = Client(lab, spec["client_ms"], 3600) if spec.get("client_ms") else None
    try:
        time.sleep(args.settle)
        reading = qemu_reading(lab, name)
        rates, left, page, rounds, converged, bandwidth, expected = end_game(lab, name, args.window, wan, budget_ms)
    finally:
        requests, answered = client.stop() if client else (0, 0)
    guests.remove(name)
    if client and not answered:
        raise RuntimeError("case %s: the pi client had no answer in %d requests" % (spec["case"], requests))
    pages = statistics.median(rates) if rates else 0.0
    mib_s = pages * page / MIB
    return dict(spec, rng=bool(spec.get("rng")), seeds=bool(seeds), client_ms=spec.get("client_ms", 0),
                client_answers="%d/%d" % (answered, requests) if client else "",
                load_mib=spec.get("load_mib", 0), rate_mib=spec.get("rate_mib", 0),
                link="%g Mbit/s, %g ms" % tuple(wan) if wan else "lab",
                budget_ms=budget_ms,
                qemu_reading_mib_s=reading, dirty_pages_s=round(pages, 1), low_pages_s=min(rates or [0]),
                high_pages_s=max(rates or [0]), dirty_mib_s=round(mib_s, 3), rounds=rounds, converged_s=converged,
                left_kib=round(statistics.median(left) / 1024) if left else None,
                low_left_kib=round(min(left) / 1024) if left else None,
                slow_link_share=round(mib_s / SLOW_LINK_MIB_S, 2), samples=len(rates),
                qemu_bandwidth_mib_s=round(statistics.median(bandwidth), 3) if bandwidth else None,
                expected_pause_ms=round(statistics.median(expected)) if expected else None)


def apply_wan(lab, wan):
    """Shape the emulated link; None, or why the WAN role refused it (its path was not what was
    asked): the sweep goes on with the next link and the table says which one did not run."""
    try:
        shape_wan(lab, *wan)
    except AssertionError as exc:
        found = re.search(r"is not what was asked: ([^(']+)", " ".join(str(exc).split()))
        return "the WAN role refused the path (%s)" % found.group(1).strip() if found else \
            "the WAN role failed: %s" % str(exc).splitlines()[0]
    return None


def table(rows, args, qemu, skipped=()):
    if args.wan:
        links = " and ".join("%g Mbit/s, %g ms" % link for link in args.wan)
        game = ("a pre-copy move over an emulated %s link (wan_emulation on cloud1's underlay side), no speed limit, "
                "the pause budget as given, watched for %d s from its second round on" % (links, args.window))
    else:
        game = ("a pre-copy move, its first round at %d MiB/s, then %d MiB/s with a %d ms pause budget, watched for "
                "%d s" % (FIRST_ROUND_MIB_S, END_GAME_MIB_S, BUDGET_MS, args.window))
    head = ("Lab guest %d MiB on cloud1, idle (no writer but in the control; the pi client only where named), QEMU %s "
            "TCG. QEMU's reading: `domdirtyrate-calc` over 5 s, whole MiB/s. The end game: %s; dirty pages/s is "
            "`domjobinfo`'s, sampled every 2 s from the second round on, as %s. NIC \"seeds\": the "
            "seeds guest's, as the vm role defines it, with its address (the pi service listens). Share of the slow "
            "link: of 4.6 Mbit/s (0.55 MiB/s). Run %s UTC."
            % (GUEST_MIB, qemu, game, "are the memory left, QEMU's bandwidth and the pause it expected (medians)" if args.wan
               else "is the memory left",
               time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
    columns = ["case", "heartbeat ms", "NIC", "writer MiB/s", "pi client (answered)", "QEMU's reading MiB/s",
               "pause budget ms", "converged after s", "rounds", "memory left KiB (median, min)",
               "dirty pages/s (median, min-max; samples)", "MiB/s", "share of the slow link"]
    if args.wan:
        columns[1:1] = ["link"]
        columns += ["QEMU's bandwidth MiB/s", "QEMU's expected pause ms"]
    lines = [head, "", "| %s |" % " | ".join(columns), "|%s" % ("---|" * len(columns))]
    for row in rows:
        cells = [row["case"], "%d" % row["hb_ms"], "seeds" if row["seeds"] else "yes" if row["nic"] else "no",
                 "%d" % row["rate_mib"],
                 "every %d ms (%s)" % (row["client_ms"], row["client_answers"]) if row["client_ms"] else "no",
                 "-" if row["qemu_reading_mib_s"] is None else "%g" % row["qemu_reading_mib_s"], "%d" % row["budget_ms"],
                 "no (%d s)" % args.window if row["converged_s"] is None else "%.1f" % row["converged_s"],
                 "%s" % (row["rounds"] or "-"),
                 "-" if row["left_kib"] is None else "%d, %d" % (row["left_kib"], row["low_left_kib"]),
                 "%.0f (%.0f-%.0f; %d)" % (row["dirty_pages_s"], row["low_pages_s"], row["high_pages_s"], row["samples"]),
                 "%.3f" % row["dirty_mib_s"], "%.2f" % row["slow_link_share"]]
        if args.wan:
            cells[1:1] = [row["link"]]
            cells += ["-" if row["qemu_bandwidth_mib_s"] is None else "%.3f" % row["qemu_bandwidth_mib_s"],
                      "-" if row["expected_pause_ms"] is None else "%d" % row["expected_pause_ms"]]
        lines.append("| %s |" % " | ".join(cells))
    for wan, why in skipped:
        lines += ["", "Not run over %g Mbit/s, %g ms: %s." % (wan + (why,))]
    return "\n".join(lines)


def budgets(text):
    """--budget-ms 300,2400."""
    values = [int(part) for part in text.split(",")]
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("--budget-ms wants pause budgets of 1 ms or more, not %s" % text)
    return values


def wan_link(text):
    """--wan RATE_MBIT,RTT_MS."""
    rate, rtt = (float(part) for part in text.split(","))
    if rate <= 0 or rtt < 0:
        raise argparse.ArgumentTypeError("--wan wants RATE_MBIT,RTT_MS with a rate above 0, not %s" % text)
    return rate, rtt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "slow"))
    ap.add_argument("--window", type=int, default=40, help="seconds the end game is watched")
    ap.add_argument("--settle", type=int, default=10, help="seconds the guest idles before it is measured")
    ap.add_argument("--cases", default=",".join(c["case"] for c in CASES))
    ap.add_argument("--doc", default=os.path.join(TOP, "docs", "experiments.md"))
    ap.add_argument("--wan", type=wan_link, metavar="RATE_MBIT,RTT_MS", action="append",
                    help="move over this emulated link (e.g. 4.6,36.8: the seeds' slow link); again for more links")
    ap.add_argument("--budget-ms", type=budgets, default=[WAN_BUDGET_MS],
                    help="pause budgets over the emulated link, ms, comma-separated (default %d)" % WAN_BUDGET_MS)
    ap.add_argument("--mark", help="the WAN table's markers: <!-- bench:idle-writer-MARK:start --> (default wan)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--destroy", action="store_true")
    args = ap.parse_args()
    wanted = args.cases.split(",")
    unknown = set(wanted) - set(c["case"] for c in CASES)
    if unknown:
        ap.error("unknown cases: %s" % ", ".join(sorted(unknown)))
    rows, skipped = [], []
    with bench_lab(args, "idle-") as (lab, guests):
        qemu = qemu_version(lab)
        try:
            for wan in args.wan or [None]:
                if wan:
                    refused = apply_wan(lab, wan)
                    if refused:
                        skipped.append((wan, refused))
                        print("not run: %g Mbit/s, %g ms: %s" % (wan + (refused,)), flush=True)
                        continue
                for spec in CASES:
                    for budget_ms in (args.budget_ms if wan else [BUDGET_MS]):
                        if spec["case"] in wanted:
                            rows.append(measure(lab, guests, spec, args, budget_ms, wan))
                            print(rows[-1], flush=True)
        finally:
            if args.wan:
                shape_wan(lab, state="absent")
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    out_csv = os.path.join(TOP, "bench", "results",
                           "idle-writer-%s.csv" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    if rows:
        with open(out_csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=sorted(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    text = table(rows, args, qemu, skipped)
    if args.mark:
        markers = ("<!-- bench:idle-writer-%s:start -->" % args.mark, "<!-- bench:idle-writer-%s:end -->" % args.mark)
    else:
        markers = (WAN_START, WAN_END) if args.wan else (START, END)
    write_doc(args.doc, text, *markers)
    print(text)
    if rows:
        print("csv: %s" % out_csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
