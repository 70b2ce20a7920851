# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml, session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError

DOMAIN = """<domain type='qemu'>
  <name>vm1</name><uuid>u-1</uuid><memory unit='MiB'>256</memory><vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model><feature policy='require' name='x2apic'/></cpu>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/top.qcow2'/>
      <backingStore type='file'><format type='qcow2'/><source file='/var/lib/libvirt/images/base.qcow2'/></backingStore>
      <target dev='vda' bus='virtio'/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>
      <source protocol='iscsi' name='iqn.2026-11.skillvl:t/1'><host name='storage1'/></source>
      <target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
    <interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br-int'/><virtualport type='openvswitch'/></interface>
    <interface type='network'><source network='default'/></interface>
  </devices>
</domain>"""

DOMCAPS = """<domainCapabilities><cpu>
  <mode name='host-passthrough' supported='yes'/>
  <mode name='host-model' supported='yes'><model fallback='forbid'>EPYC-Rome</model><vendor>AMD</vendor>
    <feature policy='require' name='x2apic'/><feature policy='disable' name='svm'/></mode>
</cpu></domainCapabilities>"""


def test_build_uri_per_transport():
    assert session.build_uri('ws01') == 'qemu+tls://ws01/system'
    assert session.build_uri('ws01', 'tcp') == 'qemu+tcp://ws01/system'
    assert session.build_uri('ws01', 'ssh', user='root', port=2222) == 'qemu+ssh://root@ws01:2222/system'
    assert session.build_uri('qemu+tls://x/system', 'ssh') == 'qemu+tls://x/system'
    assert session.build_uri('198.51.100.21', 'tcp', extra={'keyfile': '/k'}) == \
        'qemu+tcp://198.51.100.21/system?keyfile=/k'


@pytest.mark.parametrize('kw, words', [
    ({'host': 'ws01', 'transport': 'udp'}, 'transport must be one of'),
    ({'host': 'bad host!', 'transport': 'tcp'}, 'not a valid host name'),
    ({'host': 'ws01', 'transport': 'tcp', 'user': 'root'}, 'only used with transport ssh'),
    ({'host': 'ws01', 'transport': 'tls', 'port': 70000}, 'port must be between'),
])
def test_build_uri_refuses(kw, words):
    with pytest.raises(LibvirtError) as err:
        session.build_uri(**kw)
    assert words in str(err.value)


def test_uri_port_named_or_the_transports_default():
    assert session.uri_port('qemu+tcp://root@ws01:16600/system') == 16600
    assert session.uri_port('qemu+tls://[2001:db8::2]:16700/system') == 16700
    assert session.uri_port('qemu+tls://ws01/system') == 16514
    assert session.uri_port('qemu+ssh://admin@ws01/system') == 22
    assert session.uri_port('ws01', 'tcp') == 16509


def test_uri_host():
    assert session.uri_host('qemu+tcp://root@ws01:16509/system') == 'ws01'
    assert session.uri_host('qemu:///system') is None


def test_port_problem_looks_at_the_uris_port_first(real_port_problem):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        assert real_port_problem("qemu+tls://127.0.0.1:%d/system" % port) is None
    # the listener is gone: refused at once, in words that name the host and port
    problem = real_port_problem("qemu+tcp://127.0.0.1:%d/system" % port, timeout=2)
    assert problem.startswith("127.0.0.1 port %d: " % port) and "refused" in problem, problem
    assert real_port_problem("qemu:///system") is None


def test_connect_to_a_host_cut_off_fails_fast_naming_it(monkeypatch):
    monkeypatch.setattr(session, "port_problem", lambda uri, *a, **k: "cloud1 port 16514 does not answer within 15 s")
    monkeypatch.setattr(session, "HAS_LIBVIRT", True)
    with pytest.raises(LibvirtError) as err:
        session.connect("qemu+tls://cloud1/system", what="the destination cloud1")
    assert str(err.value) == "cannot connect to the destination cloud1: cloud1 port 16514 does not answer within 15 s"


def test_require_libvirt_message(monkeypatch):
    monkeypatch.setattr(session, 'HAS_LIBVIRT', False)
    with pytest.raises(LibvirtError) as err:
        session.require_libvirt()
    assert 'python3-libvirt' in str(err.value)


def test_translate_keeps_libvirt_detail():
    class E(Exception):
        def get_error_code(self):
            return session.ERR_SYSTEM_ERROR

        def get_error_message(self):
            return "unable to connect to server at 'ws09:16509': No route to host"
    err = session.translate(E(), 'cannot connect to ws09')
    assert 'cannot reach libvirt' in str(err) and 'No route to host' in str(err)


def test_parse_domain():
    vm = domxml.parse_domain(DOMAIN)
    assert (vm['name'], vm['virt_type'], vm['arch'], vm['machine']) == ('vm1', 'qemu', 'x86_64', 'pc-q35-7.2')
    assert vm['memory_kib'] == 256 * 1024 and vm['vcpus'] == 2
    assert vm['cpu_mode'] == 'custom' and vm['cpu_model'] == 'qemu64' and 'x2apic' in vm['cpu_xml']
    vda, vdb, sda = vm['disks']
    assert vda['path'].endswith('top.qcow2') and vda['backing'][0]['path'].endswith('base.qcow2')
    assert vdb['protocol'] == 'iscsi' and domxml.disk_is_shared(vdb) is True
    assert sda['empty'] and domxml.disk_is_shared(sda) is True
    assert domxml.disk_is_shared(vda) is None
    assert domxml.disk_is_shared(vda, 'nfs4') is True and domxml.disk_is_shared(vda, 'ext4') is False
    assert vm['interfaces'][0] == {'type': 'bridge', 'mac': '52:54:00:aa:bb:cc', 'bridge': 'br-int',
                                   'network': None, 'dev': None, 'virtualport': 'openvswitch'}
    assert vm['interfaces'][1]['network'] == 'default'


def test_bad_xml_is_a_clear_error():
    with pytest.raises(LibvirtError) as err:
        domxml.parse_domain('<domain')
    assert 'not valid XML' in str(err.value)


def test_adjust_for_host():
    out = domxml.adjust_for_host(DOMAIN, emulator='/usr/libexec/qemu-kvm', machine='q35', drop_cpu=True)
    vm = domxml.parse_domain(out)
    assert vm['emulator'] == '/usr/libexec/qemu-kvm' and vm['machine'] == 'q35' and vm['cpu_xml'] is None


def test_machine_family():
    assert domxml.machine_family('pc-q35-7.2') == 'q35'
    assert domxml.machine_family('pc-i440fx-8.0') == 'pc'
    assert domxml.machine_family('virt-9.2') == 'virt'
    assert domxml.machine_family(None) is None


def test_host_model_cpu_and_summary():
    cpu = domxml.host_model_cpu(DOMCAPS)
    summary = domxml.cpu_baseline_summary(cpu)
    assert summary['model'] == 'EPYC-Rome' and summary['vendor'] == 'AMD'
    assert summary['features'] == {'x2apic': 'require', 'svm': 'disable'}
    assert domxml.host_model_cpu(DOMCAPS.replace("'host-model' supported='yes'", "'host-model' supported='no'")) is None


def test_memory_units():
    assert domxml.parse_domain(DOMAIN.replace("unit='MiB'>256", "unit='GiB'>1"))['memory_kib'] == 1024 * 1024


def test_uri_transport():
    assert session.uri_transport('qemu+tcp://ws01/system') == 'tcp'
    assert session.uri_transport('qemu+libssh2://root@ws01/system') == 'ssh'
    assert session.uri_transport('qemu://ws01/system') == 'tls'
    assert session.uri_transport('ws01') is None
