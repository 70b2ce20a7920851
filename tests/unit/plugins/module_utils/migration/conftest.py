# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fake of the libvirt-python subset the migration backend uses.

A FakeWorld holds hosts by URI; each host has capabilities, versions, domains and pools.
A domain's migrateToURI3 plays a script of job statistics, one sample per jobStats() call
on any connection, honours abortJob() and migrateStartPostCopy(), and on success moves the
domain to the destination host and fires the job-completed callbacks of the source.
The logic is tested here; the integration suite runs the same code against real libvirt.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time
import types

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import session


class libvirtError(Exception):
    def __init__(self, msg, code=1):
        super(libvirtError, self).__init__(msg)
        self.code = code
        self.msg = msg

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return self.msg


def make_lv():
    lv = types.ModuleType('libvirt')
    lv.libvirtError = libvirtError
    lv.VIR_DOMAIN_XML_SECURE = 1
    lv.VIR_DOMAIN_XML_INACTIVE = 2
    lv.VIR_DOMAIN_XML_MIGRATABLE = 8
    lv.VIR_DOMAIN_JOB_STATS_COMPLETED = 1
    lv.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES = 1
    lv.VIR_CONNECT_BASELINE_CPU_MIGRATABLE = 2
    lv.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 8
    lv.virEventRegisterDefaultImpl = lambda: None
    lv.virEventRunDefaultImpl = lambda: time.sleep(0.05)
    return lv


def caps_xml(uuid, machines=('pc-q35-7.2', 'pc-q35-10.0', 'q35', 'pc'), emulator='/usr/bin/qemu-system-x86_64',
             vendor='Intel', model='Skylake-Client'):
    mach = ''.join('<machine>%s</machine>' % m for m in machines)
    return ("<capabilities><host><uuid>%s</uuid><cpu><arch>x86_64</arch><model>%s</model><vendor>%s</vendor>"
            "</cpu></host><guest><os_type>hvm</os_type><arch name='x86_64'><emulator>%s</emulator>%s"
            "<domain type='qemu'/><domain type='kvm'/></arch></guest></capabilities>"
            % (uuid, model, vendor, emulator, mach))


def domain_xml(name='vm1', uuid='11111111-2222-3333-4444-555555555555', machine='pc-q35-7.2',
               cpu="<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>",
               disks='', ifaces='', emulator='/usr/bin/qemu-system-x86_64', mem_kib=262144):
    return ("<domain type='qemu'><name>%s</name><uuid>%s</uuid><memory unit='KiB'>%d</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='%s'>hvm</type></os>%s<devices><emulator>%s</emulator>%s%s"
            "</devices></domain>" % (name, uuid, mem_kib, machine, cpu, emulator, disks, ifaces))


class FakeHost(object):
    def __init__(self, world, uri, uuid, version=10000000, libversion=9000000, free=8 << 30, **capkw):
        self.world = world
        self.uri = uri
        self.caps = caps_xml(uuid, **capkw)
        self.version = version
        self.libversion = libversion
        self.free = free
        self.domains = {}
        self.pools = {}        # target dir -> name
        self.rbd_pools = {}    # name -> {'ceph_pool', 'user', 'secret'}: libvirt rbd pools
        self.pool_free = {}    # pool name -> bytes available (default 100 GiB)
        self.pool_volumes = {}   # pool name -> {volume name: volume XML}
        self.inactive_pools = set()
        self.volumes = {}      # path -> bytes
        self.uploads = {}      # (pool, volume) -> bytes uploaded into it
        self.netdevs = set(['lo', 'eth0'])
        self.networks = {}
        self.cpu_compat = 2
        self.callbacks = []
        self.reachable = True


class FakeDomain(object):
    def __init__(self, host, xml, name, uuid, active=True, persistent=True):
        self.host = host
        self.xml = xml
        self._name = name
        self.uuid = uuid
        self.active = active
        self.persistent = persistent
        self.script = []           # job stats samples for the next migration
        self.job = None
        self.aborted = False
        self.postcopy_started = False
        self.migrate_calls = []
        self.completed_stats = None
        self.fail_with = None
        self.shutdown_works = True
        self.downtime = None
        self.state_override = None    # (state, reason) libvirt reports, e.g. (3, 13): paused, post-copy failed
        self.postcopy_paused = False   # abortJobFlags(POSTCOPY) was called
        self.lock = threading.Lock()

    # read side
    def name(self):
        return self._name

    def UUIDString(self):
        return self.uuid

    def state(self):
        if self._name not in self.host.domains:
            raise libvirtError('no domain', session.ERR_NO_DOMAIN)
        if self.state_override:
            return self.state_override
        return (1 if self.active else 5, 1)

    def isActive(self):
        return self.active

    def connect(self):
        return FakeConn(self.host)

    def isPersistent(self):
        return self.persistent

    def XMLDesc(self, flags=0):
        return self.xml

    def maxMemory(self):
        return 262144

    def blockInfo(self, target, flags=0):
        """(capacity, allocation, physical) in bytes: 1 GiB virtual, 256 MiB written."""
        return getattr(self, 'block', {}).get(target, [1 << 30, 256 << 20, 256 << 20])

    # libvirt <metadata> elements by namespace URI, live and config apart (flags 1 and 2)
    def metadata(self, kind, uri, flags=0):
        value = getattr(self, 'meta', {}).get((uri, 'config' if flags & 2 else 'live'))
        if value is None:
            raise libvirtError('metadata not found: Requested metadata element is not present', 80)
        return value

    def setMetadata(self, kind, xml, prefix, uri, flags=0):
        self.meta = getattr(self, 'meta', {})
        self.metadata_calls = getattr(self, 'metadata_calls', []) + [(kind, prefix, uri, flags)]
        for bit, where in ((1, 'live'), (2, 'config')):
            if flags & bit:
                self.meta[(uri, where)] = xml

    def jobStats(self, flags=0):
        if flags:
            return self.completed_stats or {'type': 0}
        with self.lock:
            if self.job is None:
                return {'type': 0}
            if self.job['i'] < len(self.script) - 1:
                self.job['i'] += 1
            return dict(self.script[self.job['i']])

    # control side
    def migrateSetMaxDowntime(self, ms, flags=0):
        self.downtime = ms

    def abortJob(self):
        self.aborted = True

    def abortJobFlags(self, flags=0):
        self.postcopy_paused = flags == 1     # VIR_DOMAIN_ABORT_JOB_POSTCOPY: migrate-pause, the VM stays paused
        return 0

    def migrateStartPostCopy(self, flags=0):
        if self.job is None:
            raise libvirtError('no job')
        self.postcopy_started = True

    def resume(self):
        self.active = True

    def shutdown(self):
        if self.shutdown_works:
            self.active = False

    def destroy(self):
        self.active = False

    def create(self):
        self.active = True

    def undefine(self):
        self.host.domains.pop(self._name, None)

    def undefineFlags(self, flags=0):
        self.undefine()

    def migrateToURI3(self, uri, params, flags):
        self.migrate_calls.append((uri, dict(params), flags))
        dest = self.host.world.hosts.get(uri)
        if dest is None or not dest.reachable:
            raise libvirtError('unable to connect to server at %s' % uri, session.ERR_SYSTEM_ERROR)
        with self.lock:
            self.job = {'i': -1}
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                if self.aborted:
                    raise libvirtError('operation aborted: migration out job: canceled by client',
                                       session.ERR_OPERATION_ABORTED)
                if self.fail_with:
                    raise libvirtError(self.fail_with, session.ERR_RPC)
                if self.postcopy_started or (self.script and self.job['i'] >= len(self.script) - 1
                                             and self.script[-1].get('done')):
                    break
                time.sleep(0.01)
            else:
                raise libvirtError('fake migration ran out of time')
        finally:
            with self.lock:
                last = dict(self.script[self.job['i']]) if self.script and self.job['i'] >= 0 else {}
                self.job = None
        # success: move
        stats = dict(last, type=3, downtime=42, time_elapsed=1500, data_processed=100 << 20,
                     memory_postcopy_requests=7 if self.postcopy_started else 0)
        del self.host.domains[self._name]
        moved = FakeDomain(dest, params.get('destination_xml') or self.xml, self._name, self.uuid)
        moved.completed_stats = None if self.postcopy_started else stats
        dest.domains[self._name] = moved
        self.active = False
        for conn, cb in list(self.host.callbacks):
            cb(conn, self, stats, None)
        return 0


class FakeStoragePool(object):
    def __init__(self, host, name, path):
        self.host, self._name, self.path = host, name, path

    def name(self):
        return self._name

    def isActive(self):
        return self._name not in self.host.inactive_pools

    def XMLDesc(self, flags=0):
        rbd = self.host.rbd_pools.get(self._name)
        if rbd:
            return ("<pool type='rbd'><name>%s</name><source><host name='198.51.100.11' port='6789'/>"
                    "<name>%s</name><auth type='ceph' username='%s'><secret uuid='%s'/></auth></source></pool>"
                    % (self._name, rbd['ceph_pool'], rbd['user'], rbd['secret']))
        return "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (self._name, self.path)

    def refresh(self, flags=0):
        return 0

    def info(self):
        return [2, 200 << 30, 100 << 30, self.host.pool_free.get(self._name, 100 << 30)]

    def storageVolLookupByName(self, volume):
        if volume not in self.host.pool_volumes.get(self._name, {}):
            raise libvirtError('Storage volume not found: no storage vol with matching name')
        return FakeVolume(self.host, self._name, volume)

    def createXML(self, xml, flags=0):
        import xml.etree.ElementTree as ET
        name = ET.fromstring(xml).findtext('name')
        if getattr(self.host, 'create_fails', None):
            raise libvirtError(self.host.create_fails)
        self.host.pool_volumes.setdefault(self._name, {})[name] = xml
        return FakeVolume(self.host, self._name, name)


class FakeVolume(object):
    def __init__(self, host, pool, name):
        self.host, self.pool, self.name = host, pool, name

    def delete(self, flags=0):
        self.host.pool_volumes[self.pool].pop(self.name)

    def info(self):
        import xml.etree.ElementTree as ET
        capacity = int(ET.fromstring(self.host.pool_volumes[self.pool][self.name]).findtext('capacity'))
        return [0, capacity, getattr(self.host, 'volume_allocation', {}).get(self.name, capacity)]

    def upload(self, stream, offset, length, flags=0):
        stream.into = (self.pool, self.name)


class FakeStream(object):
    """A libvirt stream into a volume: what is sent lands in host.uploads[(pool, volume)]."""

    def __init__(self, host):
        self.host, self.into, self.state = host, None, 'open'

    def sendAll(self, handler, opaque):
        if getattr(self.host, 'upload_fails', None):
            raise libvirtError(self.host.upload_fails)
        data = b''
        for _round in range(10000):
            chunk = handler(self, 4096, opaque)
            if not chunk:
                break
            data += chunk
        self.host.uploads[self.into] = data

    def finish(self):
        self.state = 'finished'

    def abort(self):
        self.state = 'aborted'


class FakeConn(object):
    def __init__(self, host):
        self.host = host

    def newStream(self, flags=0):
        return FakeStream(self.host)

    def getCapabilities(self):
        return self.host.caps

    def getVersion(self):
        return self.host.version

    def getLibVersion(self):
        return self.host.libversion

    def getFreeMemory(self):
        return self.host.free

    def lookupByName(self, name):
        if name not in self.host.domains:
            raise libvirtError('Domain not found: no domain with matching name', session.ERR_NO_DOMAIN)
        return self.host.domains[name]

    def lookupByUUIDString(self, uuid):
        for dom in self.host.domains.values():
            if dom.uuid == uuid:
                return dom
        raise libvirtError('no domain', session.ERR_NO_DOMAIN)

    def getDomainCapabilities(self, emulator, arch, machine, virttype, flags):
        """Emulators beyond the capabilities' own: host.other_emulators {path: [machine types]}."""
        machines = getattr(self.host, 'other_emulators', {}).get(emulator)
        if machines is None:
            raise libvirtError("Cannot check QEMU binary %s: No such file or directory" % emulator)
        if machine and machine not in machines:
            raise libvirtError("unsupported configuration: the machine '%s' is not supported by emulator '%s'"
                               % (machine, emulator))
        return "<domainCapabilities><path>%s</path></domainCapabilities>" % emulator

    def compareHypervisorCPU(self, emulator, arch, machine, virttype, xml, flags):
        if flags and self.host.cpu_compat == 0:
            raise libvirtError('the CPU is incompatible with host CPU: Host CPU does not provide required '
                               'features: avx512f')
        return self.host.cpu_compat

    def listAllStoragePools(self, flags=0):
        return ([FakeStoragePool(self.host, name, path) for path, name in self.host.pools.items()]
                + [FakeStoragePool(self.host, name, None) for name in self.host.rbd_pools])

    def secretLookupByUUIDString(self, uuid):
        if uuid not in getattr(self.host, 'secrets', ()):
            raise libvirtError('Secret not found: no secret with matching uuid \'%s\'' % uuid)
        return uuid

    def storagePoolLookupByName(self, name):
        for pool in self.listAllStoragePools():
            if pool.name() == name:
                return pool
        raise libvirtError('Storage pool not found: no storage pool with matching name \'%s\'' % name)

    def storageVolLookupByPath(self, path):
        if path not in self.host.volumes:
            raise libvirtError('no storage vol with matching path')
        return path

    def listAllDevices(self, flags=0):
        devs = []
        for name in sorted(self.host.netdevs):
            xml = "<device><capability type='net'><interface>%s</interface></capability></device>" % name
            devs.append(types.SimpleNamespace(XMLDesc=lambda f=0, x=xml: x))
        return devs

    def networkLookupByName(self, name):
        if name not in self.host.networks:
            raise libvirtError('no network')
        return types.SimpleNamespace(isActive=lambda: self.host.networks[name])

    def defineXML(self, xml):
        from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import domxml
        info = domxml.parse_domain(xml)
        dom = FakeDomain(self.host, xml, info['name'], info['uuid'], active=False)
        self.host.domains[info['name']] = dom
        return dom

    def domainEventRegisterAny(self, dom, event, cb, opaque):
        self.host.callbacks.append((self, cb))
        return len(self.host.callbacks)

    def domainEventDeregisterAny(self, cid):
        pass

    def setKeepAlive(self, interval, count):
        pass

    def close(self):
        return 0


class FakeWorld(object):
    def __init__(self):
        self.hosts = {}
        self.opened = []

    def add(self, uri, uuid, **kw):
        host = FakeHost(self, uri, uuid, **kw)
        self.hosts[uri] = host
        return host

    def open(self, uri):
        host = self.hosts.get(uri)
        if host is None or not host.reachable:
            raise libvirtError('unable to connect to server at \'%s\': Connection refused' % uri,
                               session.ERR_SYSTEM_ERROR)
        self.opened.append(uri)
        return FakeConn(host)


SRC = 'qemu:///system'
DST = 'qemu+tcp://ws01/system'


@pytest.fixture
def world(monkeypatch):
    lv = make_lv()
    w = FakeWorld()
    lv.open = w.open
    lv.openReadOnly = w.open
    monkeypatch.setattr(session, 'libvirt', lv)
    monkeypatch.setattr(session, 'HAS_LIBVIRT', True)
    monkeypatch.setitem(session._EVENT_STATE, 'started', True)
    w.lv = lv
    w.src = w.add(SRC, 'aaaaaaaa-0000-0000-0000-000000000001')
    w.dst = w.add(DST, 'bbbbbbbb-0000-0000-0000-000000000002')
    return w


def add_vm(host, name='vm1', active=True, **kw):
    xml = domain_xml(name=name, **kw)
    uuid = kw.get('uuid', '11111111-2222-3333-4444-555555555555')
    dom = FakeDomain(host, xml, name, uuid, active=active)
    host.domains[name] = dom
    return dom


def sample(iteration, remaining, total=256 << 20, dirty_pages=0, bps=30 << 20, done=False, throttle=0):
    return {'type': 2, 'time_elapsed': 1000 * iteration, 'memory_total': total,
            'memory_processed': total - remaining + (iteration - 1) * (dirty_pages * 4096),
            'memory_remaining': remaining, 'memory_iteration': iteration, 'memory_dirty_rate': dirty_pages,
            'memory_page_size': 4096, 'memory_bps': bps, 'data_total': total, 'data_remaining': remaining,
            'data_processed': total - remaining, 'auto_converge_throttle': throttle, 'done': done}


@pytest.fixture
def h():
    return types.SimpleNamespace(add_vm=add_vm, sample=sample, SRC=SRC, DST=DST, domain_xml=domain_xml,
                                 libvirtError=libvirtError, FakeConn=FakeConn)
