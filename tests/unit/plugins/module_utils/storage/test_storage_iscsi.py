# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iSCSI backends: tgt command plans from YAML cases, LIO plans against a fake configfs.

The tgt daemon itself is exercised by tests/integration/test_storage.py; LIO cannot run on
the build machines (no configfs), so its plan is only checked here."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi import (
    build_target, ensure_target, ensure_targets, parse_size,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_lio import LioBackend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_tgt import (
    TgtBackend, conf_path, parse_target_show, render_conf, render_secrets,
)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_storage_iscsi_tgt.yaml")) as _f:
    TGT_CASES = yaml.safe_load(_f)

SECRETS = ("s3cretpassw0rd", "mutu4lpassw0rd", "an0ther-secret")


def _assert_no_secret_on_argv(module, args):
    """No argv the runner was given holds a CHAP secret; secrets set went through tgtd's socket."""
    chap = args.get("chap") or {}
    secrets = [v for k, v in chap.items() if k.endswith("password") and v]
    for argv in module.calls:
        assert not any(secret in arg for secret in secrets for arg in argv), argv


@pytest.mark.parametrize("case", TGT_CASES, ids=[c["id"] for c in TGT_CASES])
def test_tgt_case(case, tmp_path, fake_module, subst):
    tmp = str(tmp_path)
    (tmp_path / "lun1.img").write_bytes(b"\0" * 65536)
    (tmp_path / "conf.d").mkdir()
    case = subst(case, {"@TMP@": tmp})
    args = case["input"]
    state = case.get("state", "present")
    target = None
    if state == "present":
        target = build_target(args["iqn"], args.get("luns"), args.get("initiators"), args.get("chap"),
                              args.get("portals"))
    persisted = case.get("persisted")
    conf_dir, secrets_dir = str(tmp_path / "conf.d"), str(tmp_path / "chap")
    if persisted == "from_input":
        if render_secrets(target):
            os.mkdir(secrets_dir)
            with open(conf_path(args["iqn"], secrets_dir), "w") as f:
                f.write(render_secrets(target))
        persisted = render_conf(target)
    if persisted:
        with open(conf_path(args["iqn"], conf_dir), "w") as f:
            f.write(persisted)
    if case.get("persisted_secrets"):
        os.mkdir(secrets_dir)
        with open(conf_path(args["iqn"], secrets_dir), "w") as f:
            f.write(case["persisted_secrets"])
    module = fake_module(case["run"])
    backend = tgt_backend(tmp_path, module, hook=case.get("hook", True))
    expected = case["expected"]
    if "error" in expected:
        with pytest.raises(StorageError) as exc:
            ensure_target(backend, target, state=state, iqn=args["iqn"], force=case.get("force", False))
        assert expected["error"] in str(exc.value)
        assert not any(s in str(exc.value) for s in SECRETS)
        _assert_no_secret_on_argv(module, args)
        return
    result = ensure_target(backend, target, state=state, iqn=args["iqn"], force=case.get("force", False))
    assert module.script == [], "commands expected but not run: %s" % module.script
    _assert_no_secret_on_argv(module, args)
    assert result["changed"] == expected["changed"]
    assert len(result["actions"]) == expected["actions_count"], result["actions"]
    end = expected.get("actions_end", [])
    assert result["actions"][len(result["actions"]) - len(end):] == end, result["actions"]
    assert not any(s in json.dumps(result) for s in SECRETS)
    if expected.get("persisted"):
        path, secrets_path = conf_path(args["iqn"], conf_dir), conf_path(args["iqn"], secrets_dir)
        assert open(path).read() == render_conf(target)
        assert not any(s in open(path).read() for s in SECRETS), "tgt-admin would put it on a command line"
        assert oct(os.stat(secrets_path).st_mode & 0o777) == "0o600"
        assert oct(os.stat(secrets_dir).st_mode & 0o777) == "0o700"
        assert open(secrets_path).read() == render_secrets(target)
    if state == "absent":
        assert not os.listdir(conf_dir) and not os.path.exists(conf_path(args["iqn"], secrets_dir))


def tgt_backend(tmp_path, module, hook=True):
    """A tgt backend on temporary directories; `hook`: whether the CHAP restore hook is installed."""
    hook_path = tmp_path / "tgt_chap_restore.py"
    if hook:
        hook_path.write_text(u"#!/bin/sh\n")
    return TgtBackend(module, conf_dir=str(tmp_path / "conf.d"), ipc=module.tgtd,
                      secrets_dir=str(tmp_path / "chap"), restore_hook=str(hook_path))


def test_tgt_check_mode_runs_only_reads(tmp_path, fake_module):
    reads = [
        {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show"], "out": ""},
        {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "account", "--op", "show"], "out": "Account list:\n"},
        {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "portal", "--op", "show"], "out": ""},
    ]
    module = fake_module(reads, check_mode=True)
    target = build_target("iqn.2026-11.org.skillvl:t", [dict(path=str(tmp_path / "new.img"), size="1G")],
                          ["iqn.2026-11.org.skillvl:c"], dict(username="u", password="s3cretpassw0rd"))
    result = ensure_target(tgt_backend(tmp_path, module), target, check_mode=True)
    assert result["changed"] and module.script == []
    assert not (tmp_path / "new.img").exists()
    assert "create sparse file %s (1073741824 bytes)" % (tmp_path / "new.img") in result["actions"]
    assert result["diff"]["after"]["chap_secret"] == "******** (set)"


def test_parse_target_show_sessions_and_luns():
    text = TGT_CASES[0]["run"][12]["out"]
    parsed = parse_target_show(text)
    t = parsed["iqn.2026-11.org.skillvl:storage1.vms"]
    assert t["tid"] == 1 and t["luns"] == {1: "@TMP@/lun1.img"}
    assert t["accounts_in"] == ["vmsuser"] and t["accounts_out"] == ["storage1"]
    assert t["acls"] == ["iqn.2026-11.org.skillvl:cloud1", "iqn.2026-11.org.skillvl:ws01"]


@pytest.mark.parametrize("chap, words", [
    (dict(username="u", password="short"), "12 to 255 characters"),
    (dict(username="u", password="has a blank1234"), "blanks"),
    (dict(username="u", password="s3cretpassw0rd", mutual_username="m"), "both mutual_username"),
    (dict(username="u", password="s3cretpassw0rd", mutual_username="m", mutual_password="s3cretpassw0rd"),
     "must differ"),
    (dict(username="bad user", password="s3cretpassw0rd"), "CHAP username"),
])
def test_chap_refused(chap, words):
    with pytest.raises(StorageError) as exc:
        build_target("iqn.2026-11.org.skillvl:t", [], [], chap)
    assert words in str(exc.value)
    assert "s3cretpassw0rd" not in str(exc.value)


def test_target_input_refused(tmp_path):
    with pytest.raises(StorageError, match="malformed"):
        build_target("iqn.bad", [], [])
    with pytest.raises(StorageError, match="initiator IQN"):
        build_target("iqn.2026-11.org.skillvl:t", [], ["cloud1"])
    with pytest.raises(StorageError, match="relative"):
        build_target("iqn.2026-11.org.skillvl:t", [dict(path="luns/x.img")], [])
    with pytest.raises(StorageError, match="does not exist"):
        build_target("iqn.2026-11.org.skillvl:t", [dict(path=str(tmp_path / "x.img"))], [])
    with pytest.raises(StorageError, match="size"):
        build_target("iqn.2026-11.org.skillvl:t", [dict(path=str(tmp_path / "x.img"), size="ten")], [])
    assert parse_size("10G") == 10 * 1024 ** 3 and parse_size("512") == 512 and parse_size("1MiB") == 1024 ** 2


# ---- LIO against a fake configfs -------------------------------------------------------

def make_configfs(root, iqn=None, lun_store=None, acls=None, portals=("0.0.0.0:3260",), auth="0"):
    (root / "core").mkdir(parents=True, exist_ok=True)
    (root / "iscsi").mkdir(exist_ok=True)
    if lun_store:
        name, path = lun_store
        sdir = root / "core" / "fileio_0" / name
        sdir.mkdir(parents=True)
        (sdir / "udev_path").write_text(path + "\n")
    if iqn:
        tpg = root / "iscsi" / iqn / "tpgt_1"
        for sub in ("lun", "acls", "np", "attrib"):
            (tpg / sub).mkdir(parents=True)
        (tpg / "attrib" / "authentication").write_text(auth + "\n")
        (tpg / "attrib" / "generate_node_acls").write_text("0\n")
        for p in portals:
            (tpg / "np" / p).mkdir()
        if lun_store:
            (tpg / "lun" / "lun_0").mkdir()
            os.symlink(str(root / "core" / "fileio_0" / lun_store[0]), str(tpg / "lun" / "lun_0" / "abc123"))
        for init, auth_values in (acls or {}).items():
            adir = tpg / "acls" / init / "auth"
            adir.mkdir(parents=True)
            for k, v in auth_values.items():
                (adir / k).write_text(v + "\n")


LIO_IQN = "iqn.2026-11.org.skillvl:storage1.vms"
LIO_INIT = "iqn.2026-11.org.skillvl:cloud1"


def lio_target(tmp_path, chap=True, portals=("198.51.100.31:3260",)):
    lun = tmp_path / "vm1.img"
    if not lun.exists():
        lun.write_bytes(b"\0" * 4096)
    return build_target(LIO_IQN, [dict(path=str(lun))], [LIO_INIT],
                        dict(username="vmsuser", password="s3cretpassw0rd") if chap else None, list(portals))


def test_lio_new_target_plan(tmp_path, fake_module):
    root = tmp_path / "configfs"
    make_configfs(root)
    target = lio_target(tmp_path)
    base = "/iscsi/%s/tpg1" % LIO_IQN
    script = [
        {"argv": ["targetcli", "/iscsi", "create", LIO_IQN]},
        {"argv": ["targetcli", "/backstores/fileio", "create", "name=vm1_img", "file_or_dev=%s" % (tmp_path / "vm1.img"),
                  "write_back=false"]},
        {"argv": ["targetcli", base + "/luns", "create", "/backstores/fileio/vm1_img", "lun=0",
                  "add_mapped_luns=false"]},
        {"argv": ["targetcli", base + "/acls", "create", LIO_INIT, "add_mapped_luns=true"]},
        {"argv": ["targetcli", base, "set", "attribute", "authentication=1", "generate_node_acls=0"]},
        {"argv": ["targetcli", base + "/portals", "delete", "0.0.0.0", "3260"]},
        {"argv": ["targetcli", base + "/portals", "create", "198.51.100.31", "3260"]},
        {"argv": ["targetcli", "/", "saveconfig"]},
    ]
    module = fake_module(list(script))
    backend = LioBackend(module, root=str(root))
    plan = backend.plan(target)
    assert plan.before == dict(iqn=LIO_IQN, exists=False)
    # the target first, then its backstore; saving the configuration last, once
    order = [s.description.split(" ")[0:2] for s in plan.ordered()]
    assert order[0] == ["create", "target"] and plan.actions[-1] == "save configuration"
    assert plan.actions.count("save configuration") == 1
    # the kernel makes the ACL's auth directory when targetcli creates the ACL
    auth = root / "iscsi" / LIO_IQN / "tpgt_1" / "acls" / LIO_INIT / "auth"
    auth.mkdir(parents=True)
    assert plan.run() == plan.actions
    assert module.script == []
    # CHAP went into configfs, on no command line and no stdin
    assert (auth / "userid").read_text() == "vmsuser" and (auth / "password").read_text() == "s3cretpassw0rd"
    assert (auth / "password_mutual").read_text() == ""
    assert not any("s3cret" in " ".join(argv) for argv in module.calls)
    assert not any("s3cret" in action for action in plan.actions)
    assert plan.after["chap_secret"] == "******** (set)"


def test_lio_unchanged_target_has_empty_plan(tmp_path, fake_module):
    root = tmp_path / "configfs"
    target = lio_target(tmp_path)
    make_configfs(root, LIO_IQN, ("vm1_img", str(tmp_path / "vm1.img")),
                  {LIO_INIT: dict(userid="vmsuser", password="s3cretpassw0rd")},
                  portals=("198.51.100.31:3260",), auth="1")
    module = fake_module([])
    plan = LioBackend(module, root=str(root)).plan(target)
    assert not plan and plan.actions == []
    before = plan.before
    assert before["luns"] == [str(tmp_path / "vm1.img")] and before["chap_users"] == ["vmsuser"]


def test_lio_secret_change_and_acl_removal(tmp_path, fake_module):
    root = tmp_path / "configfs"
    target = lio_target(tmp_path)
    make_configfs(root, LIO_IQN, ("vm1_img", str(tmp_path / "vm1.img")),
                  {LIO_INIT: dict(userid="vmsuser", password="old-secret-123"),
                   "iqn.2026-11.org.skillvl:gone": dict(userid="vmsuser", password="old-secret-123")},
                  portals=("198.51.100.31:3260",), auth="1")
    plan = LioBackend(fake_module([]), root=str(root)).plan(target)
    assert plan.actions == [
        "remove ACL iqn.2026-11.org.skillvl:gone", "set CHAP for %s" % LIO_INIT, "save configuration"]


def test_lio_absent(tmp_path, fake_module):
    root = tmp_path / "configfs"
    make_configfs(root, LIO_IQN)
    module = fake_module([{"argv": ["targetcli", "/iscsi", "delete", LIO_IQN]},
                          {"argv": ["targetcli", "/", "saveconfig"]}])
    result = ensure_target(LioBackend(module, root=str(root)), None, state="absent", iqn=LIO_IQN)
    assert result["changed"] and module.script == []


def test_lio_unavailable_is_explained(tmp_path, fake_module):
    with pytest.raises(StorageError) as exc:
        LioBackend(fake_module([]), root=str(tmp_path / "none")).plan(lio_target(tmp_path))
    assert "LIO target is not available" in str(exc.value) and "backend=tgt" in str(exc.value)


# ---- the whole set (iscsi_target targets=[...]) ----------------------------------------------

TGT_READS = [
    {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "target", "--op", "show"], "out": ""},
    {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "account", "--op", "show"], "out": "Account list:\n"},
    {"argv": ["tgtadm", "--lld", "iscsi", "--mode", "portal", "--op", "show"], "out": "Portal: 0.0.0.0:3260,1\n"},
]


def _wanted(target, state="present", iqn=None):
    return dict(target=target, state=state, iqn=iqn or target.iqn, force=False)


def _tgt_target(iqn, user):
    return build_target(iqn, [], ["iqn.2026-11.org.skillvl:cloud1"], dict(username=user, password="s3cretpassw0rd"))


def test_tgt_set_gives_two_new_targets_their_own_ids(tmp_path, fake_module):
    module = fake_module(TGT_READS * 2, check_mode=True)
    result = ensure_targets(tgt_backend(tmp_path, module), [
        _wanted(_tgt_target("iqn.2026-11.org.skillvl:storage1.a", "user-a")),
        _wanted(_tgt_target("iqn.2026-11.org.skillvl:storage1.b", "user-b"))], check_mode=True)
    assert "create target iqn.2026-11.org.skillvl:storage1.a (tid 1)" in result["actions"]
    assert "create target iqn.2026-11.org.skillvl:storage1.b (tid 2)" in result["actions"]
    assert sorted(result["diff"]["after"]) == ["iqn.2026-11.org.skillvl:storage1.a", "iqn.2026-11.org.skillvl:storage1.b"]
    assert [t["iqn"] for t in result["targets"]] == ["iqn.2026-11.org.skillvl:storage1.a",
                                                     "iqn.2026-11.org.skillvl:storage1.b"]
    assert "s3cretpassw0rd" not in json.dumps(result) and module.script == []


@pytest.mark.parametrize("users, iqns, words", [
    (("same", "same"), ("a", "b"), "CHAP user same is given to more than one target"),
    (("user-a", "user-b"), ("a", "a"), "lists iqn.2026-11.org.skillvl:storage1.a more than once"),
])
def test_tgt_set_refused_before_any_command(tmp_path, fake_module, users, iqns, words):
    module = fake_module([])
    wanted = [_wanted(_tgt_target("iqn.2026-11.org.skillvl:storage1." + i, u)) for u, i in zip(users, iqns)]
    with pytest.raises(StorageError, match=words):
        ensure_targets(tgt_backend(tmp_path, module), wanted)
    assert module.calls == []


def test_lio_set_saves_once_at_the_end(tmp_path, fake_module):
    root = tmp_path / "configfs"
    make_configfs(root, "iqn.2026-11.org.skillvl:storage1.old")
    result = ensure_targets(LioBackend(fake_module([]), root=str(root)), [
        _wanted(lio_target(tmp_path)),
        _wanted(None, state="absent", iqn="iqn.2026-11.org.skillvl:storage1.old")], check_mode=True)
    assert result["actions"].count("save configuration") == 1 and result["actions"][-1] == "save configuration"
    assert result["diff"]["before"]["iqn.2026-11.org.skillvl:storage1.old"]["exists"] is True
    assert result["targets"][1] == dict(iqn="iqn.2026-11.org.skillvl:storage1.old", state="absent")
