# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared libvirt plumbing: URIs per transport, connections, error translation, lookups.

Plain Python (no AnsibleModule): a module, a planner or an experiment runner can use it.
libvirt-python is imported lazily; ``HAS_LIBVIRT`` / ``LIBVIRT_IMPORT_ERROR`` tell callers
whether it is present, and :func:`require_libvirt` raises a readable error when it is not.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket
import threading
import traceback

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError

LIBVIRT_IMPORT_ERROR = None
try:
    import libvirt
    HAS_LIBVIRT = True
except ImportError:
    libvirt = None
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()

TRANSPORTS = ('tls', 'ssh', 'tcp')

_HOST_RE = re.compile(r'^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$')

# libvirt error codes (virErrorNumber) we translate; numbers are stable ABI.
ERR_NO_DOMAIN = 42
ERR_SYSTEM_ERROR = 38
ERR_RPC = 39
ERR_AUTH_FAILED = 45
ERR_NO_CONNECT = 5
ERR_OPERATION_ABORTED = 78
ERR_MIGRATE_UNSAFE = 81
ERR_AUTH_UNAVAILABLE = 94


class LibvirtError(BackendError):
    """An error in an administrator's words; ``detail`` keeps libvirt's own message."""

    def __init__(self, message, detail=None, code=None):
        super(LibvirtError, self).__init__(message)
        self.detail = detail
        self.code = code

    @property
    def message(self):
        return self.msg

    def __str__(self):
        if self.detail and self.detail not in self.msg:
            return '%s (libvirt: %s)' % (self.msg, self.detail)
        return self.msg

    def as_result(self):
        return dict(msg=str(self), changed=self.changed, detail=self.detail)


def require_libvirt():
    if not HAS_LIBVIRT:
        raise LibvirtError('the Python bindings for libvirt are missing on this host: '
                           'install python3-libvirt (Debian) or libvirt-python', detail=LIBVIRT_IMPORT_ERROR)
    return libvirt


def error_code(exc):
    try:
        return exc.get_error_code()
    except AttributeError:
        return None


def error_text(exc):
    try:
        msg = exc.get_error_message()
    except AttributeError:
        msg = None
    return msg or str(exc)


def translate(exc, what):
    """Turn a libvirtError into a LibvirtError that says what failed."""
    if isinstance(exc, LibvirtError):
        return exc
    code = error_code(exc)
    text = error_text(exc)
    if code in (ERR_NO_CONNECT, ERR_SYSTEM_ERROR, ERR_RPC):
        hint = 'cannot reach libvirt'
    elif code in (ERR_AUTH_FAILED, ERR_AUTH_UNAVAILABLE):
        hint = 'libvirt refused the credentials'
    elif code == ERR_OPERATION_ABORTED:
        hint = 'the operation was aborted'
    elif code == ERR_MIGRATE_UNSAFE:
        hint = 'libvirt considers this migration unsafe (storage not shared as far as libvirt can see)'
    else:
        hint = 'libvirt reported an error'
    return LibvirtError('%s: %s' % (what, hint), detail=text, code=code)


def validate_host(host):
    if not isinstance(host, str) or not _HOST_RE.match(host or ''):
        raise LibvirtError('"%s" is not a valid host name or address' % (host,))
    return host


def build_uri(host, transport='tls', user=None, port=None, driver='qemu', path='system', extra=None):
    """The libvirt URI that reaches ``host`` over ``transport`` (tls, ssh or tcp).

    A value that already contains ``://`` is taken as a URI as it is.
    """
    if host and '://' in host:
        return host
    if transport not in TRANSPORTS:
        raise LibvirtError('transport must be one of %s, not "%s"' % (', '.join(TRANSPORTS), transport))
    validate_host(host)
    netloc = host
    if user:
        if transport != 'ssh':
            raise LibvirtError('a user name is only used with transport ssh')
        if not re.match(r'^[A-Za-z0-9._-]+$', user):
            raise LibvirtError('"%s" is not a valid user name' % user)
        netloc = '%s@%s' % (user, netloc)
    if port is not None:
        if not isinstance(port, int) or not 0 < port < 65536:
            raise LibvirtError('port must be between 1 and 65535, not "%s"' % (port,))
        netloc = '%s:%d' % (netloc, port)
    uri = '%s+%s://%s/%s' % (driver, transport, netloc, path)
    if extra:
        uri += '?' + '&'.join('%s=%s' % (k, extra[k]) for k in sorted(extra))
    return uri


def uri_host(uri):
    """The host part of a libvirt URI (None for a local URI)."""
    m = re.match(r'^[a-z0-9+]+://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]*)', uri or '')
    if not m or not m.group(1):
        return None
    return m.group(1)


# The ports libvirtd listens on per transport when a URI names none.
DEFAULT_PORTS = {'tls': 16514, 'tcp': 16509, 'ssh': 22}


def uri_port(uri, default_transport='tls'):
    """The TCP port a remote libvirt URI reaches: the one it names, else its transport's default."""
    m = re.match(r'^[a-z0-9+]+://(?:[^@/]*@)?(?:\[[^\]]+\]|[^:/?]*):(\d+)', uri or '')
    if m:
        return int(m.group(1))
    return DEFAULT_PORTS.get(uri_transport(uri) or default_transport, DEFAULT_PORTS['tls'])


def uri_transport(uri):
    """'tls', 'ssh' or 'tcp' for a remote libvirt URI; None for a host name or another transport."""
    m = re.match(r'^[a-z0-9]+\+(tls|ssh|tcp|libssh|libssh2)://', uri or '')
    if not m:
        return 'tls' if re.match(r'^[a-z0-9]+://[^/]', uri or '') else None
    return 'ssh' if m.group(1).startswith(('ssh', 'libssh')) else m.group(1)


_EVENT_LOCK = threading.Lock()
_EVENT_STATE = {'started': False}


def ensure_event_loop():
    """Register libvirt's default event loop and run it in a daemon thread (once per process).

    Must run before connections that want events (job-completed) or keepalive are opened.
    """
    lv = require_libvirt()
    with _EVENT_LOCK:
        if _EVENT_STATE['started']:
            return
        lv.virEventRegisterDefaultImpl()

        def _run():
            while True:
                lv.virEventRunDefaultImpl()

        thread = threading.Thread(target=_run, name='libvirt-events')
        thread.daemon = True
        thread.start()
        _EVENT_STATE['started'] = True


# s to wait for a remote libvirt's TCP port before libvirt's own connect, which waits for the
# kernel's SYN retries (about two minutes) when the host is cut off.
CONNECT_TIMEOUT = 15.0


def port_problem(uri, default_transport='tls', timeout=CONNECT_TIMEOUT):
    """Why the TCP port of a remote libvirt URI (its libvirtd's, or ssh's) does not open within
    timeout, or None when it opens; None for a local URI."""
    host = uri_host(uri)
    if not host:
        return None
    port = uri_port(uri, default_transport)
    try:
        probe = socket.create_connection((host.strip('[]'), port), timeout)
    except socket.timeout:
        return '%s port %d does not answer within %d s' % (host, port, timeout)
    except (OSError, socket.error) as exc:
        return '%s port %d: %s' % (host, port, getattr(exc, 'strerror', None) or exc)
    probe.close()
    return None


def connect(uri, what=None, readonly=False, keepalive=True):
    """Open a libvirt connection; errors say which host could not be reached."""
    lv = require_libvirt()
    label = what or ('libvirt at %s' % uri)
    problem = port_problem(uri)
    if problem:
        raise LibvirtError('cannot connect to %s: %s' % (label, problem))
    try:
        conn = lv.openReadOnly(uri) if readonly else lv.open(uri)
    except lv.libvirtError as exc:
        raise translate(exc, 'cannot connect to %s' % label)
    if conn is None:
        raise LibvirtError('cannot connect to %s' % label)
    if keepalive and _EVENT_STATE['started'] and uri_host(uri):
        try:
            conn.setKeepAlive(5, 3)
        except lv.libvirtError:
            pass
    return conn


def close(conn):
    if conn is None:
        return
    try:
        conn.close()
    except Exception:  # pylint: disable=broad-except
        pass


def lookup_domain(conn, name):
    """The domain called ``name`` or None when this host does not know it."""
    lv = require_libvirt()
    try:
        return conn.lookupByName(name)
    except lv.libvirtError as exc:
        if error_code(exc) == ERR_NO_DOMAIN:
            return None
        raise translate(exc, 'cannot look up VM "%s"' % name)


STATE_NAMES = {
    0: 'nostate', 1: 'running', 2: 'blocked', 3: 'paused', 4: 'shutdown',
    5: 'shutoff', 6: 'crashed', 7: 'pmsuspended',
}


def domain_state(dom):
    """(state name, reason number) of a domain; 'absent' for None."""
    if dom is None:
        return 'absent', 0
    lv = require_libvirt()
    try:
        state, reason = dom.state()
    except lv.libvirtError as exc:
        if error_code(exc) == ERR_NO_DOMAIN:
            return 'absent', 0
        raise translate(exc, 'cannot read the state of VM "%s"' % dom.name())
    return STATE_NAMES.get(state, 'nostate'), reason


JOB_OPERATION_MIGRATION = {4: 'incoming', 5: 'outgoing'}   # virDomainJobOperation MIGRATION_IN/OUT


def migration_job(dom):
    """The migration job libvirt runs for dom now, or None: {'direction': 'incoming'|'outgoing',
    'memory_processed', 'memory_total'} (bytes; 0 when libvirt does not say)."""
    if dom is None:
        return None
    lv = require_libvirt()
    try:
        stats = dom.jobStats(0) or {}
    except lv.libvirtError:
        return None
    direction = JOB_OPERATION_MIGRATION.get(stats.get('operation'))
    if not stats.get('type') or direction is None:
        return None
    return {'direction': direction, 'memory_processed': stats.get('memory_processed', 0),
            'memory_total': stats.get('memory_total', 0)}


def is_active(dom):
    return domain_state(dom)[0] in ('running', 'blocked', 'paused', 'pmsuspended')


def is_persistent(dom):
    try:
        return bool(dom.isPersistent())
    except Exception:  # pylint: disable=broad-except
        return False
