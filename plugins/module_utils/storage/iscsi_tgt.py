# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tgt (userspace iSCSI target) backend.

The live configuration is changed with `tgtadm` (no restart, sessions of other targets are not
touched) and read back with `tgtadm --op show`. CHAP accounts are created, deleted, bound and
unbound with tgtd's own management request sent over its Unix socket (tgtd_ipc.py), because
`tgtadm` would need the secret on its command line.

Persistence across a restart of tgtd is split in two, for the same reason:
- /etc/tgt/conf.d/skillvl-<iqn>.conf: the target, its LUNs and ACL, which tgt-admin creates
  when tgtd starts. No secret: tgt-admin would pass an `incominguser` line to tgtadm as
  `--password`, on a command line every local user can read.
- /etc/tgt/skillvl-chap/skillvl-<iqn>.conf (0600, directory 0700): the CHAP accounts, which
  the restore hook the iscsi_target role installs (ExecStartPost of tgt.service, before tgtd
  is set ready) sets over tgtd's socket. Without that hook the target would come back without
  CHAP after a restart, so a target with CHAP is refused when the hook is missing.
tgt never shows secrets, so the secrets file is how we know whether a secret changed; without
it a secret is set again (and reported as a change). An older conf.d file that still holds
the accounts is read as the secrets file once and rewritten without them.
LUNs are numbered 1..n in the order given (LUN 0 is tgt's controller), as tgt-admin does.
Portals are global in tgtd: listed portals are added, none are removed; a portal whose port
tgtd already serves on the wildcard address counts as present.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re


from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    MANAGED_MARKER, StorageError, format_portal, read_text, remove_file, resolve_tool, run_tool, write_text,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.iscsi import (
    MASK, create_sparse_file,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.tgtd_ipc import TgtdClient

CONF_DIR = "/etc/tgt/conf.d"
SECRETS_DIR = "/etc/tgt/skillvl-chap"
RESTORE_HOOK = "/usr/local/lib/skillvl/tgt_chap_restore.py"


# tgtadm options in the order they are given, for argv that reads like the manual.
TGTADM_OPTIONS = (("mode", "--mode"), ("op", "--op"), ("tid", "--tid"), ("targetname", "--targetname"),
                  ("lun", "--lun"), ("backing_store", "--backing-store"), ("initiator_name", "--initiator-name"),
                  ("initiator_address", "--initiator-address"), ("user", "--user"))
TGTADM_FLAGS = (("outgoing", "--outgoing"), ("force", "--force"))


def tgtadm_args(**kwargs):
    args = ["--lld", "iscsi"]
    for key, opt in TGTADM_OPTIONS:
        if kwargs.get(key) is not None:
            args += [opt, str(kwargs[key])]
    for key, flag in TGTADM_FLAGS:
        if kwargs.get(key):
            args.append(flag)
    if kwargs.get("param") is not None:
        args += ["--param", str(kwargs["param"])]
    return args


def parse_target_show(text):
    """`tgtadm --lld iscsi --mode target --op show` -> {iqn: {...}}."""
    targets = {}
    cur = None
    section = None
    lun = None
    for line in (text or "").splitlines():
        m = re.match(r"^Target (\d+): (\S+)\s*$", line)
        if m:
            cur = dict(tid=int(m.group(1)), luns={}, accounts_in=[], accounts_out=[], acls=[], sessions=0)
            targets[m.group(2)] = cur
            section = None
            continue
        if cur is None:
            continue
        stripped = line.strip()
        if re.match(r"^ {4}\S", line):
            section = stripped.rstrip(":")
            continue
        if section == "LUN information":
            m = re.match(r"^LUN: (\d+)$", stripped)
            if m:
                lun = int(m.group(1))
                continue
            m = re.match(r"^Backing store path: (.*)$", stripped)
            if m and lun is not None and lun > 0:
                cur["luns"][lun] = m.group(1).strip()
        elif section == "I_T nexus information":
            if stripped.startswith("I_T nexus:"):
                cur["sessions"] += 1
        elif section == "Account information" and stripped:
            if stripped.endswith("(outgoing)"):
                cur["accounts_out"].append(stripped[:-len("(outgoing)")].strip())
            else:
                cur["accounts_in"].append(stripped)
        elif section == "ACL information" and stripped:
            cur["acls"].append(stripped)
    return targets


def parse_account_show(text):
    return [line.strip() for line in (text or "").splitlines()[1:] if line.strip()]


def parse_portal_show(text):
    portals = []
    for line in (text or "").splitlines():
        m = re.match(r"^Portal: (.*):(\d+),\d+$", line.strip())
        if m:
            portals.append((m.group(1).strip("[]"), int(m.group(2))))
    return portals


def conf_path(iqn, directory=CONF_DIR):
    return os.path.join(directory, "skillvl-%s.conf" % re.sub(r"[^A-Za-z0-9_.-]", "_", iqn))


def render_conf(target):
    """What tgt-admin reads when tgtd starts: everything but the CHAP accounts."""
    lines = ["# %s.iscsi_target (%s); do not edit by hand." % (MANAGED_MARKER, target.iqn),
             "# CHAP accounts: %s (set by %s when tgtd starts)." % (conf_path(target.iqn, SECRETS_DIR), RESTORE_HOOK),
             "<target %s>" % target.iqn]
    for lun in target.luns:
        lines.append("    backing-store %s" % lun.path)
    for init in target.initiators:
        lines.append("    initiator-name %s" % init)
    lines.append("</target>")
    return "\n".join(lines) + "\n"


def render_secrets(target):
    """The target's CHAP accounts for the restore hook (None: the target has no CHAP)."""
    if not target.chap:
        return None
    lines = ["# %s.iscsi_target; read by %s. Mode 0600: it holds CHAP secrets." % (MANAGED_MARKER, RESTORE_HOOK),
             "target %s" % target.iqn,
             "incominguser %s %s" % (target.chap.username, target.chap.password)]
    if target.chap.mutual_username:
        lines.append("outgoinguser %s %s" % (target.chap.mutual_username, target.chap.mutual_password))
    return "\n".join(lines) + "\n"


def write_secrets(path, text):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    write_text(path, text, 0o600)


def parse_conf_secrets(text):
    """{(username, outgoing): password} from a persisted file."""
    secrets = {}
    for line in (text or "").splitlines():
        m = re.match(r"^\s*(incominguser|outgoinguser)\s+(\S+)\s+(\S+)\s*$", line)
        if m:
            secrets[(m.group(2), m.group(1) == "outgoinguser")] = m.group(3)
    return secrets


class TgtBackend(object):
    kind = "tgt"
    global_accounts = True     # CHAP accounts belong to tgtd, not to a target

    def __init__(self, tools=None, conf_dir=CONF_DIR, ipc=None, secrets_dir=SECRETS_DIR, restore_hook=None):
        self.tgtadm_tool = resolve_tool(tools, "tgtadm")
        self.conf_dir = conf_dir
        self.secrets_dir = secrets_dir
        self.restore_hook = restore_hook or RESTORE_HOOK
        self.ipc = ipc if ipc is not None else TgtdClient()
        self.warnings = []

    def tgtadm(self, what, **kwargs):
        """Run tgtadm (never with a secret); `what` describes the step for errors."""
        rc, out, err = run_tool(self.tgtadm_tool, tgtadm_args(**kwargs))
        if rc != 0:
            reason = (err or out).strip().replace("tgtadm: ", "") or "rc=%s" % rc
            raise StorageError("tgt: %s failed: %s" % (what, reason))
        return out

    # ---- reading -----------------------------------------------------------------------
    def read(self):
        targets = parse_target_show(self.tgtadm("listing targets", mode="target", op="show"))
        accounts = parse_account_show(self.tgtadm("listing accounts", mode="account", op="show"))
        portals = parse_portal_show(self.tgtadm("listing portals", mode="portal", op="show"))
        return targets, accounts, portals

    @staticmethod
    def safe_view(iqn, cur):
        if cur is None:
            return dict(iqn=iqn, exists=False)
        return dict(iqn=iqn, exists=True, tid=cur["tid"],
                    luns=[cur["luns"][n] for n in sorted(cur["luns"])],
                    initiators=list(cur["acls"]),
                    chap_users=list(cur["accounts_in"]), mutual_chap_users=list(cur["accounts_out"]),
                    sessions=cur["sessions"])

    # ---- planning ----------------------------------------------------------------------
    def plan(self, target, state="present", iqn=None, force=False, taken_tids=None):
        """``taken_tids``: target ids that other targets planned in the same run will take (a set,
        completed with this target's new id), so that two new targets never get the same one."""
        iqn = target.iqn if target is not None else iqn
        targets, accounts, portals = self.read()
        cur = targets.get(iqn)
        path = conf_path(iqn, self.conf_dir)
        secrets_path = conf_path(iqn, self.secrets_dir)
        old_conf = read_text(path)
        old_secrets = read_text(secrets_path)
        secrets = parse_conf_secrets(old_secrets if old_secrets is not None else old_conf)
        plan = Plan(before=self.safe_view(iqn, cur))
        if state == "absent":
            if cur is not None:
                if cur["sessions"] and not force:
                    raise StorageError("target %s has %d active session(s): log the initiators out first, "
                                       "or set force=true" % (iqn, cur["sessions"]))
                plan.add("delete target %s (tid %d)" % (iqn, cur["tid"]), self._op(
                    "deleting target %s" % iqn, mode="target", op="delete", tid=cur["tid"], force=force or None))
                for user in cur["accounts_in"] + cur["accounts_out"]:
                    if (user, False) in secrets or (user, True) in secrets:
                        plan.add("delete CHAP account %s" % user, self._account(
                            "deleting CHAP account %s" % user, "delete", user))
            if old_conf is not None:
                plan.add("remove %s" % path, lambda: remove_file(path))
            if old_secrets is not None:
                plan.add("remove %s" % secrets_path, lambda: remove_file(secrets_path))
            plan.after = dict(iqn=iqn, exists=False)
            return plan

        if target.chap and not os.path.exists(self.restore_hook):
            raise StorageError("tgt would start target %s without CHAP after a restart: the hook that restores its "
                               "CHAP accounts (%s) is not installed; apply the iscsi_target role to this host first"
                               % (iqn, self.restore_hook))
        taken = taken_tids if taken_tids is not None else set()
        tid = cur["tid"] if cur else max([t["tid"] for t in targets.values()] + list(taken) + [0]) + 1
        taken.add(tid)
        if cur is None:
            plan.add("create target %s (tid %d)" % (iqn, tid), self._op(
                "creating target %s" % iqn, mode="target", op="new", tid=tid, targetname=iqn))
            cur = dict(tid=tid, luns={}, accounts_in=[], accounts_out=[], acls=[], sessions=0)
        # LUNs 1..n in order
        for n, lun in enumerate(target.luns, 1):
            have = cur["luns"].get(n)
            if have == lun.path:
                continue
            if not os.path.exists(lun.path):
                plan.add("create sparse file %s (%d bytes)" % (lun.path, lun.size), self._sparse(lun.path, lun.size))
            if have is not None:
                plan.add("replace LUN %d (%s)" % (n, have), self._op(
                    "removing LUN %d" % n, mode="logicalunit", op="delete", tid=tid, lun=n))
            plan.add("add LUN %d backed by %s" % (n, lun.path), self._op(
                "adding LUN %d backed by %s" % (n, lun.path), mode="logicalunit", op="new", tid=tid, lun=n,
                backing_store=lun.path))
        for n in sorted(cur["luns"]):
            if n > len(target.luns):
                plan.add("remove LUN %d (%s)" % (n, cur["luns"][n]), self._op(
                    "removing LUN %d" % n, mode="logicalunit", op="delete", tid=tid, lun=n))
        # ACL
        for acl in cur["acls"]:
            if acl not in target.initiators:
                kw = dict(initiator_name=acl) if acl.startswith(("iqn.", "eui.", "naa.")) \
                    else dict(initiator_address=acl)
                plan.add("unbind %s" % acl, self._op("removing %s from the ACL" % acl, mode="target",
                                                     op="unbind", tid=tid, **kw))
        for init in target.initiators:
            if init not in cur["acls"]:
                plan.add("bind initiator %s" % init, self._op(
                    "adding %s to the ACL" % init, mode="target", op="bind", tid=tid, initiator_name=init))
        # CHAP
        want = []
        if target.chap:
            want.append((target.chap.username, target.chap.password, False))
            if target.chap.mutual_username:
                want.append((target.chap.mutual_username, target.chap.mutual_password, True))
        for outgoing, bound in ((False, cur["accounts_in"]), (True, cur["accounts_out"])):
            for user in bound:
                if not any(u == user and o == outgoing for u, _p, o in want):
                    plan.add("unbind CHAP account %s" % user, self._account(
                        "unbinding CHAP account %s" % user, "unbind", user, tid=tid, outgoing=outgoing))
                    if (user, outgoing) in secrets:
                        plan.add("delete CHAP account %s" % user, self._account(
                            "deleting CHAP account %s" % user, "delete", user))
        for user, password, outgoing in want:
            bound = user in (cur["accounts_out"] if outgoing else cur["accounts_in"])
            label = "mutual CHAP" if outgoing else "CHAP"
            if user in accounts and secrets.get((user, outgoing)) == password:
                if not bound:
                    plan.add("bind %s account %s" % (label, user), self._bind(tid, user, outgoing))
                continue
            if user in accounts:
                plan.add("reset %s secret of %s" % (label, user), self._account(
                    "deleting CHAP account %s" % user, "delete", user))
            plan.add("create %s account %s" % (label, user), self._account(
                "creating %s account %s" % (label, user), "new", user, password=password))
            plan.add("bind %s account %s" % (label, user), self._bind(tid, user, outgoing))
        # portals
        for addr, port in target.portals:
            # tgtd listens on 0.0.0.0:3260 and [::]:3260 by default; a specific address on a
            # port it already listens on for every address cannot be added (and is reachable).
            wildcard = ("0.0.0.0", port) in portals if ":" not in addr else ("::", port) in portals
            if (addr, port) not in portals and not wildcard:
                plan.add("add portal %s" % format_portal(addr, port), self._op(
                    "adding portal %s" % format_portal(addr, port), mode="portal", op="new",
                    param="portal=%s" % format_portal(addr, port)))
        # persistence: the accounts before the target, so that no restart in between brings the
        # target up without them
        new_secrets = render_secrets(target)
        if new_secrets is None and old_secrets is not None:
            plan.add("remove %s" % secrets_path, lambda: remove_file(secrets_path))
        elif new_secrets is not None and new_secrets != old_secrets:
            plan.add("write %s" % secrets_path, lambda: write_secrets(secrets_path, new_secrets))
        new_conf = render_conf(target)
        if new_conf != old_conf:
            plan.add("write %s" % path, lambda: write_text(path, new_conf, 0o644))
        after = dict(iqn=iqn, exists=True, tid=tid, luns=[lun.path for lun in target.luns],
                     initiators=list(target.initiators),
                     chap_users=[target.chap.username] if target.chap else [],
                     mutual_chap_users=[target.chap.mutual_username] if target.chap and target.chap.mutual_username
                     else [], sessions=cur["sessions"])
        if any(s.description.startswith(("reset", "create CHAP", "create mutual")) for s in plan.steps):
            after["chap_secret"] = MASK + " (set)"
        plan.after = after
        return plan

    def _op(self, what, **kwargs):
        return lambda: self.tgtadm(what, **kwargs)

    def _account(self, what, op, user, password=None, tid=-1, outgoing=False):
        """An account request straight to tgtd: the secret never goes on a command line.
        tgtd splits `user=U,password=P` at the first comma (names cannot hold one)."""
        params = [("user", user)] + ([("password", password)] if password is not None else [])
        return lambda: self.ipc.request(what, "account", op, params, tid=tid, outgoing=outgoing)

    def _bind(self, tid, user, outgoing):
        label = "mutual CHAP" if outgoing else "CHAP"
        return self._account("binding %s account %s" % (label, user), "bind", user, tid=tid, outgoing=outgoing)

    @staticmethod
    def _sparse(path, size):
        return lambda: create_sparse_file(path, size)

    def verify(self, target):
        targets, _accounts, _portals = self.read()
        cur = targets.get(target.iqn)
        if cur is None:
            raise StorageError("tgt does not list target %s after the change" % target.iqn)
        if [cur["luns"][n] for n in sorted(cur["luns"])] != [lun.path for lun in target.luns]:
            raise StorageError("tgt lists LUNs %s for %s, expected %s" % (
                [cur["luns"][n] for n in sorted(cur["luns"])], target.iqn, [lun.path for lun in target.luns]))
        if sorted(cur["acls"]) != sorted(target.initiators):
            raise StorageError("tgt lists ACL %s for %s, expected %s" % (cur["acls"], target.iqn, target.initiators))

    def info(self):
        targets, accounts, portals = self.read()
        return dict(targets=[self.safe_view(iqn, cur) for iqn, cur in sorted(targets.items())],
                    portals=[format_portal(a, p) for a, p in portals])
