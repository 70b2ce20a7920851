# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the unit tests of module_utils share.

They reach no network: the TCP look at a remote libvirt's port before a connect finds it open,
and the fake libvirt decides whether the host answers (``real_port_problem`` is the real look).
``fake_libvirt`` puts a bare libvirt module, with its error class, where the backends import it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import types

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

_REAL_PORT_PROBLEM = session.port_problem


@pytest.fixture(autouse=True)
def _ports_open(monkeypatch):
    monkeypatch.setattr(session, 'port_problem', lambda uri, default_transport='tls', timeout=None: None)


@pytest.fixture
def real_port_problem():
    return _REAL_PORT_PROBLEM


class FakeLibvirtError(Exception):
    """libvirt.libvirtError as the backends read it (code and message)."""

    def __init__(self, msg, code=1):
        super(FakeLibvirtError, self).__init__(msg)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return str(self)


@pytest.fixture
def fake_libvirt(monkeypatch):
    """A bare libvirt module in session (add what a test's fakes call); returns it."""
    lv = types.ModuleType('libvirt')
    lv.libvirtError = FakeLibvirtError
    monkeypatch.setattr(session, 'libvirt', lv)
    monkeypatch.setattr(session, 'HAS_LIBVIRT', True)
    return lv
