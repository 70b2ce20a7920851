# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lab reached over SSH, as AWX reaches real hosts (issue 13): from the controller's place
on the underlay, as root with the lab's key, host keys checked against known_hosts filled from
the hosts' own keys. A move runs that way; a wrong or unknown host key stops the run with
SSH's own words, and nothing moves."""

import os
import stat

import pytest

from labguests import HYPERVISORS

pytestmark = pytest.mark.usefixtures("lab")


def known_hosts(lab):
    with open(lab.ssh_file("known_hosts")) as handle:
        return dict(line.split(" ", 1) for line in handle.read().splitlines() if line.strip())


def test_the_key_is_the_controllers_alone_and_every_host_key_is_its_own(lab):
    assert stat.S_IMODE(os.stat(lab.ssh_file("id_ed25519")).st_mode) == 0o600
    keys = known_hosts(lab)
    assert sorted(keys) == sorted(lab.hostvars(h)["skillvl_underlay_address"] for h in lab.hosts)
    assert len(set(keys.values())) == len(keys), "hosts share a host key: %s" % keys
    for host in lab.hosts:
        own = lab.run(host, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub").stdout.strip()
        assert keys[lab.hostvars(host)["skillvl_underlay_address"]] == own, host


def test_a_move_over_ssh(lab, guests, tmp_path):
    name = guests.boot("ssh-move", host="cloud1")
    before = guests.last_seq("cloud1", name)
    since = lab.run("cloud1", "date +%s").stdout.strip()
    # connections of its own (not a ControlMaster an earlier run left), so that sshd logs the login
    proc = lab.playbook("playbooks/migrate.yml", {"vm": name, "target": "ws01"}, ssh=True, check=False,
                        env={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp")})
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "VM %s moved from cloud1 to ws01" % name in proc.stdout, proc.stdout[-6000:]
    assert dict((h, guests.state(h, name)) for h in HYPERVISORS)["ws01"] == "running"
    guests.assert_alive("ws01", name, before, "moved over ssh")
    # the run came over SSH, from the controller's underlay address, with the lab's key
    log = lab.run("cloud1", "journalctl -t sshd --since @%s --no-pager" % since).stdout
    assert "Accepted publickey for root from 198.51.100.2" in log, log[-2000:]
    guests.remove(name)


@pytest.mark.parametrize("case", ["changed", "unknown"])
def test_a_wrong_or_unknown_host_key_stops_the_run(lab, guests, tmp_path, case):
    name = guests.boot("ssh-key", host="cloud1")
    keys = known_hosts(lab)
    cloud1, ws01 = (lab.hostvars(h)["skillvl_underlay_address"] for h in ("cloud1", "ws01"))
    if case == "changed":
        keys[cloud1] = keys[ws01]          # cloud1's address answers with a key that is not its own
    else:
        del keys[cloud1]                   # never trusted on first use
    bad = tmp_path / "known_hosts"
    bad.write_text("".join("%s %s\n" % kv for kv in keys.items()))
    # a connection of its own: a live ControlMaster of an earlier run would skip the host key check
    proc = lab.playbook("playbooks/migrate.yml", {"vm": name, "target": "ws01", "lab_ssh_known_hosts": str(bad)},
                        ssh=True, check=False, env={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp")})
    assert proc.returncode != 0
    assert "Host key verification failed" in proc.stdout, proc.stdout[-4000:]
    words = "REMOTE HOST IDENTIFICATION HAS CHANGED" if case == "changed" else "No ED25519 host key is known"
    assert words in proc.stdout, proc.stdout[-4000:]
    assert guests.state("cloud1", name) == "running" and guests.state("ws01", name) == "absent"
    guests.remove(name)
