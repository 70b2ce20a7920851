# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the storage backends: a tool factory whose commands play a script."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Tool


class FakeModule(object):
    """A tool factory for the backends: records argv (and stdin), answers from a script.

    script: list of dicts {argv: [...] (or argv_prefix), rc, out, err}, consumed in order.
    Unscripted commands fail the test, so every command the backend runs is asserted.
    """

    def __init__(self, script=None, check_mode=False):
        self.params = {}
        self.check_mode = check_mode
        self.script = list(script or [])
        self.calls = []
        self.stdin = []

    def __call__(self, name):
        """The tool factory the backends take: every tool runs through this script."""
        return Tool(name, path="/usr/sbin/%s" % name,
                    executor=lambda argv, data: self.run_command(argv, data=data))

    def run_command(self, cmd, **kwargs):
        argv = [str(a) for a in cmd]
        argv[0] = argv[0].rsplit("/", 1)[-1]
        self.calls.append(argv)
        self.stdin.append(kwargs.get("data"))
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
