# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Which NFS server a host runs (see module_utils.storage.nfs_backends.server_argument_spec)."""

    DOCUMENTATION = r'''
options:
  backend:
    description: Which NFS server the host runs.
    type: str
    choices: [kernel, ganesha]
    default: kernel
  config_dir:
    description: Directory of the entry files, when not the backend's default.
    type: path
  main_config:
    description: ganesha's main configuration file, which includes the entries (ganesha only).
    type: path
    default: /etc/ganesha/ganesha.conf
'''
