# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iscsi_target's iscsi_target_listen_portals default (what tgtd is started with): the targets'
portals, a target without portals adding the underlay portal, never a wildcard address. The
lab checks the daemon itself (tests/integration/test_storage.py, `ss -ltn`)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  roles: []
  tasks:
    - ansible.builtin.include_vars:
        file: %s
    - ansible.builtin.debug:
        msg: "PORTALS={{ iscsi_target_listen_portals | to_json }}"
""" % os.path.join(ROOT, "roles", "iscsi_target", "defaults", "main.yml")


@pytest.mark.parametrize("targets, expected", [
    ([], ["198.51.100.31:3260"]),
    ([{"iqn": "iqn.2026-11.org.skillvl:a"}], ["198.51.100.31:3260"]),
    ([{"iqn": "iqn.2026-11.org.skillvl:a", "portals": ["198.51.100.31:3260"]},
      {"iqn": "iqn.2026-11.org.skillvl:b", "portals": ["198.51.100.31:3260", "[2001:db8::31]:3261"]}],
     ["198.51.100.31:3260", "[2001:db8::31]:3261"]),
])
def test_listen_portals_default(tmp_path, targets, expected):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps(dict(iscsi_target_targets=targets,
                                                        skillvl_underlay_address="198.51.100.31")))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "@%s" % (tmp_path / "vars.json"), str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    line = [ln for ln in proc.stdout.splitlines() if "PORTALS=" in ln][0]
    assert json.loads(line.split("PORTALS=", 1)[1].rstrip('"').replace('\\"', '"')) == expected
