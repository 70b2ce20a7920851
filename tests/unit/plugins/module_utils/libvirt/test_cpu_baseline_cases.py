# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vm_cpu_baseline's hosts -> the exact baselineHypervisorCPU call and result (test_cpu_baseline_cases.yaml)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import types
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt import cpu, session
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import LibvirtError

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_cpu_baseline_cases.yaml")) as _f:
    CASES = yaml.safe_load(_f)

# libvirt-host.h's virConnectBaselineCPUFlags (stable ABI)
FLAGS = {"expand_features": 1, "migratable": 2}


class FakeLibvirtError(Exception):
    def get_error_code(self):
        return 1

    def get_error_message(self):
        return str(self)


def cpu_xml(model, vendor, features=()):
    return "<cpu><model>%s</model><vendor>%s</vendor>%s</cpu>" % (
        model, vendor, "".join("<feature policy='%s' name='%s'/>" % (policy, name) for name, policy in features))


def cpu_key(xml):
    """"model/vendor[/feature...]" of a <cpu> element, as the cases write the CPUs libvirt gets."""
    root = ET.fromstring(xml)
    return "/".join([root.findtext("model"), root.findtext("vendor")] + [f.get("name") for f in root.findall("feature")])


class FakeConn(object):
    def __init__(self, case, uri, calls):
        self.host, self.case, self.calls = case["host_cpus"][uri], case, calls

    def getCapabilities(self):
        return ("<capabilities><host><uuid>u</uuid><cpu><arch>x86_64</arch><model>%s</model><vendor>%s</vendor>"
                "</cpu></host></capabilities>" % (self.host["model"], self.host["vendor"]))

    def getDomainCapabilities(self, emulator, arch, machine, virt_type, flags):
        if not self.host["host_model"]:
            return "<domainCapabilities><cpu><mode name='host-model' supported='no'/></cpu></domainCapabilities>"
        return ("<domainCapabilities><cpu><mode name='host-model' supported='yes'><model>%s</model>"
                "<vendor>%s</vendor>%s</mode></cpu></domainCapabilities>"
                % (self.host["host_model"], self.host["vendor"],
                   "".join("<feature policy='require' name='%s'/>" % f for f in self.host["features"])))

    def baselineHypervisorCPU(self, emulator, arch, machine, virt_type, cpus, flags):
        self.calls.append(dict(arch=arch, machine=machine, virt_type=virt_type, flags=flags,
                               cpus=[cpu_key(c) for c in cpus]))
        if "refuses" in self.case:
            raise FakeLibvirtError(self.case["refuses"])
        answer = self.case["baseline"]
        return cpu_xml(answer["model"], answer["vendor"], sorted(answer["features"].items()))

    def close(self):
        return 0


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_cpu_baseline_case(case, monkeypatch):
    calls = []
    lv = types.SimpleNamespace(libvirtError=FakeLibvirtError, VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES=1,
                               VIR_CONNECT_BASELINE_CPU_MIGRATABLE=2,
                               open=lambda uri: FakeConn(case, uri, calls))
    monkeypatch.setattr(session, "libvirt", lv)
    monkeypatch.setattr(session, "HAS_LIBVIRT", True)

    def run():
        return cpu.cpu_baseline(list(case["host_cpus"]), **case["options"])

    if "error" in case:
        with pytest.raises(LibvirtError) as err:
            run()
        assert all(part in str(err.value) for part in case["error"]), str(err.value)
        return
    out = run()
    call = dict(case["call"], flags=sum(FLAGS[name] for name in case["call"]["flags"]))
    assert calls == [call]
    assert dict((k, out[k]) for k in case["result"]) == case["result"]
    assert sorted(out["hosts"]) == sorted(case["host_cpus"])
