# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests reach no network: the TCP look at a remote libvirt's port before a connect finds it
open, and the fake libvirt decides whether the host answers. ``real_port_problem`` is the real one."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

_REAL_PORT_PROBLEM = session.port_problem


@pytest.fixture(autouse=True)
def _ports_open(monkeypatch):
    monkeypatch.setattr(session, 'port_problem', lambda uri, default_transport='tls', timeout=None: None)


@pytest.fixture
def real_port_problem():
    return _REAL_PORT_PROBLEM
