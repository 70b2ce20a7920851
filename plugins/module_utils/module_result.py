# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one place where a backend's result or error becomes a module's exit.

Backends return plain dicts (usable by a planner or an experiment runner as they are), with
``warnings`` and ``diff`` keys of their own, and raise ``BackendError``; a module passes both on
the Ansible way.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError


def exit_with_result(module, result):
    """Warnings through module.warn, the diff only in diff mode, the rest as the result."""
    for warning in result.pop('warnings', None) or []:
        module.warn(warning)
    diff = result.pop('diff', None)
    if module._diff and diff:
        result['diff'] = diff
    module.exit_json(**result)


def fail_with_error(module, exc):
    """A BackendError as the module's failure: its message, ``changed`` and extra fields."""
    module.fail_json(**exc.as_result())


def run_backend(module, call):
    """Call the backend (no arguments); exit with its result or fail with its BackendError."""
    try:
        result = call()
    except BackendError as exc:
        fail_with_error(module, exc)
    exit_with_result(module, result)
