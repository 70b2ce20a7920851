#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: experiment_results
short_description: An experiment's matrix and results on the controller (plan, record a run, plot)
version_added: 0.1.0
description:
  - The results directory of one experiment of C(playbooks/experiment.yml) (C(docs/experiments.md)).
  - O(mode=plan) checks the design (every problem named, nothing run) and expands it into runs (link x CPU
    load x RAM load x strategy x repetition), and lists the runs the results do not hold yet, so an
    interrupted matrix continues where it stopped. Changes nothing.
  - O(mode=record) appends one run (one CSV row, written at once, and a JSON of the probe's raw samples, QEMU's
    figures and the plan's measurements and prediction).
  - O(mode=plot) writes the research's figures as PNG with matplotlib.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: O(mode=record) and O(mode=plot) say what they would write.
  diff_mode:
    support: none
  platform:
    details: The controller (delegate to localhost); matplotlib for O(mode=plot).
options:
  mode:
    description: What to do, see the description.
    type: str
    required: true
    choices: [plan, record, plot]
  directory:
    description: The experiment's results directory (C(results.csv), C(samples/), the PNG files).
    type: path
    required: true
  design:
    description: With O(mode=plan), the experiment (name, vm.memory_mib, links, cpu_pct, ram_pct, strategies, repetitions, write_rate_mib).
    type: dict
  run:
    description: With O(mode=record), the run as O(mode=plan) gave it.
    type: dict
  migration:
    description: With O(mode=record), the result of M(skillvl.offline_first.vm_migrate).
    type: dict
  probe:
    description: With O(mode=record), the result of M(skillvl.offline_first.service_probe).
    type: dict
  plan:
    description: With O(mode=record), the result of M(skillvl.offline_first.vm_migration_plan), if one was made.
    type: dict
  path:
    description: With O(mode=record), the path towards the target as the WAN role measured it (a M(skillvl.offline_first.link_probe) result).
    type: dict
  name:
    description: With O(mode=record) and O(mode=plot), the experiment's name (a CSV column, the plots' titles).
    type: str
'''

EXAMPLES = r'''
- name: Which runs are left
  skillvl.offline_first.experiment_results:
    mode: plan
    directory: /srv/experiments/seeds
    design: "{{ experiment }}"
  delegate_to: localhost
  register: matrix
'''

RETURN = r'''
design:
  description: With O(mode=plan), the checked design.
  returned: mode is plan
  type: dict
runs:
  description:
    - With O(mode=plan), every run of the matrix in order (id, link, rate_mbit, rtt_ms, probe_interval_ms, stall_max_downtime_ms,
      cpu_pct, ram_pct, writer_mib, strategy, repetition, timeout_s).
    - C(probe_s) bounds the run's probe, the longest move the run allows and its margins.
  returned: mode is plan
  type: list
  elements: dict
pending:
  description: With O(mode=plan), the runs the results do not hold yet.
  returned: mode is plan
  type: list
  elements: dict
row:
  description: With O(mode=record), the CSV row.
  returned: mode is record
  type: dict
files:
  description: With O(mode=plot), the PNG files written.
  returned: mode is plot
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.experiment import matrix, plots, results
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', required=True, choices=['plan', 'record', 'plot']),
            directory=dict(type='path', required=True),
            design=dict(type='dict'),
            run=dict(type='dict'),
            migration=dict(type='dict'),
            probe=dict(type='dict'),
            plan=dict(type='dict'),
            path=dict(type='dict'),
            name=dict(type='str'),
        ),
        required_if=[('mode', 'plan', ('design',)), ('mode', 'record', ('run', 'name'))],
        supports_check_mode=True,
    )
    p = module.params

    def act():
        if p['mode'] == 'plan':
            out = matrix.expand(p['design'])
            out['pending'] = matrix.pending(out['runs'], results.done_ids(p['directory']))
            return dict(out, changed=False)
        if p['mode'] == 'record':
            row = results.row(p['name'], p['run'], p['migration'], p['probe'], p['plan'], p['path'])
            if module.check_mode:
                return dict(changed=row['id'] not in results.done_ids(p['directory']), row=row)
            samples = results.samples(p['run'], p['migration'], p['probe'], p['plan'])
            return dict(changed=results.append(p['directory'], row, samples), row=row)
        if module.check_mode:
            return dict(changed=True, files=[])
        return dict(changed=True, files=plots.plot_all(p['directory'], p['name'] or ''))

    run_backend(module, act)


if __name__ == '__main__':
    main()
