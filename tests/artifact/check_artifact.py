#!/usr/bin/env python
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install the collection's built artifact as a user does and check that it works from there.

    check_artifact.py ARTIFACT.tar.gz WORKDIR

- The artifact holds no tool cache or output (.ansible, __pycache__, tests/output ...).
- It is installed with ``ansible-galaxy collection install`` into an empty WORKDIR/installed.
- Beside it, WORKDIR/deps holds only the collections galaxy.yml declares, taken from the pinned
  ``ansible`` package (nothing is downloaded) at a version the declared range accepts;
  WORKDIR/lab-deps adds lab/requirements.yml's for the lab's own playbooks, WORKDIR/awx-deps
  playbooks/awx/requirements.yml's for the AWX configuration.
- With only those, and nothing from the checkout or the Python path: ``ansible-doc`` documents
  every module, filter, connection plugin and role, and every playbook passes ``--syntax-check``
  (a module of an undeclared collection fails to resolve there). Which collections the content
  names, and that no plugin imports another collection's code, tests/unit/test_collection_dependencies.py
  checks in the source.

Prints a JSON summary, with the ANSIBLE_COLLECTIONS_PATH values a caller can run from
(``collections_path``, ``lab_collections_path``); exits 1 naming what is wrong.
"""

import json
import os
import subprocess
import sys
import tarfile

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

BIN = os.path.dirname(os.path.abspath(sys.executable))
FORBIDDEN = ('.ansible/', '.pytest_cache/', '__pycache__/', 'tests/output/', '.venv/', '.build/', '.lab/',
             'bench/results/', 'experiments/results/')
# playbooks of a part of the content, which may also call the collections of its own requirements
PART_PLAYBOOKS = {'lab': (('lab.yml', 'lab_destroy.yml'), 'lab/requirements.yml'),
                  'awx': (('awx_configure.yml',), 'playbooks/awx/requirements.yml')}


class ArtifactError(Exception):
    pass


def bundled_collections():
    """Where the pinned ansible package keeps its collections: ansible_collections beside
    ansible-core in site-packages (not whatever else the Python path offers under that name)."""
    import ansible  # pylint: disable=import-outside-toplevel
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ansible.__file__))), 'ansible_collections')


def link_dependencies(wanted, into):
    """Symlink the bundled copy of each wanted collection {fqcn: range} under into/ansible_collections."""
    bundled = bundled_collections()
    for fqcn, wanted_range in sorted(wanted.items()):
        namespace, name = fqcn.split('.')
        src = os.path.join(bundled, namespace, name)
        manifest = os.path.join(src, 'MANIFEST.json')
        if not os.path.isfile(manifest):
            raise ArtifactError('declared dependency %s is not in the pinned ansible package (%s)' % (fqcn, bundled))
        with open(manifest, encoding='utf-8') as handle:
            version = json.load(handle)['collection_info']['version']
        if not meets_requirements(version, wanted_range):
            raise ArtifactError('declared dependency %s %s: the pinned ansible package has %s' % (fqcn, wanted_range, version))
        dest = os.path.join(into, 'ansible_collections', namespace)
        os.makedirs(dest, exist_ok=True)
        os.symlink(src, os.path.join(dest, name))


def run(argv, env, cwd):
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)
    if proc.returncode != 0:
        raise ArtifactError('%s failed (rc %d):\n%s\n%s' % (' '.join(argv[:4]), proc.returncode,
                                                            proc.stdout[-3000:], proc.stderr[-3000:]))
    return proc.stdout


def check(artifact, work):
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile('MANIFEST.json'))
    junk = sorted(set(n for n in names for bad in FORBIDDEN if ('/' + n + '/').find('/' + bad) >= 0))
    if junk:
        raise ArtifactError('the artifact ships %d files of caches or outputs, such as %s' % (len(junk), junk[:5]))
    info = manifest['collection_info']
    fqcn = '%s.%s' % (info['namespace'], info['name'])

    os.makedirs(work)
    cfg = os.path.join(work, 'ansible.cfg')
    with open(cfg, 'w', encoding='utf-8') as handle:
        handle.write('[defaults]\n')        # nothing of the checkout's ansible.cfg
    installed, deps = (os.path.join(work, d) for d in ('installed', 'deps'))
    env = dict(os.environ, ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False',
               ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_NOCOLOR='1', ANSIBLE_DEPRECATION_WARNINGS='0')
    env.pop('PYTHONPATH', None)
    # --no-deps: the dependencies come from the pinned package below, not from a download
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--no-deps', '-p', installed, artifact],
        env, work)
    root = os.path.join(installed, 'ansible_collections', info['namespace'], info['name'])
    link_dependencies(info.get('dependencies') or {}, deps)
    part_deps = {}
    for part, (_books, requirements) in sorted(PART_PLAYBOOKS.items()):
        with open(os.path.join(root, requirements), encoding='utf-8') as handle:
            wanted = dict((c['name'], c.get('version', '*')) for c in yaml.safe_load(handle)['collections'])
        part_deps[part] = os.path.join(work, part + '-deps')
        link_dependencies(wanted, part_deps[part])

    path = '%s:%s' % (installed, deps)
    env['ANSIBLE_COLLECTIONS_PATH'] = path
    doc = os.path.join(BIN, 'ansible-doc')
    documented = {}
    for kind, folder in (('module', 'modules'), ('filter', 'filter'), ('connection', 'connection')):
        plugins = sorted('%s.%s' % (fqcn, f[:-3]) for f in os.listdir(os.path.join(root, 'plugins', folder))
                         if f.endswith('.py') and not f.startswith('_'))
        if kind == 'filter':   # a filter file documents the filters it holds, listed by ansible-doc -l
            listed = json.loads(run([doc, '-t', kind, '-l', fqcn, '--json'], env, work))
            plugins = sorted(listed)
        found = json.loads(run([doc, '-t', kind, '--json'] + plugins, env, work))
        missing = [p for p in plugins if not (found.get(p) or {}).get('doc')]
        if missing:
            raise ArtifactError('ansible-doc finds no documentation of %s %s' % (kind, ', '.join(missing)))
        documented[kind] = len(plugins)
    roles = sorted('%s.%s' % (fqcn, r) for r in os.listdir(os.path.join(root, 'roles')))
    found = json.loads(run([doc, '-t', 'role', '--json'] + roles, env, work))
    missing = [r for r in roles if not found.get(r)]
    if missing:
        raise ArtifactError('ansible-doc finds no argument spec of role %s' % ', '.join(missing))
    documented['role'] = len(roles)

    books = sorted(f for f in os.listdir(os.path.join(root, 'playbooks')) if f.endswith('.yml'))
    playbook = os.path.join(BIN, 'ansible-playbook')
    of_parts = [b for part_books, _reqs in PART_PLAYBOOKS.values() for b in part_books]
    groups = [([b for b in books if b not in of_parts], '')]
    groups += [(list(part_books), ':' + part_deps[part]) for part, (part_books, _reqs) in sorted(PART_PLAYBOOKS.items())]
    for group, extra in groups:
        run([playbook, '--syntax-check', '-i', 'localhost,'] + [os.path.join(root, 'playbooks', b) for b in group],
            dict(env, ANSIBLE_COLLECTIONS_PATH=path + extra), work)
    return {'collection': fqcn, 'version': info['version'], 'files': len(names), 'documented': documented,
            'playbooks': len(books), 'dependencies': sorted(info.get('dependencies') or {}),
            'collections_path': path, 'lab_collections_path': path + ':' + part_deps['lab'],
            'ansible_config': cfg, 'installed': root}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        print(json.dumps(check(os.path.abspath(argv[1]), os.path.abspath(argv[2])), indent=1))
    except ArtifactError as exc:
        sys.stderr.write('check_artifact: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
