# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Installed by skillvl.offline_first.iscsi_target as /usr/local/lib/skillvl/tgt_chap_restore.py.
"""Give skillvl's tgt targets what tgt-admin gets wrong, once it has created the targets.

Run by tgt.service (ExecStartPost and ExecReload, before tgtd is set ready):

- CHAP accounts. tgt-admin would read CHAP secrets from /etc/tgt/conf.d and hand them to
  tgtadm as --password, on a command line every local user can read; the iscsi_target module
  keeps them in /etc/tgt/skillvl-chap/*.conf (0600) instead, and this program sets them over
  tgtd's Unix socket with the module's own client (tgtd_ipc.py, installed beside it).
- The initiator ACL. A target without an initiator-address line gets "initiator-address ALL"
  from tgt-admin, and tgtd admits an initiator whose address OR name is listed: ALL would
  admit every initiator name. The module's targets list initiator names only, so ALL is
  unbound from them again.

Exit status 1 when an account or the ACL of a target tgtd has cannot be set: systemd then
fails the start and stops tgtd, rather than leave the target open wider than configured.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import re
import sys

import tgtd_ipc  # installed beside this file

SECRETS_GLOB = "/etc/tgt/skillvl-chap/*.conf"
CONF_GLOB = "/etc/tgt/conf.d/skillvl-*.conf"      # the module's targets (initiator names only)


def read_accounts(path):
    """(iqn, [(user, password, outgoing), ...]) from one secrets file."""
    iqn, accounts = None, []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 2 and fields[0] == "target":
                iqn = fields[1]
            elif len(fields) == 3 and fields[0] in ("incominguser", "outgoinguser"):
                accounts.append((fields[1], fields[2], fields[0] == "outgoinguser"))
    if iqn is None:
        raise ValueError("no 'target IQN' line")
    return iqn, accounts


def restore(client, path, tids, existing):
    iqn, accounts = read_accounts(path)
    if iqn not in tids:
        print("%s: tgtd has no target %s, nothing to protect" % (path, iqn))
        return
    for user, password, outgoing in accounts:
        if user in existing:   # set again: the file is the truth
            client.request("resetting CHAP account %s" % user, "account", "delete", [("user", user)])
        client.request("creating CHAP account %s" % user, "account", "new", [("user", user), ("password", password)])
        existing.add(user)
        client.request("binding CHAP account %s to %s" % (user, iqn), "account", "bind", [("user", user)],
                       tid=tids[iqn], outgoing=outgoing)
    print("%s: CHAP accounts %s bound to %s" % (path, ", ".join(a[0] for a in accounts), iqn))


def conf_target(path):
    """The IQN of the target a conf.d file of the module describes."""
    with open(path) as f:
        for line in f:
            found = re.match(r"^\s*<target\s+(\S+)>\s*$", line)
            if found:
                return found.group(1)
    raise ValueError("no <target IQN> line")


def address_acls(shown):
    """{iqn: [ACL entries]} from tgtadm's target show: the lines under "ACL information"."""
    acls, iqn, inside = {}, None, False
    for line in shown.splitlines():
        header = re.match(r"^Target \d+: (\S+)\s*$", line)
        if header:
            iqn, inside = header.group(1), False
            acls[iqn] = []
        elif line.strip() == "ACL information:":
            inside = True
        elif inside and iqn and line.startswith("        ") and line.strip():
            acls[iqn].append(line.strip())
        elif line.strip():
            inside = False
    return acls


def close_address_wildcard(client, path, tids, acls):
    iqn = conf_target(path)
    if iqn in tids and "ALL" in acls.get(iqn, []):
        client.request("unbinding initiator-address ALL from %s" % iqn, "target", "unbind",
                       [("initiator-address", "ALL")], tid=tids[iqn])
        print("%s: initiator-address ALL (added by tgt-admin) unbound: initiator names only" % iqn)


def main():
    client = tgtd_ipc.TgtdClient()
    try:
        shown = client.request("listing targets", "target", "show")
        tids = dict((iqn, int(tid)) for tid, iqn in re.findall(r"^Target (\d+): (\S+)\s*$", shown, re.M))
        listed = client.request("listing accounts", "account", "show").splitlines()[1:]
    except tgtd_ipc.StorageError as exc:
        print("tgt_chap_restore: %s" % exc, file=sys.stderr)
        return 1
    existing = set(line.strip() for line in listed if line.strip())
    acls = address_acls(shown)
    steps = [(path, lambda p: restore(client, p, tids, existing)) for path in sorted(glob.glob(SECRETS_GLOB))]
    steps += [(path, lambda p: close_address_wildcard(client, p, tids, acls)) for path in sorted(glob.glob(CONF_GLOB))]
    failed = 0
    for path, step in steps:
        try:
            step(path)
        except (tgtd_ipc.StorageError, OSError, ValueError) as exc:
            print("tgt_chap_restore: %s: %s" % (path, exc), file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
