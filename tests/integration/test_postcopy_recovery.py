# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A link cut during post-copy, on real QEMU/libvirt in the lab (issue 14 item 5).

The destination's port on the lab's underlay bridge is set down while a memory-writing guest
is in post-copy: libvirt marks the migration failed (source paused, reason post-copy failed).
When the link returns within ``postcopy_resume_timeout``, vm_migrate resumes the post-copy and
the VM finishes on the destination with its memory intact; when it does not, the module fails
and names the command that resumes it by hand, and the VM stays recoverable.
Run: SKILLVL_LAB_NAME=pcr pytest tests/integration/test_postcopy_recovery.py
"""
import json
import re
import subprocess
import time

from test_migration import DST, SRC, guests, migrate, _run_in_thread  # noqa: F401  pylint: disable=unused-import


def _underlay(lab, updown):
    """Set the destination's port on the underlay bridge up or down (the cable between the hosts)."""
    subprocess.run(["ip", "netns", "exec", "%s-underlay" % lab.name, "ip", "link", "set", DST, updown],
                   check=True, timeout=30)


def _reason(lab, name, host=SRC):
    return lab.virsh(host, "domstate", "--reason", name, check=False).stdout.strip()


def _start_and_cut(lab, guests, name, log, **args):
    """Start a post-copy migration in a thread and cut the link once post-copy runs."""
    thread, box = _run_in_thread(lambda: migrate(lab, name, strategy="postcopy", allow_postcopy=True, bandwidth=5,
                                                 max_downtime=300, timeout=600, progress_log=log, **args))
    lab.wait_for(lambda: "post-copy" in _reason(lab, name), timeout=180, interval=0.5,
                 what="the migration of %s switching to post-copy" % name)
    time.sleep(1)
    _underlay(lab, "down")
    return thread, box


def _log(lab, log):
    return [json.loads(line) for line in lab.run(SRC, "cat %s" % log).stdout.splitlines() if line.strip()]


def test_link_cut_in_postcopy_is_resumed_when_it_returns(lab, guests):  # noqa: F811
    name = guests.boot("migt-pcr", mem_mib=256, load_mib=160, rate_mib=100)
    before = guests.last_seq(SRC, name)
    log = "/tmp/migt-pcr.jsonl"
    try:
        thread, box = _start_and_cut(lab, guests, name, log, postcopy_resume_timeout=300)
        # libvirt notices the dead link (keepalive) and marks the post-copy failed; the source stays paused
        lab.wait_for(lambda: "post-copy failed" in _reason(lab, name), timeout=120, interval=1,
                     what="libvirt marking the post-copy of %s failed" % name)
        time.sleep(5)
    finally:
        _underlay(lab, "up")
    thread.join(600)
    assert not thread.is_alive(), "vm_migrate did not return after the link came back"
    res = box.get("result")
    assert res is not None, box
    assert not res.get("failed"), res
    assert res["state"] == {"source": "absent", "dest": "running"}, res
    assert res["strategy_used"] == "postcopy", res
    assert res["postcopy_recovery"]["failure"], res
    assert "was resumed" in res["msg"], res["msg"]
    phases = [r.get("phase") for r in _log(lab, log)]
    assert "postcopy_failed" in phases and "recovering" in phases and "recovered" in phases, phases
    assert phases[-1] == "completed", phases
    assert guests.state(SRC, name) == "absent"
    assert lab.virsh(DST, "dominfo", name).stdout.count("Persistent:     yes") == 1
    guests.assert_alive(DST, name, before, "after a link cut in post-copy")
    guests.remove(name)


def test_link_down_past_the_bound_fails_recoverable_with_the_command(lab, guests):  # noqa: F811
    name = guests.boot("migt-pcd", mem_mib=256, load_mib=160, rate_mib=100)
    before = guests.last_seq(SRC, name)
    log = "/tmp/migt-pcd.jsonl"
    try:
        thread, box = _start_and_cut(lab, guests, name, log, postcopy_resume_timeout=15)
        thread.join(400)
        assert not thread.is_alive(), "vm_migrate did not give up after postcopy_resume_timeout"
        res = box.get("result")
        assert res is not None, box
        assert res.get("failed"), res
        msg = res["msg"]
        assert "failed in post-copy" in msg and "could not be resumed within 15 s" in msg, msg
        assert "do not start or resume it on the source" in msg, msg
        match = re.search(r'with "(virsh [^"]*--postcopy-resume[^"]*)"', msg)
        assert match, msg
        command = match.group(1)
        assert "--p2p" in command and "--postcopy" in command and name in command, command
        # recoverable: the source waits paused in failed post-copy, nobody resumed it there
        assert "post-copy failed" in _reason(lab, name), _reason(lab, name)
        assert _log(lab, log)[-1]["phase"] == "failed"
    finally:
        _underlay(lab, "up")
    # once the link is back, the named command, run as an admin would, finishes the move (unless libvirt
    # already finished it unattended: QEMU's old stream may go on when the link returns)
    deadline = time.monotonic() + 240
    outputs = []
    while not (guests.state(DST, name) == "running" and guests.state(SRC, name) == "absent"):
        assert time.monotonic() < deadline, outputs
        proc = lab.run(SRC, command, check=False, timeout=300)
        outputs.append((proc.returncode, proc.stdout[-300:], proc.stderr[-300:]))
        if proc.returncode != 0:
            time.sleep(5)
    print("recovery after the bound:", outputs)
    lab.wait_for(lambda: guests.state(DST, name) == "running" and guests.state(SRC, name) == "absent",
                 timeout=60, what="%s running on the destination only" % name)
    guests.assert_alive(DST, name, before, "after resuming by hand")
    guests.remove(name)
