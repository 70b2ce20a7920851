# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pick the iSCSI target backend (shared by iscsi_target and iscsi_target_info)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_lio import LioBackend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_tgt import TgtBackend

BACKENDS = dict(lio=LioBackend, tgt=TgtBackend)


def iscsi_backend(kind, tools=None):
    try:
        cls = BACKENDS[kind]
    except KeyError:
        raise StorageError("unknown iSCSI target kind %r: use %s" % (kind, " or ".join(sorted(BACKENDS))))
    return cls(tools)


def describe_targets(kind, tools=None):
    """iscsi_target_info: the targets as the backend reports them (secrets left out).
    A backend that cannot run here (LIO without configfs) says so instead of reporting nothing."""
    backend = iscsi_backend(kind, tools)
    check = getattr(backend, "available", None)
    if check is not None:
        check()
    return dict(backend.info(), changed=False)
