# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: migration_outcome
short_description: A move's prediction beside what QEMU measured
version_added: 0.1.0
description:
  - Sets the prediction of M(skillvl.offline_first.vm_migration_plan) beside the figures
    M(skillvl.offline_first.vm_migrate) returns for the same move, for the report
    C(playbooks/migrate.yml) prints and the record it keeps.
  - The time error is (predicted - measured) / measured, in percent.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The plan's C(prediction); empty or null when there was none.
    type: dict
    required: true
  figures:
    description: The move's C(figures) (C(total_time_ms), C(downtime_ms)); empty when it did not finish.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Predicted against measured
  ansible.builtin.debug:
    msg: "{{ (plan.prediction | default({})) | skillvl.offline_first.migration_outcome(figures=moved.figures | default({})) }}"
'''

RETURN = r'''
_value:
  description: Both sides, and a line that says them.
  type: dict
  contains:
    predicted_s:
      description: The predicted total time, s; null without a prediction or when the strategy would not end.
      type: float
    measured_s:
      description: The total time QEMU measured, s; null when the move did not finish.
      type: float
    error_pct:
      description: (predicted - measured) / measured of the total time, in percent; null when one side is missing.
      type: float
    predicted_downtime_ms:
      description: The predicted pause, ms.
      type: float
    downtime_ms:
      description: The pause QEMU measured, ms.
      type: int
    predicted_strategy:
      description: The strategy the prediction expects vm_migrate to report as used (its C(runs_as)).
      type: str
    text:
      description: >-
        One line for a report, for example
        C(predicted: 20.7 s with precopy, pause 8.3 ms; measured: 16.4 s, pause 353 ms; time error +26 %).
      type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.history import outcome


def _outcome_filter(prediction, figures):
    for what, value in (('the prediction', prediction), ('figures', figures)):
        if value is not None and not isinstance(value, dict):
            raise AnsibleFilterError('migration_outcome: %s must be a dict, not %r' % (what, value))
    return outcome(prediction, figures)


class FilterModule(object):
    def filters(self):
        return {'migration_outcome': _outcome_filter}
