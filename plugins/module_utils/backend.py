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


class Step(object):
    """One change: a description safe to show (never a secret) and the callable that makes it.

    A ``final`` step runs after every other one, once, whatever the order it was planned in
    (saving a configuration, reloading a server); ``data`` carries what a backend needs to
    know about the step later (the file it writes, the op it sends), never for display.
    """

    def __init__(self, description, run, final=False, data=None):
        self.description = description
        self.run = run
        self.final = final
        self.data = data

    def __repr__(self):
        return "Step(%r)" % self.description


class Plan(object):
    """The changes a backend would make, in order, with the before/after views for a diff.

    The same type in every subsystem: ``actions`` is what check mode and the result show,
    ``run`` makes the changes and, on a failure, says which steps were done before it.
    """

    def __init__(self, steps=None, before=None, after=None):
        self.steps = list(steps or [])
        self.before = before
        self.after = after

    def add(self, description, run, final=False, data=None):
        if final and any(s.final and s.description == description for s in self.steps):
            return                           # one save/reload, however many changes ask for it
        self.steps.append(Step(description, run, final, data))

    def ordered(self):
        return [s for s in self.steps if not s.final] + [s for s in self.steps if s.final]

    @property
    def actions(self):
        return [s.description for s in self.ordered()]

    def __len__(self):
        return len(self.steps)

    def __bool__(self):
        return bool(self.steps)

    __nonzero__ = __bool__

    def run(self):
        """Run every step; a BackendError names the steps done before it and whether any was."""
        done = []
        for step in self.ordered():
            try:
                step.run()
            except BackendError as exc:
                exc.msg = "%s (steps done before the failure: %s)" % (exc.msg, ", ".join(done) or "none")
                exc.args = (exc.msg,)
                exc.changed = exc.changed or bool(done)
                raise
            done.append(step.description)
        return done

    def result(self, **fields):
        """The common part of a module's result: changed, actions and the before/after diff."""
        out = dict(changed=bool(self), actions=self.actions)
        if self.before is not None or self.after is not None:
            out["diff"] = dict(before=self.before, after=self.after if self else self.before)
        out.update(fields)
        return out
