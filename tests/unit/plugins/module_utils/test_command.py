# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our command runner: real subprocesses (sh, cat, false), missing tools fail before any write."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils import command
from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Tool, ToolError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi_tgt import TgtBackend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs import build_export
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_backends import nfs_backend


def test_argv_exact_and_no_shell(tmp_path):
    rc, out, err = Tool("printf").run(["%s|", "a b", "$HOME", ";", "*"])
    assert (rc, out, err) == (0, "a b|$HOME|;|*|", "")


def test_stdin_carries_data():
    rc, out, _err = Tool("cat").run([], data="secret-on-stdin\n")
    assert rc == 0 and out == "secret-on-stdin\n"


def test_failure_names_tool_and_redacts_secrets():
    tool = Tool("sh")
    with pytest.raises(ToolError) as exc:
        tool.run(["-c", "echo s3cretpassw0rd >&2; exit 3", "s3cretpassw0rd"], check=True, secrets=["s3cretpassw0rd"])
    msg = str(exc.value)
    assert "sh failed (rc=3)" in msg and "s3cretpassw0rd" not in msg and command.REDACTED in msg
    assert tool.run(["-c", "exit 3"]) == (3, "", "")


def test_missing_binary_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolError) as exc:
        Tool("no-such-tool-skillvl")
    assert "no-such-tool-skillvl is not installed" in str(exc.value)


def test_sbin_is_searched_without_it_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "/usr/sbin" in command.search_path().split(":")


@pytest.mark.parametrize("kind, tool", [("kernel", "exportfs"), ("ganesha", "dbus-send")])
def test_nfs_backend_without_its_tool_fails_before_writing(tmp_path, monkeypatch, kind, tool):
    real_which = command.which
    monkeypatch.setattr(command, "which", lambda name, path=None: None if name == tool else real_which(name, path))
    (tmp_path / "srv").mkdir()
    export = build_export("vms", str(tmp_path / "srv"), [dict(host="198.51.100.0/24")])
    with pytest.raises(StorageError) as exc:
        backend = nfs_backend(kind, directory=str(tmp_path / "d"), main_conf=str(tmp_path / "ganesha.conf")) \
            if kind == "ganesha" else nfs_backend(kind, directory=str(tmp_path / "d"))
        backend.ensure(export, "vms")
    assert "%s is not installed" % tool in str(exc.value)
    assert not (tmp_path / "d").exists()


def test_tgt_backend_without_tgtadm_fails_when_built(monkeypatch):
    monkeypatch.setattr(command, "which", lambda name, path=None: None)
    with pytest.raises(StorageError, match="tgtadm is not installed"):
        TgtBackend()
