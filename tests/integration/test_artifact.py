# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users install it (issue 13): the artifact `ansible-galaxy collection build`
makes from this checkout, after everything else `make test` leaves behind, installs into an empty
path, works with only its declared dependencies (tests/artifact/check_artifact.py), and runs a
module on a lab host from there."""
import json
import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(TOP, ".venv", "bin")


def test_the_built_artifact_installs_and_runs_with_its_declared_dependencies(lab, tmp_path):
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
                   cwd=TOP, check=True, capture_output=True, timeout=300)
    artifact = [f for f in os.listdir(str(tmp_path)) if f.endswith(".tar.gz")]
    assert len(artifact) == 1, artifact
    proc = subprocess.run([os.path.join(BIN, "python"), os.path.join(TOP, "tests", "artifact", "check_artifact.py"),
                           str(tmp_path / artifact[0]), str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-6000:]
    summary = json.loads(proc.stdout)
    assert summary["documented"]["module"] >= 20 and summary["documented"]["role"] >= 10, summary
    assert summary["files"] < 1000, summary

    # One module on a lab host, from the installed artifact and its inventory, nothing of the checkout.
    installed = summary["installed"]
    env = dict(lab.env, ANSIBLE_CONFIG=summary["ansible_config"], ANSIBLE_COLLECTIONS_PATH=summary["collections_path"],
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="json")
    env.pop("PYTHONPATH", None)
    argv = [os.path.join(BIN, "ansible"), "-i", os.path.join(installed, "inventories", "lab"), "cloud1",
            "-e", json.dumps({"lab_name": lab.name}), "-m", "skillvl.offline_first.vm_migration_info",
            "-a", json.dumps({"name": "demo"})]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    res = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["cloud1"]
    assert res.get("vm_state") == "running" and not res.get("failed"), res
