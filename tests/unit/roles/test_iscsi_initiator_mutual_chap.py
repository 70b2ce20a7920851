# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsi_initiator's mutual CHAP: the target's credentials land in open-iscsi's defaults for
new node records (node.session.auth.username_in / password_in), in a 0600 file, and the secret
shows nowhere in ansible-playbook's output, even with -v --diff. Runs the real task file with
ansible-playbook on localhost against a copy of Debian's iscsid.conf lines (no open-iscsi on
the build machines: its kernel has no iSCSI initiator)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SECRET = "mutu4l-target-secret"
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: skillvl.offline_first.iscsi_initiator
        tasks_from: mutual_chap.yml
"""
DEBIAN_LINES = ("node.session.auth.authmethod = CHAP\n"
                "#node.session.auth.username_in = username_in\n"
                "#node.session.auth.password_in = password_in\n")


def run(tmp_path, **extra):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps(dict(dict(iscsi_initiator_iscsid_conf=str(tmp_path / "iscsid.conf"),
                                                             iscsi_initiator_mode="pool"), **extra)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-v", "--diff", "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % (tmp_path / "vars.json"), str(tmp_path / "play.yml")]
    return subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)


def test_mutual_chap_written_0600_and_never_shown(tmp_path):
    conf = tmp_path / "iscsid.conf"
    conf.write_text(DEBIAN_LINES)
    os.chmod(str(conf), 0o644)
    proc = run(tmp_path, iscsi_initiator_mutual_chap_username="storage1-target",
               iscsi_initiator_mutual_chap_password=SECRET)
    assert proc.returncode == 0, proc.stdout
    assert conf.read_text() == ("node.session.auth.authmethod = CHAP\n"
                                "node.session.auth.username_in = storage1-target\n"
                                "node.session.auth.password_in = %s\n" % SECRET)
    assert stat.S_IMODE(os.stat(str(conf)).st_mode) == 0o600
    assert SECRET not in proc.stdout
    again = run(tmp_path, iscsi_initiator_mutual_chap_username="storage1-target",
                iscsi_initiator_mutual_chap_password=SECRET)
    assert "changed=0" in again.stdout, again.stdout


def test_no_mutual_chap_removes_the_active_lines_only(tmp_path):
    conf = tmp_path / "iscsid.conf"
    conf.write_text(DEBIAN_LINES + "node.session.auth.username_in = old\nnode.session.auth.password_in = %s\n"
                    % SECRET)
    proc = run(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert conf.read_text() == DEBIAN_LINES
    assert SECRET not in proc.stdout
