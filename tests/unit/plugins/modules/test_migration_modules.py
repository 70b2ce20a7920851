# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_migrate and vm_migration_check as modules: the warning that transport ssh without a
tunnel sends the QEMU migration stream in plain text (issue 14 item 14). The migration itself
is replaced by a stub; tests/integration drives the real one."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import engine
from ansible_collections.skillvl.offline_first.plugins.modules import vm_migrate, vm_migration_check


class StubMigration(object):
    def __init__(self, opts):
        self.opts = opts

    def run(self, check_mode=False):
        return dict(changed=False, msg='stub')

    def check(self):
        return dict(verdict='ok', live_possible=True, cold_possible=True, summary='stub', reasons=[])


def run(mod, args, monkeypatch, capsys):
    monkeypatch.setattr(engine, 'Migration', StubMigration)
    monkeypatch.setattr(mod, 'HAS_LIBVIRT', True)
    # what the module hands to module.warn (where ansible-core routes warnings depends on
    # whether controller code was imported in this process, so the call itself is recorded)
    warned = []
    original = AnsibleModule.warn

    def record(self, warning, *args, **kwargs):
        warned.append(warning)
        return original(self, warning, *args, **kwargs)
    monkeypatch.setattr(AnsibleModule, 'warn', record)
    with patch_module_args(dict(args)):
        with pytest.raises(SystemExit):
            mod.main()
    out = json.loads(capsys.readouterr().out)
    out['warnings'] = warned
    return out


@pytest.mark.parametrize('mod', [vm_migrate, vm_migration_check])
@pytest.mark.parametrize('args, warned', [
    (dict(transport='ssh'), True),
    (dict(dest='qemu+ssh://ws01/system'), True),
    (dict(transport='tls'), False),
    (dict(transport='ssh', mode='cold'), False),
])
def test_ssh_transport_without_tunnel_warns(mod, args, warned, monkeypatch, capsys):
    out = run(mod, dict(dict(name='vm1', dest='ws01'), **args), monkeypatch, capsys)
    warnings = [w for w in out.get('warnings', []) if 'plain text' in w]
    assert len(warnings) == (1 if warned else 0), out
    if warned:
        assert 'migration stream' in warnings[0]
        assert ('vm_migrate with tunnelled=true' in warnings[0]) == (mod is vm_migration_check)


def test_ssh_tunnelled_does_not_warn(monkeypatch, capsys):
    out = run(vm_migrate, dict(name='vm1', dest='ws01', transport='ssh', tunnelled=True), monkeypatch, capsys)
    assert not [w for w in out.get('warnings', []) if 'plain text' in w], out
