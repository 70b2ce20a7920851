# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NFS exports: the declarative model and the part common to every server kind.

A backend (kernel exports, nfs-ganesha) keeps each export in a file of its own that carries
MANAGED_MARKER, so it can find, change and prune its own entries and never touches others.
The sequence is the same for all: plan (desired files vs. files on disk), write, apply
(exportfs -ra, or a reload), validate what the server reports, and roll back if that fails.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import os
import re

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import Plan
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    MANAGED_MARKER, StorageError, check_abs_path, check_name, normalize_client, read_text, remove_file,
    restore, write_text,
)

ACCESS = ("rw", "ro")
SQUASH = ("root_squash", "no_root_squash", "all_squash")

# Extra options that would override a declared client setting (kernel and ganesha spellings),
# or map squashed users to root: refused unless the caller allows insecure options.
OVERRIDING_OPTIONS = frozenset([
    "rw", "ro", "sync", "async", "secure", "insecure", "root_squash", "no_root_squash", "all_squash",
    "no_all_squash", "insecure_locks", "no_auth_nlm",
    "access_type", "squash", "privilegedport", "clients", "sectype",
])
ROOT_MAPPING_OPTIONS = frozenset(["anonuid", "anongid", "anonymous_uid", "anonymous_gid"])


def check_extra_option(host, extra, allow_insecure_options=False):
    """Refuse an extra option that silently overrides access, squash, sync or secure."""
    key, _sep, value = extra.partition("=")
    key = key.strip().lower()
    if allow_insecure_options:
        return
    if key in OVERRIDING_OPTIONS:
        raise StorageError(
            "client %s: extra option %r overrides a setting this module owns (access, squash, sync, secure): "
            "use the client's own option, or set allow_insecure_options=true" % (host, extra))
    if key in ROOT_MAPPING_OPTIONS and value.strip() == "0":
        raise StorageError("client %s: extra option %r maps squashed users to root: "
                           "set allow_insecure_options=true if that is really meant" % (host, extra))


CLIENT_DEFAULTS = dict(access="ro", squash="root_squash", sync=True, secure=True, extra_options=None)


class NfsClient(object):
    """One client of an export with its options."""

    def __init__(self, host, access="ro", squash="root_squash", sync=True, secure=True, extra_options=None):
        self.host = host
        self.access = access
        self.squash = squash
        self.sync = sync
        self.secure = secure
        self.extra_options = list(extra_options or [])

    def as_dict(self):
        return dict(host=self.host, access=self.access, squash=self.squash, sync=self.sync,
                    secure=self.secure, extra_options=list(self.extra_options))


class NfsExport(object):
    """One export: a directory and who may use it, as declared by the caller."""

    def __init__(self, name, path, clients, protocols=(3, 4), export_id=None, pseudo=None):
        self.name = name
        self.path = path
        self.clients = clients
        self.protocols = list(protocols)
        self.export_id = export_id
        self.pseudo = pseudo

    def as_dict(self):
        return dict(name=self.name, path=self.path, clients=[c.as_dict() for c in self.clients],
                    protocols=list(self.protocols), export_id=self.export_id, pseudo=self.pseudo)


def build_export(name, path, clients, allow_any_client=False, protocols=None, export_id=None, pseudo=None,
                 require_clients=True, allow_insecure_options=False):
    """Check the caller's input and build an NfsExport; raises StorageError naming the problem."""
    check_name(name, "export name")
    path = check_abs_path(path, "export path")
    if pseudo is not None:
        pseudo = check_abs_path(pseudo, "pseudo path")
    if protocols is None:
        protocols = [3, 4]
    for proto in protocols:
        if proto not in (3, 4):
            raise StorageError("NFS protocol %r is not supported: use 3 and/or 4" % (proto,))
    if not protocols:
        raise StorageError("protocols is empty: give 3, 4 or both")
    if export_id is not None and not 0 < int(export_id) < 65535:
        raise StorageError("export_id %r is out of range 1-65534 (0 is the NFSv4 pseudo root)" % (export_id,))
    result = []
    seen = set()
    for raw in clients or []:
        if isinstance(raw, str):
            raw = dict(host=raw)
        if not isinstance(raw, dict) or "host" not in raw:
            raise StorageError("each client needs a 'host' (a host name, an address or a network), got %r" % (raw,))
        opts = dict(CLIENT_DEFAULTS)
        opts.update(dict((k, v) for k, v in raw.items() if v is not None))
        unknown = set(opts) - set(CLIENT_DEFAULTS) - set(["host"])
        if unknown:
            raise StorageError("client %r: unknown option(s) %s" % (raw.get("host"), ", ".join(sorted(unknown))))
        host = normalize_client(opts["host"], allow_any=allow_any_client)
        if host in seen:
            raise StorageError("client %r is listed twice for export %s" % (host, name))
        seen.add(host)
        if opts["access"] not in ACCESS:
            raise StorageError("client %s: access %r is not one of %s" % (host, opts["access"], ", ".join(ACCESS)))
        if opts["squash"] not in SQUASH:
            raise StorageError("client %s: squash %r is not one of %s" % (host, opts["squash"], ", ".join(SQUASH)))
        for extra in opts["extra_options"] or []:
            if not isinstance(extra, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\s*=\s*[A-Za-z0-9_.,:/-]+)?$",
                                                          extra.strip()):
                raise StorageError("client %s: extra option %r is not of the form name or name=value" % (host, extra))
            check_extra_option(host, extra.strip(), allow_insecure_options)
        result.append(NfsClient(host, opts["access"], opts["squash"], bool(opts["sync"]), bool(opts["secure"]),
                                [e.strip() for e in opts["extra_options"] or []]))
    if require_clients and not result:
        raise StorageError("export %s has no clients: name at least one host or network" % name)
    return NfsExport(name, path, result, protocols=protocols, export_id=export_id, pseudo=pseudo)


def marker_line(name, module_name="nfs_export"):
    return "# %s.%s (entry %s); do not edit by hand." % (MANAGED_MARKER, module_name, name)


class NfsBackend(object):
    """Base of the NFS backends. Subclasses set `kind`, `directory`, `suffix` and implement
    render(), apply(), validate() and parse_entry()."""

    kind = None
    apply_action = "apply the exports"
    directory = None
    suffix = None
    file_mode = 0o644

    def __init__(self, tools=None, directory=None):
        # tools: a callable name -> command.Tool (None: the installed binaries)
        self.tools = tools
        if directory:
            self.directory = directory
        self.warnings = []

    # ---- files -------------------------------------------------------------------------
    def entry_path(self, name):
        return os.path.join(self.directory, name + self.suffix)

    def managed_entries(self):
        """{name: text} of every entry file in our directory that carries our marker."""
        found = {}
        if not os.path.isdir(self.directory):
            return found
        for fname in sorted(os.listdir(self.directory)):
            if not fname.endswith(self.suffix):
                continue
            text = read_text(os.path.join(self.directory, fname))
            if text and MANAGED_MARKER in text.split("\n", 1)[0]:
                found[fname[:-len(self.suffix)]] = text
        return found

    # ---- to be provided by backends ----------------------------------------------------
    def render(self, export, current_text):
        raise NotImplementedError

    def apply(self, changes):
        """Make the server pick up the files on disk; raise StorageError on failure."""
        raise NotImplementedError

    def validate(self, desired):
        """Check what the server reports against desired ({name: NfsExport or None})."""
        raise NotImplementedError

    def parse_entry(self, text):
        raise NotImplementedError

    # ---- the common sequence -----------------------------------------------------------
    def plan(self, export, name, state, exclusive=False, keep=None):
        """One entry: returns (desired {name: NfsExport|None}, changes [(path, old_text, new_text)])."""
        return self.plan_set({name: export if state == "present" else None}, exclusive, keep)

    def plan_set(self, wanted, exclusive=False, keep=None):
        """The whole set at once: ``wanted`` maps entry names to an NfsExport (present) or None
        (absent); with ``exclusive``, every other entry of ours goes too, except those in ``keep``.
        Returns (desired {name: NfsExport|None}, changes [(path, old_text, new_text)])."""
        current = self.managed_entries()
        removing = set(n for n, e in wanted.items() if e is None)
        if exclusive:
            removing |= set(current) - set(wanted) - set(keep or [])
        paths = {}
        for name, export in sorted(wanted.items()):
            check_name(name, "export name")
            path = self.entry_path(name)
            if read_text(path) is not None and name not in current:
                raise StorageError("%s exists but was not written by this collection: refusing to overwrite it; "
                                   "rename the export or remove that file" % path)
            if export is None:
                continue
            if not os.path.isdir(export.path):
                raise StorageError("export path %s does not exist on the server (or is not a directory): "
                                   "create it first" % export.path)
            if export.path in paths:
                raise StorageError("%s is exported by both %s and %s: one entry per path"
                                   % (export.path, paths[export.path], name))
            paths[export.path] = name
        for other, text in sorted(current.items()):
            if other in wanted or other in removing:
                continue
            other_path = self.parse_entry(text).get("path")
            if other_path in paths:
                raise StorageError("%s is already exported by entry %s: one entry per path "
                                   "(remove that entry, or use exclusive mode)" % (other_path, other))
        desired = {}
        changes = []
        self.start_plan()
        # entries with a fixed id first, so that an id chosen for another cannot take it
        for name, export in sorted((i for i in wanted.items() if i[1] is not None),
                                   key=lambda i: (getattr(i[1], "export_id", None) is None, i[0])):
            path = self.entry_path(name)
            old = read_text(path)
            new = self.render(export, old)
            desired[name] = export
            if new != old:
                changes.append((path, old, new))
        for name in sorted(removing):
            if name in current:
                desired[name] = None
                changes.append((self.entry_path(name), current[name], None))
        return desired, changes

    def start_plan(self):
        """Hook: a new plan begins (ganesha forgets the export ids it handed out)."""

    def ensure(self, export, name, state="present", exclusive=False, keep=None, check_mode=False):
        """One entry (the single-export form of nfs_export)."""
        result = self.ensure_set({name: export if state == "present" else None}, exclusive, keep, check_mode)
        if export is not None and state == "present":
            result["export"] = export.as_dict()
        return result

    def ensure_set(self, wanted, exclusive=False, keep=None, check_mode=False):
        """Plan the whole set, write every file, apply and validate once; roll back on failure."""
        desired, changes = self.plan_set(wanted, exclusive, keep)
        changes = self.prepare_changes(changes, check_mode)
        plan = self.file_plan(changes, desired)
        result = plan.result(backend=self.kind, files=[c[0] for c in changes],
                             removed=sorted(n for n, e in desired.items() if e is None),
                             exports=[e.as_dict() for _n, e in sorted(desired.items()) if e is not None],
                             diff=[dict(before_header=p, after_header=p, before=o or "", after=n or "")
                                   for p, o, n in changes])
        if not plan or check_mode:
            result["warnings"] = self.warnings
            return result
        try:
            plan.run()
        except StorageError as exc:
            for path, old, _new in reversed(changes):
                restore(path, old, self.file_mode)
            try:
                self.apply(changes)
            except StorageError as again:
                raise StorageError("%s; rolling back the files worked, but re-applying them failed too: %s"
                                   % (exc, again), changed=True)
            raise StorageError("%s (the previous configuration was restored)" % exc)
        result["warnings"] = self.warnings
        return result

    def file_plan(self, changes, desired):
        """Each file written or removed, then the server told once (the final step)."""
        plan = Plan()
        for path, _old, new in changes:
            if new is None:
                plan.add("remove %s" % path, functools.partial(remove_file, path), data=path)
            else:
                plan.add("write %s" % path, functools.partial(write_text, path, new, self.file_mode), data=path)
        if changes:
            plan.add(self.apply_action, lambda: self.apply_and_validate(changes, desired), final=True)
        return plan

    def apply_and_validate(self, changes, desired):
        self.apply(changes)
        self.validate(desired)

    def prepare_changes(self, changes, check_mode):
        """Hook for backends that change more files (e.g. include lines); returns the full list."""
        return changes

    def info(self):
        """The managed exports as dicts, plus what the server reports."""
        exports = []
        for name, text in sorted(self.managed_entries().items()):
            entry = self.parse_entry(text)
            entry["name"] = name
            entry["file"] = self.entry_path(name)
            exports.append(entry)
        return exports
