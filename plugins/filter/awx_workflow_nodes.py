# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: awx_workflow_nodes
short_description: A chain of AWX workflow nodes, each run after the one before succeeded
version_added: 0.1.0
description:
  - Turns a short list of steps (a job template, or an approval an operator gives) into the
    O(awx.awx.workflow_job_template#module:workflow_nodes) of M(awx.awx.workflow_job_template),
    each node the success node of the one before it.
  - Refuses an empty chain, a step that is neither a job template nor an approval, and an
    identifier used twice.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The steps, in order. Each has an C(identifier), and either C(job_template) (its name)
      or C(approval) (the question the operator answers) with an optional C(timeout) in seconds (0, none).
    type: list
    elements: dict
    required: true
  organization:
    description: The organization of the job templates.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Scale away, wait for an operator, return
  awx.awx.workflow_job_template:
    name: scale away, then return
    organization: SKILL/VL
    workflow_nodes: >-
      {{ [{'identifier': 'away', 'job_template': 'scale away'},
          {'identifier': 'ok', 'approval': 'Return the VM home?', 'timeout': 0},
          {'identifier': 'back', 'job_template': 'return'}]
         | skillvl.offline_first.awx_workflow_nodes(organization='SKILL/VL') }}
'''

RETURN = r'''
_value:
  description: The nodes, in the layout C(awx.awx.workflow_job_template) takes.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError


def _template(step, organization):
    if 'job_template' in step and 'approval' not in step:
        return {'type': 'job_template', 'name': step['job_template'], 'organization': {'name': organization}}
    if 'approval' in step and 'job_template' not in step:
        return {'type': 'workflow_approval', 'name': step['approval'], 'timeout': int(step.get('timeout', 0))}
    raise AnsibleFilterError('awx_workflow_nodes: step %s needs either job_template or approval'
                             % step.get('identifier', step))


def awx_workflow_nodes(steps, organization):
    if not isinstance(steps, list) or not steps:
        raise AnsibleFilterError('awx_workflow_nodes expects a non-empty list of steps')
    identifiers = [step.get('identifier') if isinstance(step, dict) else None for step in steps]
    if not all(identifiers):
        raise AnsibleFilterError('awx_workflow_nodes: every step needs an identifier')
    repeated = sorted(set(i for i in identifiers if identifiers.count(i) > 1))
    if repeated:
        raise AnsibleFilterError('awx_workflow_nodes: identifiers used twice: %s' % ', '.join(repeated))
    nodes = []
    for index, step in enumerate(steps):
        following = [{'identifier': identifiers[index + 1]}] if index + 1 < len(steps) else []
        nodes.append({
            'identifier': step['identifier'],
            'unified_job_template': _template(step, organization),
            'related': {'success_nodes': following, 'failure_nodes': [], 'always_nodes': []},
        })
    return nodes


class FilterModule(object):
    def filters(self):
        return {'awx_workflow_nodes': awx_workflow_nodes}
