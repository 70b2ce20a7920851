# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LIO (kernel iSCSI target) backend.

The live state is read from configfs (/sys/kernel/config/target), which is what the kernel
really holds, and changed with one-shot `targetcli` commands; `targetcli saveconfig` persists
it (/etc/rtslib-fb-target/saveconfig.json, restored by rtslib-fb-targetctl at boot).
One target portal group (tpg1) per target; CHAP is set on every initiator ACL, with
generate_node_acls=0 so that only listed initiators log in.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re


from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    StorageError, format_portal, read_text, resolve_tool, run_tool,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi import MASK

CONFIGFS = "/sys/kernel/config/target"
HBA_KIND = dict(fileio="file", iblock="block")
TARGETCLI_STORE = dict(file="fileio", block="block")


def _read(path):
    text = read_text(path)
    return text.strip() if text is not None else None


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def read_backstores(root=CONFIGFS):
    """{name: {'kind': 'file'|'block', 'path': udev_path, 'hba': 'fileio_0'}}."""
    stores = {}
    core = os.path.join(root, "core")
    for hba in _listdir(core):
        prefix = hba.rsplit("_", 1)[0]
        if prefix not in HBA_KIND:
            continue
        for name in _listdir(os.path.join(core, hba)):
            sdir = os.path.join(core, hba, name)
            if os.path.isdir(sdir) and os.path.exists(os.path.join(sdir, "udev_path")):
                stores[name] = dict(kind=HBA_KIND[prefix], path=_read(os.path.join(sdir, "udev_path")), hba=hba)
    return stores


def read_target(iqn, root=CONFIGFS):
    tpg = os.path.join(root, "iscsi", iqn, "tpgt_1")
    if not os.path.isdir(tpg):
        return None
    luns = {}
    for entry in _listdir(os.path.join(tpg, "lun")):
        m = re.match(r"^lun_(\d+)$", entry)
        if not m:
            continue
        ldir = os.path.join(tpg, "lun", entry)
        for link in _listdir(ldir):
            if os.path.islink(os.path.join(ldir, link)):
                luns[int(m.group(1))] = os.path.basename(os.readlink(os.path.join(ldir, link)))
    acls = {}
    for init in _listdir(os.path.join(tpg, "acls")):
        auth = os.path.join(tpg, "acls", init, "auth")
        acls[init] = dict(userid=_read(os.path.join(auth, "userid")) or None,
                          password=_read(os.path.join(auth, "password")) or None,
                          mutual_userid=_read(os.path.join(auth, "userid_mutual")) or None,
                          mutual_password=_read(os.path.join(auth, "password_mutual")) or None)
    portals = []
    for np in _listdir(os.path.join(tpg, "np")):
        m = re.match(r"^\[?([^\]]+?)\]?:(\d+)$", np)
        if m:
            portals.append((m.group(1), int(m.group(2))))
    attrib = dict((a, _read(os.path.join(tpg, "attrib", a))) for a in ("authentication", "generate_node_acls"))
    return dict(luns=luns, acls=acls, portals=portals, attrib=attrib)


class LioBackend(object):
    kind = "lio"

    def __init__(self, tools=None, root=CONFIGFS):
        self.targetcli_tool = resolve_tool(tools, "targetcli")
        self.root = root
        self.warnings = []

    def targetcli(self, what, path, command, *args):
        rc, out, err = run_tool(self.targetcli_tool, [path, command] + list(args))
        if rc != 0:
            raise StorageError("LIO: %s failed: %s" % (what, (err or out).strip() or "rc=%s" % rc))
        return out

    def _op(self, what, path, command, *args):
        return lambda: self.targetcli(what, path, command, *args)

    def available(self):
        if not os.path.isdir(os.path.join(self.root, "iscsi")) and not os.path.isdir(os.path.join(self.root, "core")):
            raise StorageError("the LIO target is not available: %s does not exist (no configfs or no "
                               "target_core_mod/iscsi_target_mod in this kernel); use backend=tgt" % self.root)

    @staticmethod
    def safe_view(iqn, cur, stores):
        if cur is None:
            return dict(iqn=iqn, exists=False)
        return dict(iqn=iqn, exists=True,
                    luns=[stores.get(cur["luns"][n], {}).get("path") for n in sorted(cur["luns"])],
                    initiators=sorted(cur["acls"]),
                    chap_users=sorted(set(a["userid"] for a in cur["acls"].values() if a["userid"])),
                    mutual_chap_users=sorted(set(a["mutual_userid"] for a in cur["acls"].values()
                                                 if a["mutual_userid"])),
                    portals=[format_portal(a, p) for a, p in cur["portals"]])

    def plan(self, target, state="present", iqn=None, force=False, taken_tids=None):  # pylint: disable=unused-argument
        self.available()
        iqn = target.iqn if target is not None else iqn
        stores = read_backstores(self.root)
        cur = read_target(iqn, self.root)
        before = self.safe_view(iqn, cur, stores)
        base = "/iscsi/%s/tpg1" % iqn
        plan = Plan(before=before)
        if state == "absent":
            if cur is not None:
                delete = self._op("deleting target %s" % iqn, "/iscsi", "delete", iqn)
                plan.add("delete target %s" % iqn, delete)
                plan.add("save configuration", self._op("saving the configuration", "/", "saveconfig"), final=True)
            plan.after = dict(iqn=iqn, exists=False)
            return plan
        if cur is None:
            plan.add("create target %s" % iqn, self._op("creating target %s" % iqn, "/iscsi", "create", iqn))
            # targetcli creates a default portal 0.0.0.0:3260 with a new target
            cur = dict(luns={}, acls={}, portals=[("0.0.0.0", 3260)], attrib={})
        # backstores and LUNs, LUN numbers 0..n-1 in order
        by_path = dict((s["path"], name) for name, s in stores.items())
        want_luns = {}
        for n, lun in enumerate(target.luns):
            name = by_path.get(lun.path)
            if name is None:
                name = lun.name
                if name in stores:
                    raise StorageError("LIO backstore %s already exists for %s: give this LUN another name"
                                       % (name, stores[name]["path"]))
                store = TARGETCLI_STORE[lun.kind or "file"]
                args = ["name=%s" % name]
                if store == "fileio":
                    args += ["file_or_dev=%s" % lun.path, "write_back=false"]
                    if lun.size:
                        args.append("size=%d" % lun.size)
                else:
                    args.append("dev=%s" % lun.path)
                plan.add("create backstore %s for %s" % (name, lun.path), self._op(
                    "creating backstore %s" % name, "/backstores/%s" % store, "create", *args))
                stores[name] = dict(kind=lun.kind or "file", path=lun.path, hba="%s_x" % store)
            want_luns[n] = name
        for n, name in sorted(cur["luns"].items()):
            if want_luns.get(n) != name:
                plan.add("remove LUN %d (%s)" % (n, name), self._op(
                    "removing LUN %d" % n, base + "/luns", "delete", "lun=%d" % n))
        for n, name in sorted(want_luns.items()):
            if cur["luns"].get(n) != name:
                store = "fileio" if stores[name]["kind"] == "file" else "block"
                plan.add("add LUN %d (%s)" % (n, name), self._op(
                    "adding LUN %d" % n, base + "/luns", "create", "/backstores/%s/%s" % (store, name),
                    "lun=%d" % n, "add_mapped_luns=false"))
        # ACLs and CHAP
        for init in sorted(cur["acls"]):
            if init not in target.initiators:
                plan.add("remove ACL %s" % init, self._op("removing ACL %s" % init, base + "/acls", "delete", init))
        chap = target.chap
        for init in target.initiators:
            have = cur["acls"].get(init)
            if have is None:
                plan.add("add ACL %s" % init, self._op("adding ACL %s" % init, base + "/acls", "create", init,
                                                       "add_mapped_luns=true"))
                have = dict(userid=None, password=None, mutual_userid=None, mutual_password=None)
            want = dict(userid=chap.username if chap else None, password=chap.password if chap else None,
                        mutual_userid=chap.mutual_username if chap else None,
                        mutual_password=chap.mutual_password if chap else None)
            if want != have:
                # Secrets go straight into configfs (what rtslib does), never on a command line.
                plan.add("set CHAP for %s" % init, self._set_chap(iqn, init, want))
        want_attrib = dict(authentication="1" if chap else "0", generate_node_acls="0")
        if any(cur["attrib"].get(k) != v for k, v in want_attrib.items()):
            plan.add("set authentication=%s generate_node_acls=0" % want_attrib["authentication"], self._op(
                "setting target attributes", base, "set", "attribute",
                *["%s=%s" % kv for kv in sorted(want_attrib.items())]))
        # portals: exactly those listed
        for addr, port in cur["portals"]:
            if (addr, port) not in target.portals:
                plan.add("remove portal %s" % format_portal(addr, port), self._op(
                    "removing portal %s" % format_portal(addr, port), base + "/portals", "delete", addr, str(port)))
        for addr, port in target.portals:
            if (addr, port) not in cur["portals"]:
                plan.add("add portal %s" % format_portal(addr, port), self._op(
                    "adding portal %s" % format_portal(addr, port), base + "/portals", "create", addr, str(port)))
        if plan:
            plan.add("save configuration", self._op("saving the configuration", "/", "saveconfig"), final=True)
        after = dict(iqn=iqn, exists=True, luns=[lun.path for lun in target.luns],
                     initiators=sorted(target.initiators),
                     chap_users=[chap.username] if chap and target.initiators else [],
                     mutual_chap_users=[chap.mutual_username] if chap and chap.mutual_username and target.initiators
                     else [],
                     portals=[format_portal(a, p) for a, p in target.portals])
        if any(s.description.startswith("set CHAP") for s in plan.steps):
            after["chap_secret"] = MASK + " (set)"
        plan.after = after
        return plan

    def _set_chap(self, iqn, init, want):
        auth = os.path.join(self.root, "iscsi", iqn, "tpgt_1", "acls", init, "auth")
        files = (("userid", "userid"), ("password", "password"), ("userid_mutual", "mutual_userid"),
                 ("password_mutual", "mutual_password"))

        def apply():
            for fname, key in files:
                with open(os.path.join(auth, fname), "w") as f:
                    f.write(want[key] or "")
        return apply

    def verify(self, target):
        cur = read_target(target.iqn, self.root)
        if cur is None:
            raise StorageError("configfs does not hold target %s after the change" % target.iqn)
        if sorted(cur["acls"]) != sorted(target.initiators):
            raise StorageError("LIO holds ACLs %s for %s, expected %s" % (sorted(cur["acls"]), target.iqn,
                                                                          sorted(target.initiators)))

    def info(self):
        stores = read_backstores(self.root)
        return dict(targets=[self.safe_view(iqn, read_target(iqn, self.root), stores)
                             for iqn in _listdir(os.path.join(self.root, "iscsi"))
                             if iqn.startswith(("iqn.", "eui.", "naa."))],
                    portals=[])
