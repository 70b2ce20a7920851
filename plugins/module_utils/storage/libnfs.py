# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Remove a file on an NFS export with libnfs, the NFS client QEMU opens nfs:// images with.

qemu-img creates and reads nfs:// images but cannot delete one. Deleting it on the server's own
file system, behind the NFS server's back, is wrong as well: nfs-ganesha keeps serving the
unlinked file from its cache, so a new image of the same name is "found" and never created
(seen in the lab). The removal therefore goes through NFS, like everything else, with the
owner's uid and gid in its credentials (the export is root_squash).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import ctypes.util
import errno
import posixpath

LIBRARIES = ('libnfs.so.13', 'libnfs.so.14', 'libnfs.so.16')


class NfsError(Exception):
    """libnfs is missing, or the server refused; the message says which and why."""


def load():
    """libnfs through ctypes, with the prototypes used here."""
    names = list(LIBRARIES) + [ctypes.util.find_library('nfs') or '']
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.nfs_init_context.restype = ctypes.c_void_p
        lib.nfs_init_context.argtypes = []
        lib.nfs_destroy_context.argtypes = [ctypes.c_void_p]
        lib.nfs_get_error.restype = ctypes.c_char_p
        lib.nfs_get_error.argtypes = [ctypes.c_void_p]
        lib.nfs_set_uid.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.nfs_set_gid.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.nfs_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.nfs_unlink.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        return lib
    raise NfsError('libnfs is not installed (Debian: libnfs13, which qemu-block-extra pulls in)')


def unlink(server, path, uid, gid, lib=None):
    """Remove the file path (absolute, as in nfs://server/path) as uid/gid.

    Mounts the file's directory, as QEMU does for an nfs:// image. True when a file was
    removed, False when there was none."""
    lib = lib or load()
    ctx = lib.nfs_init_context()
    if not ctx:
        raise NfsError('libnfs could not make a context')
    try:
        lib.nfs_set_uid(ctx, uid)
        lib.nfs_set_gid(ctx, gid)
        directory, name = posixpath.split(path)
        if lib.nfs_mount(ctx, server.encode('utf-8'), directory.encode('utf-8')) != 0:
            raise NfsError('cannot mount %s:%s: %s' % (server, directory, _error(lib, ctx)))
        rc = lib.nfs_unlink(ctx, ('/' + name).encode('utf-8'))
        if rc == -errno.ENOENT:
            return False
        if rc != 0:
            raise NfsError('cannot remove %s on %s: %s' % (path, server, _error(lib, ctx)))
        return True
    finally:
        lib.nfs_destroy_context(ctx)


def _error(lib, ctx):
    text = lib.nfs_get_error(ctx)
    return text.decode('utf-8', 'replace') if text else 'no reason given'
