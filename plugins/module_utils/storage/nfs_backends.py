# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The NFS backends behind nfs_export and nfs_export_info: their options, the backend for a
server kind, and the two calls the modules make (no backend-specific code in a module)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import StorageError
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs import build_export
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_ganesha import MAIN_CONF, GaneshaNfsBackend
from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.nfs_kernel import KernelNfsBackend

BACKENDS = dict(kernel=KernelNfsBackend, ganesha=GaneshaNfsBackend)


def server_argument_spec():
    """Which server and where its files are: the options nfs_export and nfs_export_info share."""
    return dict(
        backend=dict(type="str", choices=sorted(BACKENDS), default="kernel"),
        config_dir=dict(type="path"),
        main_config=dict(type="path", default=MAIN_CONF),
    )


_CLIENT_SPEC = dict(
    host=dict(type="str", required=True),
    access=dict(type="str", choices=["rw", "ro"], default="ro"),
    squash=dict(type="str", choices=["root_squash", "no_root_squash", "all_squash"], default="root_squash"),
    sync=dict(type="bool", default=True),
    secure=dict(type="bool", default=True),
    extra_options=dict(type="list", elements="str", default=[]),
)


def _entry_spec():
    """What describes one export: in the single form at the top level, in the set form per item."""
    return dict(
        name=dict(type="str"),
        path=dict(type="str"),
        clients=dict(type="list", elements="dict", default=[], options=_CLIENT_SPEC),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        allow_any_client=dict(type="bool", default=False),
        allow_insecure_options=dict(type="bool", default=False),
        protocols=dict(type="list", elements="int", default=[3, 4]),
        export_id=dict(type="int"),
        pseudo=dict(type="str"),
    )


def export_argument_spec():
    """The options of nfs_export: one export (name, path, clients...) or the whole set (exports),
    and the server."""
    spec = _entry_spec()
    item = _entry_spec()
    item["name"]["required"] = True
    spec.update(
        exports=dict(type="list", elements="dict", options=item),
        exclusive=dict(type="bool", default=False),
        keep=dict(type="list", elements="str", default=[]),
    )
    spec.update(server_argument_spec())
    return spec


EXPORT_MODULE_OPTIONS = dict(mutually_exclusive=[("name", "exports")], required_one_of=[("name", "exports")])


def nfs_backend(kind, directory=None, tools=None, main_config=None, **kwargs):
    try:
        cls = BACKENDS[kind]
    except KeyError:
        raise StorageError("unknown NFS server kind %r: use %s" % (kind, " or ".join(sorted(BACKENDS))))
    if cls is GaneshaNfsBackend and main_config:
        kwargs["main_conf"] = main_config
    return cls(tools, directory=directory, **kwargs)


def _backend_for(params, tools=None, **backend_options):
    return nfs_backend(params["backend"], directory=params.get("config_dir"), tools=tools,
                       main_config=params.get("main_config"), **backend_options)


def _build(entry):
    if entry["state"] == "absent":
        return None
    if not entry.get("path"):
        raise StorageError("export %s: path is required when state is present" % entry["name"])
    return build_export(entry["name"], entry["path"], entry["clients"], allow_any_client=entry["allow_any_client"],
                        protocols=entry["protocols"], export_id=entry["export_id"], pseudo=entry["pseudo"],
                        allow_insecure_options=entry["allow_insecure_options"])


def ensure_export(params, check_mode=False, tools=None, **backend_options):
    """nfs_export: validate every export first, then plan, write, reload and verify once.

    ``params["exports"]`` (a list) is the whole set; otherwise ``params`` itself describes one
    export. With ``exclusive``, entries of ours that are not in the set (nor in ``keep``) go.
    ``tools`` and ``backend_options`` are for tests (fake tools, log file, timeouts).
    """
    backend = _backend_for(params, tools, **backend_options)
    if params.get("exports") is None:
        return backend.ensure(_build(params), params["name"], state=params["state"],
                              exclusive=params["exclusive"], keep=params["keep"], check_mode=check_mode)
    wanted = {}
    for entry in params["exports"]:
        if entry["name"] in wanted:
            raise StorageError("export %s is listed twice" % entry["name"])
        wanted[entry["name"]] = _build(entry)
    return backend.ensure_set(wanted, exclusive=params["exclusive"], keep=params["keep"], check_mode=check_mode)


def describe_exports(params, tools=None):
    """nfs_export_info: the managed entries and what the server reports."""
    backend = _backend_for(params, tools)
    exports = backend.info()
    server = backend.server_state()
    server["exported"] = dict((str(k), v) for k, v in server["exported"].items())
    return {"changed": False, "exports": exports, "server": server}
