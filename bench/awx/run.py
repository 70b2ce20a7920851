#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the same move run the way AWX runs it, against the shell, in one run.

One lab guest moves cloud1 -> ws01 and back with playbooks/migrate.yml, --reps times each way:
- podman: ansible-playbook from the shell, the lab's podman connection (what make test uses; the baseline);
- ssh: ansible-playbook from the shell over SSH from the controller's namespace, host keys checked;
- ee: a job as AWX runs one (ansible-runner, the execution environment on podman, SSH with the
  key in an ssh-agent; tests/ee/test_ee_lab.py's job()).
Per way: the playbook's wall time and the move's own time (vm_migrate's report), medians;
reported as ratios to the baseline. The move is the same; what differs is how Ansible reaches the hosts.

    .venv/bin/python bench/awx/run.py [--lab awxbench] [--reps 3] [--doc docs/awx.md] [--no-build]

Writes bench/results/awx-<time>.json and the table between <!-- bench:awx:start --> and
<!-- bench:awx:end --> in --doc.
"""
import argparse
import json
import os
import re
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import TOP, write_doc  # noqa: E402  pylint: disable=wrong-import-position
import conftest  # noqa: E402  pylint: disable=wrong-import-position
import labguests  # noqa: E402  pylint: disable=wrong-import-position

sys.path.insert(0, os.path.join(TOP, "tests", "ee"))
import test_ee_lab  # noqa: E402  pylint: disable=wrong-import-position

START, END = "<!-- bench:awx:start -->", "<!-- bench:awx:end -->"
MOVE = re.compile(r'live-migrated to \S+ in ([0-9.]+) s')
WAYS = ("podman", "ssh", "ee")


def move(lab, way, name, target, image, tmp):
    """(wall s, move s) of one migrate.yml run."""
    extra = {"vm": name, "target": target}
    started = time.monotonic()
    if way == "ee":
        status, out = test_ee_lab.job(image, lab, tmp, "playbooks/migrate.yml", extra,
                                      "%s-%d" % (target, int(time.time() * 1000)))
        ok = status == "successful"
    else:
        proc = lab.playbook("playbooks/migrate.yml", extra, check=False, ssh=(way == "ssh"))
        ok, out = proc.returncode == 0, proc.stdout
    wall = time.monotonic() - started
    found = MOVE.search(out)
    if not ok or not found:
        raise AssertionError("%s: migrate.yml to %s failed:\n%s" % (way, target, out[-6000:]))
    return round(wall, 1), float(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "awxbench"))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--doc", default=os.path.join(TOP, "docs", "awx.md"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    lab = conftest.Lab(args.lab)
    if not args.no_build:
        lab.playbook("playbooks/lab.yml")
        lab.playbook("playbooks/site.yml")
    image = subprocess.run([os.path.join(TOP, "ee", "build.sh")], capture_output=True, text=True, check=True,
                           cwd=TOP).stdout.strip().splitlines()[-1]
    guests = labguests.Guests(lab)
    name = guests.boot("awxbench", host="cloud1")
    runs = dict((way, []) for way in WAYS)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="awxbench-"))
    try:
        for rep in range(args.reps):
            for way in WAYS:          # interleaved: the machine's noise falls on every way alike
                there = move(lab, way, name, "ws01", image, tmp)
                back = move(lab, way, name, "cloud1", image, tmp)
                runs[way] += [there, back]
                print("rep %d %-6s there %5.1f s (move %.1f s), back %5.1f s (move %.1f s)"
                      % (rep + 1, way, there[0], there[1], back[0], back[1]), flush=True)
    finally:
        guests.remove(name)

    medians = dict((way, (statistics.median(r[0] for r in runs[way]), statistics.median(r[1] for r in runs[way])))
                   for way in WAYS)
    base = medians["podman"]
    rows = ["| way | playbook wall time (median of %d moves) | the move itself (median) | wall time vs podman |"
            % (2 * args.reps), "|---|---|---|---|"]
    labels = {"podman": "shell, podman connection (baseline)", "ssh": "shell, SSH, host keys checked",
              "ee": "AWX-style job: ansible-runner, EE on podman, SSH"}
    for way in WAYS:
        wall, own = medians[way]
        rows.append("| %s | %.1f s | %.1f s | %.2fx |" % (labels[way], wall, own, wall / base[0]))
    table = "\n".join(rows + ["", "`bench/awx/run.py --reps %d`, %s, lab guest of 256 MiB cloud1 <-> ws01, "
                                  "one run, ways interleaved; 2 noisy cores: read it as an order of magnitude."
                                  % (args.reps, time.strftime("%Y-%m-%d"))])
    print(table)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    with open(os.path.join(TOP, "bench", "results", "awx-%s.json" % time.strftime("%Y%m%dT%H%M%S")), "w") as out:
        json.dump({"runs": runs, "medians": medians, "reps": args.reps}, out, indent=1)
    write_doc(args.doc, table, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
