# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NFS backends driven by the YAML cases beside this file: exact argv, result, files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_backends import (
    EXPORT_MODULE_OPTIONS, ensure_export, export_argument_spec)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_storage_nfs_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_nfs_case(case, tmp_path, fake_module, subst):
    tmp = str(tmp_path)
    for sub in ("srv", "srv2", "srv3", "exports.d"):
        (tmp_path / sub).mkdir()
    main = tmp_path / "ganesha.conf"
    main.write_text("EXPORT { Export_Id = 1; Path = /x; }\n")
    log = tmp_path / "ganesha.log"
    log.write_text("")
    case = subst(case, {"@TMP@": tmp})
    for rel, text in (case.get("before_files") or {}).items():
        (tmp_path / rel).write_text(text)
    args = case["input"]
    state = case.get("state", "present")
    tools = fake_module(case["run"])
    run_command = tools.run_command

    def logging_run(cmd, **kwargs):
        result = run_command(cmd, **kwargs)
        if list(cmd)[1:2] == ["reload"]:
            with open(str(log), "a") as f:
                f.write("x reread_exports :CONFIG :EVENT :Reread exports complete\n")
        return result
    tools.run_command = logging_run
    options = dict(log_file=str(log), reload_timeout=0.5) if case["backend"] == "ganesha" \
        else dict(threads_file=str(tmp_path / "threads"))
    # the module's own view of its arguments: the argument spec fills in the defaults
    raw = dict(args, backend=case["backend"], config_dir=str(tmp_path / "exports.d"), main_config=str(main))
    if "exports" not in args:
        raw["state"] = state
    validated = ArgumentSpecValidator(export_argument_spec(), **EXPORT_MODULE_OPTIONS).validate(raw)
    assert not validated.error_messages, validated.error_messages
    params = validated.validated_parameters
    if "error" in case:
        with pytest.raises(StorageError) as exc:
            ensure_export(params, tools=tools, **options)
        assert case["error"] in str(exc.value)
    else:
        result = ensure_export(params, tools=tools, **options)
        assert result["changed"] == case["expected"]["changed"]
        if "warning" in case["expected"]:
            assert any(case["expected"]["warning"] in w for w in result.get("warnings", []))
        if "exports" in case["expected"]:
            assert [e["name"] for e in result["exports"]] == case["expected"]["exports"]
        if "removed" in case["expected"]:
            assert result["removed"] == case["expected"]["removed"]
    assert tools.script == [], "commands expected but not run: %s" % tools.script
    for rel, text in (case.get("files") or {}).items():
        path = tmp_path / rel
        if text is None:
            assert not path.exists()
        else:
            assert path.read_text() == text
    for rel, text in (case.get("files_contain") or {}).items():
        assert text in (tmp_path / rel).read_text(), rel
