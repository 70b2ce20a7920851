# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host CPUs as libvirt sees them: the CPU model a set of hypervisors can all run.

A VM defined with that model migrates between any of them, whatever their CPU generations;
hosts of different vendors have no common model, and libvirt says so (the research's limit
"same CPU vendor", made an explicit answer).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError


def cpu_baseline(uris, virt_type='kvm', arch=None, machine=None, expand=False, migratable=True):
    """A CPU model every listed host can run: baselineHypervisorCPU over their host CPUs.

    Returns {'cpu_xml', 'model', 'vendor', 'features', 'hosts': {uri: {...}}}.
    """
    lv = session.require_libvirt()
    if not uris:
        raise LibvirtError('cpu baseline needs at least one host')
    cpus = []
    hosts = {}
    arch_seen = None
    for uri in uris:
        conn = session.connect(uri, 'libvirt at %s' % uri, keepalive=False)
        try:
            caps_xml = conn.getCapabilities()
            caps = domxml.parse_capabilities(caps_xml)
            arch_seen = arch or arch_seen or caps['arch']
            try:
                dcaps = conn.getDomainCapabilities(None, arch_seen, machine, virt_type, 0)
            except lv.libvirtError as exc:
                raise session.translate(exc, 'cannot read domain capabilities of %s for %s' % (uri, virt_type))
            cpu = domxml.host_model_cpu(dcaps) or domxml.host_cpu(caps_xml)
            if cpu is None:
                raise LibvirtError('%s reports neither a host-model CPU for domain type %s nor its host CPU'
                                   % (uri, virt_type))
            cpus.append(cpu)
            hosts[uri] = {'vendor': caps['cpu_vendor'], 'model': caps['cpu_model'],
                          'host_model': domxml.cpu_baseline_summary(cpu)['model']}
        finally:
            session.close(conn)
    flags = 0
    if expand:
        flags |= lv.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES
    if migratable:
        flags |= getattr(lv, 'VIR_CONNECT_BASELINE_CPU_MIGRATABLE', 2)
    conn = session.connect(uris[0], 'libvirt at %s' % uris[0], keepalive=False)
    try:
        try:
            xml = conn.baselineHypervisorCPU(None, arch_seen, machine, virt_type, cpus, flags)
        except lv.libvirtError as exc:
            raise session.translate(exc, 'these hosts have no common CPU model')
    finally:
        session.close(conn)
    summary = domxml.cpu_baseline_summary(xml)
    return dict(summary, cpu_xml=xml, hosts=hosts, arch=arch_seen, virt_type=virt_type)
