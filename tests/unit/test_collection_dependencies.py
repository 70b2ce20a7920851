# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the collection takes from other collections, checked against galaxy.yml (issue 8).

community.general 13 made its module_utils private, with no redirect: an import of another
collection's module_utils breaks for our users on their next update. We call other collections'
modules and filters only, and galaxy.yml declares exactly the collections we call, each with an
upper bound. Two parts of the content that the hosts never run may also call what their own
requirements list, which users of the collection do not need: the local lab (its roles and
playbooks, the Molecule driver; lab/requirements.yml) and the AWX configuration
(playbooks/awx_configure.yml; playbooks/awx/requirements.yml).
"""
import os
import re

import pytest
import yaml

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHIPPED = ("plugins", "roles", "playbooks", "inventories", "lab", "extensions", "meta")
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]+)\b")
FOREIGN_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+ansible_collections\.(?!skillvl\.offline_first\.)([a-z0-9_]+\.[a-z0-9_]+)", re.M)
# part: (the files that are its own, its requirements file)
PARTS = {"lab": (("roles/lab_", "playbooks/lab", "extensions/molecule/", "lab/"), "lab/requirements.yml"),
         "awx": (("playbooks/awx_configure.yml", "playbooks/awx/", "playbooks/vars/awx.yml"),
                 "playbooks/awx/requirements.yml")}
# In Python, docs, docstrings and comments mention collections; only the code calls them.
PY_TEXT = re.compile(r"""[rbu]?('\'\'|\"\"\").*?\1|#[^\n]*""", re.S)
NOT_COLLECTIONS = {"ansible.builtin", "ansible.module_utils", "ansible.plugins", "ansible_collections.skillvl",
                   "skillvl.offline_first"}


def shipped_files():
    for part in SHIPPED:
        for root, _dirs, files in os.walk(os.path.join(TOP, part)):
            for name in files:
                if name.endswith((".py", ".yml", ".yaml", ".j2")):
                    yield os.path.join(root, name)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def code_of(path):
    text = read(path)
    return PY_TEXT.sub("", text) if path.endswith(".py") else text


def declared():
    with open(os.path.join(TOP, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["dependencies"]


def requirements(part):
    with open(os.path.join(TOP, PARTS[part][1]), encoding="utf-8") as handle:
        return dict((c["name"], c["version"]) for c in yaml.safe_load(handle)["collections"])


def part_of(path):
    rel = os.path.relpath(path, TOP)
    return next((part for part, (prefixes, _reqs) in PARTS.items() if rel.startswith(prefixes)), None)


def collections_called(part=None):
    """{collection: [file, ...]} for every FQCN of another collection in the shipped files of
    a part (None: the collection's own content)."""
    calls = {}
    for path in shipped_files():
        if part_of(path) != part:
            continue
        for match in FQCN.finditer(code_of(path)):
            coll = "%s.%s" % match.group(1, 2)
            if coll in NOT_COLLECTIONS or match.group(1) not in ("community", "ansible", "containers", "awx"):
                continue
            calls.setdefault(coll, set()).add(os.path.relpath(path, TOP))
    return calls


def test_no_import_of_another_collections_code():
    offenders = ["%s imports %s" % (os.path.relpath(path, TOP), m.group(1))
                 for path in shipped_files() if path.endswith(".py")
                 for m in FOREIGN_IMPORT.finditer(read(path))]
    assert not offenders, offenders


def test_every_collection_called_is_declared():
    missing = dict((coll, sorted(files)) for coll, files in collections_called().items() if coll not in declared())
    assert not missing, "called but not in galaxy.yml's dependencies: %s" % missing


def test_every_declared_collection_is_called():
    unused = sorted(set(declared()) - set(collections_called()))
    assert not unused, "declared in galaxy.yml but never called: %s" % unused


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_part_calls_only_declared_and_its_own_collections(part):
    allowed = set(declared()) | set(requirements(part))
    missing = dict((coll, sorted(files)) for coll, files in collections_called(part).items() if coll not in allowed)
    assert not missing, "%s calls collections neither galaxy.yml nor %s lists: %s" % (part, PARTS[part][1], missing)
    unused = sorted(set(requirements(part)) - set(collections_called(part)))
    assert not unused, "%s lists collections the %s never calls: %s" % (PARTS[part][1], part, unused)


@pytest.mark.parametrize("coll,spec", sorted(declared().items())
                         + sorted(item for part in PARTS for item in requirements(part).items()))
def test_every_dependency_has_an_upper_bound(coll, spec):
    assert re.search(r"<\s*\d", spec) and re.search(r">=\s*\d", spec), "%s: %s" % (coll, spec)


def test_the_check_catches_a_foreign_import():
    """The pattern must see the import community.general 13 broke, in both spellings."""
    text = ("from ansible_collections.community.general.plugins.module_utils.cmd_runner import CmdRunner\n"
            "import ansible_collections.community.general.plugins.module_utils.cmd_runner\n"
            "from ansible_collections.skillvl.offline_first.plugins.module_utils import backend\n")
    assert [m.group(1) for m in FOREIGN_IMPORT.finditer(text)] == ["community.general", "community.general"]
