# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The LIO backend from YAML cases: exact targetcli argv, configfs files, actions (test_storage_iscsi_lio.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi import build_target, ensure_target
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_lio import LioBackend

from test_storage_iscsi import make_configfs  # pylint: disable=import-error

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_storage_iscsi_lio.yaml")) as _f:
    CASES = yaml.safe_load(_f)
SECRETS = ("s3cretpassw0rd", "mutu4lpassw0rd", "an0ther-secret")


def _read_auth(tpg, init):
    adir = os.path.join(tpg, "acls", init, "auth")
    return dict((name, open(os.path.join(adir, name)).read().strip()) for name in sorted(os.listdir(adir)))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_lio_case(case, tmp_path, fake_module, subst):
    root = tmp_path / "configfs"
    iqn = case["input"]["iqn"]
    tpg = str(root / "iscsi" / iqn / "tpgt_1")
    case = subst(case, {"@TMP@": str(tmp_path), "@B@": "/iscsi/%s/tpg1" % iqn, "@T@": tpg})
    (tmp_path / "vm1.img").write_bytes(b"\0" * 4096)
    tree = case["configfs"]
    store = tree.get("store")
    target_tree = tree.get("target")
    make_configfs(root, iqn if target_tree else None, (store["name"], store["path"]) if store else None,
                  (target_tree or {}).get("acls"), (target_tree or {}).get("portals", ("0.0.0.0:3260",)),
                  (target_tree or {}).get("auth", "0"))
    effects = dict((i, step) for i, step in enumerate(case["run"]))
    module = fake_module(case["run"], check_mode=case.get("check_mode", False))
    played = module.run_command

    def run_command(cmd, **kwargs):
        step = effects[len(module.calls)]
        out = played(cmd, **kwargs)
        for path in step.get("creates", []):
            os.makedirs(path, exist_ok=True)
        for path in step.get("removes", []):
            shutil.rmtree(path)
        return out
    module.run_command = run_command

    args = case["input"]
    state = case.get("state", "present")
    target = None
    if state == "present":
        target = build_target(iqn, args.get("luns"), args.get("initiators"), args.get("chap"), args.get("portals"))
    backend = LioBackend(module, root=str(root))
    expected = case["expected"]
    if "error" in expected:
        with pytest.raises(StorageError) as exc:
            ensure_target(backend, target, state=state, iqn=iqn, check_mode=case.get("check_mode", False))
        assert expected["error"] in str(exc.value)
        assert exc.value.changed == expected["changed"]
        assert not any(s in str(exc.value) for s in SECRETS)
    else:
        result = ensure_target(backend, target, state=state, iqn=iqn, check_mode=case.get("check_mode", False))
        assert result["changed"] == expected["changed"]
        assert result["actions"] == expected["actions"]
        assert not any(s in json.dumps(result) for s in SECRETS)
    assert module.script == [], "commands expected but not run: %s" % module.script
    for argv in module.calls:
        assert not any(secret in arg for secret in SECRETS for arg in argv), argv
    for init, files in expected.get("auth", {}).items():
        got = _read_auth(tpg, init)
        assert dict((k, got.get(k)) for k in files) == files, got
