# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nfs-ganesha backend: one EXPORT block per file in /etc/ganesha/exports.d, %include'd from
ganesha.conf, applied by a reload (SIGHUP: ganesha re-reads its exports without dropping
clients of unchanged exports).

Validation: ganesha accepts a broken block with only a warning in its log, so after a reload
the new log lines are checked for configuration errors that name our file, and the export
list ganesha reports over D-Bus (ExportMgr.ShowExports) must hold the Export_Id and path.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time


from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    StorageError, read_text, resolve_tool, run_tool,
)
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs import NfsBackend, marker_line

SERVICE = "nfs-ganesha"
MAIN_CONF = "/etc/ganesha/ganesha.conf"
LOG_FILE = "/var/log/ganesha/ganesha.log"


DBUS_EXPORTMGR = ["--system", "--print-reply", "--reply-timeout=5000", "--dest=org.ganesha.nfsd",
                  "/org/ganesha/nfsd/ExportMgr"]


def parse_show_exports(text):
    """dbus-send --print-reply of ShowExports -> {export_id: path}."""
    result = {}
    for m in re.finditer(r'uint16\s+(\d+)\s+string\s+"([^"]*)"', text or ""):
        result[int(m.group(1))] = m.group(2)
    return result


_CONF_ERROR_RE = re.compile(r"CONFIG :(?:WARN|MAJ|CRIT|FATAL) :(.*)$")


def include_line(path):
    return '%%include "%s"' % path


class GaneshaNfsBackend(NfsBackend):
    kind = "ganesha"
    apply_action = "reload nfs-ganesha"
    directory = "/etc/ganesha/exports.d"
    suffix = ".conf"

    def __init__(self, tools=None, directory=None, main_conf=MAIN_CONF, log_file=LOG_FILE, reload_timeout=15.0):
        super(GaneshaNfsBackend, self).__init__(tools, directory)
        self.systemctl = resolve_tool(tools, "systemctl")
        self.dbus_send = resolve_tool(tools, "dbus-send")
        self.main_conf = main_conf
        self.log_file = log_file
        self.reload_timeout = reload_timeout
        self.reloaded = False
        self.planned_ids = {}

    # ---- rendering ---------------------------------------------------------------------
    def start_plan(self):
        self.planned_ids = {}

    def used_export_ids(self, skip_name=None):
        ids = dict((i, n) for i, n in self.planned_ids.items() if n != skip_name)
        texts = [(None, read_text(self.main_conf) or "")]
        if os.path.isdir(self.directory):
            for fname in sorted(os.listdir(self.directory)):
                if fname.endswith(self.suffix):
                    texts.append((fname[:-len(self.suffix)], read_text(os.path.join(self.directory, fname)) or ""))
        for name, text in texts:
            if name is not None and name == skip_name:
                continue
            for line in text.splitlines():
                line = line.split("#", 1)[0]
                m = re.search(r"\bExport_Id\s*=\s*(\d+)", line, re.IGNORECASE)
                if m:
                    ids[int(m.group(1))] = name or self.main_conf
        return ids

    def choose_export_id(self, export, current_text):
        used = self.used_export_ids(skip_name=export.name)
        if export.export_id is not None:
            owner = used.get(int(export.export_id))
            if owner is not None:
                raise StorageError("Export_Id %s is already used by %s: choose another export_id"
                                   % (export.export_id, owner))
            return int(export.export_id)
        if current_text:
            current = self.parse_entry(current_text).get("export_id")
            if current is not None and current not in used:
                return current
        candidate = 1
        while candidate in used:
            candidate += 1
        return candidate

    def render(self, export, current_text):
        export_id = self.choose_export_id(export, current_text)
        self.planned_ids[export_id] = export.name
        lines = [
            marker_line(export.name),
            "EXPORT {",
            "    Export_Id = %d;" % export_id,
            '    Path = "%s";' % export.path,
            '    Pseudo = "%s";' % (export.pseudo or export.path),
            "    Protocols = %s;" % ", ".join(str(p) for p in sorted(export.protocols)),
            "    Transports = TCP;",
            "    SecType = sys;",
            "    # Nobody but the clients below.",
            "    Access_Type = None;",
            "    Squash = root_squash;",
            "    FSAL {",
            "        Name = VFS;",
            "    }",
        ]
        for client in export.clients:
            lines += [
                "    CLIENT {",
                "        Clients = %s;" % client.host,
                "        Access_Type = %s;" % client.access.upper(),
                "        Squash = %s;" % client.squash,
                "        PrivilegedPort = %s;" % ("true" if client.secure else "false"),
            ]
            for extra in client.extra_options:
                key, _sep, value = extra.partition("=")
                lines.append("        %s = %s;" % (key.strip(), value.strip() or "true"))
            lines.append("    }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def parse_entry(self, text):
        entry = dict(path=None, export_id=None, pseudo=None, clients={})
        m = re.search(r"\bExport_Id\s*=\s*(\d+)", text, re.IGNORECASE)
        if m:
            entry["export_id"] = int(m.group(1))
        m = re.search(r'\bPath\s*=\s*"?([^";]+)"?\s*;', text, re.IGNORECASE)
        if m:
            entry["path"] = m.group(1)
        m = re.search(r'\bPseudo\s*=\s*"?([^";]+)"?\s*;', text, re.IGNORECASE)
        if m:
            entry["pseudo"] = m.group(1)
        for block in re.findall(r"CLIENT\s*\{([^}]*)\}", text, re.IGNORECASE):
            cm = re.search(r"\bClients\s*=\s*([^;]+);", block, re.IGNORECASE)
            am = re.search(r"\bAccess_Type\s*=\s*([^;]+);", block, re.IGNORECASE)
            sm = re.search(r"\bSquash\s*=\s*([^;]+);", block, re.IGNORECASE)
            if cm:
                entry["clients"][cm.group(1).strip()] = dict(
                    access=(am.group(1).strip().lower() if am else None),
                    squash=(sm.group(1).strip() if sm else None))
        return entry

    # ---- include lines in ganesha.conf -------------------------------------------------
    def prepare_changes(self, changes, check_mode):
        """Add or drop the %include line for every entry file that appears or disappears."""
        main_old = read_text(self.main_conf)
        if main_old is None:
            raise StorageError("%s does not exist: is nfs-ganesha installed?" % self.main_conf)
        lines = main_old.splitlines()
        for path, _old, new in changes:
            inc = include_line(path)
            present = [i for i, line in enumerate(lines) if line.strip() == inc]
            if new is not None and not present:
                lines.append(inc)
            elif new is None and present:
                lines = [line for line in lines if line.strip() != inc]
        main_new = "\n".join(lines) + "\n"
        if main_new != main_old and main_new.rstrip("\n") != main_old.rstrip("\n"):
            # Entries first (so an include never points at a missing file), ganesha.conf last.
            changes = list(changes) + [(self.main_conf, main_old, main_new)]
        return changes

    # ---- apply and validate ------------------------------------------------------------
    def is_running(self):
        rc, _out, _err = run_tool(self.systemctl, ["is-active", "--quiet", SERVICE])
        return rc == 0

    def _log_size(self):
        try:
            return os.path.getsize(self.log_file)
        except OSError:
            return 0

    def _log_since(self, offset):
        try:
            with open(self.log_file, "r") as f:
                f.seek(offset)
                return f.read()
        except (IOError, OSError):
            return ""

    def apply(self, changes):
        self.reloaded = False
        if not self.is_running():
            self.warnings.append("nfs-ganesha is not running: the export files are written and take effect "
                                 "when the service starts")
            self._log_offset = None
            return
        self._log_offset = self._log_size()
        rc, _out, err = run_tool(self.systemctl, ["reload", SERVICE])
        if rc != 0:
            raise StorageError("reloading nfs-ganesha failed (rc=%s): %s" % (rc, err.strip()))
        self.reloaded = True
        deadline = time.time() + self.reload_timeout
        while time.time() < deadline:
            if "Reread exports complete" in self._log_since(self._log_offset):
                return
            time.sleep(0.2)
        self.warnings.append("nfs-ganesha did not log 'Reread exports complete' within %ss of the reload"
                             % self.reload_timeout)

    def exports_from_server(self):
        rc, out, err = run_tool(self.dbus_send, DBUS_EXPORTMGR + ["org.ganesha.nfsd.exportmgr.ShowExports"])
        if rc != 0:
            raise StorageError("could not ask nfs-ganesha for its exports over D-Bus (rc=%s): %s"
                               % (rc, err.strip()))
        return parse_show_exports(out)

    def validate(self, desired):
        if not self.reloaded:
            return
        files = set(os.path.basename(self.entry_path(n)) for n in desired)
        errors = []
        for line in self._log_since(self._log_offset).splitlines():
            m = _CONF_ERROR_RE.search(line)
            if m and any(f in m.group(1) for f in files):
                errors.append(m.group(1).strip())
        if errors:
            raise StorageError("nfs-ganesha rejected the export configuration: %s" % "; ".join(errors))
        if not any(export is not None for export in desired.values()):
            return
        held = self.exports_from_server()
        for name, export in sorted(desired.items()):
            if export is None:
                continue
            text = read_text(self.entry_path(name)) or ""
            export_id = self.parse_entry(text).get("export_id")
            if held.get(export_id) != export.path:
                raise StorageError("after the reload nfs-ganesha does not serve %s as export %s (it reports %s)"
                                   % (export.path, export_id, ", ".join("%s=%s" % kv for kv in sorted(held.items()))))

    def server_state(self):
        running = self.is_running()
        return dict(running=running, exported=self.exports_from_server() if running else {})
