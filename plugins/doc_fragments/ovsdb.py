# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """How a module reaches OVSDB (see module_utils.ovs.common.connection_argument_spec)."""

    DOCUMENTATION = r'''
options:
  ovsdb:
    description:
      - OVSDB remote to connect to.
    type: str
    default: unix:/var/run/openvswitch/db.sock
  ovsdb_timeout:
    description:
      - Seconds to wait for OVSDB to answer and, when changing, for ovs-vswitchd to apply the change.
      - It bounds each wait, not the whole module run.
      - O(timeout) is an alias, the option's earlier name.
    type: int
    default: 30
    aliases: [timeout]
'''
