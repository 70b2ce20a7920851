# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A workflow as a chain: each node runs after the one before it succeeded."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.awx_workflow_nodes import awx_workflow_nodes

STEPS = [{"identifier": "away", "job_template": "scale away"},
         {"identifier": "ok", "approval": "Return?", "timeout": "600"},
         {"identifier": "back", "job_template": "return"}]


def test_a_chain_of_success_nodes():
    nodes = awx_workflow_nodes(STEPS, organization="SKILL/VL")
    assert [n["identifier"] for n in nodes] == ["away", "ok", "back"]
    assert [n["related"]["success_nodes"] for n in nodes] == [[{"identifier": "ok"}], [{"identifier": "back"}], []]
    assert all(n["related"]["failure_nodes"] == [] and n["related"]["always_nodes"] == [] for n in nodes)
    assert nodes[0]["unified_job_template"] == {"type": "job_template", "name": "scale away",
                                                "organization": {"name": "SKILL/VL"}}
    assert nodes[1]["unified_job_template"] == {"type": "workflow_approval", "name": "Return?", "timeout": 600}


@pytest.mark.parametrize("steps, words", [
    ([], "non-empty list"),
    ("away", "non-empty list"),
    ([{"job_template": "x"}], "every step needs an identifier"),
    ([{"identifier": "a", "job_template": "x"}, {"identifier": "a", "job_template": "y"}], "used twice: a"),
    ([{"identifier": "a"}], "step a needs either job_template or approval"),
    ([{"identifier": "a", "job_template": "x", "approval": "y"}], "step a needs either"),
])
def test_bad_steps_are_refused(steps, words):
    with pytest.raises(AnsibleFilterError, match=words):
        awx_workflow_nodes(steps, organization="SKILL/VL")
