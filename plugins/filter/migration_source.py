# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: migration_source
short_description: The one hypervisor a VM migration starts from, or why there is none
version_added: 0.1.0
description:
  - Takes the results of M(skillvl.offline_first.vm_migration_info) run for one VM on every
    hypervisor of the inventory (a registered loop over the hosts, delegated to each) and decides
    which host the migration starts from.
  - Refuses, with an error message, when the VM runs on more than one host, when the target cannot
    be asked, when a live move is asked for a VM that runs nowhere, or when a stopped VM is defined
    on several hosts and no source was named.
  - A host that could not be asked (unreachable, libvirt down) is listed in RV(_value.unasked); it
    blocks the decision only when it is the target or the named source.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The C(results) list of a looped M(skillvl.offline_first.vm_migration_info) task; each
      element's C(item) is the host asked.
    type: list
    elements: dict
    required: true
  vm:
    description: Name of the VM.
    type: str
    required: true
  target:
    description: The host the VM should move to.
    type: str
    required: true
  source:
    description: The host to move from, when the caller names it; it must be where the VM runs.
    type: str
  mode:
    description: C(live) needs a running VM; C(cold) also moves a stopped one.
    type: str
    default: live
    choices: [live, cold]
'''

EXAMPLES = r'''
- name: Look for the VM on every hypervisor
  skillvl.offline_first.vm_migration_info:
    name: "{{ vm }}"
  delegate_to: "{{ item }}"
  loop: "{{ groups['hypervisors'] }}"
  run_once: true
  register: where
  failed_when: false
  ignore_unreachable: true

- name: Choose the source
  ansible.builtin.set_fact:
    placement: "{{ where.results | skillvl.offline_first.migration_source(vm=vm, target=target) }}"
'''

RETURN = r'''
_value:
  description: The decision.
  type: dict
  contains:
    source:
      description: The host to migrate from; null on refusal or when there is nothing to do.
      type: str
    error:
      description: Why no migration may start; null when one may.
      type: str
    msg:
      description: What was decided, in words.
      type: str
    already_there:
      description: The VM already runs (or, cold, is defined) on the target.
      type: bool
    active:
      description: Hosts where the VM runs.
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
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.placement import answer, migration_source


def _source_filter(results, vm, target, source=None, mode='live'):
    if not isinstance(results, list):
        raise AnsibleFilterError('migration_source expects the results list of a looped vm_migration_info task')
    states, errors = {}, {}
    for res in results:
        if not isinstance(res, dict) or 'item' not in res:
            raise AnsibleFilterError('migration_source: every result needs the host asked as its item')
        host = res['item']
        states[host], why = answer(res)
        if why is not None:
            errors[host] = why
    return migration_source(vm, states, target, source=source or None, mode=mode, errors=errors)


class FilterModule(object):
    def filters(self):
        return {'migration_source': _source_filter}
