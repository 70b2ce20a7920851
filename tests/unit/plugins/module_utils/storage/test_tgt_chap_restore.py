# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The iscsi_target role's CHAP restore hook (run by tgt.service when tgtd starts): the requests
it sends for the secrets files, against a socket that plays tgtd. tests/integration restarts
the real tgtd with it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os
import sys

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.tgtd_ipc import encode_request
from test_tgtd_ipc import FakeTgtdServer, answer

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "..")
HOOK = os.path.join(TOP, "roles", "iscsi_target", "files", "tgt_chap_restore.py")
IPC = os.path.join(TOP, "plugins", "module_utils", "storage", "tgtd_ipc.py")
TARGETS = (b"Target 1: iqn.2026-11.org.skillvl:storage1.vms\n    LUN information:\n"
           b"Target 4: iqn.2026-11.org.skillvl:storage1.other\n    LUN information:\n")


def load(name, path):
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), module.__dict__)  # pylint: disable=exec-used
    return module


@pytest.fixture
def hook(tmp_path, monkeypatch):
    # as on a tgt host: tgtd_ipc.py copied beside the hook, no Ansible to import from
    monkeypatch.setitem(sys.modules, "ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common",
                        None)
    monkeypatch.setitem(sys.modules, "tgtd_ipc", load("tgtd_ipc", IPC))
    module = load("skillvl_tgt_chap_restore", HOOK)
    (tmp_path / "chap").mkdir()
    (tmp_path / "conf.d").mkdir()
    monkeypatch.setattr(module, "SECRETS_GLOB", str(tmp_path / "chap" / "*.conf"))
    monkeypatch.setattr(module, "CONF_GLOB", str(tmp_path / "conf.d" / "skillvl-*.conf"))
    monkeypatch.setenv("TGT_IPC_SOCKET", str(tmp_path / "socket"))
    return module


def write(tmp_path, name, text):
    (tmp_path / "chap" / name).write_text(text)


def test_accounts_set_again_and_bound_missing_target_skipped(hook, tmp_path, capsys):
    write(tmp_path, "a.conf", "# managed\ntarget iqn.2026-11.org.skillvl:storage1.vms\n"
                              "incominguser vmsuser s3cretpassw0rd\noutgoinguser storage1 mutu4lpassw0rd\n")
    write(tmp_path, "b.conf", "target iqn.2026-11.org.skillvl:gone\nincominguser old an0ther-secret\n")
    server = FakeTgtdServer(str(tmp_path / "socket.0"), [
        answer(0, TARGETS), answer(0, b"Account list:\n    vmsuser\n"),
        answer(0), answer(0), answer(0), answer(0), answer(0)])
    try:
        assert hook.main() == 0
    finally:
        server.close()
    assert server.received[2:] == [
        # vmsuser exists (tgt-admin or a reload left it): set again from the file
        encode_request("account", "delete", [("user", "vmsuser")]),
        encode_request("account", "new", [("user", "vmsuser"), ("password", "s3cretpassw0rd")]),
        encode_request("account", "bind", [("user", "vmsuser")], tid=1),
        encode_request("account", "new", [("user", "storage1"), ("password", "mutu4lpassw0rd")]),
        encode_request("account", "bind", [("user", "storage1")], tid=1, outgoing=True)]
    out = capsys.readouterr()
    assert "tgtd has no target iqn.2026-11.org.skillvl:gone" in out.out
    assert "s3cretpassw0rd" not in out.out + out.err and "an0ther-secret" not in out.out + out.err


def test_an_account_that_cannot_be_bound_fails_the_start(hook, tmp_path, capsys):
    write(tmp_path, "a.conf", "target iqn.2026-11.org.skillvl:storage1.other\nincominguser vmsuser s3cretpassw0rd\n")
    write(tmp_path, "b.conf", "incominguser nobody an0ther-secret\n")
    server = FakeTgtdServer(str(tmp_path / "socket.0"), [
        answer(0, TARGETS), answer(0, b"Account list:\n"), answer(0), answer(8)])   # 8: no such binding
    try:
        assert hook.main() == 1
    finally:
        server.close()
    assert server.received[3] == encode_request("account", "bind", [("user", "vmsuser")], tid=4)
    err = capsys.readouterr().err
    assert "a.conf: tgt: binding CHAP account vmsuser to iqn.2026-11.org.skillvl:storage1.other failed" in err
    assert "b.conf: no 'target IQN' line" in err
    assert "s3cretpassw0rd" not in err and "an0ther-secret" not in err


def test_no_tgtd_fails_the_start(hook, tmp_path, capsys):
    assert hook.main() == 1
    assert "cannot reach tgtd" in capsys.readouterr().err


SHOWN_AFTER_TGT_ADMIN = (b"Target 1: iqn.2026-11.org.skillvl:storage1.vms\n"
                         b"    System information:\n        Driver: iscsi\n        State: offline\n"
                         b"    LUN information:\n        LUN: 0\n            Type: controller\n"
                         b"    Account information:\n"
                         b"    ACL information:\n        ALL\n        iqn.2026-11.org.skillvl:cloud1\n"
                         b"Target 2: iqn.2026-11.org.skillvl:foreign\n"
                         b"    ACL information:\n        ALL\n")


def test_the_address_wildcard_tgt_admin_adds_is_unbound_from_our_targets_only(hook, tmp_path, capsys):
    """tgt-admin binds initiator-address ALL to a target without an address line, and tgtd admits
    an initiator whose address or name is listed: ALL would admit any initiator name."""
    (tmp_path / "conf.d" / "skillvl-vms.conf").write_text(
        "# Managed by skillvl.offline_first.iscsi_target\n<target iqn.2026-11.org.skillvl:storage1.vms>\n"
        "    initiator-name iqn.2026-11.org.skillvl:cloud1\n</target>\n")
    server = FakeTgtdServer(str(tmp_path / "socket.0"), [
        answer(0, SHOWN_AFTER_TGT_ADMIN), answer(0, b"Account list:\n"), answer(0)])
    try:
        assert hook.main() == 0
    finally:
        server.close()
    # the foreign target (not ours: no skillvl conf.d file) keeps what its admin configured
    assert server.received[2:] == [encode_request("target", "unbind", [("initiator-address", "ALL")], tid=1)]
    assert "initiator-address ALL (added by tgt-admin) unbound" in capsys.readouterr().out


def test_the_acl_parser_reads_each_targets_own_entries(hook):
    acls = hook.address_acls(SHOWN_AFTER_TGT_ADMIN.decode())
    assert acls == {"iqn.2026-11.org.skillvl:storage1.vms": ["ALL", "iqn.2026-11.org.skillvl:cloud1"],
                    "iqn.2026-11.org.skillvl:foreign": ["ALL"]}


def test_a_wildcard_that_cannot_be_unbound_fails_the_start(hook, tmp_path, capsys):
    (tmp_path / "conf.d" / "skillvl-vms.conf").write_text("<target iqn.2026-11.org.skillvl:storage1.vms>\n</target>\n")
    server = FakeTgtdServer(str(tmp_path / "socket.0"), [
        answer(0, SHOWN_AFTER_TGT_ADMIN), answer(0, b"Account list:\n"), answer(22)])
    try:
        assert hook.main() == 1
    finally:
        server.close()
    assert "unbinding initiator-address ALL" in capsys.readouterr().err
