# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ovs_overlay's validate tasks refuse an underlay address that is not an IP address (a shell
injection attempt) before any shell task runs. Runs the real tasks with ansible-playbook on
localhost; validate.yml runs nothing but set_fact, assert and a template lookup."""

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
  tasks:
    - ansible.builtin.include_role:
        name: skillvl.offline_first.ovs_overlay
        tasks_from: validate.yml
"""


def run_validate(tmp_path, **extra):
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    extra_vars = dict(dict(ovs_overlay_members=["localhost"], ovs_overlay_underlay_address="198.51.100.11"), **extra)
    (tmp_path / "vars.json").write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "@%s" % (tmp_path / "vars.json"), str(tmp_path / "play.yml")]
    return subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)


def test_valid_address_passes(tmp_path):
    proc = run_validate(tmp_path)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("value", ["198.51.100.11$(touch @MARK@)", "198.51.100.11; touch @MARK@", "cloud1"])
def test_malicious_underlay_address_is_refused(tmp_path, value):
    mark = tmp_path / "injected"
    proc = run_validate(tmp_path, ovs_overlay_underlay_address=value.replace("@MARK@", str(mark)))
    assert proc.returncode != 0
    assert "is not an IP address" in proc.stdout
    assert not mark.exists()


def test_bad_prefix_length_is_refused(tmp_path):
    proc = run_validate(tmp_path, ovs_overlay_underlay_prefixlen="24; reboot")
    assert proc.returncode != 0 and "is not a prefix length" in proc.stdout
