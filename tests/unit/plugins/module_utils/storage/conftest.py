# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the storage backends: a module whose run_command plays a script of commands."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest


class FakeModule(object):
    """Stands in for AnsibleModule: records argv, answers from a script.

    script: list of dicts {argv: [...] (or argv_prefix), rc, out, err}, consumed in order.
    Unscripted commands fail the test, so every command the backend runs is asserted.
    """

    def __init__(self, script=None, check_mode=False):
        self.params = {}
        self.check_mode = check_mode
        self.script = list(script or [])
        self.calls = []

    def get_bin_path(self, name, opt_dirs=None, required=False):
        return "/usr/sbin/%s" % name

    def run_command(self, cmd, **kwargs):
        argv = [str(a) for a in cmd]
        argv[0] = argv[0].rsplit("/", 1)[-1]
        self.calls.append(argv)
        if not self.script:
            raise AssertionError("unexpected command: %s" % argv)
        step = self.script.pop(0)
        want = step.get("argv")
        if want is not None:
            assert argv == want, "expected %s, got %s" % (want, argv)
        return step.get("rc", 0), step.get("out", ""), step.get("err", "")

    def warn(self, msg):
        pass

    def deprecate(self, *args, **kwargs):
        pass


@pytest.fixture
def fake_module():
    return FakeModule
