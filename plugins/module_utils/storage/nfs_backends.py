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


def export_argument_spec():
    """The options of nfs_export: one export, its clients, and the server."""
    spec = dict(
        name=dict(type="str", required=True),
        path=dict(type="str"),
        clients=dict(type="list", elements="dict", default=[], options=dict(
            host=dict(type="str", required=True),
            access=dict(type="str", choices=["rw", "ro"], default="ro"),
            squash=dict(type="str", choices=["root_squash", "no_root_squash", "all_squash"], default="root_squash"),
            sync=dict(type="bool", default=True),
            secure=dict(type="bool", default=True),
            extra_options=dict(type="list", elements="str", default=[]),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        exclusive=dict(type="bool", default=False),
        keep=dict(type="list", elements="str", default=[]),
        allow_any_client=dict(type="bool", default=False),
        allow_insecure_options=dict(type="bool", default=False),
        protocols=dict(type="list", elements="int", default=[3, 4]),
        export_id=dict(type="int"),
        pseudo=dict(type="str"),
    )
    spec.update(server_argument_spec())
    return spec


def nfs_backend(kind, directory=None, tools=None, main_config=None, **kwargs):
    try:
        cls = BACKENDS[kind]
    except KeyError:
        raise StorageError("unknown NFS server kind %r: use %s" % (kind, " or ".join(sorted(BACKENDS))))
    if cls is GaneshaNfsBackend and main_config:
        kwargs["main_conf"] = main_config
    return cls(tools, directory=directory, **kwargs)


def _backend_for(params, tools=None):
    return nfs_backend(params["backend"], directory=params.get("config_dir"), tools=tools,
                       main_config=params.get("main_config"))


def ensure_export(params, check_mode=False, tools=None):
    """nfs_export: validate the export, then plan and (unless check_mode) apply it on the server."""
    export = None
    if params["state"] == "present":
        export = build_export(params["name"], params["path"], params["clients"],
                              allow_any_client=params["allow_any_client"], protocols=params["protocols"],
                              export_id=params["export_id"], pseudo=params["pseudo"],
                              allow_insecure_options=params["allow_insecure_options"])
    return _backend_for(params, tools).ensure(export, params["name"], state=params["state"],
                                              exclusive=params["exclusive"], keep=params["keep"],
                                              check_mode=check_mode)


def describe_exports(params, tools=None):
    """nfs_export_info: the managed entries and what the server reports."""
    backend = _backend_for(params, tools)
    exports = backend.info()
    server = backend.server_state()
    server["exported"] = dict((str(k), v) for k, v in server["exported"].items())
    return {"changed": False, "exports": exports, "server": server}
