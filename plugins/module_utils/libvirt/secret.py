# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt secrets (a Ceph client key, a CHAP password): defined and given their value through
libvirt-python, never through a command line.

A private secret's value cannot be read back from libvirt, so whether it changed is told by a
salted digest in a root-only file beside it (``digest_dir``). The plan's descriptions and the
diff never carry the value.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import os
import uuid as uuidlib
from xml.sax.saxutils import escape

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError

USAGE_TYPES = ('ceph', 'iscsi', 'volume', 'tls', 'vtpm')
ERR_NO_SECRET = 66          # VIR_ERR_NO_SECRET
USAGE_ID = {'volume': 1, 'ceph': 2, 'iscsi': 3, 'tls': 4, 'vtpm': 5}   # VIR_SECRET_USAGE_TYPE_*


def secret_xml(uuid, usage_type, usage_name, description='', private=True):
    tag = {'volume': 'volume', 'tls': 'name', 'vtpm': 'name', 'ceph': 'name', 'iscsi': 'target'}[usage_type]
    return ("<secret ephemeral='no' private='%s'>\n"
            "  <uuid>%s</uuid>\n"
            "%s"
            "  <usage type='%s'>\n"
            "    <%s>%s</%s>\n"
            "  </usage>\n"
            "</secret>\n") % ('yes' if private else 'no', escape(uuid),
                              ('  <description>%s</description>\n' % escape(description)) if description else '',
                              usage_type, tag, escape(usage_name), tag)


def value_digest(uuid, value):
    return hashlib.sha256(('skillvl-libvirt-secret:%s:' % uuid).encode('utf-8') + value).hexdigest()


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return None


def _write_private(path, text):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd = os.open(path + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text + '\n')
    os.rename(path + '.tmp', path)


def _lookup(conn, uuid, usage_type, usage_name):
    """The secret by UUID, else by usage; None when libvirt has neither."""
    lv = session.libvirt
    for how in ('uuid', 'usage'):
        try:
            if how == 'uuid':
                return conn.secretLookupByUUIDString(uuid)
            return conn.secretLookupByUsage(USAGE_ID[usage_type], usage_name)
        except lv.libvirtError as exc:
            if session.error_code(exc) != ERR_NO_SECRET:
                raise session.translate(exc, 'looking up the libvirt secret %s' % usage_name)
    return None


def ensure_secret(uri, usage_type, usage_name, state='present', value=None, uuid=None, description='',
                  private=True, digest_dir='/var/lib/skillvl/libvirt-secrets', check_mode=False, conn=None):
    """Make the secret exist with this value (or not exist); returns the plan's result.

    ``value`` is bytes or text: the secret itself; for ``usage_type='ceph'`` the cephx key as
    ceph prints it (base64), which libvirt keeps decoded.
    """
    if usage_type not in USAGE_TYPES:
        raise LibvirtError('usage_type must be one of %s, not %r' % (', '.join(USAGE_TYPES), usage_type))
    if not usage_name:
        raise LibvirtError('a libvirt secret needs a usage name (for ceph: what disks name in <auth>)')
    uuid = uuid or str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, 'skillvl-libvirt-secret:%s:%s' % (usage_type, usage_name)))
    try:
        uuid = str(uuidlib.UUID(uuid))
    except ValueError:
        raise LibvirtError('uuid %r is not a UUID' % uuid)
    if state == 'present' and value is None:
        raise LibvirtError('state=present needs the secret value')
    if isinstance(value, str):
        value = value.encode('utf-8')
    if usage_type == 'ceph' and value is not None:
        # libvirt keeps a ceph secret as the key's bytes (as `virsh secret-set-value --base64` does).
        try:
            value = base64.b64decode(value.strip(), validate=True)
        except (ValueError, TypeError):
            value = b''
        if len(value) < 16:
            raise LibvirtError('the value of a ceph secret must be a cephx key (base64, as `ceph auth print-key` prints it)')

    session.require_libvirt()
    own = conn is None
    if own:
        conn = session.connect(uri, 'libvirt on this host')
    try:
        return _ensure(conn, uuid, usage_type, usage_name, state, value, description, private,
                       os.path.join(digest_dir, uuid + '.digest'), check_mode)
    finally:
        if own:
            session.close(conn)


def _ensure(conn, uuid, usage_type, usage_name, state, value, description, private, digest_path, check_mode):
    lv = session.libvirt
    secret = _lookup(conn, uuid, usage_type, usage_name)
    have_uuid = secret.UUIDString() if secret is not None else None
    before = dict(state='present' if secret is not None else 'absent', uuid=have_uuid)
    plan = Plan(before=before)

    if state == 'absent':
        if secret is not None:
            def undefine():
                try:
                    secret.undefine()
                except lv.libvirtError as exc:
                    raise session.translate(exc, 'removing the libvirt secret %s' % usage_name)
                if os.path.exists(digest_path):
                    os.remove(digest_path)
            plan.add('remove the libvirt secret %s (%s)' % (usage_name, have_uuid), undefine)
        plan.after = dict(state='absent', uuid=None)
        if not check_mode:
            plan.run()
        return plan.result(uuid=have_uuid or uuid, usage_name=usage_name)

    if secret is not None and have_uuid != uuid:
        raise LibvirtError('libvirt already has a %s secret named %s with UUID %s, not %s: remove it or give uuid=%s'
                           % (usage_type, usage_name, have_uuid, uuid, have_uuid))
    want_xml = secret_xml(uuid, usage_type, usage_name, description, private)
    same_def = False
    if secret is not None:
        try:
            have = secret.XMLDesc(0)
        except lv.libvirtError as exc:
            raise session.translate(exc, 'reading the libvirt secret %s' % usage_name)
        same_def = (("private='%s'" % ('yes' if private else 'no')) in have.replace('"', "'")
                    and (not description or '<description>%s</description>' % escape(description) in have))
    if not same_def:
        def define():
            try:
                conn.secretDefineXML(want_xml, 0)
            except lv.libvirtError as exc:
                raise session.translate(exc, 'defining the libvirt secret %s' % usage_name)
        plan.add('%s the libvirt secret %s (%s)' % ('define' if secret is None else 'redefine', usage_name, uuid), define)

    digest = value_digest(uuid, value)
    value_current = False
    if secret is not None and same_def:
        if private:
            value_current = _read(digest_path) == digest
        else:
            try:
                value_current = secret.value(0) == value
            except lv.libvirtError:
                value_current = False
    if not value_current:
        def set_value():
            try:
                conn.secretLookupByUUIDString(uuid).setValue(value, 0)
            except lv.libvirtError as exc:
                raise session.translate(exc, 'setting the value of the libvirt secret %s' % usage_name)
            _write_private(digest_path, digest)
        plan.add('set the value of the libvirt secret %s' % usage_name, set_value)

    plan.after = dict(state='present', uuid=uuid)
    if not check_mode:
        plan.run()
    return plan.result(uuid=uuid, usage_name=usage_name)
