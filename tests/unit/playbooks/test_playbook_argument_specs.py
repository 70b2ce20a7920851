# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/argument_specs/NAME.yml is what playbooks/NAME.yml takes: the playbook checks its
extra vars against it first, and every option it declares is one the playbook reads (the AWX
survey is made from the same file, docs/awx.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BOOKS = os.path.join(ROOT, "playbooks")
SPECS = sorted(glob.glob(os.path.join(BOOKS, "argument_specs", "*.yml")))
# scale_away.yml and return.yml hand the move to migrate.yml (import_playbook), with its tasks
IMPORTED = {"scale_away.yml": ["migrate.yml"], "return.yml": ["migrate.yml"]}


def options(spec):
    with open(spec) as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


def text_read_by(book):
    files = [book] + IMPORTED.get(book, []) + [os.path.relpath(p, BOOKS) for p in glob.glob(os.path.join(BOOKS, "tasks", "*.yml"))]
    return "\n".join(open(os.path.join(BOOKS, f)).read() for f in files)


def test_every_operator_playbook_has_a_spec():
    named = sorted(os.path.basename(s) for s in SPECS)
    assert named == ["experiment.yml", "migrate.yml", "return.yml", "scale_away.yml", "stage.yml"]


@pytest.mark.parametrize("spec", SPECS, ids=os.path.basename)
def test_the_playbook_checks_its_extra_vars_first(spec):
    name = os.path.basename(spec)
    with open(os.path.join(BOOKS, name)) as handle:
        first_play = yaml.safe_load(handle)[0]
    first_task = first_play["tasks"][0]
    assert "ansible.builtin.validate_argument_spec" in first_task, first_task
    assert "/argument_specs/%s'" % name in first_task["ansible.builtin.validate_argument_spec"]["argument_spec"]


@pytest.mark.parametrize("spec", SPECS, ids=os.path.basename)
def test_every_option_is_read_by_the_playbook(spec):
    book = os.path.basename(spec)
    text = re.sub(r"argument_specs/\S+", "", text_read_by(book))
    unread = [o for o in options(spec) if not re.search(r"\b%s\b" % o, text)]
    assert not unread, "%s declares options the playbook never reads: %s" % (book, unread)


def test_the_experiment_designs_are_the_files_of_experiments():
    choices = options(os.path.join(BOOKS, "argument_specs", "experiment.yml"))["experiment_file"]["choices"]
    assert sorted(choices) == sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "experiments", "*.yml")))


def test_the_awx_guide_lists_the_migrate_questions_in_order():
    """docs/awx.md tells operators what the migrate survey asks: the spec's options, all, in its order."""
    with open(os.path.join(ROOT, "docs", "awx.md")) as handle:
        guide = handle.read()
    listed = re.search(r"What an operator sees when launching `SKILL/VL: migrate a VM`:(.*?)Any\s", guide, re.S)
    assert listed, "docs/awx.md no longer lists the migrate survey's questions"
    named = re.findall(r"`(\w+)`", listed.group(1))
    assert named == list(options(os.path.join(BOOKS, "argument_specs", "migrate.yml")))


def run(tmp_path, book, *extra):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"hypervisors": {"hosts": {"h1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
           os.path.join(BOOKS, book)] + list(extra)
    return subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120, check=False)


@pytest.mark.parametrize("book, extra, words", [
    ("migrate.yml", ["-e", "vm=pi", "-e", "target=h1", "-e", "bandwidth=fast"], "bandwidth"),
    ("migrate.yml", ["-e", "vm=pi", "-e", "target=h1", "-e", "mode=warm"], "mode"),
    ("migrate.yml", ["-e", "target=h1"], "vm"),
    ("scale_away.yml", ["-e", "vm=pi", "-e", "user=h1", "-e", "layers=maybe"], "layers"),
    ("return.yml", ["-e", "vm=pi", "-e", "allow_postcopy=perhaps"], "allow_postcopy"),
])
def test_bad_extra_vars_stop_before_any_host_is_asked(tmp_path, book, extra, words):
    proc = run(tmp_path, book, *extra)
    assert proc.returncode != 0, proc.stdout
    assert "Validation of arguments failed" in proc.stdout and words in proc.stdout, proc.stdout[-3000:]
    # the first task failed: nothing after it ran
    assert "Look for the VM" not in proc.stdout, proc.stdout[-3000:]
