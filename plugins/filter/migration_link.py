# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: migration_link
short_description: The link rate a migration plan should use, from the moves recorded between the same hosts
version_added: 0.1.0
description:
  - Takes the text of the move records C(playbooks/migrate.yml) writes on the controller
    (C(skillvl_migration_records), one JSON line per move) and gives the link rate from O(source)
    to O(target) for M(skillvl.offline_first.vm_migration_plan).
  - The rate is the median of what QEMU measured on the wire in the latest moves between the two
    hosts, in either direction (one path); moves that failed, reported no rate, or ran at their
    bandwidth cap (which measures the cap, not the link) are left out. Without such a move, the
    rate O(probed_mbit) of a fresh probe of the path (M(skillvl.offline_first.link_probe)), else the
    configured rate. Never above the bandwidth cap of the coming move.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The records file's text; empty when there is none yet.
    type: str
    required: true
  source:
    description: The host the move starts from.
    type: str
    required: true
  target:
    description: The host the move goes to.
    type: str
    required: true
  configured_mbit:
    description: The rate to use without a recorded measurement (Mbit/s, above 0).
    type: float
    required: true
  bandwidth_mib_s:
    description: The coming move's bandwidth cap in MiB/s; 0 for none.
    type: float
    default: 0
  last:
    description: How many of the latest moves between the hosts make the median.
    type: int
    default: 5
  probed_mbit:
    description: The rate a probe of the path measured (Mbit/s), used when no recorded move measured it.
    type: float
'''

EXAMPLES = r'''
- name: The link from the records of earlier moves
  ansible.builtin.set_fact:
    link: >-
      {{ lookup('ansible.builtin.file', '/root/.skillvl/migrations.jsonl', errors='ignore') | default('', true)
         | skillvl.offline_first.migration_link(source='cloud1', target='ws01', configured_mbit=1000) }}
'''

RETURN = r'''
_value:
  description: The rate and where it comes from.
  type: dict
  contains:
    link_mbit:
      description: The link rate for the plan, Mbit/s.
      type: float
    source:
      description: Where the rate comes from, in words (recorded moves, probed or configured; capped or not).
      type: str
    samples:
      description: The rates of the recorded moves used, Mbit/s, oldest first.
      type: list
      elements: float
    unreadable_lines:
      description: Lines of the records that are not JSON objects (left out).
      type: int
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.history import (
    LAST, link_figures, parse_records)


def _link_filter(text, source, target, configured_mbit, bandwidth_mib_s=0, last=LAST, probed_mbit=None):
    if text is not None and not isinstance(text, str):
        raise AnsibleFilterError('migration_link expects the text of the move records (JSON lines)')
    records, unreadable = parse_records(text)
    try:
        out = link_figures(records, source, target, float(configured_mbit), float(bandwidth_mib_s or 0), int(last),
                           float(probed_mbit) if probed_mbit else None)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError('migration_link: %s' % exc)
    out['unreadable_lines'] = unreadable
    return out


class FilterModule(object):
    def filters(self):
        return {'migration_link': _link_filter}
