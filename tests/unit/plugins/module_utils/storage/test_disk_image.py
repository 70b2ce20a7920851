# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_disk's backend driven by the YAML cases beside this file: exact argv, result or error."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import pwd
import shutil
import tempfile

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Account, execute
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import libnfs
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.disk_image import (
    DiskImageError, DiskImages, argument_spec, ensure_disk)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_disk_image_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)


def _subset(want, have):
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and _subset(v, have[k]) for k, v in want.items())
    return want == have


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_disk_image_case(case, tmp_path, fake_module, subst):
    (tmp_path / "seed.iso").write_bytes(b"\0" * 4096)
    case = subst(case, {"@TMP@": str(tmp_path)})
    validated = ArgumentSpecValidator(argument_spec()).validate(case["input"])
    assert not validated.error_messages, validated.error_messages
    tools = fake_module(case["run"], check_mode=case.get("check_mode", False))
    unlinked = []

    def unlink(server, path, uid, gid):
        unlinked.append([server, path, pwd.getpwuid(uid).pw_name])
        if "unlink_error" in case:
            raise libnfs.NfsError(case["unlink_error"])
        return True
    run = dict(check_mode=tools.check_mode, tools=tools, unlink=unlink)
    if "error" in case:
        with pytest.raises(DiskImageError) as err:
            ensure_disk(validated.validated_parameters, **run)
        assert case["error"] in err.value.msg
        assert err.value.changed == case.get("changed", err.value.changed)
    else:
        result = ensure_disk(validated.validated_parameters, **run)
        assert _subset(case["expected"], result), result
    assert tools.script == [], "commands not run: %s" % tools.script
    assert unlinked == case.get("unlinked", [])


class FakeLibnfs(object):
    """libnfs's calls as libnfs.unlink makes them, answered from a script."""

    def __init__(self, mount=0, unlink=0):
        self.calls, self.rc = [], dict(mount=mount, unlink=unlink)

    def nfs_init_context(self):
        return 1234

    def nfs_set_uid(self, ctx, uid):
        self.calls.append(("uid", uid))

    def nfs_set_gid(self, ctx, gid):
        self.calls.append(("gid", gid))

    def nfs_mount(self, ctx, server, export):
        self.calls.append(("mount", server, export))
        return self.rc["mount"]

    def nfs_unlink(self, ctx, path):
        self.calls.append(("unlink", path))
        return self.rc["unlink"]

    def nfs_get_error(self, ctx):
        return b"NFS3ERR_ACCES"

    def nfs_destroy_context(self, ctx):
        self.calls.append(("destroy",))


def test_libnfs_unlink_mounts_the_directory_with_the_owners_ids():
    lib = FakeLibnfs()
    assert libnfs.unlink("198.51.100.31", "/srv/skillvl/vms/a.qcow2", 64055, 104, lib=lib) is True
    assert lib.calls == [("uid", 64055), ("gid", 104), ("mount", b"198.51.100.31", b"/srv/skillvl/vms"),
                         ("unlink", b"/a.qcow2"), ("destroy",)]


def test_libnfs_unlink_of_a_missing_file_and_refusals():
    assert libnfs.unlink("s", "/e/a", 1, 1, lib=FakeLibnfs(unlink=-errno.ENOENT)) is False
    for lib, words in ((FakeLibnfs(mount=-13), "cannot mount s:/e: NFS3ERR_ACCES"),
                       (FakeLibnfs(unlink=-13), "cannot remove /e/a on s: NFS3ERR_ACCES")):
        with pytest.raises(libnfs.NfsError) as err:
            libnfs.unlink("s", "/e/a", 1, 1, lib=lib)
        assert words in str(err.value)
        assert lib.calls[-1] == ("destroy",)


def test_owner_runs_the_tools_with_a_private_umask(tmp_path):
    """The real executor: a file made through run_as/umask is 0600 and belongs to that user."""
    if os.geteuid() != 0:
        pytest.fail("this test changes user: run the unit tests as root, as make test does")
    nobody = Account.lookup("nobody")
    where = tempfile.mkdtemp(prefix="skillvl-unit-")     # pytest's tmp_path is root-only
    try:
        os.chmod(where, 0o777)
        target = os.path.join(where, "made-as-nobody")
        rc, out, err = execute(["touch", target], run_as=nobody, umask=0o077)
        assert rc == 0, err
        st = os.stat(target)
    finally:
        shutil.rmtree(where)
    assert (st.st_uid, st.st_mode & 0o777) == (pwd.getpwnam("nobody").pw_uid, 0o600)
    rc, out, err = execute(["id", "-u"], run_as=nobody)
    assert out.strip() == str(nobody.uid)


def test_tools_are_resolved_before_anything_runs(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    from ansible_collections.skillvl.offline_first.plugins.module_utils import command
    monkeypatch.setattr(command, "SBIN_DIRS", ())
    with pytest.raises(DiskImageError) as err:
        DiskImages()
    assert "qemu-img is not installed" in err.value.msg
