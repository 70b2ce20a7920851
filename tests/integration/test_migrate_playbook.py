# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/migrate.yml as an admin (or an AWX job) runs it, in the lab: a failed move fails
the play, the move starts from exactly one host, --check and --limit behave.
"""
import json
import os
import re
import stat
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import HYPERVISORS, IMAGES  # noqa: E402  pylint: disable=wrong-import-position

LOG_DIR = "/var/log/skillvl-migration"


@pytest.fixture(scope="module", autouse=True)
def progress_logs(lab):
    """Remove the progress logs of this module's guests from every hypervisor."""
    yield
    for host in HYPERVISORS:
        lab.run(host, "rm -f %s/mpb-*.jsonl" % LOG_DIR, check=False)


def migrate_yml(lab, vm, target, args=(), **extra):
    ev = {"vm": vm, "target": target}
    ev.update(extra)
    return lab.playbook("playbooks/migrate.yml", ev, check=False, args=args)


def task_hosts(stdout, task):
    """For each run of a task in a playbook's output, the hosts it reported on."""
    runs = []
    for section in stdout.split("TASK [%s]" % task)[1:]:
        section = section.split("\nTASK [")[0].split("\nPLAY [")[0]
        runs.append(sorted(set(re.findall(r"^(?:ok|changed|fatal|failed|skipping): \[([^\]\s]+)", section, re.M))))
    return runs


def records_file(lab, name):
    """A move-record file of this test's own on the controller (migrate.yml's skillvl_migration_records)."""
    path = "/tmp/%s-%s-records.jsonl" % (lab.name, name)
    if os.path.exists(path):
        os.remove(path)
    return path


def read_records(path):
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def where(guests, name):
    return dict((h, guests.state(h, name)) for h in HYPERVISORS)


def test_a_failed_move_fails_the_play_and_the_vm_stays(lab, guests):
    """The admin's case: a local disk, storage defaulting to shared: refused, rc != 0, VM untouched."""
    name = "mpb-local"
    guests.names.append(name)
    guests.remove(name)
    disk = "%s/%s.raw" % (IMAGES, name)
    lab.run("cloud1", "truncate -s 16M %s" % disk)
    guests.boot(name, host="cloud1", clean=False, disk=disk)
    before = guests.last_seq("cloud1", name)

    records = records_file(lab, name)
    proc = migrate_yml(lab, name, "ws01", skillvl_migration_records=records)
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "did not move" in proc.stdout and "storage=copy" in proc.stdout, proc.stdout[-4000:]
    assert "moved from" not in proc.stdout
    # the refused move is recorded too, without a prediction (the pre-flight said no)
    (record,) = read_records(records)
    assert record["vm"] == name and record["source"] == "cloud1" and record["target"] == "ws01", record
    assert record["moved"] is False and "storage=copy" in record["msg"] and record["prediction"] is None, record
    assert record["outcome"]["text"] == "no prediction; not measured: the move did not finish", record
    os.remove(records)
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    guests.assert_alive("cloud1", name, before, "refused move")


def test_check_mode_and_limit_move_nothing(lab, guests):
    name = guests.boot("mpb-check", host="cloud1")

    proc = migrate_yml(lab, name, "ws01", args=["--check"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "would live-migrate" in proc.stdout and "would move from cloud1 to ws01" in proc.stdout
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}
    # the lab's link holds an idle guest's end game in the 300 ms pause budget: no raised pause
    assert "the pause may grow" not in proc.stdout, proc.stdout[-4000:]
    # over a link too slow for that (4.6 Mbit/s, as no recorded move says otherwise), the inventory's
    # "planned" gives vm_migrate the plan's raised pause: 1.39 MB at 4.6 Mbit/s, 2.5 s
    proc = migrate_yml(lab, name, "ws01", args=["--check"], skillvl_migration_link_mbit=4.6,
                       skillvl_migration_records=records_file(lab, name))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    text = " ".join(proc.stdout.split())
    # in the plan's message and in what vm_migrate would do
    assert text.count("should pre-copy stall, the pause may grow to 2500 ms") == 2, text[-4000:]
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}

    proc = migrate_yml(lab, name, "ws01", args=["--limit", "ws01"])
    assert proc.returncode != 0
    assert "runs on cloud1, which this run excludes (--limit)" in proc.stdout, proc.stdout[-4000:]
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "absent"}

    proc = migrate_yml(lab, name, "ws01", source="ws02")
    assert proc.returncode != 0 and "not on the source ws02 given" in proc.stdout, proc.stdout[-4000:]
    guests.remove(name)


def test_two_running_copies_are_refused(lab, guests):
    """Two QEMUs of one VM name (each with its own memory): neither is touched."""
    name = guests.boot("mpb-twice", host="cloud1")
    guests.boot(name, host="ws02", clean=False)

    proc = migrate_yml(lab, name, "ws01")
    assert proc.returncode != 0
    assert "VM %s runs on cloud1 and ws02" % name in proc.stdout, proc.stdout[-4000:]
    assert where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "running"}
    for host in HYPERVISORS:
        assert lab.run(host, "test -e %s/%s.jsonl" % (LOG_DIR, name), check=False).returncode != 0, host
    guests.remove(name)


def test_one_source_there_and_back_despite_a_stale_definition(lab, guests):
    """A stopped leftover definition on ws02 is not a second source; two imports in one run
    (make demo does that) each start from the host the VM runs on; -e strategy=planned moves
    with the planner's settings."""
    name = guests.boot("mpb-move", host="cloud1")
    xml = lab.virsh("cloud1", "dumpxml", name).stdout
    lab.run("ws02", "cat > /tmp/%s.xml" % name, input=xml)
    lab.virsh("ws02", "define", "/tmp/%s.xml" % name)
    before = guests.last_seq("cloud1", name)

    records = records_file(lab, name)
    proc = lab.playbook("tests/integration/playbooks/migrate_there_and_back.yml",
                        {"vm": name, "there": "ws01", "back": "cloud1", "skillvl_migration_records": records,
                         "strategy": "planned"},
                        check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    # each move was predicted before it started, and recorded with its prediction and its figures
    assert proc.stdout.count('move VM "%s" to ' % name) == 2, proc.stdout[-6000:]
    there, back = read_records(records)
    assert (there["source"], there["target"], back["source"], back["target"]) == ("cloud1", "ws01", "ws01", "cloud1")
    # the way there: no recorded move, so a probe measured the path; the way back plans with the
    # rate QEMU measured on the way there (one path, either direction)
    assert there["link"]["source"].startswith("probed"), there
    assert there["link"]["link_mbit"] == there["link"]["probe"]["mbit"] > 0, there
    assert back["link"]["source"].startswith("recorded: median of the last 1 move(s)"), back
    assert back["link"]["samples"] and back["link"]["link_mbit"] == back["link"]["samples"][0], back
    # both moves ran with the planner's settings for the strategy it predicted (no post-copy allowed)
    for record in (there, back):
        assert record["settings"]["strategy"] == record["prediction"]["strategy"], record
        assert record["prediction"]["strategy"] in ("precopy", "auto_converge"), record
    for record in (there, back):
        assert record["moved"] is True and record["figures"]["total_time_ms"] > 0, record
        assert record["prediction"]["converges"] and record["prediction"]["total_s"] > 0, record
        assert record["vm_inputs"]["memory_mib"] == 256 and record["vm_inputs"]["sources"]["dirty_rate"].startswith(
            "measured"), record
        # the prediction beside the measurement, in the record and in the play's report
        result = record["outcome"]
        assert result["predicted_s"] == record["prediction"]["total_s"], record
        assert result["measured_s"] == round(record["figures"]["total_time_ms"] / 1000.0, 2), record
        assert abs(result["error_pct"] - (result["predicted_s"] / result["measured_s"] - 1) * 100) < 0.5, result
        # (the YAML callback folds long lines)
        assert " ".join(result["text"].split()) in " ".join(proc.stdout.split()), (result, proc.stdout[-6000:])
    os.remove(records)
    assert "VM %s moved from cloud1 to ws01" % name in proc.stdout
    assert "VM %s moved from ws01 to cloud1" % name in proc.stdout
    assert "did not move" not in proc.stdout
    assert where(guests, name) == {"cloud1": "running", "ws01": "shut off", "ws02": "shut off"} or \
        where(guests, name) == {"cloud1": "running", "ws01": "absent", "ws02": "shut off"}
    # each import starts one migration, from the host the VM runs on then
    assert task_hosts(proc.stdout, "Pre-flight") == [["cloud1"], ["ws01"]], proc.stdout[-6000:]
    assert lab.run("ws02", "test -e %s/%s.jsonl" % (LOG_DIR, name), check=False).returncode != 0, \
        "a migration was started from the stale definition on ws02"
    guests.assert_alive("cloud1", name, before, "there and back")
    guests.remove(name)


def _shape(lab, host, **figures):
    """The WAN role on one host's underlay side (figures: wan_emulation_* without the prefix)."""
    ev = {"wan_hosts": host}
    ev.update(("wan_emulation_" + k, v) for k, v in figures.items())
    proc = lab.playbook("playbooks/wan.yml", ev, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_without_a_target_the_move_goes_to_the_candidate_closest_to_the_user(lab, guests):
    """Viper's choice (issue 9): the round trip from each candidate to the user's workstation is
    timed, and the planner takes the closest fit candidate; a delay added on one candidate's
    side turns the choice. storage1 stands for the user's workstation."""
    name = guests.boot("mpb-near", host="cloud1")
    choice = {"vm": name, "user": "storage1", "candidates": "ws01,ws02"}
    try:
        _shape(lab, "ws01", rtt_ms=20)
        planned = lab.playbook("playbooks/migrate.yml", dict(choice, plan_only=True), check=False)
        assert planned.returncode == 0, planned.stdout[-6000:]
        assert "VM %s moves from cloud1 to ws02" % name in planned.stdout, planned.stdout[-6000:]
        assert "did not move" not in planned.stdout and "Start the migration" not in planned.stdout
        assert where(guests, name)["cloud1"] == "running"
        _shape(lab, "ws01", state="absent")

        _shape(lab, "ws02", rtt_ms=20)
        moved = lab.playbook("playbooks/migrate.yml", choice, check=False)
        assert moved.returncode == 0, moved.stdout[-6000:]
        assert "VM %s moved from cloud1 to ws01" % name in moved.stdout, moved.stdout[-6000:]
        assert where(guests, name)["ws01"] == "running"
    finally:
        _shape(lab, "ws01", state="absent")
        _shape(lab, "ws02", state="absent")
    # bad input: a user the inventory does not know, a candidate that is not a hypervisor
    for bad, words in (({"user": "nobody"}, "usage: -e vm=NAME"),
                       ({"candidates": "ws01,storage1"}, "candidates must be hypervisors of this inventory, not: storage1")):
        refused = lab.playbook("playbooks/migrate.yml", dict(choice, **bad), check=False)
        assert refused.returncode != 0 and words in refused.stdout, refused.stdout[-3000:]
    assert where(guests, name)["ws01"] == "running"
    guests.remove(name)
