# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A link cut during post-copy, on real QEMU/libvirt in the lab (issue 14 item 5).

The destination's port on the lab's underlay bridge goes down while a memory-writing guest is
in post-copy. libvirt's keepalive marks the migration failed (source paused, reason post-copy
failed) while QEMU still waits on the dead socket. When the link returns within
``postcopy_resume_timeout``, vm_migrate resumes the post-copy and the VM finishes on the
destination with its memory intact; when it does not, the module fails naming the command that
resumes it, the VM stays recoverable, and running the module again finishes the move.
"""
import json
import re
import subprocess
import time

from labguests import DST, SRC, migrate, run_in_thread

# A small guest whose writer keeps 64 MiB dirty: pre-copy's first pass takes ~10 s, post-copy at
# 3 MiB/s has ~20 s of pages left when the link goes down a second after it starts.
SLOW = {"strategy": "postcopy", "bandwidth": 20, "postcopy_bandwidth": 3, "max_downtime": 300, "timeout": 600}


def _underlay(lab, updown):
    """Set the destination's port on the underlay bridge up or down (the cable between the hosts)."""
    subprocess.run(["ip", "netns", "exec", "%s-underlay" % lab.name, "ip", "link", "set", DST, updown],
                   check=True, timeout=30)


def _reason(lab, name, host=SRC):
    return lab.virsh(host, "domstate", "--reason", name, check=False).stdout.strip()


def _log(lab, log):
    return [json.loads(line) for line in lab.run(SRC, "cat %s" % log).stdout.splitlines() if line.strip()]


def _start_and_cut(lab, name, log, **args):
    """Start a post-copy migration in a thread; cut the link once post-copy runs; wait until libvirt
    has marked the post-copy failed (its keepalive gives up after about 30 s)."""
    thread, box = run_in_thread(lambda: migrate(lab, name, progress_log=log, **dict(SLOW, **args)))
    lab.wait_for(lambda: "post-copy" in _reason(lab, name), timeout=180, interval=0.5,
                 what="the migration of %s switching to post-copy" % name)
    time.sleep(1)
    _underlay(lab, "down")
    lab.wait_for(lambda: "post-copy failed" in _reason(lab, name), timeout=120, interval=1,
                 what="libvirt marking the post-copy of %s failed" % name)
    return thread, box


def _wait_for_dest(lab):
    """What the failure message asks before a rerun: the destination's libvirt answers the source
    again (the link's return takes a moment to reach ARP and the bridge)."""
    port = 22 if lab.migration_transport == "ssh" else 16514
    lab.wait_for(lambda: lab.run(SRC, "timeout 3 bash -c 'exec 3<>/dev/tcp/%s/%d'" % (DST, port),
                                 check=False).returncode == 0,
                 timeout=60, interval=1, what="the libvirt of %s answering %s again" % (DST, SRC))


def _moved(guests, name):
    return guests.state(DST, name) == "running" and guests.state(SRC, name) == "absent"


def test_link_cut_in_postcopy_is_resumed_when_it_returns(lab, guests):
    name = guests.boot("migt-pcr", mem_mib=192, load_mib=64, rate_mib=100)
    before = guests.last_seq(SRC, name)
    log = "/tmp/migt-pcr.jsonl"
    try:
        thread, box = _start_and_cut(lab, name, log, postcopy_resume_timeout=300)
        time.sleep(5)
        # the VM is never resumed on the source while the link is down
        assert "post-copy failed" in _reason(lab, name)
    finally:
        _underlay(lab, "up")
    thread.join(400)
    assert not thread.is_alive(), "vm_migrate did not return after the link came back"
    res = box.get("result")
    assert res is not None, box
    assert not res.get("failed"), res
    assert res["state"] == {"source": "absent", "dest": "running"}, res
    assert res["strategy_used"] == "postcopy" and res["postcopy_recovery"]["attempts"] >= 1, res
    assert res["postcopy_recovery"]["source_definition"] in ("absent", "undefined"), res
    assert "was resumed" in res["msg"], res["msg"]
    phases = [record.get("phase") for record in _log(lab, log)]
    assert phases.index("postcopy_failed") < phases.index("recovering") < phases.index("recovered"), phases
    assert phases[-1] == "completed", phases
    assert "Persistent:     yes" in lab.virsh(DST, "dominfo", name).stdout
    guests.assert_alive(DST, name, before, "after a link cut in post-copy")
    guests.remove(name)


def test_link_down_past_the_bound_fails_recoverable_and_a_rerun_finishes(lab, guests):
    name = guests.boot("migt-pcd", mem_mib=192, load_mib=64, rate_mib=100)
    before = guests.last_seq(SRC, name)
    log = "/tmp/migt-pcd.jsonl"
    try:
        thread, box = _start_and_cut(lab, name, log, postcopy_resume_timeout=10)
        thread.join(300)
        assert not thread.is_alive(), "vm_migrate did not give up after postcopy_resume_timeout"
        res = box.get("result")
        assert res is not None, box
        assert res.get("failed"), res
        msg = res["msg"]
        assert "failed in post-copy" in msg and "could not be resumed within 10 s" in msg, msg
        assert "do not start or resume it on the source" in msg, msg
        command = re.search(r'with "(virsh [^"]*--postcopy-resume[^"]*)"', msg)
        assert command and "--p2p" in command.group(1) and name in command.group(1), msg
        # recoverable: the source waits paused in failed post-copy, nobody resumed it there
        assert "post-copy failed" in _reason(lab, name), _reason(lab, name)
        assert _log(lab, log)[-1]["phase"] == "failed"
    finally:
        _underlay(lab, "up")
    _wait_for_dest(lab)
    # the same call again, as an admin or a retried job would make it, finishes the move
    res = migrate(lab, name, progress_log=log, postcopy_resume_timeout=300, **SLOW)
    assert not res.get("failed"), "%s | state %s | source %s" % (res.get("msg"), res.get("state"), _reason(lab, name))
    assert "was resumed and completed" in res["msg"], res["msg"]
    assert _moved(guests, name)
    guests.assert_alive(DST, name, before, "after the move was resumed by a second run")
    guests.remove(name)
