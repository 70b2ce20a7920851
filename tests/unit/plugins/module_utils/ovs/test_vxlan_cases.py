# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ovs_vxlan's options -> the exact OVSDB operations and reported actions (test_vxlan_cases.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import common, vxlan

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_vxlan_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)


def module_params(options):
    """The options as the module receives them: types converted, defaults filled in."""
    result = ArgumentSpecValidator(vxlan.argument_spec()).validate(options)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def snapshot(existing):
    """An OVSDB snapshot (OvsdbSession.snapshot's shape) from the case's compact description."""
    snap = {"bridges": {}, "ports": {}, "interfaces": {}}
    for bridge, spec in existing.items():
        ports = spec.get("ports") or {}
        snap["bridges"][bridge] = {"datapath_type": spec.get("datapath", ""), "fail_mode": spec.get("fail_mode"),
                                   "hwaddr": spec.get("hwaddr"), "ports": sorted(list(ports) + [bridge])}
        snap["ports"][bridge] = {"bridge": bridge, "interfaces": [bridge], "external_ids": {}}
        snap["interfaces"][bridge] = {"name": bridge, "bridge": bridge, "type": "internal", "options": {},
                                      "ofport": 65534, "error": None, "mtu_request": spec.get("mtu")}
        for name, port in ports.items():
            ids = {common.MANAGED_KEY: common.MANAGED_VALUE} if port["managed"] else {}
            snap["ports"][name] = {"bridge": bridge, "interfaces": [name], "external_ids": ids,
                                   "protected": port["managed"]}
            snap["interfaces"][name] = {"name": name, "bridge": bridge, "error": None, "ofport": 1,
                                        "type": "" if port["options"] is None else "vxlan",
                                        "options": port["options"] or {}}
    return snap


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_vxlan_case(case):
    before = snapshot(case["existing"])
    if "error" in case:
        with pytest.raises(common.OvsInputError) as err:
            vxlan.plan(before, vxlan.normalize(module_params(case["options"])))
        assert case["error"] in str(err.value)
        return
    out = vxlan.plan(before, vxlan.normalize(module_params(case["options"])))
    assert out["ops"] == case["ops"]
    assert [common.describe_op(step) for step in out["ops"]] == case["actions"]
