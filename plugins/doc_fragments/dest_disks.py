# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """dest_disks, as vm_migrate runs it and vm_migration_check and vm_migration_plan check it
    (module_utils/migration/dest_disks.py: SPEC)."""

    DOCUMENTATION = r'''
options:
  dest_disks:
    description:
      - Disks that the destination keeps in its own storage pools. Each named disk is copied during the
        live move into a new volume in a libvirt storage pool of the destination. For example, an RBD
        disk becomes a local qcow2 file on a lab workstation, or a local file becomes an RBD image on a
        server.
      - M(skillvl.offline_first.vm_migrate) creates the volume before the move. Its pre-flight, which
        M(skillvl.offline_first.vm_migration_check) and M(skillvl.offline_first.vm_migration_plan) run too,
        fails with nothing changed when the pool is missing or stopped, when a volume of that name exists,
        or when the pool has less free space than the disk has allocated. It warns when the free space is
        less than the disk's virtual size.
      - The VM is defined on the destination with the new disk (its target, bus and address kept). The
        source's disk is kept as it was. If the move fails before the VM reaches the destination, the
        new volume is removed.
      - An RBD disk that is not listed here stays on Ceph. When the destination has an active rbd pool on
        the same Ceph pool with another user, the destination opens the disk as that user (each hypervisor
        has a Ceph user of its own), with no copy.
      - A read-only disk (a cloud-init seed), which libvirt cannot copy during a move, is copied before it
        into a new volume of a file pool (its format kept; an RBD image is read as this host's Ceph user).
        A volume of that name and size in the pool is taken as its image (the one it was copied from) and
        opened, not copied; libvirt's rbd pool cannot take uploaded content, so a read-only disk goes back
        onto RBD only that way.
      - Works with live moves only. It cannot be combined with C(cold_fallback) or
        C(storage=copy_incremental).
    type: list
    elements: dict
    default: []
    suboptions:
      target:
        description: The disk, by its target device name (V(vda)).
        type: str
        required: true
      pool:
        description: A storage pool of the destination, of type V(dir), V(fs), V(netfs) or V(rbd).
        type: str
        required: true
      volume:
        description:
          - The new volume's name in O(dest_disks[].pool).
          - Default V(<name>-<target>.qcow2) in a directory pool, V(<name>-<target>) in an rbd pool.
          - The disk's current volume in that pool means that the disk stays where it is and is not copied.
        type: str
      format:
        description: The new volume's format. An RBD image is always V(raw). The default for files is V(qcow2).
        type: str
        choices: [raw, qcow2]
'''
