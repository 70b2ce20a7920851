# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Our own runner for external tools (exportfs, tgtadm, targetcli, systemctl, dbus-send).

Plain Python, no AnsibleModule: a backend resolves each tool it needs when it is built, so a
missing binary fails before anything is written. Commands run as argv lists (never through a
shell); data for the tool (secrets) goes on stdin; errors name the tool and the argv with the
secrets replaced.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pwd
import shutil
import subprocess

# Tools live in sbin on Debian, which is not on a non-root PATH.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
REDACTED = "********"


class ToolError(Exception):
    """A tool is missing or a command failed; the message never holds a secret."""


def search_path(environ_path=None):
    parts = [p for p in (environ_path if environ_path is not None else os.environ.get("PATH", "")).split(os.pathsep)
             if p]
    return os.pathsep.join(parts + [d for d in SBIN_DIRS if d not in parts])


def which(name, path=None):
    return shutil.which(name, path=search_path() if path is None else path)


def redact(argv, secrets):
    secrets = [s for s in secrets if s]
    out = []
    for arg in argv:
        arg = str(arg)
        for secret in secrets:
            arg = arg.replace(secret, REDACTED)
        out.append(arg)
    return out


def execute(argv, data=None, run_as=None, umask=None):
    """Run argv without a shell; returns (rc, stdout, stderr) as text.

    `run_as` (an Account) runs it as that user, with that user's groups only; `umask` sets the
    process's umask (files it creates get their modes from it).
    """
    extra = {}
    if run_as is not None:
        extra.update(user=run_as.uid, group=run_as.gid, extra_groups=list(run_as.groups))
    if umask is not None:
        extra.update(umask=umask)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                            universal_newlines=True, env=dict(os.environ, LC_ALL="C"), **extra)
    out, err = proc.communicate(data)
    return proc.returncode, out, err


class Account(object):
    """A local user as a process runs as it: uid, primary gid and supplementary groups."""

    def __init__(self, name, uid, gid, groups=()):
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = tuple(groups)

    @classmethod
    def lookup(cls, name):
        """The account of user `name`; ToolError when the host has no such user."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ToolError("user %s does not exist on this host" % name)
        return cls(name, entry.pw_uid, entry.pw_gid, os.getgrouplist(name, entry.pw_gid))

    def __repr__(self):
        return "Account(%r, uid=%s)" % (self.name, self.uid)


class Tool(object):
    """One external tool, resolved once.

    `path` pins the binary (tests, unusual installs); `executor(argv, data)` replaces the
    subprocess call (unit tests).
    """

    def __init__(self, name, path=None, executor=None):
        self.name = name
        self.path = path or which(name)
        if not self.path:
            raise ToolError("%s is not installed (looked in %s): install it before configuring this service"
                            % (name, search_path()))
        self.executor = executor or execute

    def run(self, args, data=None, check=False, secrets=()):
        """Run the tool with args; check=True raises ToolError on a non-zero exit."""
        argv = [self.path] + [str(a) for a in args]
        try:
            rc, out, err = self.executor(argv, data)
        except OSError as exc:
            raise ToolError("%s could not be started (%s): %s" % (self.name, " ".join(redact(argv, secrets)), exc))
        if check and rc != 0:
            raise ToolError("%s failed (rc=%s): %s: %s" % (
                self.name, rc, " ".join(redact(argv, secrets)),
                " ".join(redact([(err or out or "").strip()], secrets))))
        return rc, out or "", err or ""


def tool_factory(tools=None):
    """A callable name -> Tool: `tools` itself when given (tests), else the real resolver."""
    return tools if tools is not None else Tool
