# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The execution environment (make test-ee, tests/ee/run.sh).

- ansible-builder's introspection of the installed collection lists what meta/execution-environment.yml
  declares, and execution-environment.yml installs the ansible-core of requirements-dev.txt;
- the EE builds (ee/build.sh; podman's cache reuses an unchanged build);
- inside it: ansible-doc documents our modules, the declared Python packages import, and a playbook
  (tests/ee/ee_smoke.yml: our filter and module, a dependency's filter, community.libvirt) runs with
  ansible-runner --process-isolation on podman, as AWX runs a job.
Containers are named skillvl-ee-test-* and removed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

# the session's EE, a fixture
from ee_image import image  # noqa: F401  pylint: disable=unused-import

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
OUT = os.path.join(ROOT, '.build', 'ee')
FQCN = 'skillvl.offline_first'
# The module each declared Python requirement is imported as.
IMPORTS = {'libvirt-python': 'libvirt', 'lxml': 'lxml.etree', 'netaddr': 'netaddr', 'ovs': 'ovs.db.idl',
           'cryptography': 'cryptography', 'matplotlib': 'matplotlib'}


def run(argv, timeout=1800, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT, **kwargs)
    assert proc.returncode == 0, '%s failed (rc %d):\n%s\n%s' % (
        ' '.join(argv[:6]), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:])
    return proc.stdout


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, without comments."""
    with open(os.path.join(ROOT, path), encoding='utf-8') as handle:
        return [line.split('#')[0].strip() for line in handle if line.split('#')[0].strip()]


@pytest.fixture(scope='session')
def installed(tmp_path_factory):
    """The EE's collection artifacts installed as a user installs them, offline."""
    run([os.path.join(BIN, 'python'), 'ee/ee_collections.py', OUT])
    path = str(tmp_path_factory.mktemp('ee-collections'))
    artifacts = sorted(glob.glob(os.path.join(OUT, 'collections', '*.tar.gz')))
    # nothing of the checkout, the Python path or the pinned ansible package counts as installed
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=path, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False')
    env.pop('PYTHONPATH', None)
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force', '-p', path] + artifacts,
        env=env)
    assert os.path.isfile(os.path.join(path, 'ansible_collections', 'skillvl', 'offline_first', 'MANIFEST.json'))
    return path


def podman_run(image_ref, name, *command):
    name = 'skillvl-ee-test-%s-%d' % (name, os.getpid())
    try:
        return run(['podman', 'run', '--rm', '--name', name, image_ref] + list(command), timeout=600)
    finally:
        subprocess.run(['podman', 'rm', '-f', '--ignore', name], capture_output=True, check=False)


def test_introspection_lists_our_declared_dependencies(installed):
    found = yaml.safe_load(run([os.path.join(BIN, 'ansible-builder'), 'introspect', '--sanitize', installed]))
    ours = {kind: [line.split('  # from collection ')[0] for line in found[kind]
                   if line.endswith('# from collection %s' % FQCN)] for kind in ('python', 'system')}
    assert ours['python'] == requirement_lines('meta/ee-requirements.txt')
    assert ours['system'] == requirement_lines('meta/ee-bindep.txt')
    assert set(IMPORTS) == set(re.split('[<>=!~; ]', r)[0] for r in ours['python']), 'IMPORTS names every requirement'


def test_ee_installs_the_ansible_core_of_requirements_dev():
    with open(os.path.join(ROOT, 'execution-environment.yml'), encoding='utf-8') as handle:
        definition = yaml.safe_load(handle)
    dev = [r.replace(' ', '') for r in requirement_lines('requirements-dev.txt') if re.match(r'ansible-core\b', r)]
    assert [definition['dependencies']['ansible_core']['package_pip'].replace(' ', '')] == dev
    assert definition['version'] == 3


def test_ansible_doc_in_the_ee(image):
    doc = json.loads(podman_run(image, 'doc', 'ansible-doc', '-t', 'module', '--json', FQCN + '.vm_migrate'))
    assert doc[FQCN + '.vm_migrate']['doc']['module'] == 'vm_migrate'


def test_declared_python_packages_import_in_the_ee(image):
    code = 'import %s; print("imported")' % ', '.join(sorted(IMPORTS.values()))
    assert podman_run(image, 'imports', 'python3', '-c', code).strip() == 'imported'


def test_a_playbook_in_the_ee_with_ansible_runner(image, tmp_path):
    pdd = tmp_path / 'runner'
    (pdd / 'project').mkdir(parents=True)
    (pdd / 'inventory').mkdir()
    shutil.copy(os.path.join(ROOT, 'tests', 'ee', 'ee_smoke.yml'), str(pdd / 'project'))
    (pdd / 'inventory' / 'hosts').write_text('localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n')
    name = 'skillvl-ee-test-runner-%d' % os.getpid()
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'PYTHONPATH')))
    try:
        # As root, podman runs the EE's user 1000, which cannot write the runner's artifacts
        # (0700, root's): run the job as root, as ansible-runner does for docker (--user=<own uid>).
        proc = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '-p', 'ee_smoke.yml',
                               '--ident', 'smoke', '--process-isolation', '--process-isolation-executable', 'podman',
                               '--container-image', image, '--container-option=--name=' + name,
                               '--container-option=--user=%d' % os.getuid()],
                              capture_output=True, text=True, timeout=900, check=False, env=env)
    finally:
        subprocess.run(['podman', 'rm', '-f', '--ignore', name], capture_output=True, check=False)
    status = (pdd / 'artifacts' / 'smoke' / 'status').read_text() if (pdd / 'artifacts' / 'smoke' / 'status').exists() else None
    assert proc.returncode == 0 and status == 'successful', '%s\n%s' % (proc.stdout[-6000:], proc.stderr[-3000:])
    assert 'EE-SMOKE disks=3 vms=test home_changed=False' in proc.stdout
