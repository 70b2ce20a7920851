# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_rbd_volume's backend driven by the YAML cases beside this file: a fake libvirt rbd pool,
exact argv of the tools, the result or error and the pool's images afterwards."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.rbd_volume import (
    RbdVolumeError, argument_spec, ensure_volume)

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_rbd_volume_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)

RBD_POOL = ("<pool type='rbd'><name>skillvl-rbd</name><source><name>vms</name>"
            "<host name='198.51.100.11' port='6789'/>"
            "<auth type='ceph' username='cloud1'><secret uuid='5a0e8d4e-6f0c-4c53-9b5a-6a1f2b7c0d11'/></auth>"
            "</source></pool>")
DIR_POOL = "<pool type='dir'><name>default</name><target><path>/var/lib/libvirt/images</path></target></pool>"


class Volume(object):
    def __init__(self, pool, name):
        self.pool, self.name = pool, name

    def info(self):
        return [0, self.pool.volumes[self.name], self.pool.volumes[self.name]]

    def delete(self, flags=0):
        del self.pool.volumes[self.name]


class Pool(object):
    def __init__(self, lv, xml, volumes, active=True):
        self.lv, self.xml, self.volumes, self.active = lv, xml, volumes, active

    def XMLDesc(self, flags=0):
        return self.xml

    def isActive(self):
        return self.active

    def info(self):
        return [2, 100 << 30, 1 << 30, 99 << 30]

    def refresh(self, flags=0):
        return 0

    def storageVolLookupByName(self, name):
        if name not in self.volumes:
            raise self.lv.libvirtError("Storage volume not found: no storage vol with matching name '%s'" % name)
        return Volume(self, name)

    def createXML(self, xml, flags=0):
        vol = ET.fromstring(xml)
        assert vol.find("target") is None, "an RBD image is raw: no format is given"
        self.volumes[vol.findtext("name")] = int(vol.findtext("capacity"))
        return Volume(self, vol.findtext("name"))


class Conn(object):
    def __init__(self, pools, lv):
        self.pools, self.lv, self.closed = pools, lv, False

    def storagePoolLookupByName(self, name):
        if name not in self.pools:
            raise self.lv.libvirtError("Storage pool not found: no storage pool with matching name '%s'" % name)
        return self.pools[name]

    def close(self):
        self.closed = True


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rbd_volume_case(case, tmp_path, fake_module, fake_libvirt, subst):
    (tmp_path / "base.qcow2").write_bytes(b"QFI\xfb")
    (tmp_path / "seed.iso").write_bytes(b"\0" * 4096)
    case = subst(case, {"@TMP@": str(tmp_path)})
    validated = ArgumentSpecValidator(argument_spec()).validate(case["input"])
    assert not validated.error_messages, validated.error_messages
    rbd = Pool(fake_libvirt, RBD_POOL, dict(case.get("volumes") or {}), active=not case.get("inactive"))
    conn = Conn({"skillvl-rbd": rbd, "default": Pool(fake_libvirt, DIR_POOL, {})}, fake_libvirt)
    tools = fake_module(case["run"], check_mode=case.get("check_mode", False))
    keyrings = []

    def keyring_exists(path):
        keyrings.append(path)
        return case.get("keyring", True)
    run = dict(check_mode=tools.check_mode, tools=tools, connect=lambda uri, what: conn, keyring_exists=keyring_exists)
    if "error" in case:
        with pytest.raises(RbdVolumeError) as err:
            ensure_volume(validated.validated_parameters, **run)
        assert case["error"] in err.value.msg
        assert err.value.changed == case.get("changed", err.value.changed)
    else:
        result = ensure_volume(validated.validated_parameters, **run)
        for key, want in case["expected"].items():
            have = result[key]
            if isinstance(want, dict):
                have = dict((k, v) for k, v in have.items() if k in want) if key != "diff" else dict(
                    (side, dict((k, v) for k, v in have[side].items() if k in want[side])) for side in want)
            assert have == want, (key, result)
        assert keyrings == ["/etc/ceph/ceph.client.cloud1.keyring"]
    assert tools.script == [], "commands not run: %s" % tools.script
    if "volumes_after" in case:
        assert rbd.volumes == case["volumes_after"]
