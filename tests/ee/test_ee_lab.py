# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jobs of the "migrate a VM" and "site" templates run as AWX runs them (make test-ee): ansible-runner starts
the EE with podman, the project is this checkout's tracked files, the survey's answers are the
job's extra vars, the machine credential's key reaches ssh through ssh-agent (runner's
env/ssh_key, as AWX injects it), and the EE joins the lab's underlay in the controller's
namespace and reaches the hosts by their underlay addresses over SSH, host keys checked.

The lab is SKILLVL_LAB_NAME's when it runs (make test-ee after make lab site); otherwise the test
builds one and removes it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time

import jinja2
import pytest
import yaml

# the session's EE, a fixture
from ee_image import image  # noqa: F401  pylint: disable=unused-import

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(os.path.abspath(sys.executable))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from conftest import Lab  # noqa: E402  pylint: disable=wrong-import-position
from labguests import Guests  # noqa: E402  pylint: disable=wrong-import-position

# where AWX's job containers find collections (AWX sets this; the project's ansible.cfg names
# .build/collections first, which a project checkout does not have)
AWX_COLLECTIONS_PATHS = '/runner/requirements_collections:~/.ansible/collections:/usr/share/ansible/collections'


@pytest.fixture(scope='module')
def lab():
    name = os.environ.get('SKILLVL_LAB_NAME', 'skillvl-ee')
    handle = Lab(name)
    own = subprocess.run(['podman', 'container', 'exists', handle.container('cloud1')], check=False).returncode != 0
    if own:
        handle.playbook('playbooks/lab_destroy.yml')
        handle.playbook('playbooks/lab.yml')
        handle.playbook('playbooks/site.yml')
    try:
        yield handle
    finally:
        if own:
            handle.playbook('playbooks/lab_destroy.yml', check=False)


def project(pdd, lab):
    """The project as AWX checks it out: the tracked files; and what the lab built on its controller
    where the lab inventory reads it: the hosts' known_hosts and the lab guest's kernel."""
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], capture_output=True, cwd=ROOT,
                           check=True).stdout.decode().split('\0')
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            dest = os.path.join(pdd, 'project', rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(src, dest)
    ssh = os.path.join(pdd, 'project', '.lab', lab.name, 'ssh')
    os.makedirs(ssh)
    shutil.copy(lab.ssh_file('known_hosts'), ssh)
    guest = os.path.join(pdd, 'project', '.lab', 'guest')
    os.makedirs(guest)
    for name in ('vmlinuz', 'initrd.img', 'guest.json'):
        shutil.copy(os.path.join(ROOT, '.lab', 'guest', name), guest)


def credential(pdd, type_name, inputs):
    """What AWX injects for a credential of one of our types (playbooks/vars/awx.yml): its files
    written into the job's private data directory, and its extra vars naming them there."""
    class Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        pass
    Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))
    with open(os.path.join(ROOT, 'playbooks', 'vars', 'awx.yml')) as handle:
        types = yaml.load(handle, Loader=Loader)['awx_credential_types']  # nosec B506: a SafeLoader
    kind = next(t for t in types if t['name'] == type_name)
    injectors = kind['injectors']
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)  # nosec B701: renders into files, not HTML
    values = dict((field['id'], inputs.get(field['id'], '')) for field in kind['inputs']['fields'])
    filenames = {}
    for key, template in injectors.get('file', {}).items():
        name = key.split('.', 1)[1]
        path = pdd / 'env' / ('credential_' + name)
        path.write_text(env.from_string(template).render(values))
        os.chmod(str(path), 0o600)
        filenames[name] = '/runner/env/credential_' + name
    return dict((var, env.from_string(template).render(dict(values, tower={'filename': filenames})))
                for var, template in injectors.get('extra_vars', {}).items())


def job(image, lab, tmp_path, playbook, extravars, ident, known_hosts=None, credentials=()):
    """ansible-runner as AWX runs a job template's playbook; returns (status, stdout)."""
    pdd = tmp_path / ident
    project(str(pdd), lab)
    (pdd / 'env').mkdir()
    for type_name, inputs in credentials:
        extravars = dict(extravars, **credential(pdd, type_name, inputs))
    (pdd / 'env' / 'extravars').write_text(json.dumps(dict(extravars, lab_name=lab.name, lab_connection='ssh')))
    (pdd / 'env' / 'envvars').write_text(json.dumps({'ANSIBLE_COLLECTIONS_PATH': AWX_COLLECTIONS_PATHS,
                                                     'ANSIBLE_FORCE_COLOR': '0', 'ANSIBLE_NOCOLOR': '1'}))
    # the machine credential: runner loads it into an ssh-agent in the job's container
    with open(lab.ssh_file('id_ed25519')) as key:
        (pdd / 'env' / 'ssh_key').write_text(key.read())
    os.chmod(str(pdd / 'env' / 'ssh_key'), 0o600)
    if known_hosts is not None:
        path = pdd / 'project' / '.lab' / lab.name / 'ssh' / 'known_hosts'
        path.write_text(known_hosts)
    name = 'skillvl-ee-test-%s-%d' % (ident, os.getpid())
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'PYTHONPATH')))
    start = time.time()
    try:
        proc = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '-p', playbook,
                               # the project's inventory, as AWX's inventory source reads it (runner checks
                               # --inventory on this side, where the path does not exist)
                               '--cmdline=-i /runner/project/inventories/lab', '--ident', ident,
                               '--process-isolation', '--process-isolation-executable', 'podman',
                               '--container-image', image, '--container-option=--name=' + name,
                               '--container-option=--user=%d' % os.getuid(),
                               '--container-option=--network=ns:/run/netns/%s-ctl' % lab.name],
                              capture_output=True, text=True, timeout=1800, check=False, env=env)
    finally:
        subprocess.run(['podman', 'rm', '-f', '--ignore', name], capture_output=True, check=False)
    status_file = pdd / 'artifacts' / ident / 'status'
    status = status_file.read_text() if status_file.exists() else None
    print('%s: %s in %.0f s' % (ident, status, time.time() - start))
    return status, proc.stdout + proc.stderr


def test_a_migration_in_the_ee_over_ssh(image, lab, tmp_path):
    guests = Guests(lab)
    name = guests.boot('ee-move', host='cloud1')
    try:
        before = guests.last_seq('cloud1', name)
        since = lab.run('cloud1', 'date +%s').stdout.strip()
        status, out = job(image, lab, tmp_path, 'playbooks/migrate.yml', {'vm': name, 'target': 'ws01'}, 'migrate')
        assert status == 'successful', out[-6000:]
        assert 'VM %s moved from cloud1 to ws01' % name in out, out[-6000:]
        assert guests.state('ws01', name) == 'running'
        guests.assert_alive('ws01', name, before, 'moved from the EE')
        log = lab.run('cloud1', 'journalctl -t sshd --since @%s --no-pager' % since).stdout
        assert 'Accepted publickey for root from 198.51.100.2' in log, log[-2000:]
    finally:
        guests.remove(name)


def test_a_wrong_host_key_fails_the_job_and_nothing_moves(image, lab, tmp_path):
    guests = Guests(lab)
    name = guests.boot('ee-key', host='cloud1')
    try:
        with open(lab.ssh_file('known_hosts')) as handle:
            keys = dict(line.split(' ', 1) for line in handle.read().splitlines() if line.strip())
        keys['198.51.100.11'] = keys['198.51.100.21']
        status, out = job(image, lab, tmp_path, 'playbooks/migrate.yml', {'vm': name, 'target': 'ws01'}, 'badkey',
                          known_hosts=''.join('%s %s\n' % kv for kv in keys.items()))
        assert status == 'failed', out[-4000:]
        assert 'Host key verification failed' in out and 'REMOTE HOST IDENTIFICATION HAS CHANGED' in out, out[-4000:]
        assert guests.state('cloud1', name) == 'running' and guests.state('ws01', name) == 'absent'
    finally:
        guests.remove(name)


def test_site_in_the_ee_keeps_the_hosts_certificates_and_changes_nothing(image, lab, tmp_path):
    """The site template's job, twice, the CA given by the libvirt TLS CA credential: the hosts'
    keys and certificates stay as they are (each host made its own key; the job's empty container
    only signs), and nothing changes anywhere."""
    pki = os.path.join(os.path.expanduser('~'), '.local', 'share', 'skillvl', 'pki')   # the lab's CA (kvm_host default)
    with open(os.path.join(pki, 'ca-cert.pem')) as cert, open(os.path.join(pki, 'ca-key.pem')) as key:
        ca = {'ca_cert': cert.read(), 'ca_key': key.read()}
    files = '/etc/pki/libvirt/servercert.pem /etc/pki/libvirt/private/serverkey.pem /etc/pki/qemu/server-key.pem'
    before = dict((host, lab.run(host, 'sha256sum %s' % files).stdout) for host in ('cloud1', 'ws01'))
    recaps = []
    for run in (1, 2):
        status, out = job(image, lab, tmp_path, 'playbooks/site.yml', {}, 'site%d' % run,
                          credentials=[('SKILL/VL libvirt TLS CA', ca)])
        assert status == 'successful', out[-12000:]
        assert 'BEGIN EC PRIVATE KEY' not in out and 'BEGIN PRIVATE KEY' not in out, 'a key in the job output'
        recaps.append(dict(re.findall(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)', out, re.M)))
        print('site run %d changed: %s' % (run, re.findall(r'^changed: .*$', out, re.M)))
    assert set(recaps[1]) >= {'cloud1', 'ws01', 'ws02'}, recaps
    assert all(changed == '0' for changed in recaps[1].values()), 'the second site job changed: %s' % recaps
    after = dict((host, lab.run(host, 'sha256sum %s' % files).stdout) for host in ('cloud1', 'ws01'))
    assert after == before, 'the site job replaced keys or certificates'
