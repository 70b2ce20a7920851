# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Connection to a local, rootful podman container through nsenter (the local lab, Molecule)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_nsenter
short_description: Run tasks in a local rootful podman container through nsenter
author:
  - SKILL/VL offline-first team (@skillvl)
version_added: 0.1.0
description:
  - The connection of the local lab (C(playbooks/lab.yml)) and of the Molecule scenarios, whose
    hosts are privileged podman containers running systemd.
  - Enters the namespaces of the container's PID 1 with C(nsenter) instead of calling
    C(podman exec) for every command, and supports pipelining, so a module runs in one
    process. A C(podman exec) costs about half a second on a loaded machine, and a task
    without pipelining needs four of them.
  - The container's PID is asked of podman once and kept for the next tasks in a directory of
    the controller's user (C(~/.ansible/skillvl-nsenter)), together with the process's start time,
    which tells a restarted container from the one that was asked.
  - Commands get the environment C(podman exec) would give them, not the controller's.
  - Needs root on the controller and the container on the same machine.
options:
  remote_addr:
    description: Name of the container.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  podman_executable:
    description: The podman command, used to find the container's PID.
    default: podman
    vars:
      - name: ansible_podman_executable
"""

import os
import shlex
import stat
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

display = Display()

# The environment of a command in the container, as `podman exec` would give it; nothing of
# the controller's environment (virtualenv PATH, PYTHONPATH, ANSIBLE_*) leaks in.
CONTAINER_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "xterm",
    "container": "podman",
}


PID_CACHE = os.path.expanduser("~/.ansible/skillvl-nsenter")


def start_time(pid):
    """The kernel's start time of a process (field 22 of /proc/PID/stat), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read()
    except OSError:
        return None
    # the command (field 2) may hold spaces and parentheses: count from its closing one
    return to_text(fields[fields.rindex(b")") + 2:].split()[19])


def _cache_file(container):
    """Where the container's PID is kept; None when the cache is not this user's alone, or the
    name could leave it (then podman is asked each time)."""
    if not container or "/" in container or container.startswith("."):
        return None
    try:
        os.makedirs(PID_CACHE, mode=0o700, exist_ok=True)
        info = os.lstat(PID_CACHE)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return os.path.join(PID_CACHE, container)


def cached_pid(container):
    """The PID kept for this container, while that very process runs."""
    path = _cache_file(container)
    if path is None:
        return None
    try:
        with open(path) as handle:
            pid, started = handle.read().split()
    except (OSError, ValueError):
        return None
    return pid if pid.isdigit() and start_time(pid) == started else None


def keep_pid(container, pid):
    path, started = _cache_file(container), start_time(pid)
    if path is None or started is None:
        return
    tmp = f"{path}.{os.getpid()}"
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(f"{pid} {started}\n")
        os.replace(tmp, path)
    except OSError:
        pass


def container_pid(container, podman="podman", env=None):
    """(PID, None) of a running container's first process: the one kept while that process runs,
    else podman's answer, kept; (None, why) when the container does not run."""
    pid = cached_pid(container)
    if pid is not None:
        return pid, None
    proc = subprocess.run([podman, "inspect", "--type", "container", "--format", "{{.State.Pid}}", container],
                          capture_output=True, env=env, check=False)
    pid = to_text(proc.stdout).strip()
    if proc.returncode != 0 or not pid.isdigit() or pid == "0":
        return None, to_text(proc.stderr).strip() or pid
    keep_pid(container, pid)
    return pid, None


class Connection(ConnectionBase):
    """Run commands in the container's namespaces with nsenter."""

    transport = "podman_nsenter"
    has_pipelining = True
    has_tty = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None

    def _connect(self):
        if self._connected:
            return self
        container = self.get_option("remote_addr")
        pid, why = container_pid(container, self.get_option("podman_executable"))
        if pid is None:
            raise AnsibleConnectionFailure(f"container {container} is not running: {why}")
        display.vvv(f"NSENTER: container {container} has PID {pid}", host=container)
        self._pid = pid
        self._connected = True
        return self

    def _nsenter(self, argv):
        return ["nsenter", "--target", self._pid, "--all", "--", *argv]

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        argv = self._nsenter(["/bin/sh", "-c", to_text(cmd)])
        display.vvv(f"EXEC {shlex.join(argv)}", host=self.get_option("remote_addr"))
        proc = subprocess.run(argv, input=to_bytes(in_data) if in_data is not None else b"",
                              capture_output=True, env=CONTAINER_ENV, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        display.vvv(f"PUT {in_path} TO {out_path}", host=self.get_option("remote_addr"))
        try:
            with open(to_bytes(in_path), "rb") as src:
                proc = subprocess.run(self._nsenter(["/bin/sh", "-c", f"cat > {shlex.quote(out_path)}"]),
                                      stdin=src, capture_output=True, env=CONTAINER_ENV, check=False)
        except OSError as exc:
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}") from exc
        if proc.returncode != 0:
            raise AnsibleConnectionFailure(f"failed to write {out_path}: {to_text(proc.stderr)}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self.get_option("remote_addr"))
        with open(to_bytes(out_path), "wb") as dst:
            proc = subprocess.run(self._nsenter(["cat", "--", in_path]), stdout=dst,
                                  stderr=subprocess.PIPE, env=CONTAINER_ENV, check=False)
        if proc.returncode != 0:
            raise AnsibleConnectionFailure(f"failed to read {in_path}: {to_text(proc.stderr)}")

    def close(self):
        self._connected = False
        self._pid = None
