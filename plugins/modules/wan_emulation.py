#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: wan_emulation
short_description: Emulate a WAN link (rate, round-trip time, jitter, loss) on one host's side of the underlay
version_added: 0.1.0
description:
  - Shapes the traffic of one interface in both directions, as a slow or distant link would,
    for experiments and for rehearsing the offline-first strategy (a cloud link that is slow or gone).
  - Half of O(rtt_ms) (and of O(jitter_ms)) is added in each direction; O(rate_mbit) applies to both
    directions. With O(peers), only the traffic to and from those addresses is shaped.
  - O(method=netem) (real hosts) puts netem on the interface's egress and, through an ifb device
    its ingress is redirected to, on its ingress. O(method=forwarder) is for kernels without C(sch_netem)
    (containers, the lab); the interface must be a bridge port, and a veth takes its place in the bridge
    while a small userspace forwarder (Python, AF_PACKET) carries the frames between them with the same model.
  - What was applied is kept in a state file per interface under O(state_dir); a second run with
    the same figures changes nothing, other figures replace them, and O(state=absent) removes exactly
    what was added (a setup found half there, after a crash or a reboot, is removed before a new one).
  - The role C(skillvl.offline_first.wan_emulation) applies it to hosts' underlay side and checks the
    path by measuring it.
author:
  - SKILL/VL offline-first team (@skillvl)
extends_documentation_fragment:
  - skillvl.offline_first.attributes
attributes:
  check_mode:
    support: full
    details: Reads the state file and the interfaces and says what would change.
  diff_mode:
    support: full
    details: The emulated link's figures before and after.
  platform:
    details: Linux with iproute2 (C(ip), C(tc)); C(sch_netem) and C(ifb) for O(method=netem).
options:
  interface:
    description:
      - The interface to shape; with O(method=forwarder) a bridge port (in O(netns) when given).
      - One of O(interface) and O(address) is required.
    type: str
  address:
    description: Shape the interface of this host that holds this address (its underlay address).
    type: str
  state:
    description: V(present) sets the emulation up (or changes it), V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  method:
    description: How to shape, see the description.
    type: str
    choices: [netem, forwarder]
    default: netem
  netns:
    description: With O(method=forwarder), the network namespace holding O(interface) and its bridge.
    type: str
  rate_mbit:
    description:
      - The link's rate as TCP sees it (what iperf3 reports), Mbit/s, in each direction. The shaper's
        line rate adds the headers of full frames (at MTU 1500, 1514/1448 of it). Leave it out for no rate limit.
    type: float
  rtt_ms:
    description: Round-trip time added to the path, ms, 0 to 10000.
    type: float
    default: 0
  jitter_ms:
    description: Variation of the added round trip, +/- ms, uniform, at most O(rtt_ms); frames are never reordered.
    type: float
    default: 0
  loss_percent:
    description: Share of frames dropped in each direction, percent, below 100.
    type: float
    default: 0
  peers:
    description: Only the traffic to and from these IP addresses is shaped; empty shapes all of it.
    type: list
    elements: str
    default: []
  queue_ms:
    description:
      - How long a frame may wait for the emulated link before it is dropped (the buffer of the link's router), ms.
        At O(rate_mbit), this sets netem's C(limit).
    type: float
    default: 50
  mtu:
    description: The path's MTU, used for the line rate (headers per full frame) and netem's packet limit.
    type: int
    default: 1500
  state_dir:
    description: Directory of the state files (root only); under C(/run), so a reboot forgets a setup the reboot removed.
    type: path
    default: /run/skillvl/wan
seealso:
  - module: skillvl.offline_first.link_probe
'''

EXAMPLES = r'''
- name: The research's WAN between the cloud and this workstation (37 Mbit/s, 37 ms)
  skillvl.offline_first.wan_emulation:
    interface: enp1s0
    rate_mbit: 37
    rtt_ms: 37
    peers: [10.20.0.11, 10.20.0.12]

- name: The same in the lab, on the workstation's underlay port (no netem in the lab's kernel)
  skillvl.offline_first.wan_emulation:
    method: forwarder
    netns: skillvl-underlay
    interface: ws01
    rate_mbit: 37
    rtt_ms: 37
  delegate_to: localhost

- name: Back to the plain path
  skillvl.offline_first.wan_emulation:
    interface: enp1s0
    state: absent
'''

RETURN = r'''
spec:
  description: The emulated link as applied (null after O(state=absent)); C(line_rate_bit) is the shaper's rate on the wire.
  returned: success
  type: dict
  sample: {"rate_mbit": 37.0, "rtt_ms": 37.0, "jitter_ms": 0.0, "loss_percent": 0.0, "peers": [],
           "queue_ms": 50.0, "mtu": 1500, "line_rate_bit": 38686464}
actions:
  description: What was changed (or would be, in check mode).
  returned: success
  type: list
  elements: str
method:
  description: The method used.
  returned: success
  type: str
interface:
  description: The shaped interface.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan


def main():
    module = AnsibleModule(
        argument_spec=wan.argument_spec(),
        required_one_of=[('interface', 'address')],
        mutually_exclusive=[('interface', 'address')],
        supports_check_mode=True,
    )
    p = module.params

    def ensure():
        spec = None
        if p['state'] == 'present':
            spec = wan.build_spec(rate_mbit=p['rate_mbit'], rtt_ms=p['rtt_ms'], jitter_ms=p['jitter_ms'],
                                  loss_percent=p['loss_percent'], peers=p['peers'], queue_ms=p['queue_ms'],
                                  mtu=p['mtu'])
        backend = wan.backend(p['method'], p['interface'], netns=p['netns'], state_dir=p['state_dir'],
                              address=p['address'])
        return backend.ensure(spec, state=p['state'], check_mode=module.check_mode)

    run_backend(module, ensure)


if __name__ == '__main__':
    main()
