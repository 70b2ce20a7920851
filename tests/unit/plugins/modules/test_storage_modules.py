# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The thin storage modules end to end with their real argument handling: check mode, diff,
errors that name the problem, and no secret in any output. Commands are faked; the daemons
are exercised by tests/integration/test_storage.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.skillvl.offline_first.plugins.module_utils import command, module_result
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import iscsi_tgt
from ansible_collections.skillvl.offline_first.plugins.modules import iscsi_target, nfs_export


def run_module(mod, args, monkeypatch, commands=None, check_mode=False, diff=False, capsys=None):
    calls = []
    script = list(commands or [])

    def execute(cmd, data=None):
        argv = [str(a).rsplit("/", 1)[-1] if i == 0 else str(a) for i, a in enumerate(cmd)]
        calls.append(argv)
        if not script:
            raise AssertionError("unexpected command %s" % argv)
        step = script.pop(0)
        return step.get("rc", 0), step.get("out", ""), step.get("err", "")

    monkeypatch.setattr(command, "execute", execute)
    monkeypatch.setattr(command, "which", lambda name, path=None: "/usr/sbin/" + name)
    full = dict(args)
    if check_mode:
        full["_ansible_check_mode"] = True
    if diff:
        full["_ansible_diff"] = True
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            mod.main()
    out = json.loads(capsys.readouterr().out)
    return out, calls


def test_nfs_export_check_mode_diff(tmp_path, monkeypatch, capsys):
    (tmp_path / "srv").mkdir()
    args = dict(name="vms", path=str(tmp_path / "srv"), config_dir=str(tmp_path / "d"),
                clients=[dict(host="198.51.100.0/24", access="rw")])
    out, calls = run_module(nfs_export, args, monkeypatch, check_mode=True, diff=True, capsys=capsys)
    assert out["changed"] and calls == []
    assert "198.51.100.0/24(rw,sync,root_squash,no_subtree_check,secure)" in out["diff"][0]["after"]
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("args, words", [
    (dict(path="srv/vms", clients=[dict(host="h1")]), "relative"),
    (dict(path="/srv", clients=[dict(host="bad..host")]), "neither a host nor a network"),
    (dict(path="/srv", clients=[dict(host="*")]), "allow_any_client"),
    (dict(path="/srv", clients=[]), "no clients"),
    (dict(name="../etc", path="/srv", clients=[dict(host="h1")]), "export name"),
])
def test_nfs_export_bad_input(tmp_path, monkeypatch, capsys, args, words):
    full = dict(dict(name="vms", config_dir=str(tmp_path / "d")), **args)
    out, calls = run_module(nfs_export, full, monkeypatch, capsys=capsys)
    assert out["failed"] and words in out["msg"] and not out["changed"]
    assert calls == [] and not (tmp_path / "d").exists()


def test_iscsi_target_bad_secret_never_echoed(monkeypatch, capsys):
    args = dict(iqn="iqn.2026-11.org.skillvl:t", backend="tgt",
                chap=dict(username="u", password="tooshort"))
    out, calls = run_module(iscsi_target, args, monkeypatch, capsys=capsys)
    assert out["failed"] and "12 to 255" in out["msg"] and calls == []
    assert "tooshort" not in json.dumps(out)


@pytest.fixture
def tgt_hook(tmp_path, monkeypatch):
    """tgt's CHAP restore hook, as the iscsi_target role installs it."""
    hook = tmp_path / "tgt_chap_restore.py"
    hook.write_text(u"")
    monkeypatch.setattr(iscsi_tgt, "RESTORE_HOOK", str(hook))
    return hook


def test_iscsi_target_with_chap_needs_the_restore_hook(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(iscsi_tgt, "RESTORE_HOOK", str(tmp_path / "missing.py"))
    args = dict(iqn="iqn.2026-11.org.skillvl:t", backend="tgt", initiators=["iqn.2026-11.org.skillvl:c"],
                chap=dict(username="u", password="s3cretpassw0rd"))
    reads = [dict(out=""), dict(out="Account list:\n"), dict(out="Portal: 0.0.0.0:3260,1\n")]
    out, calls = run_module(iscsi_target, args, monkeypatch, commands=reads, capsys=capsys)
    assert out["failed"] and not out["changed"] and len(calls) == 3
    assert "without CHAP after a restart" in out["msg"] and "missing.py" in out["msg"]
    assert "s3cretpassw0rd" not in json.dumps(out)


def test_iscsi_target_check_mode_masks_secrets(tmp_path, monkeypatch, capsys, tgt_hook):
    (tmp_path / "lun.img").write_bytes(b"\0" * 4096)
    args = dict(iqn="iqn.2026-11.org.skillvl:t", backend="tgt", luns=[dict(path=str(tmp_path / "lun.img"))],
                initiators=["iqn.2026-11.org.skillvl:c"],
                chap=dict(username="u", password="s3cretpassw0rd", mutual_username="m",
                          mutual_password="mutu4lpassw0rd"))
    reads = [dict(out=""), dict(out="Account list:\n"), dict(out="Portal: 0.0.0.0:3260,1\n")]
    out, calls = run_module(iscsi_target, args, monkeypatch, commands=reads, check_mode=True, diff=True,
                            capsys=capsys)
    assert out["changed"] and len(calls) == 3
    text = json.dumps(out)
    assert "s3cretpassw0rd" not in text and "mutu4lpassw0rd" not in text
    assert out["target"]["chap"]["password"] == "********"
    assert out["diff"]["after"]["initiators"] == ["iqn.2026-11.org.skillvl:c"]


def test_iscsi_target_malformed_iqn(monkeypatch, capsys):
    out, calls = run_module(iscsi_target, dict(iqn="iqn.2026-13.x:y", backend="tgt", state="absent"),
                            monkeypatch, capsys=capsys)
    assert out["failed"] and "malformed" in out["msg"] and calls == []


@pytest.mark.parametrize("extra", ["insecure", "no_root_squash", "async", "rw", "Squash = None",
                                   "PrivilegedPort=false", "anonuid=0"])
def test_nfs_export_refuses_overriding_extra_options(tmp_path, monkeypatch, capsys, extra):
    (tmp_path / "srv").mkdir()
    args = dict(name="vms", path=str(tmp_path / "srv"), config_dir=str(tmp_path / "d"),
                clients=[dict(host="198.51.100.0/24", extra_options=[extra])])
    out, calls = run_module(nfs_export, args, monkeypatch, capsys=capsys)
    assert out["failed"] and "allow_insecure_options" in out["msg"] and not out["changed"]
    assert calls == [] and not (tmp_path / "d").exists()


def test_nfs_export_insecure_options_when_allowed(tmp_path, monkeypatch, capsys):
    (tmp_path / "srv").mkdir()
    args = dict(name="vms", path=str(tmp_path / "srv"), config_dir=str(tmp_path / "d"),
                clients=[dict(host="198.51.100.0/24", extra_options=["no_root_squash", "anonuid=64055"])],
                allow_insecure_options=True)
    out, calls = run_module(nfs_export, args, monkeypatch, check_mode=True, diff=True, capsys=capsys)
    assert out["changed"] and calls == []
    assert "no_subtree_check,secure,no_root_squash,anonuid=64055)" in out["diff"][0]["after"]


def test_iscsi_target_raw_result_diff_warnings_hold_no_secret(tmp_path, monkeypatch, capsys, tgt_hook):
    """The result as the module hands it over, before Ansible's no_log masking."""
    raw = []

    def capture(module, result):
        raw.append(result)
        print(json.dumps(dict(captured=True)))
        raise SystemExit(0)
    # the result on its way out of the backend, before Ansible's no_log masking
    monkeypatch.setattr(module_result, "exit_with_result", capture)
    (tmp_path / "lun.img").write_bytes(b"\0" * 4096)
    args = dict(iqn="iqn.2026-11.org.skillvl:t", backend="tgt", luns=[dict(path=str(tmp_path / "lun.img"))],
                initiators=["iqn.2026-11.org.skillvl:c"],
                chap=dict(username="u", password="s3cretpassw0rd", mutual_username="m",
                          mutual_password="mutu4lpassw0rd"))
    reads = [dict(out=""), dict(out="Account list:\n"), dict(out="Portal: 0.0.0.0:3260,1\n")]
    run_module(iscsi_target, args, monkeypatch, commands=reads, check_mode=True, diff=True, capsys=capsys)
    assert len(raw) == 1 and raw[0]["changed"]
    text = json.dumps(raw[0])
    assert "s3cretpassw0rd" not in text and "mutu4lpassw0rd" not in text
    assert raw[0]["diff"]["after"]["initiators"] == ["iqn.2026-11.org.skillvl:c"]


def test_iscsi_target_whole_set_in_check_mode(tmp_path, monkeypatch, capsys, tgt_hook):
    chap = dict(username="u", password="s3cretpassw0rd")
    args = dict(backend="tgt", targets=[
        dict(iqn="iqn.2026-11.org.skillvl:a", initiators=["iqn.2026-11.org.skillvl:c"], chap=chap),
        dict(iqn="iqn.2026-11.org.skillvl:b", state="absent")])
    reads = [dict(out=""), dict(out="Account list:\n"), dict(out="Portal: 0.0.0.0:3260,1\n")] * 2
    out, calls = run_module(iscsi_target, args, monkeypatch, commands=reads, check_mode=True, diff=True,
                            capsys=capsys)
    assert out["changed"] and len(calls) == 6 and not out.get("failed"), out
    assert out["actions"][0] == "create target iqn.2026-11.org.skillvl:a (tid 1)"
    assert out["targets"][1] == dict(iqn="iqn.2026-11.org.skillvl:b", state="absent")
    assert "s3cretpassw0rd" not in json.dumps(out)


def test_iscsi_target_needs_iqn_or_targets_not_both(monkeypatch, capsys):
    out, calls = run_module(iscsi_target, dict(backend="tgt"), monkeypatch, capsys=capsys)
    assert out["failed"] and "iqn, targets" in out["msg"] and calls == []
    out, calls = run_module(iscsi_target, dict(backend="tgt", iqn="iqn.2026-11.org.skillvl:a",
                                               targets=[dict(iqn="iqn.2026-11.org.skillvl:a")]),
                            monkeypatch, capsys=capsys)
    assert out["failed"] and "mutually exclusive" in out["msg"] and calls == []
