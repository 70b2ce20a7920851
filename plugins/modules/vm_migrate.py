#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vm_migrate
short_description: Live-migrate (or cold-move) a libvirt VM to another host
version_added: 0.1.0
description:
  - Moves a libvirt/QEMU VM from the host this module runs on to a destination host,
    peer-to-peer through libvirt (C(migrateToURI3)).
  - Runs a pre-flight first (see M(skillvl.offline_first.vm_migration_check)) and refuses with
    every reason when the move is impossible.
  - Strategies C(precopy), C(auto_converge), C(postcopy) and C(auto). C(auto) starts a pre-copy with
    auto-converge, which throttles the guest's vCPUs until it converges. Only with
    O(allow_postcopy=true) does C(auto) also measure the guest's dirty rate for one second and switch
    to post-copy as soon as the guest dirties memory faster than O(postcopy_ratio) of the link, or
    when the remaining memory stops shrinking for O(stall_timeout) seconds.
  - Post-copy is never used unless asked for (O(strategy=postcopy), O(timeout_action=postcopy) or
    O(allow_postcopy=true)). From the switch on, the VM exists only as both hosts together, and a
    destination that fails then takes the VM with it.
  - Refuses O(persistent=false) with O(undefine_source=true) (only a transient VM would be left) and
    any number out of its range, before anything is done. After a live move, fails unless the VM is
    running and persistent on the destination (with O(persistent=true)).
  - Returns the measured figures, taken from the source's job-completed event.
  - Writes a progress log (JSON lines) while it runs when O(progress_log) is set; poll it with
    M(skillvl.offline_first.vm_migration_info) from an async task.
  - Idempotent. A VM already running on the destination and gone from the source is reported
    unchanged.
  - When a live move is impossible because of the emulator, machine type or CPU and
    O(cold_fallback=true), shuts the VM down cleanly, copies local disks, defines it on the
    destination (adapted) and starts it there; the result says so.
author:
  - SKILL/VL offline-first team (@skillvl)
requirements:
  - libvirt-python (Debian package C(python3-libvirt)) on the source host
  - libvirtd on both hosts, reachable from the source over the chosen transport
extends_documentation_fragment:
  - skillvl.offline_first.attributes
  - skillvl.offline_first.libvirt_peer
  - skillvl.offline_first.dest_disks
attributes:
  check_mode:
    support: full
    details: Runs the pre-flight only and reports what would happen (plan with flags and parameters).
  diff_mode:
    support: partial
    details: Reports where the VM runs before and after; no definition diff.
  platform:
    details: The source hypervisor, with libvirt-python.
options:
  name:
    description: Name of the VM (libvirt domain) on this host.
    type: str
    required: true
  migrate_uri:
    description: Address for the migration data stream (for example C(tcp://198.51.100.21)), when it
      must differ from the destination's configured C(migration_address).
    type: str
  tunnelled:
    description:
      - Send the migration data through the libvirt connection (SSH only; no multifd, no post-copy).
      - Without it, O(transport=ssh) sends the QEMU migration stream in plain text over TCP, and the
        module warns.
    type: bool
    default: false
  mode:
    description: C(live) keeps the VM running; C(cold) shuts it down, moves it and starts it again.
    type: str
    choices: [live, cold]
    default: live
  strategy:
    description: Live migration strategy.
    type: str
    choices: [auto, precopy, auto_converge, postcopy]
    default: auto
  allow_postcopy:
    description:
      - Let O(strategy=auto) switch to post-copy for a guest that pre-copy cannot finish (faster, with
        no guest slowdown, but the VM is then split between the hosts until the end, so a destination
        that dies or a link that breaks in that phase stops it).
      - With V(false), C(auto) finishes such guests with auto-converge, throttling their vCPUs.
      - O(strategy=postcopy) and O(timeout_action=postcopy) are explicit requests and need no permission.
    type: bool
    default: false
  bandwidth:
    description: Bandwidth cap for the migration in MiB/s; C(0) means no cap.
    type: int
    default: 0
  postcopy_bandwidth:
    description: Bandwidth cap in MiB/s during the post-copy phase; C(0) means O(bandwidth) applies there too.
    type: int
    default: 0
  max_downtime:
    description: Longest pause of the VM at switch-over in milliseconds (QEMU's downtime limit).
    type: int
    default: 300
  parallel_connections:
    description: Number of parallel connections (multifd); C(0) or C(1) disable multifd.
    type: int
    default: 0
  compression:
    description:
      - Compression methods; C(zstd) and C(zlib) need multifd, C(xbzrle) and C(mt) need its absence.
      - C(zstd) and C(zlib) need libvirt 9.4 or later on both hosts (Debian 12 has 9.0); the pre-flight refuses them before anything moves.
      - C(mt) is QEMU's own zlib compression threads on the main stream, up to QEMU 9.0.
      - With C(xbzrle) (up to QEMU 8.1, Debian 12 has 7.2) C(mt) compresses the first round and XBZRLE the pages sent again,
        which suits a slow link. C(mt) excludes post-copy.
    type: list
    elements: str
    choices: [xbzrle, mt, zstd, zlib]
    default: []
  compression_level:
    description: Level for mt (0-9, QEMU's default 1), zstd (0-20) or zlib (0-9).
    type: int
  xbzrle_cache:
    description: XBZRLE cache size in MiB.
    type: int
  auto_converge_initial:
    description: Initial auto-converge CPU throttle, percent.
    type: int
  auto_converge_increment:
    description: Auto-converge throttle increment, percent.
    type: int
  storage:
    description:
      - C(shared) requires every disk on storage both hosts see (and libvirt recognises as shared).
      - C(copy) copies every non-shared disk during the migration.
      - C(copy_incremental) copies only the top image; its backing image must exist on the destination.
    type: str
    choices: [shared, copy, copy_incremental]
    default: shared
  persistent:
    description: Define the VM persistently on the destination.
    type: bool
    default: true
  undefine_source:
    description: Remove the VM's definition from the source after success (disk files are kept).
    type: bool
    default: true
  timeout:
    description:
      - Seconds a live migration may take before O(timeout_action) applies; it holds also while libvirt
        shows no job statistics.
      - Also bounds a cold move, disk copies included; a cold move that runs out of time fails, the copies and
        the definition made at the destination are removed and the VM is started on the source again.
      - Keep the task's C(async) above this plus 360 s (the module's own limit in post-copy). Ansible's async
        wrapper ends a task with SIGKILL, which leaves a running migration job unwatched.
      - Between 1 and 604800.
    type: int
    default: 1800
  timeout_action:
    description: What to do when O(timeout) fires; C(abort) leaves the VM running on the source.
    type: str
    choices: [abort, postcopy]
    default: abort
  postcopy_resume_timeout:
    description:
      - Seconds to keep trying to finish a move whose link, or the destination's libvirt, failed after
        the switch to post-copy. From that switch on the VM exists only as both hosts together; libvirt
        leaves the source paused (reason post-copy failed), and the VM is never resumed there.
      - The module pauses the source's migration stream (libvirt's post-copy abort, QEMU's migrate-pause),
        probes the destination every few seconds and, once it answers, resumes the same migration
        (C(VIR_MIGRATE_POSTCOPY_RESUME), libvirt 8.5 or later) until the VM runs on the destination.
      - When the time runs out the module fails, leaves the VM recoverable and names the
        C(virsh migrate --postcopy-resume) command to run on the source host; running the module
        again with the same options resumes it too.
      - C(0) resumes nothing and only reports. Between 0 and 604800. Counts on top of O(timeout); keep
        the task's C(async) above both.
    type: int
    default: 300
  stall_timeout:
    description: Seconds without a new low of the remaining memory after which pre-copy counts as stalled.
    type: int
    default: 10
  stall_max_downtime:
    description:
      - When pre-copy first stalls (O(stall_timeout)), raise QEMU's downtime limit from O(max_downtime) to this
        many ms, so that what is left may be sent in one pause of at most this length.
      - For slow links. A guest that keeps rewriting a small working set (an idle kernel, a service answering
        requests) leaves more than O(max_downtime) allows in every round, the more so as the end game's small
        rounds over a long round trip do not reach the link's rate. Such a move never ends in pre-copy, and a
        pause a few times longer ends it.
      - The pause is what is left when QEMU's estimate says it fits this limit, plus the device state and the
        round trip. A second stall goes on as without it (post-copy with O(strategy=auto) and O(allow_postcopy=true)).
      - Pre-copy counts as stalled from its second pass on (the first pass only sends).
      - Under auto-converge (O(strategy=auto) or O(strategy=auto_converge)) the limit is raised earlier, as soon
        as QEMU has begun to throttle the guest and what is left fits this limit at the rate QEMU measures, so
        that the move ends instead of slowing the guest further.
      - Not set (the default), the limit stays O(max_downtime). At least O(max_downtime), at most 600000.
    type: int
  full_throttle_timeout:
    description:
      - Seconds a pre-copy may go on with QEMU throttling the guest at its top (99 %) and the remaining memory
        making no new low (by 5 %) before the move counts as one that cannot complete. It is then treated as
        a timeout, early, as O(timeout_action) says. With C(abort) the move is aborted and the VM runs on the
        source at full speed again; with C(postcopy), where post-copy is allowed, it switches to post-copy.
      - At the top throttle auto-converge has nothing left to try. A guest that still dirties what the link
        carries keeps the move from ending and is itself nearly stopped; over a slow link that lasts until
        O(timeout) (in the lab, 322 s without an answer before a 900 s give-up, C(docs/experiments.md)).
      - Only auto-converge throttles (O(strategy=auto), O(strategy=auto_converge)); with O(strategy=auto) and
        O(allow_postcopy=true) a stall switches to post-copy first.
      - Not set (the default), only O(timeout) ends such a move. Between 1 and 604800.
    type: int
  postcopy_ratio:
    description:
      - For O(strategy=auto) with O(allow_postcopy=true), the guest's dirty rate as a fraction of the link
        rate above which post-copy is used; above 0 and at most 1.
      - Pre-copy takes about 1/(1-ratio) times the physical limit; 0.25 keeps it within 1.33x. Higher values
        keep more migrations in pre-copy (the VM is never split between hosts) at the price of time.
    type: float
    default: 0.25
  cold_fallback:
    description: Move cold when a live move is impossible because of emulator, machine type, CPU or local disks.
    type: bool
    default: false
  cold_shutdown_timeout:
    description: Seconds to wait for a clean shutdown in a cold move.
    type: int
    default: 120
  cold_force_off:
    description:
      - Power the VM off when it does not shut down within O(cold_shutdown_timeout).
      - When the power-off fails or QEMU keeps running, the move stops there and the VM keeps running on the source.
    type: bool
    default: false
  progress_log:
    description: File on the source host for progress records (JSON lines), replaced at each run.
    type: path
  poll_interval:
    description: Seconds between job statistics samples.
    type: float
    default: 0.5
seealso:
  - module: skillvl.offline_first.vm_migration_check
  - module: skillvl.offline_first.vm_migration_info
  - module: skillvl.offline_first.vm_cpu_baseline
'''

EXAMPLES = r'''
- name: Live-migrate web1 to ws01 over TLS, letting the module pick the strategy
  skillvl.offline_first.vm_migrate:
    name: web1
    dest: ws01
    bandwidth: 100
    max_downtime: 300
    progress_log: /var/log/skillvl/migrate-web1.jsonl

- name: Over a slow WAN link, let a stalled pre-copy end with a pause of up to 2.4 s instead of never
  skillvl.offline_first.vm_migrate:
    name: pi-service
    dest: ws01
    max_downtime: 300
    stall_max_downtime: 2400

- name: Without post-copy, give up a move that auto-converge cannot end rather than hold the guest at 99 % for an hour
  skillvl.offline_first.vm_migrate:
    name: pi-service
    dest: ws01
    strategy: auto_converge
    timeout: 3600
    full_throttle_timeout: 120

- name: Migrate a busy VM, allowing post-copy (faster, but the VM is split between the hosts meanwhile)
  skillvl.offline_first.vm_migrate:
    name: db1
    dest: cloud1
    allow_postcopy: true

- name: Move a VM with local disks, cold when CPUs differ
  skillvl.offline_first.vm_migrate:
    name: lab-vm
    dest: cloud1
    storage: copy
    cold_fallback: true
    cold_force_off: true

- name: Scale away - the VM's RBD disk becomes a local qcow2 file on the workstation
  skillvl.offline_first.vm_migrate:
    name: course-web
    dest: ws01
    dest_disks:
      - target: vda
        pool: default

- name: Bring it back onto Ceph (a new RBD image; the stale one was removed first)
  skillvl.offline_first.vm_migrate:
    name: course-web
    dest: cloud1
    dest_disks:
      - target: vda
        pool: skillvl-rbd
        volume: course-web-disk
  delegate_to: ws01

- name: Migrate in the background and show progress
  skillvl.offline_first.vm_migrate:
    name: web1
    dest: ws02
    progress_log: /var/log/skillvl/migrate-web1.jsonl
  async: 3600
  poll: 0
  register: mig
'''

RETURN = r'''
msg:
  description: What happened, in one sentence.
  returned: always
  type: str
  sample: VM "web1" live-migrated to ws01 in 2.1 s (precopy, downtime 84 ms, 170.2 MiB sent)
dest_uri:
  description: The destination URI the source libvirtd used.
  returned: always
  type: str
  sample: qemu+tls://ws01/system
mode:
  description: C(live) or C(cold) (also after a cold fallback).
  returned: when a move was planned
  type: str
strategy_used:
  description: C(precopy), C(auto_converge), C(postcopy) or C(cold).
  returned: when the VM moved
  type: str
postcopy_recovery:
  description:
    - Set when the move failed in post-copy and was resumed (see O(postcopy_resume_timeout)), null otherwise.
    - V(failure) is libvirt's error, V(attempts) the resume calls made, V(seconds) the time from the
      failure to the end of the resume.
    - V(source_definition) is what became of the VM's stopped definition on the source - V(absent) (libvirt
      removed it), V(undefined) (the module removed it, disks kept, because the move completed without
      libvirt's confirm phase), V(kept) (O(undefine_source=false)) or V(remains) (it could not be removed;
      a warning names the command that removes it).
  returned: when the VM moved live
  type: dict
  sample: {"failure": "internal error: client socket is closed", "attempts": 1, "seconds": 46.2,
           "source_definition": "absent"}
dest_disks:
  description:
    - The disks placed by O(dest_disks), and RBD disks opened as the destination's own Ceph user.
    - V(where) is the new file or C(rbd:pool/image), V(copy) says whether libvirt copied the content during
      the move, V(copied_before) whether a read-only disk's content was uploaded before it, and V(capacity)
      is the virtual size in bytes (null when nothing was copied).
  returned: when the VM moved live with disks placed
  type: list
  elements: dict
  sample: [{"target": "vda", "pool": "default", "volume": "course-web-vda.qcow2", "copy": true, "format": "qcow2",
            "where": "/var/lib/libvirt/images/course-web-vda.qcow2", "capacity": 10737418240,
            "copied_before": false}]
postcopy_reason:
  description: Why the migration switched to post-copy, if it did.
  returned: when the VM moved live
  type: str
max_downtime_raised_to:
  description: The downtime limit in ms that O(stall_max_downtime) raised pre-copy to when it stalled, or null.
  returned: when the VM moved live
  type: int
  sample: 2400
figures:
  description:
    - Measured figures of the migration.
    - When a live move fails, the figures of its last job statistics sample.
  returned: when the VM moved, or a live move failed
  type: dict
  contains:
    source:
      description: Where the figures come from (normally the source's job-completed event).
      type: str
    total_time_ms:
      description: Job duration in ms.
      type: int
    downtime_ms:
      description:
        - Time the VM was paused in ms.
        - Null when a move failed before the VM ever paused (see RV(figures.expected_downtime_ms)).
      type: int
    expected_downtime_ms:
      description:
        - The pause libvirt expected at the switch-over, in ms, when a move failed before the VM ever paused.
        - What would be left to send at the last sample's rate; it says how far a stalled pre-copy was from its limit.
      returned: when a live move failed in pre-copy
      type: int
    data_bytes:
      description: Bytes transferred in total.
      type: int
    memory_bytes:
      description: Memory bytes transferred.
      type: int
    disk_bytes:
      description: Disk bytes transferred.
      type: int
    memory_iterations:
      description: Pre-copy passes over memory.
      type: int
    dirty_rate_mib_s:
      description: Guest dirty rate at the end, MiB/s.
      type: float
    effective_bandwidth_mib_s:
      description: Bytes transferred divided by the job time, MiB/s.
      type: float
    postcopy_requests:
      description: Pages the destination requested during post-copy.
      type: int
    wall_time_s:
      description: Wall time of the migrate call, s.
      type: float
preflight:
  description: The pre-flight verdict (see M(skillvl.offline_first.vm_migration_check)).
  returned: when a move was planned
  type: dict
plan:
  description:
    - Flags and parameters used (live) or the cold plan.
    - A live plan also has C(strategy) and C(stall_max_downtime) (null when the limit is never raised).
  returned: when a move was planned
  type: dict
progress:
  description: Progress records (about one per second, the last 60).
  returned: when the VM moved live
  type: list
  elements: dict
cold_steps:
  description: Steps of a cold move.
  returned: when moved cold
  type: list
  elements: str
adjustments:
  description: Changes made to the definition for the destination in a cold move.
  returned: when moved cold
  type: list
  elements: str
state:
  description: The VM's state on the source and the destination afterwards (also on failure).
  returned: always
  type: dict
  sample: {"source": "absent", "dest": "running"}
reasons:
  description: Pre-flight reasons when the move was refused.
  returned: on a refused move
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import (
    HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR)
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import argument_spec, stream_warnings
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    for warning in stream_warnings(module.params):
        module.warn(warning)
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib('libvirt-python (python3-libvirt)'), exception=LIBVIRT_IMPORT_ERROR)
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.engine import Migration

    run_backend(module, lambda: Migration(dict(module.params)).run(check_mode=module.check_mode))


if __name__ == '__main__':
    main()
