# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The source and destination libvirt connections of a migration (see module_utils.migration.plan.PEER_ARGS)."""

    DOCUMENTATION = r'''
options:
  dest:
    description:
      - Destination host name or address, from which the URI is built with O(transport);
        or a full libvirt URI such as C(qemu+tls://ws01/system), whose scheme then decides the transport.
      - In peer-to-peer mode the source libvirtd resolves it, so never C(qemu:///system).
    type: str
    required: true
  transport:
    description:
      - How the source libvirtd reaches the destination. C(tls) also encrypts the migration
        data with QEMU's native TLS. C(ssh) encrypts only libvirt's control connection; the QEMU
        migration stream (guest memory, copied disks) goes in plain text over TCP unless
        tunnelled through libvirt (O(skillvl.offline_first.vm_migrate#module:tunnelled)); a live
        move over C(ssh) without it gives a warning. C(tcp) is unencrypted and meant for private
        lab networks only.
    type: str
    choices: [tls, ssh, tcp]
    default: tls
  dest_user:
    description: User for O(transport=ssh).
    type: str
  dest_port:
    description: Port of the destination's libvirtd (or SSH) when not the default.
    type: int
  source_uri:
    description: libvirt URI of the source host (this host) as seen from this host.
    type: str
    default: qemu:///system
'''
