# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fetch a disk image file from another hypervisor through its libvirt: resumable, capped, checked.

Pull, on the host that needs the file: playbooks/stage.yml stages base images on the
workstations this way at a quiet time, playbooks/scale_away.yml the frozen layer of a cut VM
before the move. The bytes come from the source's libvirt storage volume at the same path (a
volume of one of its pools) over the connection the hosts already trust for migration (TLS):
no new credential, no ssh between hosts. They land in ``<dest>.part``, which a later run
continues; the finished file is checked against the caller's sha256 before it takes its name,
0600 for root (libvirt gives QEMU access when a VM opens it). An existing file is never
overwritten. Plain Python: a planner or a benchmark calls ``fetch``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session

MIB = 1024 * 1024
CHUNK = 4 * MIB
VOL_GET_PHYSICAL = 1
PART_SUFFIX = '.part'


class DiskFetchError(BackendError):
    """A disk image cannot be fetched; what is fetched so far stays in the .part file."""


def parse_checksum(text):
    """'sha256:HEX' (or bare HEX) as lower-case hex; None for no checksum."""
    if not text:
        return None
    algo, sep, digest = text.partition(':')
    if not sep:
        algo, digest = 'sha256', text
    if algo.lower() != 'sha256' or not re.match(r'^[0-9A-Fa-f]{64}$', digest):
        raise DiskFetchError('checksum must be sha256:<64 hex digits>, not %r' % text)
    return digest.lower()


def sha256_of(path, chunk=CHUNK):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _pool_of(conn, directory):
    """The storage pool whose target is directory, or None."""
    for pool in conn.listAllStoragePools(0):
        target = ET.fromstring(pool.XMLDesc(0)).find('target/path')
        if target is not None and os.path.normpath(target.text or '') == os.path.normpath(directory):
            return pool
    return None


def refresh_pool_of(conn, path):
    """Let libvirt see a file that appeared in (or left) one of its pools; False when no pool has it."""
    pool = _pool_of(conn, os.path.dirname(path))
    if pool is None:
        return False
    if pool.isActive():
        pool.refresh(0)
    return True


def source_volume(conn, path, label):
    lv = session.require_libvirt()
    for attempt in (1, 2):
        try:
            return conn.storageVolLookupByPath(path)
        except lv.libvirtError as exc:
            if attempt == 2 or not refresh_pool_of(conn, path):
                raise DiskFetchError('%s on %s is no volume of a storage pool there (%s): '
                                     'it can only be fetched from a pool' % (path, label, session.error_text(exc)),
                                     path=path)


class Pacer(object):
    """Sleeps so that the bytes so far take at least bytes / cap seconds (cap 0: no cap)."""

    def __init__(self, cap_mib_s, clock=time.monotonic, sleep=time.sleep):
        self.cap = float(cap_mib_s or 0) * MIB
        self.clock, self.sleep = clock, sleep
        self.started = clock()

    def account(self, total):
        if self.cap <= 0:
            return
        ahead = total / self.cap - (self.clock() - self.started)
        if ahead > 0:
            self.sleep(ahead)


def argument_spec():
    """The options of vm_disk_fetch, beside the backend that reads them."""
    return dict(
        path=dict(type='path', required=True),
        source=dict(type='str', required=True),
        transport=dict(type='str', default='tls', choices=['tls', 'tcp', 'ssh']),
        dest=dict(type='path'),
        checksum=dict(type='str'),
        bandwidth=dict(type='float', default=0),
    )


def fetch(path, source_uri, dest=None, checksum=None, bandwidth_mib_s=0, check_mode=False,
          connect=session.connect, local_uri='qemu:///system', clock=time.monotonic, sleep=time.sleep):
    """Bring ``path`` of the host at ``source_uri`` to ``dest`` (default the same path) here."""
    dest = dest or path
    for name, value in (('path', path), ('dest', dest)):
        if not value.startswith('/') or value.endswith('/'):
            raise DiskFetchError('%s must be an absolute file path, not %r' % (name, value))
    if bandwidth_mib_s is not None and bandwidth_mib_s < 0:
        raise DiskFetchError('bandwidth must be 0 (no cap) or a positive MiB/s, not %s' % bandwidth_mib_s)
    want = parse_checksum(checksum)
    part = dest + PART_SUFFIX
    base = {'path': path, 'dest': dest, 'source': source_uri, 'bytes': 0, 'resumed_from': 0}
    if os.path.exists(dest):
        have = sha256_of(dest) if want else None
        if want and have != want:
            raise DiskFetchError('%s exists here and differs from the source (sha256 %s, not %s); an existing file '
                                 'is never overwritten: remove it to fetch it again' % (dest, have, want), path=dest)
        return dict(base, changed=False, size=os.path.getsize(dest), sha256=have,
                    msg='%s is here already%s' % (dest, ' (checksum matches)' if want else ''))
    if not os.path.isdir(os.path.dirname(dest)):
        raise DiskFetchError('directory %s does not exist here' % os.path.dirname(dest), path=dest)

    label = session.uri_host(source_uri) or source_uri
    conn = connect(source_uri, 'the libvirt of %s (%s)' % (label, source_uri))
    try:
        vol = source_volume(conn, path, label)
        size = vol.infoFlags(VOL_GET_PHYSICAL)[2]
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        if offset > size:
            os.unlink(part)          # longer than the source: not a beginning of it
            offset = 0
        if check_mode:
            resumed = ', resumed' if offset else ''
            return dict(base, changed=True, size=size, resumed_from=offset, bytes=size - offset, sha256=want,
                        msg='%s would be fetched from %s (%d MiB%s)' % (dest, label, (size - offset) // MIB, resumed))
        started = clock()
        got = _download(conn, vol, part, offset, Pacer(bandwidth_mib_s, clock, sleep), label)
        seconds = max(clock() - started, 1e-6)
    finally:
        session.close(conn)
    have = sha256_of(part)
    if want and have != want:
        os.unlink(part)
        raise DiskFetchError('the copy of %s from %s does not match its checksum (sha256 %s, not %s): removed, '
                             'run again to fetch it anew' % (path, label, have, want), changed=True, path=dest,
                             bytes=got)
    os.rename(part, dest)
    _announce(connect, local_uri, dest)
    return dict(base, changed=True, size=offset + got, bytes=got, resumed_from=offset, sha256=have,
                seconds=round(seconds, 3), rate_mib_s=round(got / MIB / seconds, 2),
                msg='%s fetched from %s: %d MiB in %.1f s%s' % (
                    dest, label, got // MIB, seconds, ', resumed at %d MiB' % (offset // MIB) if offset else ''))


def _download(conn, vol, part, offset, pacer, label):
    """Stream the volume from offset to its end onto part; returns the bytes received."""
    lv = session.require_libvirt()
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    stream = conn.newStream(0)
    got = 0
    try:
        vol.download(stream, offset, 0, 0)
        while True:
            data = stream.recv(CHUNK)
            if data in (b'', '') or data is None:
                break
            if isinstance(data, int):        # -2: try again (non-blocking streams only)
                continue
            os.write(fd, data)
            got += len(data)
            pacer.account(got)
        stream.finish()
        os.fsync(fd)
    except (lv.libvirtError, OSError) as exc:
        try:
            stream.abort()
        except Exception:  # pylint: disable=broad-except
            pass
        raise DiskFetchError('fetching %s from %s stopped after %d MiB: %s; run again to continue'
                             % (part[:-len(PART_SUFFIX)], label, (offset + got) // MIB,
                                session.error_text(exc) if isinstance(exc, lv.libvirtError) else exc),
                             changed=True, bytes=got)
    finally:
        os.close(fd)
    return got


def _announce(connect, local_uri, dest):
    """Refresh the local pool that holds dest, so that libvirt (and a migration's pre-flight) knows it."""
    try:
        conn = connect(local_uri, 'the libvirt of this host (%s)' % local_uri, keepalive=False)
    except BackendError:
        return
    try:
        refresh_pool_of(conn, dest)
    except Exception:  # pylint: disable=broad-except
        pass
    finally:
        session.close(conn)
