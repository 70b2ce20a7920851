# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""iSCSI targets: the declarative model shared by the LIO and tgt backends.

A backend reads the live target, builds a plan (a ``backend.Plan`` of steps, each with a description
that never contains a secret), and runs it unless in check mode. Secrets appear only in the argv
of the commands that set them and in root-only persisted configuration.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import stat

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    StorageError, check_abs_path, check_iqn, check_portal, format_portal,
)

MIN_SECRET = 12
MAX_SECRET = 255
_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,254}$")
_SIZE_RE = re.compile(r"^(\d+)\s*([KMGT]?)(i?B)?$", re.IGNORECASE)
MASK = "********"


def parse_size(size):
    """'10G', '512M', '1048576' -> bytes."""
    if isinstance(size, int):
        return size
    m = _SIZE_RE.match(str(size).strip())
    if not m:
        raise StorageError("LUN size %r is not understood: use bytes or a number with K, M, G or T" % (size,))
    return int(m.group(1)) * 1024 ** "_KMGT".index((m.group(2) or "_").upper())


class Lun(object):
    def __init__(self, path, size=None, kind=None, name=None):
        self.path = path
        self.size = size
        self.kind = kind          # 'file' or 'block'
        self.name = name          # LIO backstore name

    def as_dict(self):
        return dict(path=self.path, size=self.size, kind=self.kind, name=self.name)


class Chap(object):
    def __init__(self, username, password, mutual_username=None, mutual_password=None):
        self.username = username
        self.password = password
        self.mutual_username = mutual_username
        self.mutual_password = mutual_password

    def as_safe_dict(self):
        return dict(username=self.username, password=MASK, mutual_username=self.mutual_username,
                    mutual_password=MASK if self.mutual_password else None)


class IscsiTarget(object):
    def __init__(self, iqn, luns, initiators, chap=None, portals=None):
        self.iqn = iqn
        self.luns = luns
        self.initiators = initiators
        self.chap = chap
        self.portals = portals or []

    def as_safe_dict(self):
        return dict(iqn=self.iqn, luns=[lun.as_dict() for lun in self.luns], initiators=list(self.initiators),
                    chap=self.chap.as_safe_dict() if self.chap else None,
                    portals=[format_portal(a, p) for a, p in self.portals])


def _check_user(user, what):
    if not isinstance(user, str) or not _USER_RE.match(user):
        raise StorageError("%s %r is not valid: use letters, digits and . _ @ : -" % (what, user))


def _check_secret(secret, what):
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise StorageError("%s must be %d to %d characters long (RFC 3720 CHAP secrets of at least 12 "
                           "characters; many initiators refuse shorter ones)" % (what, MIN_SECRET, MAX_SECRET))
    if any(c.isspace() or c in "\"'\\#" for c in secret):
        raise StorageError("%s must not contain blanks, quotes, backslashes or '#'" % what)


def build_chap(chap):
    if not chap:
        return None
    username = chap.get("username")
    password = chap.get("password")
    if not username or not password:
        raise StorageError("CHAP needs both a username and a password")
    _check_user(username, "CHAP username")
    _check_secret(password, "the CHAP password")
    m_user = chap.get("mutual_username")
    m_pass = chap.get("mutual_password")
    if bool(m_user) != bool(m_pass):
        raise StorageError("mutual CHAP needs both mutual_username and mutual_password")
    if m_user:
        _check_user(m_user, "mutual CHAP username")
        _check_secret(m_pass, "the mutual CHAP password")
        if m_pass == password:
            raise StorageError("the mutual CHAP password must differ from the CHAP password")
        if m_user == username:
            raise StorageError("the mutual CHAP username must differ from the CHAP username")
    return Chap(username, password, m_user or None, m_pass or None)


def build_luns(luns, need_exist=True):
    result = []
    seen = set()
    for i, raw in enumerate(luns or []):
        if isinstance(raw, str):
            raw = dict(path=raw)
        if not isinstance(raw, dict) or not raw.get("path"):
            raise StorageError("LUN %d has no path: give the backing file or block device" % (i + 1))
        path = check_abs_path(raw["path"], "LUN %d backing path" % (i + 1))
        if path in seen:
            raise StorageError("backing path %s is listed twice" % path)
        seen.add(path)
        size = parse_size(raw["size"]) if raw.get("size") not in (None, "") else None
        kind = None
        if os.path.exists(path):
            mode = os.stat(path).st_mode
            if stat.S_ISBLK(mode):
                kind = "block"
            elif stat.S_ISREG(mode):
                kind = "file"
            else:
                raise StorageError("backing path %s is neither a regular file nor a block device" % path)
        elif size:
            kind = "file"
            if not os.path.isdir(os.path.dirname(path)):
                raise StorageError("cannot create backing file %s: directory %s does not exist"
                                   % (path, os.path.dirname(path)))
        elif need_exist:
            raise StorageError("backing path %s does not exist: create it, or give a size to create a "
                               "sparse file" % path)
        name = raw.get("name") or re.sub(r"[^A-Za-z0-9_-]", "_", os.path.basename(path))
        result.append(Lun(path, size, kind, name))
    return result


def build_target(iqn, luns=None, initiators=None, chap=None, portals=None, need_exist=True):
    check_iqn(iqn, "target IQN")
    inits = []
    for init in initiators or []:
        check_iqn(init, "initiator IQN")
        if init in inits:
            raise StorageError("initiator %s is listed twice" % init)
        inits.append(init)
    plist = []
    for portal in portals if portals is not None else ["0.0.0.0:3260"]:
        addr = check_portal(portal)
        if addr not in plist:
            plist.append(addr)
    return IscsiTarget(iqn, build_luns(luns, need_exist), inits, build_chap(chap), plist)


def create_sparse_file(path, size):
    with open(path, "ab") as f:
        f.truncate(size)
    os.chmod(path, 0o600)


def ensure_targets(backend, wanted, check_mode=False):
    """The whole set at once: ``wanted`` is a list of dicts (target, state, iqn, force). One plan
    for all of them, so a final step (LIO's saveconfig) runs once; then each present target is
    verified. Result without secrets; ``diff`` keyed by IQN."""
    iqns = [item["iqn"] for item in wanted]
    twice = sorted(set(i for i in iqns if iqns.count(i) > 1))
    if twice:
        raise StorageError("targets lists %s more than once" % ", ".join(twice))
    if getattr(backend, "global_accounts", False):
        users = [u for item in wanted if item["target"] is not None and item["target"].chap
                 for u in (item["target"].chap.username, item["target"].chap.mutual_username) if u]
        shared = sorted(set(u for u in users if users.count(u) > 1))
        if shared:
            raise StorageError("CHAP user %s is given to more than one target; %s keeps one account per user name "
                               "for the whole daemon: give every target its own" % (", ".join(shared), backend.kind))
    plan = Plan(before={}, after={})
    taken = set()
    for item in wanted:
        one = backend.plan(item["target"], state=item["state"], iqn=item["iqn"], force=item["force"],
                           taken_tids=taken)
        for step in one.steps:
            plan.add(step.description, step.run, final=step.final, data=step.data)
        plan.before[item["iqn"]] = one.before
        plan.after[item["iqn"]] = one.after if one else one.before
    result = plan.result(backend=backend.kind)
    result["targets"] = [item["target"].as_safe_dict() if item["target"] is not None
                         else dict(iqn=item["iqn"], state="absent") for item in wanted]
    if plan and not check_mode:
        plan.run()
        for item in wanted:
            if item["state"] == "present":
                backend.verify(item["target"])
    result["warnings"] = list(backend.warnings)
    return result


def ensure_target(backend, target, state="present", iqn=None, force=False, check_mode=False):
    """Plan, and unless in check mode run the plan and verify; result without secrets."""
    plan = backend.plan(target, state=state, iqn=iqn, force=force)
    result = plan.result(backend=backend.kind)
    if target is not None:
        result["target"] = target.as_safe_dict()
    if plan and not check_mode:
        plan.run()
        if state == "present":
            backend.verify(target)
    result["warnings"] = list(backend.warnings)
    return result
