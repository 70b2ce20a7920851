# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_migration_plan's options -> target, strategy and reasons (test_planner_cases.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import planner
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

MIB = 1024 * 1024

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_planner_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)


def module_params(options):
    """The options as the module receives them: types converted, defaults filled in."""
    result = ArgumentSpecValidator(planner.argument_spec()).validate(dict(options, name="vm1", transport="tcp"))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def libvirt_version(text):
    """'7.2.0' -> 7002000, as the pre-flight's facts hold it (libvirt's getVersion)."""
    major, minor, micro = (int(x) for x in text.split("."))
    return major * 1000000 + minor * 1000 + micro


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_planner_case(case, world, h):
    vm = case["vm"]
    dom = h.add_vm(world.src, active=vm.get("running", True))
    kib = vm["memory_mib"] * 1024
    dom.info = lambda: [1 if vm.get("running", True) else 5, kib, kib, 1, 0]
    dom.memoryStats = lambda: {"rss": vm["rss_mib"] * 1024, "actual": kib}

    def check(host):
        verdict = dict((case.get("preflight") or {}).get(host) or {"verdict": "ok", "reasons": []})
        verdict["reasons"] = [{"status": "fail", "message": m} for m in verdict["reasons"]]
        source_qemu, dest_qemu = (case.get("qemu") or {}).get(host, ["7.2.0", "7.2.0"])
        verdict["facts"] = {"dest_free_memory_mib": (case.get("free_mib") or {}).get(host, 8192),
                            "source_qemu": source_qemu, "dest_qemu": dest_qemu,
                            "source_qemu_version": libvirt_version(source_qemu),
                            "dest_qemu_version": libvirt_version(dest_qemu)}
        return verdict

    def run():
        return planner.plan(module_params(case["options"]), check=check,
                            connect=lambda uri: session.connect(uri, "the source", keepalive=False),
                            measure_dirty_rate=lambda conn, dom, seconds=2: vm["dirty_mib_s"] * MIB,
                            measure_compression=lambda conn, dom, memory: vm.get("compresses"))

    if "error" in case:
        with pytest.raises(MigrationError) as err:
            run()
        assert case["error"] in str(err.value)
        return
    out = run()
    assert (out["target"], out["strategy"]) == (case["target"], case["strategy"]), out["table"]
    assert not out["changed"]
    reasons = dict((row["host"], row["reason"]) for row in out["candidates"] if row["reason"])
    assert sorted(reasons) == sorted(case["reasons"]), reasons
    for host, text in case["reasons"].items():
        assert text in reasons[host]
    if "total_s" in case:
        low, high = case["total_s"]
        assert low <= out["prediction"]["total_s"] <= high, out["prediction"]
    if "strategies" in case:
        assert [p["strategy"] for p in out["candidates"][0]["predictions"]] == case["strategies"]
    if "sources" in case:
        assert out["vm"]["sources"] == case["sources"]
    if "msg" in case:
        assert out["msg"].startswith(case["msg"])
    if "msg_has" in case:
        assert case["msg_has"] in out["msg"], out["msg"]
    if case["target"] is None:
        assert "settings" not in out
    if "settings" in case:
        assert out["settings"] == case["settings"]
