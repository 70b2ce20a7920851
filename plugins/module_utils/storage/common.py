# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the NFS and iSCSI backends: errors, input checks, managed files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import tempfile
import traceback

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.command import ToolError, tool_factory

try:
    import netaddr
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the host
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR = traceback.format_exc()


MANAGED_MARKER = "Managed by skillvl.offline_first"

# An entry name becomes a file name: keep it boring.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# RFC 1123 host name labels; a trailing dot is not accepted.
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# RFC 3720 iSCSI qualified name: iqn.YYYY-MM.reversed.domain[:anything]
_IQN_RE = re.compile(r"^iqn\.\d{4}-(0[1-9]|1[0-2])\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                     r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[a-z0-9.:_-]+)?$")


class StorageError(BackendError):
    """An error that says what is wrong in an administrator's words."""


def resolve_tool(tools, name):
    """The Tool for `name` (tools: a callable name -> Tool, None for the real one); a missing
    binary is a StorageError raised before anything is written."""
    try:
        return tool_factory(tools)(name)
    except ToolError as exc:
        raise StorageError(str(exc))


def run_tool(tool, args, data=None, secrets=()):
    """Run and return (rc, out, err); a tool that cannot start is a StorageError."""
    try:
        return tool.run(args, data=data, secrets=secrets)
    except ToolError as exc:
        raise StorageError(str(exc))


def check_name(name, what="entry name"):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise StorageError(
            "%s %r is not valid: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            % (what, name))
    return name


def check_abs_path(path, what="path"):
    """An absolute, normalised path without '..' or doubled slashes."""
    if not isinstance(path, str) or not path:
        raise StorageError("%s is empty" % what)
    if not path.startswith("/"):
        raise StorageError("%s %r is relative: give an absolute path such as /srv/skillvl/vms" % (what, path))
    if any(c in path for c in ('"', "\n", "\r", "\t", " ", "\\", "\0")):
        raise StorageError("%s %r contains a quote, backslash, blank or control character" % (what, path))
    norm = os.path.normpath(path)
    if norm != path.rstrip("/") and not (path == "/" and norm == "/"):
        raise StorageError("%s %r is not in normal form (expected %r)" % (what, path, norm))
    if path == "/":
        raise StorageError("%s must not be the root directory" % what)
    return norm


def is_hostname(text):
    if not text or len(text) > 253:
        return False
    return all(_LABEL_RE.match(label) for label in text.split("."))


def _looks_numeric(text):
    return bool(re.match(r"^[0-9./:]+$", text)) or ":" in text


def normalize_client(spec, allow_any=False):
    """Check one NFS client spec; returns its canonical text.

    Accepts an IPv4/IPv6 address, a network in CIDR form without host bits, a host name,
    or `*` when allow_any is true. Raises StorageError otherwise.
    """
    if not HAS_NETADDR:
        raise StorageError("the Python library netaddr is required on the target host (Debian: python3-netaddr)")
    if not isinstance(spec, str) or not spec.strip():
        raise StorageError("an NFS client is empty: give a host name, an address or a network such as 198.51.100.0/24")
    spec = spec.strip()
    if spec == "*":
        if not allow_any:
            raise StorageError("client '*' would export to every host: name the clients, or set allow_any_client=true")
        return spec
    if "/" in spec:
        try:
            net = netaddr.IPNetwork(spec)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise StorageError("NFS client %r is neither a host nor a network (expected e.g. 198.51.100.0/24)" % spec)
        addr, prefix = spec.split("/", 1)
        if not prefix.isdigit():
            raise StorageError("NFS client %r: give the prefix length as a number (e.g. /24)" % spec)
        try:
            netaddr.IPAddress(addr)
        except (netaddr.AddrFormatError, ValueError):
            raise StorageError("NFS client %r: %r is not an IP address" % (spec, addr))
        if net.ip != net.network:
            raise StorageError("NFS client %r has host bits set: did you mean %s?" % (spec, net.cidr))
        if net.prefixlen == 0 and not allow_any:
            raise StorageError("client %r would export to every host: name the clients, or set allow_any_client=true"
                               % spec)
        return str(net.cidr)
    if _looks_numeric(spec):
        try:
            return str(netaddr.IPAddress(spec, flags=netaddr.INET_PTON))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise StorageError("NFS client %r is neither a host nor a network: not a valid IP address" % spec)
    if is_hostname(spec):
        return spec.lower()
    raise StorageError("NFS client %r is neither a host nor a network (expected a host name, an address "
                       "or a network such as 198.51.100.0/24)" % spec)


def check_iqn(iqn, what="IQN"):
    if not isinstance(iqn, str) or not _IQN_RE.match(iqn):
        raise StorageError(
            "%s %r is malformed: expected iqn.YYYY-MM.reversed.domain[:name] in lower case, "
            "e.g. iqn.2026-11.org.skillvl:storage1.vms" % (what, iqn))
    return iqn


def check_portal(portal):
    """'ADDRESS[:PORT]' or '[IPv6][:PORT]' -> (address, port)."""
    if not HAS_NETADDR:
        raise StorageError("the Python library netaddr is required on the target host (Debian: python3-netaddr)")
    text = str(portal).strip()
    port = 3260
    m = re.match(r"^\[([0-9a-fA-F:.]+)\](?::(\d+))?$", text)
    if m:
        addr, port_s = m.group(1), m.group(2)
    elif text.count(":") <= 1:
        addr, _sep, port_s = text.partition(":")
    else:
        addr, port_s = text, None
    if port_s:
        port = int(port_s)
        if not 0 < port < 65536:
            raise StorageError("portal %r: port %s is out of range" % (portal, port))
    try:
        ip = netaddr.IPAddress(addr, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise StorageError("portal %r: %r is not an IP address" % (portal, addr))
    return str(ip), port


def format_portal(addr, port):
    return ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port)


def read_text(path):
    try:
        with open(path, "r") as f:
            return f.read()
    except (IOError, OSError):
        return None


def write_text(path, text, mode=0o644):
    """Write atomically (temporary file in the same directory, then rename)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(prefix=".skillvl-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_file(path):
    if os.path.lexists(path):
        os.unlink(path)


def restore(path, old_text, mode=0o644):
    """Put a file back as it was (None: it did not exist)."""
    if old_text is None:
        remove_file(path)
    else:
        write_text(path, old_text, mode)
