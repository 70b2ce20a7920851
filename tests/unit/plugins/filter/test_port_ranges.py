# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""port_ranges: the migration range added to ip_local_reserved_ports in the kernel's own form."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter.port_ranges import port_ranges


@pytest.mark.parametrize('current, expected', [
    ('', '49152-49215'),
    ('\n', '49152-49215'),
    ('49152-49215', '49152-49215'),
    ('9,8080', '9,8080,49152-49215'),
    ('49100-49160', '49100-49215'),          # overlapping
    ('49216', '49152-49216'),                # adjacent above
    ('49151,60000-60010', '49151-49215,60000-60010'),
    ('49160,49170-49180', '49152-49215'),    # inside
])
def test_the_union_reads_as_the_kernel_writes_it(current, expected):
    assert port_ranges(current, 49152, 49215) == expected


def test_a_second_run_changes_nothing():
    once = port_ranges('22,8080-8090', 49152, 49215)
    assert port_ranges(once, 49152, 49215) == once


@pytest.mark.parametrize('current, first, last, message', [
    ('abc', 49152, 49215, "'abc' is not a port"),
    ('', 49215, 49152, 'ends before it starts'),
    ('', 0, 10, '0 is not a port'),
    ('', 65000, 70000, '70000 is not a port'),
])
def test_bad_input_is_named(current, first, last, message):
    with pytest.raises(AnsibleFilterError, match=message):
        port_ranges(current, first, last)
