# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pick the NFS backend for a server kind (shared by nfs_export and nfs_export_info)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_ganesha import GaneshaNfsBackend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_kernel import KernelNfsBackend

BACKENDS = dict(kernel=KernelNfsBackend, ganesha=GaneshaNfsBackend)


def nfs_backend(kind, directory=None, tools=None, **kwargs):
    try:
        cls = BACKENDS[kind]
    except KeyError:
        raise StorageError("unknown NFS server kind %r: use %s" % (kind, " or ".join(sorted(BACKENDS))))
    return cls(tools, directory=directory, **kwargs)
