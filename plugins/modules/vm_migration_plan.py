#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_migration_plan
short_description: Predict a live migration before it starts, and choose the target and the strategy
version_added: 0.1.0
description:
  - Answers, for a VM running on this host and a list of candidate destinations, without changing
    anything, how long a live move would take, how long the guest would pause, whether it would end
    at all, and which target and strategy to use.
  - Measures the guest itself unless told the figures, its memory (libvirt), the memory it has touched
    (the resident pages of its RAM in its QEMU process, read from C(/proc/PID/smaps) when the plan runs on
    the VM's host; else the resident memory of the whole process, as libvirt reports it) and its dirty
    rate (QEMU's dirty-rate calculation over O(dirty_rate_seconds) seconds, which also shows its working
    set; and the vCPU time it uses meanwhile), and runs the pre-flight of
    M(skillvl.offline_first.vm_migration_check) towards every candidate (which also reads the candidate's free memory).
  - Predicts pre-copy, auto-converge and, only with O(allow_postcopy=true), post-copy after the first round
    and early post-copy (the switch as soon as the guest is seen to outrun the link), by the model in
    C(docs/planner.md) (QEMU's rounds, switch-over at the downtime limit, throttling, disk copy).
  - Returns the M(skillvl.offline_first.vm_migrate) options that run the chosen prediction (RV(settings)).
  - Chooses the candidate with the lowest round-trip time to the user (as the Viper paper does) among
    those that pass the pre-flight, have the memory and finish within O(time_budget); for it, the fastest
    strategy within O(max_downtime). Every other candidate says why it was not chosen.
  - The link rate from this host to each candidate is given (O(link_mbit), per candidate or for all).
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt)) on the source host
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.attributes.info_module
  - skillvl.offline_first.dest_disks
attributes:
  platform:
    details: The source hypervisor, with libvirt-python.
options:
  name:
    description: Name of the VM on this host.
    type: str
    required: true
  candidates:
    description: The destinations to consider.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: Host name or address of the candidate's libvirtd, reached with O(transport).
        type: str
        required: true
      rtt_to_user_ms:
        description: Round-trip time from this candidate to the user's workstation, in ms (0 for the workstation itself).
        type: float
        required: true
      link_mbit:
        description: Rate of the migration path from this host to the candidate, Mbit/s. Defaults to O(link_mbit).
        type: float
      rtt_ms:
        description: Round-trip time of the migration path, ms (it adds to the pause and to each post-copy page fault).
        type: float
      link_efficiency:
        description: Share of O(candidates[].link_mbit) one migration stream reaches. Defaults to O(link_efficiency).
        type: float
  link_mbit:
    description: Rate of the migration path for every candidate that gives none, Mbit/s.
    type: float
  link_efficiency:
    description:
      - Share of the nominal rate one migration stream reaches (above 0, at most 1). The research's 37 Mbit/s
        WAN reached about 0.6 (C(docs/planner.md)).
    type: float
    default: 1.0
  storage:
    description: Storage handling of the move, as in M(skillvl.offline_first.vm_migrate); a copy adds the disks' allocated bytes.
    type: str
    choices: [shared, copy, copy_incremental]
    default: shared
  allow_postcopy:
    description: Offer post-copy. From its switch on, the VM exists only as both hosts together.
    type: bool
    default: false
  strategy:
    description:
      - The M(skillvl.offline_first.vm_migrate) strategy the move will run with. The plan chooses only
        what QEMU does under it, so the prediction is the move that will happen.
      - C(auto) keeps auto-converge on from the start (its throttle acts only when the guest outruns the
        link) and switches to post-copy only with O(allow_postcopy=true); C(precopy), C(auto_converge)
        and C(postcopy) run as named (C(postcopy) needs no O(allow_postcopy)).
      - C(any) chooses the fastest of every allowed strategy; pass RV(settings) to
        M(skillvl.offline_first.vm_migrate) then.
    type: str
    choices: [any, auto, auto_converge, postcopy, precopy]
    default: any
  time_budget:
    description: A candidate whose fastest allowed strategy needs more seconds than this is not chosen.
    type: int
  max_downtime:
    description: The longest pause the caller accepts, ms, device state and round trip included.
    type: int
  stall_max_downtime:
    description:
      - The pause to accept once pre-copy stalls, ms (M(skillvl.offline_first.vm_migrate)'s O(stall_max_downtime)),
        instead of the plan's; V(0) never raises the limit. At least O(max_downtime), at most 600000.
      - Unset, the plan gives one for a running guest's move that may stay in pre-copy over a link where the
        pause budget (O(max_downtime), else QEMU's 300 ms) holds less than the research's 300 ms held at
        37 Mbit/s (1.39 MB), the pause that holds that much, in 100 ms steps, at most 30000 ms. An idle guest
        that answers requests keeps rewriting a few hundred KiB, and its pre-copy never ends in a smaller
        budget over such a link.
    type: int
  memory_mib:
    description: The VM's memory instead of measuring it.
    type: int
  touched_mib:
    description: The memory the guest has written at least once, instead of measuring it.
    type: int
  dirty_rate_mib_s:
    description: The guest's dirty rate instead of measuring it.
    type: float
  cpu_busy_pct:
    description:
      - The share of its vCPU time the guest uses while it dirties memory, instead of measuring it (the
        vCPU time libvirt reports over the dirty-rate measurement).
      - Auto-converge's throttle slows the guest's writing only once it leaves the guest less vCPU time
        than this; 100 makes every throttle step count in full.
    type: float
  first_round_ratio:
    description:
      - How much compressing the guest's pages shrinks pre-copy's first round (raw / compressed), instead of
        measuring it. The plan measures it only when a candidate's link is slower than 100 Mbit/s, by
        compressing sampled pages of the guest's memory (read through libvirt, never stored) with zlib level 1,
        as QEMU's mt compression does.
      - Where it is 1.2 or more, the link is that slow and QEMU on both hosts is older than 8.2, the pre-copy
        and auto-converge predictions count a compressed first round, and when one of them is chosen
        RV(settings) asks for C(compression=[mt, xbzrle]). Not for a move that may turn to post-copy, which
        QEMU refuses with mt.
    type: float
  dirty_rate_seconds:
    description:
      - How long QEMU measures the dirty rate (1 to 60 s), after a first 1-second measurement.
      - QEMU counts the distinct pages changed in its window. When this window saw clearly fewer pages
        than the 1-second rate predicts, the guest rewrote the same pages - the rate is the 1-second one and
        the working set what this window saw. So a longer window finds larger working sets, at the cost
        of a longer plan.
    type: int
    default: 5
  working_set_mib:
    description: The memory the guest keeps rewriting, instead of measuring it (default, when it cannot be
      measured, the touched memory).
    type: int
  transport:
    description: How the candidates' libvirtd are reached for the pre-flight (see M(skillvl.offline_first.vm_migrate)).
    type: str
    choices: [tls, ssh, tcp]
    default: tls
  dest_user:
    description: User for O(transport=ssh).
    type: str
  dest_port:
    description: Port of the candidates' libvirtd (or SSH) when not the default.
    type: int
  source_uri:
    description: libvirt URI of this host as seen from this host.
    type: str
    default: qemu:///system
seealso:
  - module: skillvl.offline_first.vm_migration_check
  - module: skillvl.offline_first.vm_migrate
'''

EXAMPLES = r'''
- name: Where should web1 go for the student at ws07, and how?
  skillvl.offline_first.vm_migration_plan:
    name: web1
    link_mbit: 938
    candidates:
      - {host: ws07, rtt_to_user_ms: 0}
      - {host: ws08, rtt_to_user_ms: 0.3}
      - {host: cloud2, rtt_to_user_ms: 36.8, link_mbit: 10000}
    time_budget: 600
  register: plan

- name: Show the plan
  ansible.builtin.debug:
    msg: "{{ plan.table }}"

- name: Move as planned
  skillvl.offline_first.vm_migrate:
    name: web1
    dest: "{{ plan.target }}"
    strategy: "{{ plan.settings.strategy }}"
    allow_postcopy: "{{ plan.settings.allow_postcopy | default(false) }}"
    compression: "{{ plan.settings.compression | default([]) }}"
    xbzrle_cache: "{{ plan.settings.xbzrle_cache | default(omit) }}"
  when: plan.target is not none
'''

RETURN = r'''
target:
  description: The chosen destination, none when no candidate qualifies.
  returned: always
  type: str
  sample: ws07
strategy:
  description:
    - The model's strategy for it, C(precopy), C(auto_converge), C(postcopy) (after the first round) or
      C(early_postcopy) (what M(skillvl.offline_first.vm_migrate) strategy C(auto) with post-copy allowed does
      for a guest that outruns the link). RV(settings) says how to run it.
  returned: always
  type: str
  sample: precopy
settings:
  description:
    - The M(skillvl.offline_first.vm_migrate) options that run the chosen prediction, C(strategy) and
      C(allow_postcopy); for a running guest's pre-copy over a link slower than 100 Mbit/s also
      C(compression=[xbzrle]) and C(xbzrle_cache) (MiB, a power of two that holds the working set, at most
      half the guest's memory), C(compression=[mt, xbzrle]) where the first round goes compressed (see
      O(first_round_ratio));
      C(max_downtime) when given; C(stall_max_downtime) when given or needed (see O(stall_max_downtime)). A
      strategy given in O(strategy) stays as given.
  returned: when a target was chosen
  type: dict
  sample: {strategy: auto_converge, compression: [xbzrle], xbzrle_cache: 128, stall_max_downtime: 2500}
prediction:
  description:
    - The chosen move's figures. C(runs_as) is the strategy M(skillvl.offline_first.vm_migrate) will report
      as used (auto-converge whose throttle never acts runs as C(precopy)).
  returned: when a target was chosen
  type: dict
  sample: {strategy: precopy, runs_as: precopy, converges: true, total_s: 12.5, downtime_ms: 2.2, wire_mib: 1403,
           rounds: 1, max_throttle_pct: 0, guest_pays: nothing, reason: null}
candidates:
  description:
    - Every candidate with its predictions per strategy, whether it qualified, and if not, why.
    - QEMU measures the dirty rate in whole MiB/s, rounded down (a 1 s window in steps of 2 MiB/s). Over a
      link that carries less than ten such steps, C(dirty_rate_high_mib_s) is the top of the step (else
      null), every prediction says whether it still converges there (C(converges_worst)) and in how many
      seconds (C(worst_total_s)), and the choice prefers a strategy that does.
  returned: always
  type: list
  elements: dict
  sample:
    - {host: ws07, rtt_to_user_ms: 0.2, eligible: true, best: auto_converge, reason: null, dirty_rate_high_mib_s: 1.0,
       predictions: [{strategy: auto_converge, runs_as: precopy, converges: true, total_s: 274.1,
                      converges_worst: true, worst_total_s: 3349.0}]}
vm:
  description: The guest's inputs (memory, touched memory, dirty rate, disk to copy) and where each came from.
  returned: always
  type: dict
  sample: {name: web1, running: true, memory_mib: 2048, touched_mib: 1403, working_set_mib: 1403, dirty_rate_mib_s: 0.4,
           cpu_busy_pct: 12.5, first_round_ratio: 2.4,
           disk_mib: 0, sources: {memory: "measured (libvirt: the VM's memory)", dirty_rate: "measured (QEMU, 5 s)",
                                  cpu_busy: "measured (vCPU time, libvirt)"}}
table:
  description:
    - The same as a human-readable table, one line per candidate and strategy.
    - Where QEMU's dirty-rate step counts on some candidate's link, a C(worst) column gives the time at the
      top of the step (C(worst_total_s)), C(never), or C(-) where the step does not count.
  returned: always
  type: list
  elements: str
msg:
  description: The plan in one sentence, or why no candidate qualifies.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import planner
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(argument_spec=planner.argument_spec(), supports_check_mode=True)
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
    from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.stats import (
        first_round_ratio, measure_dirty_rate, resident_guest_ram, vcpu_time)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration

    opts = dict(module.params)
    peer = dict((k, opts[k]) for k in ('transport', 'dest_user', 'dest_port', 'source_uri'))

    def check(host):
        return Migration(dict(peer, name=opts['name'], dest=host, storage=opts['storage'],
                              dest_disks=opts['dest_disks'])).check()

    def connect(uri):
        return session.connect(uri, 'the libvirt of this host (%s)' % uri, keepalive=False)

    run_backend(module, lambda: planner.plan(opts, check=check, connect=connect,
                                             measure_dirty_rate=measure_dirty_rate,
                                             measure_resident=resident_guest_ram, measure_vcpu=vcpu_time,
                                             measure_compression=first_round_ratio))


if __name__ == '__main__':
    main()
