# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_migrate's options to the exact migrateToURI3 flags and parameters (test_plan_cases.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_plan_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)

# libvirt-domain.h's virDomainMigrateFlags (stable ABI), independently of plan.FLAGS
LIBVIRT_FLAGS = dict(live=1 << 0, peer2peer=1 << 1, tunnelled=1 << 2, persist_dest=1 << 3, undefine_source=1 << 4,
                     non_shared_disk=1 << 6, non_shared_inc=1 << 7, compressed=1 << 11, abort_on_error=1 << 12,
                     auto_converge=1 << 13, postcopy=1 << 15, tls=1 << 16, parallel=1 << 17,
                     postcopy_resume=1 << 19)


def test_every_flag_we_use_has_libvirts_value():
    assert dict((name, plan.FLAGS[name]) for name in LIBVIRT_FLAGS) == LIBVIRT_FLAGS


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_plan_case(case):
    options = dict(case["options"], name="vm1", dest="ws01")
    if "error" in case:
        with pytest.raises(MigrationError) as err:
            plan.build(plan.normalize(options), case.get("copy_disks"))
        assert case["error"] in str(err.value)
        return
    flags, params, names = plan.build(plan.normalize(options), case.get("copy_disks"))
    assert names == case["flags"]
    assert flags == sum(LIBVIRT_FLAGS[n] for n in case["flags"])
    if "flags_value" in case:
        assert flags == case["flags_value"]
    assert params == case["params"]
