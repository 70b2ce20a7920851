# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wan_emulation's options -> the exact ip/tc argv of the netem method (test_wan_netem_cases.yaml).

The lab's kernel has no sch_netem, so these argv are where netem's commands are pinned; the
forwarder method, which shares the model and the state handling, runs for real in the lab."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan

from .wan_fakes import FakeHost, module_params

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_wan_netem_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_netem_case(case, tmp_path):
    host = FakeHost(links=[case["options"]["interface"]])
    p = module_params(case["options"])
    if "error" in case:
        with pytest.raises(wan.WanError) as err:
            spec = wan.build_spec(rate_mbit=p["rate_mbit"], rtt_ms=p["rtt_ms"], jitter_ms=p["jitter_ms"],
                                  loss_percent=p["loss_percent"], peers=p["peers"], queue_ms=p["queue_ms"],
                                  mtu=p["mtu"])
            wan.backend("netem", p["interface"], state_dir=str(tmp_path), tools=host.tools).ensure(spec)
        assert case["error"] in str(err.value)
        assert host.changes() == []
        return
    spec = wan.build_spec(rate_mbit=p["rate_mbit"], rtt_ms=p["rtt_ms"], jitter_ms=p["jitter_ms"],
                          loss_percent=p["loss_percent"], peers=p["peers"], queue_ms=p["queue_ms"], mtu=p["mtu"])
    result = wan.backend("netem", p["interface"], state_dir=str(tmp_path), tools=host.tools).ensure(spec)
    assert result["changed"] and result["spec"] == spec
    assert host.changes() == case["argv"]
