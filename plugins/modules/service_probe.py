#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: service_probe
short_description: Measure what a VM's users see while it moves (application-level downtime, response times)
version_added: 0.1.0
description:
  - Sends a request to a service every O(interval_ms) for O(seconds) (or until O(stop_file) appears), each on its
    own TCP connection,
    and records every answer's response time with its time; a request without an answer within
    O(timeout_ms) is counted and the probe goes on at the next slot.
  - The longest time between two answers, less one interval, is the application-level downtime of
    a move (the research's downtime probe), to set beside QEMU's own downtime figure; the response
    times before, during and after the move are the research's pi client/server curves.
  - O(request=heartbeat) asks the lab guest's port 8080 for its heartbeat (any HTTP service answers
    it); O(request=pi) asks the lab guest's Monte Carlo pi service for O(points) points.
  - Run it as an async task from another host (the user's workstation) while the VM moves.
    Nothing is changed anywhere.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
attributes:
  platform:
    details: Any POSIX host with Python that reaches the service.
options:
  host:
    description: Address or name of the service (the VM's address).
    type: str
    required: true
  port:
    description: TCP port of the service.
    type: int
    default: 8080
  request:
    description: What to ask, see the description.
    type: str
    choices: [heartbeat, pi]
    default: heartbeat
  points:
    description: With O(request=pi), the points of one estimate (1 to 10^8).
    type: int
    default: 100000
  seconds:
    description: How long to probe, above 0 and at most 172800 (two days), in at most 200000 requests.
    type: float
    default: 10
  stop_file:
    description:
      - A path on the probing host; the probe stops as soon as this file exists, before O(seconds) have passed.
      - The caller creates it when it has seen enough (a few seconds after a move ended), so a probe whose
        O(seconds) is a generous bound does not run on for nothing. The probe neither creates nor removes it.
      - The probe refuses to start while the file exists already (a stale one would stop it at once).
    type: path
  interval_ms:
    description: Time between two requests, ms (the resolution of the downtime figure).
    type: int
    default: 20
  timeout_ms:
    description: How long one request may take before it counts as unanswered, ms.
    type: int
    default: 1000
seealso:
  - module: skillvl.offline_first.vm_migrate
  - module: skillvl.offline_first.link_probe
'''

EXAMPLES = r'''
- name: Watch the service from the user's workstation while the VM moves
  skillvl.offline_first.service_probe:
    host: 203.0.113.50
    request: pi
    points: 100000
    seconds: 600
    stop_file: /run/skillvl/watcher.stop
    interval_ms: 50
  delegate_to: ws02
  async: 660
  poll: 0
  register: watcher

# ... move the VM, wait a few seconds, then end the probe early
- name: Stop the watcher
  ansible.builtin.file:
    path: /run/skillvl/watcher.stop
    state: touch
    mode: '0600'
  delegate_to: ws02
'''

RETURN = r'''
requests:
  description: Requests sent.
  returned: success
  type: int
answered:
  description: Requests answered in time.
  returned: success
  type: int
unanswered:
  description: Requests without an answer in time (see RV(errors)); not C(failed), which would fail the task.
  returned: success
  type: int
max_gap_ms:
  description: The longest time between the ends of two answered requests, ms.
  returned: success
  type: float
downtime_ms:
  description: The application-level downtime, RV(max_gap_ms) less one interval (0 at best), ms.
  returned: success
  type: float
  sample: 231.5
latency_ms:
  description: Response times of the answered requests (p50, p95, p99, max), ms.
  returned: success
  type: dict
  sample: {"p50": 1.2, "p95": 3.4, "p99": 12.0, "max": 250.1}
errors:
  description: The kinds of failure and how often each happened.
  returned: success
  type: dict
seconds:
  description: How long the probe ran, s.
  returned: success
  type: float
stopped_by_file:
  description: Whether O(stop_file) ended the probe before O(seconds).
  returned: success
  type: bool
started_at:
  description:
    - When the probe started (seconds since the epoch, the probing host's clock).
    - Not C(started), which an async task's result must not carry (async_status would wait for it forever).
  returned: success
  type: float
samples:
  description: Every request as [ms since RV(started_at), response time in ms or null, error or null].
  returned: success
  type: list
  elements: list
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.net import service_probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=8080),
            request=dict(type='str', default='heartbeat', choices=list(service_probe.REQUESTS)),
            points=dict(type='int', default=100000),
            seconds=dict(type='float', default=10.0),
            interval_ms=dict(type='int', default=20),
            timeout_ms=dict(type='int', default=1000),
            stop_file=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params

    def measure():
        result = service_probe.run(p['host'], p['port'], request=p['request'], points=p['points'],
                                   seconds=p['seconds'], interval_ms=p['interval_ms'], timeout_ms=p['timeout_ms'],
                                   stop_file=p['stop_file'])
        return dict(result, changed=False)

    run_backend(module, measure)


if __name__ == '__main__':
    main()
