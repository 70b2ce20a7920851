# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: vm_start_check
short_description: Whether each VM may be defined and started on its home hypervisor
version_added: 0.1.0
description:
  - Takes the results of M(skillvl.offline_first.vm_migration_info) run for every VM on every
    hypervisor of the inventory (a registered loop over C(HOST, VM) pairs, delegated to each host)
    and decides, for each VM, whether the C(vm) role may define it on its home host and bring it
    to its state there.
  - A VM that runs (or is paused) on another hypervisor, or is defined only there, is left where
    it is (RV(_value.action=leave)). A VM that runs on two hosts is refused. A VM that would be
    started while some hypervisor could not be asked (unreachable, libvirt down) is refused, unless
    O(unverified_ok) is true.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The C(results) list of the looped M(skillvl.offline_first.vm_migration_info) task;
      each element's C(item) is the pair C([HOST, VM]) asked.
    type: list
    elements: dict
    required: true
  guests:
    description: The VMs, each a dict with C(name), C(host) (its home) and C(state) (running,
      shutdown or absent; absent VMs are not decided and get RV(_value.action=manage)).
    type: list
    elements: dict
    required: true
  unverified_ok:
    description: Start a VM on its home although some hypervisor could not be asked.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Look for the guests on every hypervisor
  skillvl.offline_first.vm_migration_info:
    name: "{{ item.1 }}"
    last: 1
  delegate_to: "{{ item.0 }}"
  loop: "{{ groups['hypervisors'] | product(vm_guests | map(attribute='name')) | list }}"
  run_once: true
  register: where
  failed_when: false
  ignore_unreachable: true

- name: Decide, per guest
  ansible.builtin.set_fact:
    placement: "{{ where.results | skillvl.offline_first.vm_start_check(guests=vm_guests) }}"
'''

RETURN = r'''
_value:
  description: The decision for each VM, by name.
  type: dict
  contains:
    action:
      description: C(manage) (define it on its home and bring it to its state), C(leave) (it lives
        on another host, touch nothing) or C(refuse) (touching it could make a second copy).
      type: str
    msg:
      description: The decision in words, naming the hosts.
      type: str
    active:
      description: Hosts where the VM runs or is paused.
      type: list
      elements: str
    defined:
      description: Hosts where the VM is defined, running or not.
      type: list
      elements: str
    unasked:
      description: Hosts that could not be asked.
      type: list
      elements: str
    states:
      description: The VM's state on each host asked (C(absent) when it has no such VM, null when it
        could not be asked).
      type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.placement import ACTIVE_STATES, answer, start_check


def _answers(results):
    states, errors = {}, {}
    for res in results:
        item = res.get('item') if isinstance(res, dict) else None
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise AnsibleFilterError('vm_start_check: every result needs the pair [HOST, VM] asked as its item')
        host, vm = to_text(item[0]), to_text(item[1])
        states.setdefault(vm, {})[host], why = answer(res)
        if why is not None:
            errors.setdefault(vm, {})[host] = why
    return states, errors


def _start_filter(results, guests, unverified_ok=False):
    if not isinstance(results, list) or not isinstance(guests, list):
        raise AnsibleFilterError('vm_start_check expects the results list of a looped vm_migration_info task '
                                 'and the list of guests')
    states, errors = _answers(results)
    out = {}
    for guest in guests:
        if not isinstance(guest, dict) or 'name' not in guest or 'host' not in guest:
            raise AnsibleFilterError('vm_start_check: every guest needs a name and a host')
        name = to_text(guest['name'])
        if name not in states:
            raise AnsibleFilterError('vm_start_check: no hypervisor was asked about VM %s' % name)
        want = guest.get('state', 'running')
        if want == 'absent':
            st = states[name]
            out[name] = {'vm': name, 'home': guest['host'], 'action': 'manage', 'states': st,
                         'msg': 'VM %s is removed from the hosts of this run where it is defined' % name,
                         'active': sorted(h for h, s in st.items() if s in ACTIVE_STATES),
                         'defined': sorted(h for h, s in st.items() if s not in (None, 'absent')),
                         'unasked': sorted(h for h, s in st.items() if s is None)}
            continue
        out[name] = start_check(name, states[name], to_text(guest['host']), want=want, errors=errors.get(name),
                                unverified_ok=boolean(unverified_ok, strict=False))
    return out


class FilterModule(object):
    def filters(self):
        return {'vm_start_check': _start_filter}
