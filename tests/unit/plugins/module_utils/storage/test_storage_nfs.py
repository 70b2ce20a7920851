# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NFS backends against temporary directories and scripted exportfs/systemctl/dbus-send.

The real daemons are exercised by tests/integration/test_storage.py."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs import build_export
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_ganesha import (
    GaneshaNfsBackend, parse_show_exports,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_kernel import (
    KernelNfsBackend, kernel_nfsd_running, parse_exportfs_v,
)

EXPORTFS_RA = {"argv": ["exportfs", "-ra"]}
EXPORTFS_V_OK = {"argv": ["exportfs", "-v"], "out": (
    "/srv/skillvl/vms\n\t\t198.51.100.11(sync,wdelay,hide,no_subtree_check,sec=sys,rw,secure,root_squash,"
    "no_all_squash)\n/srv/skillvl/vms\n\t\t198.51.100.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,ro,secure,"
    "root_squash,no_all_squash)\n")}


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "exports.d").mkdir()
    return tmp_path


def vms(tree, clients=None, name="vms"):
    return build_export(name, str(tree / "srv"), clients or [
        dict(host="198.51.100.11", access="rw"), dict(host="198.51.100.0/24")])


def kernel(fake_module, tree, script, check_mode=False):
    module = fake_module(script, check_mode=check_mode)
    return module, KernelNfsBackend(module, directory=str(tree / "exports.d"),
                                    threads_file=str(tree / "threads"))


def fix_paths(tree, step):
    out = step.get("out", "").replace("/srv/skillvl/vms", str(tree / "srv"))
    return dict(step, out=out)


def test_kernel_render_and_apply(fake_module, tree):
    module, backend = kernel(fake_module, tree, [EXPORTFS_RA, fix_paths(tree, EXPORTFS_V_OK)])
    result = backend.ensure(vms(tree), "vms")
    assert result["changed"]
    text = (tree / "exports.d" / "vms.exports").read_text()
    assert text.splitlines()[0].startswith("# Managed by skillvl.offline_first.nfs_export (entry vms)")
    assert text.splitlines()[1] == (
        '"%s" 198.51.100.11(rw,sync,root_squash,no_subtree_check,secure) '
        '198.51.100.0/24(ro,sync,root_squash,no_subtree_check,secure)' % (tree / "srv"))
    assert result["warnings"] and "no kernel NFS server is running" in result["warnings"][0]
    # second run: nothing to do, no command at all
    module, backend = kernel(fake_module, tree, [])
    assert not backend.ensure(vms(tree), "vms")["changed"]
    assert module.calls == []


def test_kernel_check_mode_writes_nothing(fake_module, tree):
    module, backend = kernel(fake_module, tree, [], check_mode=True)
    result = backend.ensure(vms(tree), "vms", check_mode=True)
    assert result["changed"] and result["diff"][0]["before"] == ""
    assert "198.51.100.11(rw" in result["diff"][0]["after"]
    assert result["actions"] == ["write %s" % (tree / "exports.d" / "vms.exports"),
                                 "re-export everything (exportfs -ra)"]
    assert not os.listdir(str(tree / "exports.d"))
    assert module.calls == []


def test_kernel_rejected_is_rolled_back(fake_module, tree):
    old = '# Managed by skillvl.offline_first.nfs_export (entry vms); do not edit by hand.\n"%s" h1(ro)\n' % (
        tree / "srv")
    (tree / "exports.d" / "vms.exports").write_text(old)
    export = vms(tree, [dict(host="h1", extra_options=["bogus"])])
    _module, backend = kernel(fake_module, tree, [
        dict(EXPORTFS_RA, rc=1, err='exportfs: /etc/exports.d/vms.exports:1: unknown keyword "bogus"\n'),
        EXPORTFS_RA])
    with pytest.raises(StorageError) as exc:
        backend.ensure(export, "vms")
    assert 'unknown keyword "bogus"' in str(exc.value) and "previous configuration was restored" in str(exc.value)
    assert "(steps done before the failure: write %s)" % (tree / "exports.d" / "vms.exports") in str(exc.value)
    assert not exc.value.changed
    assert (tree / "exports.d" / "vms.exports").read_text() == old


def test_kernel_validation_catches_missing_client(fake_module, tree):
    _module, backend = kernel(fake_module, tree, [
        EXPORTFS_RA, {"argv": ["exportfs", "-v"], "out": ""}, EXPORTFS_RA])
    with pytest.raises(StorageError) as exc:
        backend.ensure(vms(tree), "vms")
    assert "does not list" in str(exc.value)
    assert not (tree / "exports.d" / "vms.exports").exists()


def test_kernel_exclusive_prunes_only_managed(fake_module, tree):
    d = tree / "exports.d"
    (d / "stale.exports").write_text("# Managed by skillvl.offline_first.nfs_export (entry stale)\n/old h(ro)\n")
    (d / "kept.exports").write_text("# Managed by skillvl.offline_first.nfs_export (entry kept)\n/kept h(ro)\n")
    (d / "admin.exports").write_text("/srv/admin h(ro)\n")
    _module, backend = kernel(fake_module, tree, [EXPORTFS_RA, fix_paths(tree, EXPORTFS_V_OK)])
    result = backend.ensure(vms(tree), "vms", exclusive=True, keep=["kept"])
    assert result["removed"] == ["stale"]
    assert sorted(os.listdir(str(d))) == ["admin.exports", "kept.exports", "vms.exports"]


def test_kernel_refuses_foreign_file(fake_module, tree):
    (tree / "exports.d" / "vms.exports").write_text("/srv h(ro)\n")
    _module, backend = kernel(fake_module, tree, [])
    with pytest.raises(StorageError) as exc:
        backend.ensure(vms(tree), "vms")
    assert "not written by this collection" in str(exc.value)


def test_kernel_absent(fake_module, tree):
    (tree / "exports.d" / "vms.exports").write_text("# Managed by skillvl.offline_first.nfs_export (entry vms)\n/x h(ro)\n")
    _module, backend = kernel(fake_module, tree, [EXPORTFS_RA, {"argv": ["exportfs", "-v"], "out": ""}])
    result = backend.ensure(None, "vms", state="absent")
    assert result["changed"] and result["removed"] == ["vms"]
    assert not (tree / "exports.d" / "vms.exports").exists()


def test_missing_path_is_an_error(fake_module, tree):
    _module, backend = kernel(fake_module, tree, [])
    export = build_export("vms", str(tree / "nope"), ["h1"])
    with pytest.raises(StorageError) as exc:
        backend.ensure(export, "vms")
    assert "does not exist" in str(exc.value)


def test_same_path_twice_is_an_error(fake_module, tree):
    (tree / "exports.d" / "old.exports").write_text(
        '# Managed by skillvl.offline_first.nfs_export (entry old)\n"%s" h(ro)\n' % (tree / "srv"))
    _module, backend = kernel(fake_module, tree, [])
    with pytest.raises(StorageError) as exc:
        backend.ensure(vms(tree), "vms")
    assert "already exported by entry old" in str(exc.value)


def test_build_export_errors():
    with pytest.raises(StorageError, match="no clients"):
        build_export("vms", "/srv", [])
    with pytest.raises(StorageError, match="listed twice"):
        build_export("vms", "/srv", ["h1", "H1"])
    with pytest.raises(StorageError, match="protocol"):
        build_export("vms", "/srv", ["h1"], protocols=[2])
    with pytest.raises(StorageError, match="extra option"):
        build_export("vms", "/srv", [dict(host="h1", extra_options=["a;b"])])


def test_parse_exportfs_v_and_nfsd(tmp_path):
    table = parse_exportfs_v("/a\t\th1(rw,sync)\n/very/long/path\n\t\t10.0.0.0/8(ro,async)\n")
    assert table == {"/a": {"h1": ["rw", "sync"]}, "/very/long/path": {"10.0.0.0/8": ["ro", "async"]}}
    threads = tmp_path / "threads"
    assert not kernel_nfsd_running(str(threads))
    threads.write_text("0\n")
    assert not kernel_nfsd_running(str(threads))
    threads.write_text("8\n")
    assert kernel_nfsd_running(str(threads))


# ---- ganesha -----------------------------------------------------------------------------

SHOW = ('method return\n   array [\n      struct {\n         uint16 0\n         string "/"\n      }\n'
        '      struct {\n         uint16 %d\n         string "%s"\n      }\n   ]\n')


def ganesha(fake_module, tree, script, log_lines=None, running=True):
    main = tree / "ganesha.conf"
    if not main.exists():
        main.write_text("NFS_CORE_PARAM { Protocols = 3, 4; }\nEXPORT { Export_Id = 1; Path = /x; }\n")
    log = tree / "ganesha.log"
    log.write_text("old line\n")
    steps = [{"argv": ["systemctl", "is-active", "--quiet", "nfs-ganesha"], "rc": 0 if running else 3}]
    if running:
        steps.append({"argv": ["systemctl", "reload", "nfs-ganesha"]})
    module = fake_module(steps + script)
    backend = GaneshaNfsBackend(module, directory=str(tree / "exports.d"), main_conf=str(main),
                                log_file=str(log), reload_timeout=0.5)
    orig = module.run_command

    def run_command(cmd, **kwargs):
        result = orig(cmd, **kwargs)
        if list(cmd)[1:2] == ["reload"]:
            with open(str(log), "a") as f:
                f.write("".join(line + "\n" for line in (log_lines or [])))
                f.write("x reread_exports :CONFIG :EVENT :Reread exports complete\n")
        return result
    module.run_command = run_command
    return module, backend


def show_step(export_id, path):
    return {"argv": ["dbus-send", "--system", "--print-reply", "--reply-timeout=5000", "--dest=org.ganesha.nfsd",
                     "/org/ganesha/nfsd/ExportMgr", "org.ganesha.nfsd.exportmgr.ShowExports"],
            "out": SHOW % (export_id, path)}


def test_ganesha_render_include_reload_validate(fake_module, tree):
    export = vms(tree, [dict(host="198.51.100.0/24", access="rw", secure=False)])
    _module, backend = ganesha(fake_module, tree, [show_step(2, str(tree / "srv"))])
    result = backend.ensure(export, "vms")
    assert result["changed"]
    text = (tree / "exports.d" / "vms.conf").read_text()
    assert "Export_Id = 2;" in text          # 1 is taken in ganesha.conf
    assert "Access_Type = None;" in text and "Clients = 198.51.100.0/24;" in text
    assert "PrivilegedPort = false;" in text and "Access_Type = RW;" in text
    main = (tree / "ganesha.conf").read_text()
    assert main.count('%%include "%s"' % (tree / "exports.d" / "vms.conf")) == 1
    assert backend.reloaded
    assert result["actions"][-1] == "reload nfs-ganesha" and result["actions"].count("reload nfs-ganesha") == 1
    assert "write %s" % (tree / "exports.d" / "vms.conf") in result["actions"]


def test_ganesha_keeps_export_id_and_is_idempotent(fake_module, tree):
    export = vms(tree, [dict(host="h1")])
    _module, backend = ganesha(fake_module, tree, [show_step(2, str(tree / "srv"))])
    backend.ensure(export, "vms")
    module = fake_module([])
    backend = GaneshaNfsBackend(module, directory=str(tree / "exports.d"), main_conf=str(tree / "ganesha.conf"))
    assert not backend.ensure(export, "vms")["changed"]
    assert module.calls == []


def test_ganesha_config_error_rolls_back(fake_module, tree):
    export = vms(tree, [dict(host="h1", extra_options=["Bogus=1"])])
    err = "x config_errs_to_log :CONFIG :WARN :Config File (%s:9): Unknown parameter (Bogus)" % (
        tree / "exports.d" / "vms.conf")
    main_before = (tree / "ganesha.conf").read_text() if (tree / "ganesha.conf").exists() else None
    _module, backend = ganesha(fake_module, tree, [
        {"argv": ["systemctl", "is-active", "--quiet", "nfs-ganesha"]},
        {"argv": ["systemctl", "reload", "nfs-ganesha"]}], log_lines=[err])
    main_before = (tree / "ganesha.conf").read_text()
    with pytest.raises(StorageError) as exc:
        backend.ensure(export, "vms")
    assert "Unknown parameter (Bogus)" in str(exc.value)
    assert not (tree / "exports.d" / "vms.conf").exists()
    assert (tree / "ganesha.conf").read_text() == main_before


def test_ganesha_not_running_warns(fake_module, tree):
    _module, backend = ganesha(fake_module, tree, [], running=False)
    result = backend.ensure(vms(tree, [dict(host="h1")]), "vms")
    assert result["changed"] and "not running" in result["warnings"][0]


def test_ganesha_export_id_conflict(fake_module, tree):
    _module, backend = ganesha(fake_module, tree, [])
    export = build_export("vms", str(tree / "srv"), ["h1"], export_id=1)
    with pytest.raises(StorageError, match="Export_Id 1 is already used"):
        backend.ensure(export, "vms")


def test_ganesha_absent_drops_include(fake_module, tree):
    _module, backend = ganesha(fake_module, tree, [show_step(2, str(tree / "srv"))])
    backend.ensure(vms(tree, [dict(host="h1")]), "vms")
    _module, backend = ganesha(fake_module, tree, [])
    result = backend.ensure(None, "vms", state="absent")
    assert result["removed"] == ["vms"]
    assert "%include" not in (tree / "ganesha.conf").read_text()


def test_parse_show_exports():
    assert parse_show_exports(SHOW % (7, "/srv/skillvl/vms")) == {0: "/", 7: "/srv/skillvl/vms"}
