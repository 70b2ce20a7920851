# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wan_problems: the role's check of a measured path, with the inventory's tolerances."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.wan_problems import FilterModule

wan_problems = FilterModule().filters()['wan_problems']
SPEC = {'rate_mbit': 20, 'rtt_ms': 10}
MEASURED = {'mbit': 19.8, 'rtt_ms': {'median': 12.4}}


def test_the_defaults_allow_two_milliseconds_at_a_short_round_trip():
    assert wan_problems(MEASURED, SPEC) == ['round trip 12.4 ms, asked 10.0 (+/- 2.0)']


def test_the_role_passes_its_tolerances_as_given_by_the_inventory():
    assert wan_problems(MEASURED, SPEC, 5, 10, 4) == []
    assert wan_problems(MEASURED, SPEC, '5', '10', '4.0') == []     # as templated
    assert wan_problems({'mbit': 18, 'rtt_ms': {'median': 10}}, SPEC, 5, 10, 4) == ['rate 18.0 Mbit/s, asked 20 (19.0-21.0)']


def test_a_tolerance_that_is_not_a_number_is_named():
    with pytest.raises(AnsibleFilterError, match='wan_problems'):
        wan_problems(MEASURED, SPEC, 5, 10, 'lots')
