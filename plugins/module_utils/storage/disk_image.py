# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""VM disk images, on a hypervisor's own disk or on the shared NFS export, made with qemu-img.

qemu-img opens an image the way QEMU will, so one code path serves a local file, a file on a
mounted export (``/var/lib/libvirt/skillvl-nfs/vm1-root.qcow2``) and a file QEMU reaches with
its own NFS client (``nfs://198.51.100.31/srv/skillvl/vms/vm1-root.qcow2``).

Exports are ``root_squash``: root on a hypervisor is nobody on the export. Every qemu-img and
every removal therefore runs as the image's owner (``libvirt-qemu``, the user QEMU runs as),
with umask 077, so an image is 0600 for its one user. An image that exists is never
overwritten, resized or converted; an image a running QEMU holds is never removed. qemu-img
cannot delete an nfs:// image: libnfs, QEMU's NFS client, does (storage/libnfs.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import functools
import json
import os
import re
import shutil
import tempfile

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Account, Tool, ToolError, execute
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage import libnfs

FORMATS = ('qcow2', 'raw')
PRIVATE_UMASK = 0o077
MIB = 1024 * 1024
_LABEL = r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
_HOST = re.compile(r'^(\[[0-9A-Fa-f:.]+\]|%s(\.%s)*)$' % (_LABEL, _LABEL))
# qemu-img's words for a missing file (file driver, libnfs) and for an image a QEMU holds.
_MISSING = ('No such file or directory', 'NFS3ERR_NOENT', 'NFS4ERR_NOENT')
_LOCKED = ('Failed to get', 'lock')


class DiskImageError(BackendError):
    """A disk image cannot be read, created or removed; nothing was changed unless said."""


def parse_location(location):
    """An absolute file path or nfs://SERVER/ABSOLUTE/PATH, as a dict (kind, path, server)."""
    if not isinstance(location, str) or not location or any(c.isspace() or ord(c) < 32 for c in location):
        raise DiskImageError('disk path %r must be an absolute path or nfs://SERVER/PATH, without spaces' % (location,))
    kind, server, path = 'file', None, location
    if location.startswith('nfs://'):
        kind = 'nfs'
        server, sep, rest = location[len('nfs://'):].partition('/')
        path = '/' + rest if sep else ''
        if not _HOST.match(server or ''):
            raise DiskImageError('disk path %s names no valid NFS server' % location)
        if '?' in path or '#' in path:
            raise DiskImageError('disk path %s: give the user as owner, not as URL parameters' % location)
    elif '://' in location:
        raise DiskImageError('disk path %s: only local files and nfs:// are supported' % location)
    if not path.startswith('/') or path.endswith('/') or '/../' in path + '/' or '/./' in path + '/':
        raise DiskImageError('disk path %s must name a file by an absolute path without . or .. parts' % location)
    return {'kind': kind, 'server': server, 'path': path, 'location': location}


def argument_spec():
    """The options of vm_disk, beside the backend that reads them."""
    return dict(
        path=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        format=dict(type='str', default='qcow2', choices=list(FORMATS)),
        size_mib=dict(type='int'),
        backing=dict(type='str'),
        backing_format=dict(type='str', default='qcow2', choices=list(FORMATS)),
        source=dict(type='path'),
        owner=dict(type='str'),
    )


class DiskImages(object):
    """qemu-img and rm, run as the images' owner (None: the caller's own user)."""

    def __init__(self, owner=None, tools=None, unlink=None):
        self.unlink = unlink or libnfs.unlink
        try:
            self.account = Account.lookup(owner) if owner else None
            if tools is not None:
                self.qemu_img, self.rm = tools('qemu-img'), tools('rm')
            else:
                run = functools.partial(execute, run_as=self.account, umask=PRIVATE_UMASK)
                self.qemu_img, self.rm = Tool('qemu-img', executor=run), Tool('rm', executor=run)
        except ToolError as exc:
            raise DiskImageError(str(exc))
        self.owner = owner

    def info(self, location, shared=True):
        """The image's format, virtual size and backing file, or None when there is no such file.

        ``shared=False`` asks for the write lock as well, so that an image a QEMU holds fails."""
        args = ['info', '--output=json'] + (['-U'] if shared else []) + [location]
        rc, out, err = self.qemu_img.run(args)
        if rc != 0:
            if any(word in err for word in _MISSING):
                return None
            if not shared and all(word in err for word in _LOCKED):
                raise DiskImageError('disk %s is in use by a running VM: stop the VM first' % location,
                                     path=location)
            raise DiskImageError('cannot read disk %s%s: %s' % (location, self.as_owner, err.strip() or out.strip()),
                                 path=location)
        try:
            data = json.loads(out)
        except ValueError:
            raise DiskImageError('qemu-img info gave no JSON for %s: %s' % (location, out.strip()[:200]), path=location)
        return {'format': data.get('format'),
                'virtual_size_mib': int(data.get('virtual-size', 0)) // MIB,
                'backing': data.get('full-backing-filename') or data.get('backing-filename')}

    def create(self, location, fmt, size_mib, backing=None, backing_format='qcow2'):
        args = ['create', '-q', '-f', fmt]
        if backing:
            args += ['-b', backing, '-F', backing_format]
        args += [location, '%dM' % size_mib]
        self._check(self.qemu_img, args, 'cannot create disk %s' % location)

    def copy(self, source, location, fmt):
        """A new image at location with the content of the local raw file source."""
        with self._readable(source) as readable:
            self._check(self.qemu_img, ['convert', '-q', '-f', 'raw', '-O', fmt, readable, location],
                        'cannot copy %s to disk %s' % (source, location))

    def same_content(self, source, location, fmt):
        """True when the image holds what the local raw file source holds (qemu-img compare)."""
        with self._readable(source) as readable:
            rc, out, err = self.qemu_img.run(['compare', '-q', '-U', '-f', 'raw', '-F', fmt, readable, location])
        if rc in (0, 1):
            return rc == 0
        raise DiskImageError('cannot compare disk %s with %s: %s' % (location, source, (err or out).strip()))

    @contextlib.contextmanager
    def _readable(self, source):
        """A private copy of source that the owner can read (source may be a root-only file)."""
        if self.account is None:
            yield source
            return
        staging = tempfile.mkdtemp(prefix='skillvl-disk-')
        try:
            copy = os.path.join(staging, os.path.basename(source))
            shutil.copyfile(source, copy)
            os.chmod(copy, 0o600)
            for path in (staging, copy):
                os.chown(path, self.account.uid, self.account.gid)
            yield copy
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def remove(self, where):
        """Remove the image: rm as the owner, or an unlink through NFS (libnfs) with its ids."""
        if where['kind'] == 'file':
            self._check(self.rm, ['-f', '--', where['location']], 'cannot remove disk %s' % where['location'])
            return
        uid, gid = (self.account.uid, self.account.gid) if self.account else (os.getuid(), os.getgid())
        try:
            self.unlink(where['server'], where['path'], uid, gid)
        except libnfs.NfsError as exc:
            raise DiskImageError('cannot remove disk %s%s: %s' % (where['location'], self.as_owner, exc))

    @property
    def as_owner(self):
        """' as OWNER' for messages, or nothing when qemu-img runs as the caller."""
        return ' as %s' % self.owner if self.owner else ''

    def _check(self, tool, args, what):
        try:
            tool.run(args, check=True)
        except ToolError as exc:
            raise DiskImageError('%s%s: %s' % (what, self.as_owner, exc), changed=False)


def _view(info):
    if info is None:
        return {'exists': False}
    return dict(info, exists=True)


def ensure_disk(params, check_mode=False, tools=None, unlink=None):
    """Bring one disk image to params['state']; the result has the image before and after."""
    where = parse_location(params['path'])
    location = where['location']
    images = DiskImages(owner=params.get('owner'), tools=tools, unlink=unlink)
    state = params.get('state') or 'present'
    source = params.get('source')
    if state == 'absent':
        # A local image's lock tells whether a QEMU uses it; libnfs takes no locks.
        before = images.info(location, shared=where['kind'] == 'nfs')
        if before is not None and not check_mode:
            images.remove(where)
        return _result(location, params, before, None, changed=before is not None)

    fmt = params.get('format') or 'qcow2'
    if source is None and not params.get('size_mib'):
        raise DiskImageError('disk %s: size_mib (a positive number) or source is needed for a new image' % location)
    if params.get('size_mib') is not None and params['size_mib'] <= 0:
        raise DiskImageError('disk %s: size_mib must be positive, not %s' % (location, params['size_mib']))
    if source is not None and (params.get('backing') or not os.path.isfile(source)):
        raise DiskImageError('disk %s: source %s must be an existing local file, and excludes backing'
                             % (location, source))
    if params.get('backing') and not params['backing'].startswith('/'):
        raise DiskImageError('disk %s: backing %s must be an absolute path' % (location, params['backing']))

    before = images.info(location)
    warnings = []
    if before is not None:
        warnings = _differences(location, params, before)
        if source is not None and not images.same_content(source, location, before['format'] or fmt):
            warnings.append('disk %s differs from its source %s; an existing disk is never overwritten: '
                            'remove it to have it made again' % (location, source))
        return _result(location, params, before, before, changed=False, warnings=warnings)
    if check_mode:
        after = {'format': fmt, 'virtual_size_mib': params.get('size_mib'), 'backing': params.get('backing')}
        return _result(location, params, None, after, changed=True)
    try:
        if source is not None:
            images.copy(source, location, fmt)
        else:
            images.create(location, fmt, params['size_mib'], params.get('backing'),
                          params.get('backing_format') or 'qcow2')
    except DiskImageError:
        # qemu-img may leave a partial file (seen: an NFS server in its grace period let it create
        # the file, then refused the header); it would pass for an existing disk next time.
        try:
            images.remove(where)
        except DiskImageError:
            pass
        raise
    after = images.info(location)
    if after is None:
        raise DiskImageError('disk %s was created%s but cannot be found again' % (location, images.as_owner), changed=True)
    return _result(location, params, None, after, changed=True)


def _differences(location, params, have):
    out = []
    if params.get('format') and have['format'] != params['format']:
        out.append('disk %s is %s, not %s' % (location, have['format'], params['format']))
    if params.get('size_mib') and have['virtual_size_mib'] != params['size_mib']:
        out.append('disk %s has %s MiB, not %s' % (location, have['virtual_size_mib'], params['size_mib']))
    if params.get('backing') and have['backing'] != params['backing']:
        out.append('disk %s is backed by %s, not %s' % (location, have['backing'], params['backing']))
    if out:
        out[-1] += '; an existing disk is never resized or converted: left as it is'
    return out


def _result(location, params, before, after, changed, warnings=None):
    return {'changed': changed, 'path': location, 'owner': params.get('owner'),
            'disk': _view(after), 'warnings': warnings or [],
            'diff': {'before': _view(before), 'after': _view(after)}}
