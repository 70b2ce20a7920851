# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract every backend keeps (libvirt, migration, OVSDB, NFS, iSCSI).

A backend is plain Python: it returns a result dict (``changed``, its own fields, optional
``warnings`` and ``diff``) and raises only ``BackendError`` or a subclass, whose message says
what is wrong in an administrator's words, whether anything was changed before the failure,
and any extra result fields (reasons, state, figures...). ``module_result`` turns both into a
module's exit the same way everywhere.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class BackendError(Exception):
    """A failure explained for the admin; ``changed`` says whether the host was already changed."""

    def __init__(self, msg, changed=False, **result):
        super(BackendError, self).__init__(msg)
        self.msg = msg
        self.changed = changed
        self.result = result

    def __str__(self):
        return self.msg

    def as_result(self):
        """The module's failure result: msg, changed and the extra fields."""
        out = dict(self.result)
        out.update(msg=self.msg, changed=self.changed)
        return out
