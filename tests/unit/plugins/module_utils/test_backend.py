# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backend contract: one error family, one way from a backend's result or error to a module's exit."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError, Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.module_result import run_backend
from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import common as ovs_common


class Exit(Exception):
    pass


class FakeModule(object):
    """Records what a module would print; exit_json/fail_json end the call like the real ones."""

    def __init__(self, diff=False):
        self._diff = diff
        self.warnings = []
        self.exited = None
        self.failed = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        self.exited = result
        raise Exit()

    def fail_json(self, **result):
        self.failed = result
        raise Exit()


def test_error_carries_changed_and_fields():
    exc = BackendError("disk busy", changed=True, reasons=[{"check": "disk"}])
    assert str(exc) == "disk busy"
    assert exc.as_result() == {"msg": "disk busy", "changed": True, "reasons": [{"check": "disk"}]}


def test_run_backend_fails_with_the_error_fields():
    module = FakeModule()

    def broken():
        raise ovs_common.OvsRecordedError("br-ovl failed", {"br-ovl": "no such device"}, changed=True)

    with pytest.raises(Exit):
        run_backend(module, broken)
    assert module.failed == {"msg": "br-ovl failed", "changed": True, "interfaces_in_error": {"br-ovl": "no such device"}}


@pytest.mark.parametrize("diff", [False, True])
def test_run_backend_passes_warnings_and_diff_only_in_diff_mode(diff):
    module = FakeModule(diff=diff)
    with pytest.raises(Exit):
        run_backend(module, lambda: {"changed": True, "warnings": ["careful"], "diff": {"before": 1, "after": 2}})
    assert module.warnings == ["careful"]
    assert ("diff" in module.exited) is diff
    assert "warnings" not in module.exited


def test_every_backend_error_is_a_backend_error():
    from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import vxlan
    assert issubclass(vxlan.OvsInputError, BackendError)
    assert issubclass(ovs_common.OvsTryAgain, BackendError)


def test_ovs_operations_have_known_kinds():
    want = {"op": "delete_port", "bridge": "br0", "port": "vx1"}
    assert ovs_common.op(ovs_common.DELETE_PORT, "br0", port="vx1") == want
    with pytest.raises(ValueError):
        ovs_common.op("drop_everything", "br0")


def test_migration_and_libvirt_errors_keep_their_fields():
    from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError
    from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.plan import MigrationError
    exc = MigrationError("cannot migrate", reasons=[{"check": "cpu", "status": "fail"}], state={"source": "running"})
    exc.message += "; the VM stays on the source"
    assert exc.as_result() == {"msg": "cannot migrate; the VM stays on the source", "changed": False,
                               "reasons": [{"check": "cpu", "status": "fail"}], "state": {"source": "running"},
                               "figures": {}, "detail": None}
    lib = LibvirtError("cannot connect to ws01", detail="Connection refused")
    assert isinstance(lib, BackendError)
    assert lib.as_result() == {"msg": "cannot connect to ws01 (libvirt: Connection refused)", "changed": False,
                               "detail": "Connection refused"}


# ---- the one plan type ----------------------------------------------------------------------

def test_plan_runs_final_steps_last_and_once():
    ran = []
    plan = Plan(before={"a": 1})
    plan.add("save configuration", lambda: ran.append("save"), final=True)
    plan.add("create target t", lambda: ran.append("create"))
    plan.add("save configuration", lambda: ran.append("save again"), final=True)
    plan.add("add LUN 0", lambda: ran.append("lun"))
    plan.after = {"a": 2}
    assert plan.actions == ["create target t", "add LUN 0", "save configuration"]
    assert plan.run() == plan.actions
    assert ran == ["create", "lun", "save"]
    assert plan.result(backend="lio") == dict(changed=True, actions=plan.actions, backend="lio",
                                              diff=dict(before={"a": 1}, after={"a": 2}))


def test_empty_plan_changes_nothing_and_shows_no_difference():
    plan = Plan(before={"a": 1}, after={"a": 2})
    assert not plan and plan.run() == []
    assert plan.result() == dict(changed=False, actions=[], diff=dict(before={"a": 1}, after={"a": 1}))


def test_plan_failure_names_the_steps_done_and_keeps_the_error_type():
    class StoreError(BackendError):
        pass

    def fail():
        raise StoreError("tgtadm refused the LUN", reasons=["busy"])

    plan = Plan()
    plan.add("create target t", lambda: None)
    plan.add("add LUN 1", fail)
    plan.add("write /etc/tgt/conf.d/t.conf", lambda: pytest.fail("ran after a failure"))
    with pytest.raises(StoreError) as exc:
        plan.run()
    assert str(exc.value) == "tgtadm refused the LUN (steps done before the failure: create target t)"
    assert exc.value.changed and exc.value.as_result()["reasons"] == ["busy"]


def test_plan_failure_on_the_first_step_changed_nothing():
    def fail():
        raise BackendError("no such bridge")

    plan = Plan()
    plan.add("add port", fail)
    with pytest.raises(BackendError) as exc:
        plan.run()
    assert not exc.value.changed and str(exc.value).endswith("(steps done before the failure: none)")
