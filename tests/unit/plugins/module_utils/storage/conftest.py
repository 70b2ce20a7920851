# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for the storage backends: a tool factory whose commands play a script."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Tool
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.tgtd_ipc import (
    TgtdClient, decode_request,
)


class FakeTgtd(TgtdClient):
    """tgtd's socket played from the module's script: the real request encoding and error
    mapping, the bytes decoded back and compared with the step's `tgtd` entry
    ({op, params, tid (default -1), outgoing (default false), mode (default account)}),
    answered with the step's `tgtd_err` (a tgtadm_errno) and `out`."""

    def __init__(self, module):
        super(FakeTgtd, self).__init__(path="/nonexistent/tgtd-socket")
        self.module = module

    def exchange(self, data, what):
        got = decode_request(data)
        assert got["lld"] == "iscsi" and got["lun"] is None and not got["force"], got
        got = dict(mode=got["mode"], op=got["op"], tid=got["tid"], outgoing=got["outgoing"], params=got["params"])
        self.module.calls.append(["<tgtd>", got["mode"], got["op"]])
        self.module.requests.append(data)
        if not self.module.script:
            raise AssertionError("unexpected tgtd request: %s" % got)
        step = self.module.script.pop(0)
        want = dict(dict(mode="account", tid=-1, outgoing=False), **step.get("tgtd", {}))
        assert got == want, "expected tgtd request %s, got %s" % (want, got)
        return step.get("tgtd_err", 0), step.get("out", "").encode("utf-8") + b"\0"


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
        self.requests = []
        self.tgtd = FakeTgtd(self)

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


def substitute(value, marks):
    """A YAML case with each mark (@TMP@...) replaced by its text, in strings, lists and dicts."""
    if isinstance(value, str):
        for mark, text in marks.items():
            value = value.replace(mark, text)
        return value
    if isinstance(value, list):
        return [substitute(v, marks) for v in value]
    if isinstance(value, dict):
        return dict((k, substitute(v, marks)) for k, v in value.items())
    return value


@pytest.fixture
def fake_module():
    return FakeModule


@pytest.fixture
def subst():
    """substitute(case, marks): the cases' marks replaced by the test's own paths."""
    return substitute
