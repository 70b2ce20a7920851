# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kernel NFS server backend: one file per export in /etc/exports.d, applied with `exportfs -ra`.

`exportfs -ra` re-reads /etc/exports and /etc/exports.d/*.exports, exports what is new or
changed and unexports what is gone (so stale entries do not linger). Its exit code and messages
are the syntax check; `exportfs -v` is then read back to validate that the server holds the
export with the clients and options we asked for.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re


from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    StorageError, resolve_tool, run_tool,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs import NfsBackend, marker_line

NFSD_THREADS = "/proc/fs/nfsd/threads"


def client_options(client):
    opts = [client.access, "sync" if client.sync else "async", client.squash, "no_subtree_check",
            "secure" if client.secure else "insecure"]
    for extra in client.extra_options:
        extra = extra.replace(" ", "")
        if extra not in opts:
            opts.append(extra)
    return opts


def parse_exportfs_v(text):
    """`exportfs -v` output -> {path: {client: [options]}}."""
    result = {}
    path = None
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            parts = line.split(None, 1)
            path = parts[0]
            result.setdefault(path, {})
            rest = parts[1] if len(parts) > 1 else ""
        else:
            rest = line.strip()
        if path is None:
            continue
        for m in re.finditer(r"(\S+?)\(([^)]*)\)", rest):
            result[path][m.group(1)] = m.group(2).split(",")
    return result


def kernel_nfsd_running(threads_file=NFSD_THREADS):
    """True when the kernel NFS server is up (nfsd filesystem mounted and threads > 0).

    Debian's nfs-kernel-server init script exits 0 on a kernel without nfsd; this is the check
    that does not lie.
    """
    try:
        with open(threads_file) as f:
            return int(f.read().strip() or "0") > 0
    except (IOError, OSError, ValueError):
        return False


class KernelNfsBackend(NfsBackend):
    kind = "kernel"
    apply_action = "re-export everything (exportfs -ra)"
    directory = "/etc/exports.d"
    suffix = ".exports"

    def __init__(self, tools=None, directory=None, threads_file=NFSD_THREADS):
        super(KernelNfsBackend, self).__init__(tools, directory)
        self.exportfs = resolve_tool(tools, "exportfs")
        self.threads_file = threads_file

    def render(self, export, current_text):
        words = ['"%s"' % export.path]
        for client in export.clients:
            words.append("%s(%s)" % (client.host, ",".join(client_options(client))))
        return "%s\n%s\n" % (marker_line(export.name), " ".join(words))

    def parse_entry(self, text):
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            clients = {}
            for word in parts[1:]:
                m = re.match(r"^(\S+?)\(([^)]*)\)$", word)
                if m:
                    clients[m.group(1)] = m.group(2).split(",")
            return dict(path=parts[0].strip('"'), clients=clients)
        return dict(path=None, clients={})

    def apply(self, changes):
        rc, out, err = run_tool(self.exportfs, ["-ra"])
        messages = [m for m in (err or "").splitlines() if m.strip()]
        if rc != 0:
            raise StorageError("exportfs -ra rejected the exports (rc=%s): %s"
                               % (rc, " ".join(messages) or out.strip()))
        errors = [m for m in messages if m.startswith("exportfs:") and "warning" not in m.lower()]
        if errors:
            raise StorageError("exportfs -ra reported: %s" % " ".join(errors))

    def current(self):
        rc, out, err = run_tool(self.exportfs, ["-v"])
        if rc != 0:
            raise StorageError("exportfs -v failed (rc=%s): %s" % (rc, err.strip()))
        return parse_exportfs_v(out)

    def validate(self, desired):
        table = self.current()
        for name, export in sorted(desired.items()):
            if export is None:
                continue
            held = table.get(export.path)
            if held is None:
                raise StorageError("after exportfs -ra the server does not list %s (entry %s)" % (export.path, name))
            for client in export.clients:
                opts = held.get(client.host)
                if opts is None:
                    raise StorageError("after exportfs -ra, %s is not exported to %s" % (export.path, client.host))
                for want in (client.access, client.squash, "sync" if client.sync else "async"):
                    if want not in opts:
                        raise StorageError("after exportfs -ra, %s for %s has options %s, missing %s"
                                           % (export.path, client.host, ",".join(opts), want))
        if not kernel_nfsd_running(self.threads_file):
            self.warnings.append("the exports are configured and valid, but no kernel NFS server is running "
                                 "(%s missing or 0 threads): clients cannot mount them yet" % self.threads_file)

    def server_state(self):
        return dict(running=kernel_nfsd_running(self.threads_file),
                    exported=self.current() if os.path.isdir(self.directory) else {})
