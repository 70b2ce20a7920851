# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/experiment.yml with experiments/quick.yml in the lab (issue 11): a two-point matrix
over a 60 Mbit/s, 10 ms link, stopped after its first run and resumed, the CSV's columns and
values, the raw samples, the plots; bad designs refused before anything runs.
Run: SKILLVL_LAB_NAME=exp pytest tests/integration/test_wan_experiment.py
"""
import csv
import json
import os
import shutil
import struct

import pytest
import yaml
from ansible_collections.skillvl.offline_first.plugins.module_utils.net.wan import check_measured

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(TOP, "experiments", "quick.yml")) as _f:
    QUICK = yaml.safe_load(_f)["experiment"]


@pytest.fixture
def results_dir(lab):
    path = "/tmp/%s-experiment-quick" % lab.name
    shutil.rmtree(path, ignore_errors=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def experiment(lab, results_dir, design=None, **extra):
    ev = {"experiment_results_dir": results_dir}
    if "experiment_file" not in extra:
        ev["experiment"] = design or QUICK
    ev.update(extra)
    return lab.playbook("playbooks/experiment.yml", ev, check=False)


def rows(results_dir):
    with open(os.path.join(results_dir, "results.csv")) as handle:
        return list(csv.DictReader(handle))


def png_size(path):
    """(width, height) of a PNG file, from its header; fails for anything else."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("change, words", [
    ({"strategies": ["auto", "warp"]}, "strategies must be among precopy, auto, auto_converge, postcopy; not: warp"),
    ({"links": [{"name": "bad", "rate_mbit": -5, "rtt_ms": 10}]}, "links[bad].rate_mbit must be at least 0.001"),
    ({"ram_pct": [0, 120]}, "ram_pct must be 0 to 100, not 120"),
])
def test_a_bad_design_is_refused_before_anything_runs(lab, results_dir, change, words):
    proc = experiment(lab, results_dir, dict(QUICK, **change))
    assert proc.returncode != 0 and words in proc.stdout, proc.stdout[-3000:]
    assert "Create and start the guest" not in proc.stdout and not os.path.exists(results_dir)


def test_the_quick_matrix_runs_resumes_and_plots(lab, results_dir):
    first = experiment(lab, results_dir, experiment_max_runs=1)
    assert first.returncode == 0, first.stdout[-6000:]
    assert "2 runs, 2 left" in first.stdout and len(rows(results_dir)) == 1
    # the rest of the matrix: only the run that is left runs; the design named as an AWX survey
    # names it (experiment_file, a file of experiments/)
    second = experiment(lab, results_dir, experiment_file="quick.yml")
    assert second.returncode == 0, second.stdout[-6000:]
    assert "2 runs, 1 left" in second.stdout and "run 1 of 2" not in second.stdout, second.stdout[-4000:]

    done = rows(results_dir)
    assert [r["id"] for r in done] == ["wan60-c0-r0-auto-1", "wan60-c0-r50-auto-1"], done
    idle, loaded = done
    for row in done:
        assert row["moved"] == "true" and not row["error"], row
        assert float(row["total_s"]) > 0 and float(row["data_mib"]) > 0, row
        assert float(row["downtime_ms"]) > 0 and float(row["app_downtime_ms"]) > 0, row   # QEMU's and the user's
        assert int(row["requests"]) > 50 and float(row["latency_p50_ms"]) > 0, row
        assert float(row["predicted_total_s"]) > 0 and row["prediction_error_pct"], row
        # the WAN role measured the link it set, and the row holds figures its own check passes
        path = {"mbit": float(row["path_mbit"]), "rtt_ms": {"median": float(row["path_rtt_ms"])}}
        assert not check_measured(QUICK["links"][0], path, rtt_slack_ms=lab.wan_rtt_slack_ms), row
    # the load is real: the writer's region and the dirty rate QEMU measured rise with RAM load
    assert int(idle["writer_mib"]) == 0 and int(loaded["writer_mib"]) == 96
    assert float(loaded["dirty_rate_mib_s"]) > float(idle["dirty_rate_mib_s"]) + 2, (idle, loaded)

    with open(os.path.join(results_dir, "samples", "wan60-c0-r50-auto-1.json")) as handle:
        raw = json.load(handle)
    assert raw["run"]["ram_pct"] == 50 and len(raw["samples"]) == int(loaded["requests"])
    # what the planner measured and predicted, so a later model can be checked against this run
    assert raw["plan"]["vm"]["dirty_rate_mib_s"] == float(loaded["dirty_rate_mib_s"]), raw["plan"]
    assert raw["plan"]["prediction"]["total_s"] == float(loaded["predicted_total_s"]), raw["plan"]
    for name in ("time_vs_ram.png", "time_vs_cpu.png", "response_wan60.png", "downtime.png", "prediction.png"):
        width, height = png_size(os.path.join(results_dir, name))
        assert width >= 300 and height >= 300, name
    # the guest is home and the path plain again
    assert lab.virsh(QUICK["source"], "domstate", QUICK["vm"]["name"]).stdout.strip() == "running"
    assert not os.path.exists("/run/skillvl/wan/%s-underlay--%s.json" % (lab.name, QUICK["target"]))
    lab.playbook("tests/integration/playbooks/guests.yml",
                 {"vm_guests": [dict(QUICK["vm"]["guest"], state="absent")]})
