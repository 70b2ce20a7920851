# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake host for the WAN backend: ip and tc that keep links and root qdiscs in memory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.command import Tool
from ansible_collections.skillvl.offline_first.plugins.module_utils.net import wan


def module_params(options):
    """The options as the module receives them (types converted, defaults filled in)."""
    result = ArgumentSpecValidator(wan.argument_spec()).validate(options)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


class FakeHost(object):
    """ip/tc on a host: `links` {name: master or None}, root qdisc handles per link."""

    def __init__(self, links=(), masters=None, roots=None):
        self.links = dict((name, (masters or {}).get(name)) for name in links)
        self.roots = dict(roots or {})
        self.calls = []

    def tools(self, name):
        return Tool(name, path=name, executor=self.execute)

    def changes(self):
        """The argv that change something (reads left out)."""
        return [argv for argv in self.calls if '-j' not in argv]

    def execute(self, argv, data=None):
        self.calls.append(list(argv))
        args = list(argv[1:])
        if args[:1] == ['-n']:                  # a namespace: the fake has one set of links
            args = args[2:]
        if argv[0] == 'ip':
            return self.ip(args)
        return self.tc(args)

    def ip(self, args):
        if args[:1] == ['-j'] and args[1:3] == ['-d', 'link']:
            name = args[-1]
            if name not in self.links:
                return 1, '', 'Device "%s" does not exist.' % name
            link = dict(ifname=name)
            if self.links[name]:
                link['master'] = self.links[name]
            return 0, json.dumps([link]), ''
        if args[:2] == ['link', 'add']:
            self.links[args[2]] = None
            if 'peer' in args:
                self.links[args[args.index('name') + 1]] = None
        elif args[:2] == ['link', 'del']:
            self.links.pop(args[2], None)
        elif args[:2] == ['link', 'set'] and 'master' in args:
            self.links[args[2]] = args[args.index('master') + 1]
        elif args[:2] == ['link', 'set'] and 'nomaster' in args:
            self.links[args[2]] = None
        return 0, '', ''

    def tc(self, args):
        if args[:1] == ['-j']:
            handle = self.roots.get(args[-1], '0:')
            return 0, json.dumps([dict(kind='fq_codel' if handle == '0:' else 'netem', handle=handle, root=True)]), ''
        if args[:2] == ['qdisc', 'replace'] and 'root' in args:
            self.roots[args[3]] = args[args.index('handle') + 1]
        elif args[:2] == ['qdisc', 'del'] and 'root' in args:
            self.roots.pop(args[3], None)
        return 0, '', ''
