#!/usr/bin/env python
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collections of the execution environment, as local artifacts (no Galaxy server needed).

    ee_collections.py OUTDIR

- OUTDIR/collections/skillvl-offline_first-VERSION.tar.gz: ``ansible-galaxy collection build`` of this checkout.
- OUTDIR/collections/NAMESPACE-NAME-VERSION.tar.gz for each dependency galaxy.yml declares, made from the
  copy in the pinned ``ansible`` package (the one beside ansible-core, as tests/artifact/check_artifact.py
  uses), at a version the declared range accepts. The package leaves out some files its FILES.json lists
  (dot files, tests): FILES.json is cut down to the files present, their checksums checked, and MANIFEST.json
  given its new checksum, so that ``ansible-galaxy collection install`` verifies every file.
- OUTDIR/requirements.yml: those files as ``type: file`` requirements at /build/collections/ (where
  ansible-builder's galaxy stage sees additional_build_files' ``collections``).

An artifact whose content is unchanged is kept byte for byte, so podman's layer cache reuses the EE
build's stages. Prints the JSON list of the artifacts.
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
IN_IMAGE = '/build/collections'


class CollectionsError(Exception):
    pass


def bundled_collections():
    import ansible  # pylint: disable=import-outside-toplevel
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ansible.__file__))), 'ansible_collections')


def manifest_of(artifact):
    with tarfile.open(artifact) as tar:
        return json.load(tar.extractfile('MANIFEST.json'))


def keep_if_same(new, dest):
    """Move new to dest unless dest holds the same collection content (MANIFEST.json covers every file)."""
    if os.path.exists(dest) and manifest_of(dest) == manifest_of(new):
        os.unlink(new)
        return False
    os.replace(new, dest)
    return True


def build_ours(out, tmp):
    proc = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', tmp],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise CollectionsError('ansible-galaxy collection build failed:\n%s%s' % (proc.stdout, proc.stderr))
    (name,) = [f for f in os.listdir(tmp) if f.endswith('.tar.gz')]
    keep_if_same(os.path.join(tmp, name), os.path.join(out, name))
    return name


def pack_bundled(fqcn, wanted_range, out, tmp):
    namespace, name = fqcn.split('.')
    src = os.path.join(bundled_collections(), namespace, name)
    try:
        with open(os.path.join(src, 'MANIFEST.json'), 'rb') as handle:
            manifest_bytes = handle.read()
        with open(os.path.join(src, 'FILES.json'), 'rb') as handle:
            files_bytes = handle.read()
    except OSError:
        raise CollectionsError('declared dependency %s is not in the pinned ansible package' % fqcn)
    manifest = json.loads(manifest_bytes)
    version = manifest['collection_info']['version']
    if not meets_requirements(version, wanted_range):
        raise CollectionsError('declared dependency %s %s: the pinned ansible package has %s' % (fqcn, wanted_range, version))
    files = json.loads(files_bytes)
    present = []
    for entry in files['files']:
        path = os.path.join(src, entry['name'])
        if entry['name'] == '.' or (entry['ftype'] == 'dir' and os.path.isdir(path)):
            present.append(entry)
        elif entry['ftype'] == 'file' and os.path.isfile(path):
            with open(path, 'rb') as handle:
                if hashlib.sha256(handle.read()).hexdigest() != entry['chksum_sha256']:
                    raise CollectionsError('%s: %s differs from its FILES.json checksum' % (fqcn, entry['name']))
            present.append(entry)
    files['files'] = present
    files_bytes = json.dumps(files, indent=True).encode('utf-8')
    manifest['file_manifest_file']['chksum_sha256'] = hashlib.sha256(files_bytes).hexdigest()
    manifest_bytes = json.dumps(manifest, indent=True).encode('utf-8')
    artifact = '%s-%s-%s.tar.gz' % (namespace, name, version)
    new = os.path.join(tmp, artifact)
    with open(new, 'wb') as raw, gzip.GzipFile(fileobj=raw, mode='wb', mtime=0, filename='') as gz, \
            tarfile.open(fileobj=gz, mode='w', format=tarfile.PAX_FORMAT) as tar:
        def add(arcname, data=None, kind=tarfile.REGTYPE):
            info = tarfile.TarInfo(arcname)
            info.type, info.mtime, info.uid, info.gid = kind, 0, 0, 0
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            if data is None:
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        add('MANIFEST.json', manifest_bytes)
        add('FILES.json', files_bytes)
        for entry in sorted(present, key=lambda e: e['name']):
            if entry['name'] == '.':
                continue
            if entry['ftype'] == 'dir':
                add(entry['name'], kind=tarfile.DIRTYPE)
            else:
                with open(os.path.join(src, entry['name']), 'rb') as handle:
                    add(entry['name'], handle.read())
    keep_if_same(new, os.path.join(out, artifact))
    return artifact


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    base = os.path.abspath(argv[1])
    out = os.path.join(base, 'collections')
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        galaxy = yaml.safe_load(handle)
    try:
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            artifacts = [build_ours(out, tmp)]
            for fqcn, wanted in sorted((galaxy.get('dependencies') or {}).items()):
                artifacts.append(pack_bundled(fqcn, wanted, out, tmp))
    except CollectionsError as exc:
        sys.stderr.write('ee_collections: %s\n' % exc)
        return 1
    for stale in set(os.listdir(out)) - set(artifacts):
        os.unlink(os.path.join(out, stale))
    requirements = {'collections': [{'name': '%s/%s' % (IN_IMAGE, a), 'type': 'file'} for a in artifacts]}
    with open(os.path.join(base, 'requirements.yml'), 'w', encoding='utf-8') as handle:
        handle.write('# Written by ee/ee_collections.py: the EE\'s collections from local artifacts.\n---\n')
        yaml.safe_dump(requirements, handle, default_flow_style=False, sort_keys=False)
    print(json.dumps(artifacts))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
