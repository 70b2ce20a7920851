# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: port_ranges
short_description: Add a port range to a list of ports as the kernel writes it (ip_local_reserved_ports)
version_added: 0.1.0
description:
  - Reads a comma-separated list of ports and ranges (C(9,8080,49152-49215)), adds the range asked for and
    returns the union in the kernel's own form (sorted, adjacent and overlapping ranges merged), so that
    the value written to C(net.ipv4.ip_local_reserved_ports) reads back unchanged and a second run changes
    nothing.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: The ports reserved now (an empty string for none).
    type: str
    required: true
  first:
    description: First port of the range to add.
    type: int
    required: true
  last:
    description: Last port of the range to add.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Keep QEMU's migration ports out of the ephemeral range, beside what is reserved already
  ansible.posix.sysctl:
    name: net.ipv4.ip_local_reserved_ports
    value: "{{ current.stdout | skillvl.offline_first.port_ranges(49152, 49215) }}"
'''

RETURN = r'''
_value:
  description: The union, as the kernel prints it.
  type: str
  sample: 9,8080,49152-49215
'''

from ansible.errors import AnsibleFilterError


def _parse(text):
    ranges = []
    for part in (text or '').replace(' ', ',').split(','):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition('-')
        try:
            ranges.append((int(low), int(high) if sep else int(low)))
        except ValueError:
            raise AnsibleFilterError('port_ranges: %r is not a port or a range of ports' % part)
    return ranges


def port_ranges(current, first, last):
    first, last = int(first), int(last)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise AnsibleFilterError('port_ranges: %d is not a port (1-65535)' % port)
    if first > last:
        raise AnsibleFilterError('port_ranges: the range %d-%d ends before it starts' % (first, last))
    merged = []
    for low, high in sorted(_parse(current) + [(first, last)]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return ','.join(str(low) if low == high else '%d-%d' % (low, high) for low, high in merged)


class FilterModule(object):
    def filters(self):
        return {'port_ranges': port_ranges}
