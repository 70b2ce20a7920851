# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""podman_nsenter's PID cache: podman is asked once per container, a kept PID is used only while
that very process runs, and a cache that is not the user's alone is not used."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.skillvl.offline_first.plugins.connection import podman_nsenter as pn


@pytest.fixture(name="cache")
def fixture_cache(tmp_path, monkeypatch):
    path = str(tmp_path / "nsenter")
    monkeypatch.setattr(pn, "PID_CACHE", path)
    return path


def test_a_kept_pid_is_used_while_its_process_runs(cache):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pn.keep_pid("lab-cloud1", str(child.pid))
        assert pn.cached_pid("lab-cloud1") == str(child.pid)
        assert oct(os.stat(cache).st_mode & 0o777) == "0o700"
        assert oct(os.stat(os.path.join(cache, "lab-cloud1")).st_mode & 0o777) == "0o600"
    finally:
        child.kill()
        child.wait()
    assert pn.cached_pid("lab-cloud1") is None            # gone: podman is asked again


def test_a_pid_with_another_start_time_is_another_process(cache):
    pn.keep_pid("lab-ws01", str(os.getpid()))
    with open(os.path.join(cache, "lab-ws01")) as handle:
        pid, started = handle.read().split()
    with open(os.path.join(cache, "lab-ws01"), "w") as handle:
        handle.write("%s %d\n" % (pid, int(started) - 1))
    assert pn.cached_pid("lab-ws01") is None


def test_a_cache_others_can_write_is_not_used(cache):
    os.makedirs(cache, mode=0o700)
    pn.keep_pid("lab-ws02", str(os.getpid()))
    assert pn.cached_pid("lab-ws02") == str(os.getpid())
    os.chmod(cache, 0o777)
    assert pn.cached_pid("lab-ws02") is None


@pytest.mark.parametrize("name", ["", "../etc", ".hidden", "a/b"])
def test_names_that_could_leave_the_cache_are_not_kept(cache, name):
    pn.keep_pid(name, str(os.getpid()))
    assert pn.cached_pid(name) is None
    assert not os.path.exists(cache) or os.listdir(cache) == []


def test_the_start_time_survives_a_command_with_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "odd ) 1 2 (x"
    odd.symlink_to(os.path.realpath(sys.executable))
    child = subprocess.Popen([str(odd), "-c", "import time; time.sleep(30)"])
    try:
        with open("/proc/%d/stat" % child.pid) as handle:
            assert "(odd ) 1 2 (x)" in handle.read()
        assert pn.start_time(child.pid) == pn.start_time(str(child.pid)) and pn.start_time(child.pid).isdigit()
    finally:
        child.kill()
        child.wait()
    assert pn.start_time(child.pid) is None


def test_podman_is_asked_once_and_a_stopped_container_is_named(cache, tmp_path):
    podman = tmp_path / "podman"
    asked = tmp_path / "asked"
    podman.write_text('#!/bin/sh\necho "$@" >> %s\n'
                      'case "$6" in lab-up) echo %d ;; *) echo "no such container $6" >&2; exit 125 ;; esac\n'
                      % (asked, os.getpid()))
    podman.chmod(0o755)
    assert pn.container_pid("lab-up", str(podman)) == (str(os.getpid()), None)
    assert pn.container_pid("lab-up", str(podman)) == (str(os.getpid()), None)
    assert asked.read_text().splitlines() == ["inspect --type container --format {{.State.Pid}} lab-up"]
    assert pn.container_pid("lab-down", str(podman)) == (None, "no such container lab-down")
