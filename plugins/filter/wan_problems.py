# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: wan_problems
short_description: How a measured path differs from the WAN link that was asked for
version_added: 0.1.0
description:
  - Compares the figures of a probe (M(skillvl.offline_first.link_probe), O(mode=send)) with the link
    M(skillvl.offline_first.wan_emulation) applied (its RV(skillvl.offline_first.wan_emulation#module:spec)).
  - The rate must be within O(rate_tolerance_percent) of C(rate_mbit); the probe's median round trip within
    O(rtt_tolerance_percent) of C(rtt_ms), or O(rtt_slack_ms), whichever is more (the path's own round trip
    and the probe's scheduling).
  - An empty list when the path is what was asked.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The probe's result (C(mbit), C(rtt_ms.median)).
    type: dict
    required: true
  spec:
    description: The applied link (C(rate_mbit), C(rtt_ms)).
    type: dict
    required: true
  rate_tolerance_percent:
    description: Allowed distance of the rate, percent.
    type: float
    default: 5
  rtt_tolerance_percent:
    description: Allowed distance of the round trip, percent.
    type: float
    default: 10
  rtt_slack_ms:
    description: The least allowed distance of the round trip, milliseconds.
    type: float
    default: 2
'''

EXAMPLES = r'''
- name: Fail unless the path is what was asked
  ansible.builtin.assert:
    that: probe | skillvl.offline_first.wan_problems(applied.spec) | length == 0
'''

RETURN = r'''
_value:
  description: One sentence per figure out of tolerance, with the measured and the asked value.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.module_utils.net.wan import MIN_RTT_SLACK_MS, check_measured


def _wan_problems(measured, spec, rate_tolerance_percent=5, rtt_tolerance_percent=10, rtt_slack_ms=MIN_RTT_SLACK_MS):
    if not isinstance(measured, dict) or not isinstance(spec, dict):
        raise AnsibleFilterError('wan_problems expects a probe result and the applied spec (dicts)')
    try:
        return check_measured(spec, measured, float(rate_tolerance_percent) / 100.0,
                              float(rtt_tolerance_percent) / 100.0, float(rtt_slack_ms))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('wan_problems: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'wan_problems': _wan_problems}
