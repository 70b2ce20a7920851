# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The EE image both test files run in, built once per session by ee/build.sh (podman's cache
reuses an unchanged build). Not a conftest.py: test_ee_lab.py imports tests/integration's."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope='session')
def image():
    start = time.time()
    proc = subprocess.run([os.path.join(ROOT, 'ee', 'build.sh')], capture_output=True, text=True, timeout=3600,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, 'ee/build.sh failed (rc %d):\n%s\n%s' % (
        proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    print('EE build: %.0f s' % (time.time() - start))
    return proc.stdout.strip().splitlines()[-1]
