#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: link_probe
short_description: Measure round-trip time and TCP throughput between two hosts
version_added: 0.1.0
description:
  - A short measurement of a path no migration has measured yet, for the migration planner
    (M(skillvl.offline_first.vm_migration_plan)) and for experiments.
  - Run it twice, at the same time; with O(mode=listen) on the receiving host (as an async task),
    with O(mode=send) on the other. One TCP connection carries O(count) round trips, then
    O(seconds) of data; the rate is what the listener received, timed from the first byte to the end,
    without the first fifth of that time, where TCP's slow start has not yet filled the path (as
    C(iperf3 --omit)).
  - The listener serves one probe and answers only the expected O(peer); every wait is bounded by
    O(timeout). Nothing is changed on either host.
  - O(mode=connect) measures only the round trip, from this host to O(host), by O(count) TCP handshakes
    on O(port), with no listener of ours. A listening port answers with SYN/ACK, a closed one with a
    reset, both after one round trip (for the planner's round trip to the user's workstation).
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
attributes:
  platform:
    details: Any POSIX host with Python; the two hosts must reach each other on O(port).
options:
  mode:
    description:
      - C(listen) on the receiving host, C(send) on the host that probes the path to it.
      - C(connect) times TCP handshakes to O(host) (round trip only, nothing to run there).
    type: str
    required: true
    choices: [listen, send, connect]
  address:
    description: With O(mode=listen), the local address to listen on (the address the sender will use).
    type: str
  peer:
    description: With O(mode=listen), the only address a probe is accepted from (the sender's address).
    type: str
  host:
    description: With O(mode=send), the listener's address or name; with O(mode=connect), the host to time.
    type: str
  port:
    description:
      - TCP port of the listener; the default lies above libvirt's migration port range.
      - With O(mode=connect), the port to open (listening or closed; one a firewall does not drop, such as ssh's).
    type: int
    default: 49400
  seconds:
    description: With O(mode=send), how long to send data, above 0 and at most 60.
    type: float
    default: 3
  count:
    description: With O(mode=send) or O(mode=connect), how many round trips to time, 1 to 100.
    type: int
    default: 5
  timeout:
    description: Seconds the whole probe may take on this side (the listener's wait for the sender included), 1 to 3600.
    type: int
    default: 30
seealso:
  - module: skillvl.offline_first.vm_migration_plan
'''

EXAMPLES = r'''
- name: Listen on the destination for one probe from the source
  skillvl.offline_first.link_probe:
    mode: listen
    address: 198.51.100.21
    peer: 198.51.100.11
    timeout: 60
  delegate_to: ws01
  async: 90
  poll: 0
  register: listener

- name: Probe the path to it for 3 s
  skillvl.offline_first.link_probe:
    mode: send
    host: 198.51.100.21
    seconds: 3
  register: probe

- name: Show the path
  ansible.builtin.debug:
    msg: "{{ probe.mbit }} Mbit/s, RTT {{ probe.rtt_ms.median }} ms"

- name: Round trip from a candidate host to the user's workstation (its ssh port)
  skillvl.offline_first.link_probe:
    mode: connect
    host: 10.20.0.121
    port: 22
  delegate_to: skillvl-srv03
  register: to_user
'''

RETURN = r'''
mbit:
  description: The TCP throughput the listener received, in Mbit/s (10^6 bit/s), after the first fifth of the transfer.
  returned: success
  type: float
  sample: 291.4
bytes:
  description: Bytes the listener received.
  returned: success
  type: int
seconds:
  description: Time from the first data byte to the end, as the listener measured it.
  returned: success
  type: float
rtt_ms:
  description:
    - With O(mode=send), round-trip times over the connection (min, median, max, samples) in ms.
    - With O(mode=connect), the handshakes' times.
  returned: success and mode is send or connect
  type: dict
  sample: {"min": 0.21, "median": 0.25, "max": 0.4, "samples": [0.21, 0.22, 0.25, 0.3, 0.4]}
peer:
  description: With O(mode=listen), the address the probe came from.
  returned: success and mode is listen
  type: str
answer:
  description: With O(mode=connect), how O(host) answered the handshakes, C(accepted), C(refused) (a closed port) or C(both).
  returned: success and mode is connect
  type: str
pings:
  description: With O(mode=listen), how many round trips the sender timed.
  returned: success and mode is listen
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.net import probe


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', required=True, choices=['listen', 'send', 'connect']),
            address=dict(type='str'),
            peer=dict(type='str'),
            host=dict(type='str'),
            port=dict(type='int', default=probe.DEFAULT_PORT),
            seconds=dict(type='float', default=3.0),
            count=dict(type='int', default=5),
            timeout=dict(type='int', default=30),
        ),
        required_if=[('mode', 'listen', ('address', 'peer')), ('mode', 'send', ('host',)),
                     ('mode', 'connect', ('host',))],
        supports_check_mode=True,
    )
    p = module.params

    def measure():
        if p['mode'] == 'listen':
            result = probe.listen(p['address'], p['port'], p['peer'], timeout=p['timeout'])
        elif p['mode'] == 'connect':
            result = probe.connect_rtt(p['host'], p['port'], count=p['count'], timeout=p['timeout'])
        else:
            result = probe.send(p['host'], p['port'], seconds=p['seconds'], count=p['count'], timeout=p['timeout'])
        return dict(result, changed=False)

    run_backend(module, measure)


if __name__ == '__main__':
    main()
