# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A VM's home record in its libvirt metadata (libvirt/home.py), against the fake libvirt."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import home, session
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.info import job_info

SRC = 'qemu:///system'

ROLE_XML = ('<skillvl:guest xmlns:skillvl="https://skillvl.example/offline_first/1">'
            '<skillvl:home>cloud1</skillvl:home><skillvl:image>skillvl-lab-guest</skillvl:image></skillvl:guest>')


def test_parse_reads_what_the_vm_role_writes():
    assert home.parse(ROLE_XML) == {"home": "cloud1", "image": "skillvl-lab-guest", "away": None}
    assert home.parse(None) is None
    with pytest.raises(session.LibvirtError):
        home.parse("<guest")


def test_render_and_parse_round_trip():
    away = {"from": "cloud1", "since": "2026-12-04T12:00:00+00:00", "base_image": "/b/base.qcow2", "disks": []}
    record = {"home": "cloud1", "image": None, "away": away}
    text = home.render(record)
    assert text == ('<guest><home>cloud1</home><away base_image="/b/base.qcow2" from="cloud1" '
                    'since="2026-12-04T12:00:00+00:00" /></guest>')
    assert home.parse(text) == record


def test_the_away_record_keeps_the_home_pools_of_disks_that_left_them():
    disks = [{"target": "vda", "pool": "skillvl-rbd", "volume": "svc-root"},
             {"target": "vdb", "pool": "skillvl-rbd", "volume": "svc-data"}]
    after = home.desired(None, "away", "cloud1", now="t", disks=disks + [])
    text = home.render(after)
    assert ('<away from="cloud1" since="t"><disk target="vda" pool="skillvl-rbd" volume="svc-root" />'
            '<disk target="vdb" pool="skillvl-rbd" volume="svc-data" /></away>') in text
    assert home.parse(text)["away"]["disks"] == disks
    # under the namespace libvirt gives it back with
    spaced = text.replace("<guest>", '<skillvl:guest xmlns:skillvl="%s">' % home.NS).replace("</guest>", "</skillvl:guest>")
    for tag in ("home", "away", "disk"):
        spaced = spaced.replace("<%s" % tag, "<skillvl:%s" % tag).replace("</%s>" % tag, "</skillvl:%s>" % tag)
    assert home.parse(spaced)["away"]["disks"] == disks


def test_away_then_home_on_a_running_vm(world, h):
    dom = h.add_vm(world.src)
    dom.meta = {(home.NS, "live"): ROLE_XML, (home.NS, "config"): ROLE_XML}
    out = home.ensure("vm1", "away", "cloud1", now="2026-12-04T12:00:00+00:00", uri=SRC)
    assert out["changed"] and out["record"]["away"] == {"from": "cloud1", "since": "2026-12-04T12:00:00+00:00",
                                                        "base_image": None, "disks": []}
    assert out["record"]["home"] == "cloud1" and out["record"]["image"] == "skillvl-lab-guest"
    # live and persistent definition, under our prefix and namespace
    assert dom.metadata_calls == [(2, "skillvl", home.NS, 3)]
    assert home.parse(dom.meta[(home.NS, "config")])["away"]["from"] == "cloud1"

    again = home.ensure("vm1", "away", "ws01", now="2026-12-04T13:00:00+00:00", uri=SRC)
    assert not again["changed"] and again["record"]["away"]["from"] == "cloud1"

    back = home.ensure("vm1", "home", None, uri=SRC)
    assert back["changed"] and back["record"] == {"home": "cloud1", "image": "skillvl-lab-guest", "away": None}
    assert not home.ensure("vm1", "home", None, uri=SRC)["changed"]


def test_check_mode_writes_nothing_and_a_vm_without_record_gets_one(world, h):
    dom = h.add_vm(world.src, active=False)
    out = home.ensure("vm1", "away", "cloud1", home="cloud9", now="t", uri=SRC, check_mode=True)
    assert out["changed"] and not getattr(dom, "metadata_calls", [])
    out = home.ensure("vm1", "away", "cloud1", home="cloud9", now="t", uri=SRC)
    assert out["record"]["home"] == "cloud9"
    assert dom.metadata_calls == [(2, "skillvl", home.NS, 2)]      # shut off: the definition only


def test_unknown_vm_is_named(world):
    with pytest.raises(session.LibvirtError) as err:
        home.ensure("nope", "away", "cloud1", uri=SRC)
    assert 'VM "nope" is not defined on this host' in str(err.value)


def test_info_returns_the_record(world, h):
    dom = h.add_vm(world.src)
    assert job_info("vm1", SRC)["home"] is None
    dom.meta = {(home.NS, "live"): ROLE_XML}
    assert job_info("vm1", SRC)["home"]["home"] == "cloud1"
    assert job_info("other", SRC)["home"] is None


@pytest.mark.parametrize("call", ["metadata", "jobStats", "XMLDesc"])
def test_info_of_a_vm_that_leaves_while_it_is_read_is_absent(world, h, monkeypatch, call):
    """The move ends between the look-up and the next call (seen from an EE over SSH): the VM is
    gone from this host, which is an answer, not an error."""
    libvirtError = session.require_libvirt().libvirtError
    dom = h.add_vm(world.src)
    dom.meta = {(home.NS, "live"): ROLE_XML}

    def gone(*_args, **_kwargs):
        raise libvirtError("Domain not found: no domain with matching uuid", session.ERR_NO_DOMAIN)

    monkeypatch.setattr(dom, call, gone, raising=False)
    out = job_info("vm1", SRC)
    assert (out["vm_state"], out["home"], out["running"], out["job"]) == ("absent", None, False, None)


def test_info_reports_other_errors(world, h, monkeypatch):
    libvirtError = session.require_libvirt().libvirtError
    dom = h.add_vm(world.src)

    def broken(*_args, **_kwargs):
        raise libvirtError("internal error", 1)

    monkeypatch.setattr(dom, "jobStats", broken, raising=False)
    with pytest.raises(session.LibvirtError, match='cannot read the job of VM "vm1"'):
        job_info("vm1", SRC)


def test_info_names_each_disk_and_the_pool_that_holds_it(world, h):
    """What scale_away.yml reads to decide which disks turn into local files: an RBD disk in the
    host's rbd pool, a file in a directory pool, a file outside every pool."""
    world.src.pools["/var/lib/libvirt/images"] = "default"
    world.src.rbd_pools["skillvl-rbd"] = {"ceph_pool": "vms", "user": "cloud1", "secret": "s-1"}
    disks = ("<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
             "<source protocol='rbd' name='vms/vm1-root'/><target dev='vda' bus='virtio'/></disk>"
             "<disk type='network' device='cdrom'><driver name='qemu' type='raw'/>"
             "<source protocol='rbd' name='vms/vm1-seed'/><target dev='sda' bus='sata'/><readonly/></disk>"
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
             "<source file='/var/lib/libvirt/images/vm1-data.qcow2'/><target dev='vdb' bus='virtio'/></disk>"
             "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
             "<source file='/srv/elsewhere/x.raw'/><target dev='vdc' bus='virtio'/></disk>")
    h.add_vm(world.src, disks=disks)
    got = dict((d["target"], d) for d in job_info("vm1", SRC)["disks"])
    assert got["vda"] == {"target": "vda", "device": "disk", "type": "network", "protocol": "rbd",
                          "source": "vms/vm1-root", "format": "raw", "readonly": False,
                          "pool": "skillvl-rbd", "volume": "vm1-root"}
    assert (got["sda"]["readonly"], got["sda"]["device"], got["sda"]["volume"]) == (True, "cdrom", "vm1-seed")
    assert (got["vdb"]["pool"], got["vdb"]["volume"]) == ("default", "vm1-data.qcow2")
    assert (got["vdc"]["pool"], got["vdc"]["volume"], got["vdc"]["source"]) == (None, None, "/srv/elsewhere/x.raw")
    # a stopped pool holds nothing a move could use
    world.src.inactive_pools.add("skillvl-rbd")
    assert job_info("vm1", SRC)["disks"][0]["pool"] is None
    assert job_info("other", SRC)["disks"] == []
