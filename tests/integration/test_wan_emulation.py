# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wan_emulation role in the lab (issue 11): the research's WAN (37 Mbit/s, 37 ms) on a
workstation's side of the underlay, by the lab's userspace forwarder (no sch_netem here),
measured from the cloud, idempotent, bad input refused with the link left as it was, and
removed to the last veth.
Run: SKILLVL_LAB_NAME=wan pytest tests/integration/test_wan_emulation.py
"""
import json
import os
import re
import subprocess

from ansible_collections.skillvl.offline_first.plugins.module_utils.net.wan import check_measured
from test_planner import _probe

HOST = "ws02"
FAR = "cloud1"
STATE_DIR = "/run/skillvl/wan"


def _wan(lab, check=True, **extra):
    ev = {"wan_hosts": HOST, "wan_emulation_verify_from": FAR}
    ev.update(extra)
    return lab.playbook("playbooks/wan.yml", ev, check=check)


def _recap_changed(proc, host):
    match = re.search(r"^%s\s*:.*changed=(\d+)" % host, proc.stdout, re.M)
    assert match, proc.stdout[-3000:]
    return int(match.group(1))


def _links(lab):
    out = subprocess.run(["ip", "-n", "%s-underlay" % lab.name, "-j", "link", "show"], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    return dict((link["ifname"], link) for link in json.loads(out))


def _state(lab):
    path = os.path.join(STATE_DIR, "%s-underlay--%s.json" % (lab.name, HOST))
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def _alive(pid):
    """A running process (a zombie has no command line)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return bool(handle.read())
    except (OSError, TypeError):
        return False


def test_the_research_wan_is_applied_measured_and_removed(lab):
    plain = _probe(lab, FAR, HOST)
    assert plain["mbit"] > 100 and plain["rtt_ms"]["median"] < 5, plain

    first = _wan(lab, wan_emulation_rate_mbit=37, wan_emulation_rtt_ms=37)
    assert _recap_changed(first, HOST) == 1, first.stdout[-3000:]
    state = _state(lab)
    assert state and state["spec"]["rate_mbit"] == 37 and _alive(state["pid"]), state
    links = _links(lab)
    assert "master" not in links[HOST] and links["wb-" + HOST]["master"] == "br0", links
    # the role measured both directions and passed its own check; measure once more from outside,
    # and as the role does, once again if that reading is off (a probe that loses the CPU to a
    # busy neighbour reads low and late: 34.7 Mbit/s and 41.7 ms once, with 33 % steal), for as
    # long as the role does (3 s read 30 Mbit/s twice where the role's 5 s had just read 37)
    readings = []
    for _attempt in range(2):
        shaped = _probe(lab, FAR, HOST, seconds=5)
        readings.append(check_measured({"rate_mbit": 37, "rtt_ms": 37}, shaped, rtt_slack_ms=lab.wan_rtt_slack_ms))
        if not readings[-1]:
            break
    assert not readings[-1], readings
    # the other hosts' paths are not shaped
    other = _probe(lab, FAR, "ws01")
    assert other["mbit"] > 100 and other["rtt_ms"]["median"] < 5, other

    again = _wan(lab, wan_emulation_rate_mbit=37, wan_emulation_rtt_ms=37)
    assert _recap_changed(again, HOST) == 0, again.stdout[-3000:]
    assert _state(lab)["pid"] == state["pid"]

    # bad input is refused before anything changes
    for bad, word in (({"wan_emulation_rate_mbit": -5}, "rate_mbit"), ({"wan_emulation_loss_percent": 120}, "loss_percent"),
                      ({"wan_emulation_rtt_ms": 10, "wan_emulation_jitter_ms": 30}, "jitter_ms")):
        refused = _wan(lab, check=False, **dict({"wan_emulation_rate_mbit": 37, "wan_emulation_rtt_ms": 37}, **bad))
        assert refused.returncode != 0 and word in refused.stdout, refused.stdout[-3000:]
        assert _state(lab) == state and _alive(state["pid"])

    # new figures: the forwarder is replaced, the plumbing stays
    changed = _wan(lab, wan_emulation_rate_mbit=20, wan_emulation_rtt_ms=10)
    assert _recap_changed(changed, HOST) == 1
    now = _state(lab)
    assert now["spec"]["rtt_ms"] == 10 and _alive(now["pid"]) and not _alive(state["pid"]), now

    removed = _wan(lab, wan_emulation_state="absent")
    assert _recap_changed(removed, HOST) == 1
    links = _links(lab)
    assert links[HOST].get("master") == "br0" and "wb-" + HOST not in links and "wf-" + HOST not in links, links
    assert _state(lab) is None and not _alive(now["pid"])
    back = _probe(lab, FAR, HOST)
    assert back["mbit"] > 100 and back["rtt_ms"]["median"] < 5, back
    assert _recap_changed(_wan(lab, wan_emulation_state="absent"), HOST) == 0


def test_a_path_that_is_not_what_was_asked_fails_the_role(lab):
    """Verification from a host the emulation does not cover (peers = another address) fails,
    naming the figures; the emulation stays for the admin to look at, and is then removed."""
    try:
        failed = _wan(lab, check=False, wan_emulation_rate_mbit=20, wan_emulation_rtt_ms=20,
                      wan_emulation_peers=[lab.hostvars("ws01")["skillvl_underlay_address"]])
        assert failed.returncode != 0, failed.stdout[-3000:]
        assert "is not what was asked" in failed.stdout and "round trip" in failed.stdout, failed.stdout[-3000:]
        # a path that is wrong is wrong twice: the role took its second reading before failing
        assert "measured twice, the first reading: " in " ".join(failed.stdout.split()), failed.stdout[-3000:]
        assert _state(lab) is not None
    finally:
        _wan(lab, wan_emulation_state="absent")
    assert _state(lab) is None
