# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OvsdbSession and vxlan.ensure against a fake IDL.

The real IDL against a real ovsdb-server/ovs-vswitchd is covered by
tests/integration/test_overlay.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import ovsdb, vxlan

OPTS = {"remote_ip": "198.51.100.21", "key": "100", "dst_port": "4789", "local_ip": "198.51.100.11"}


def params(**kw):
    base = {"bridge": "br-ovl", "state": "present", "datapath_type": "netdev", "fail_mode": None,
            "vni": 100, "local_ip": "198.51.100.11", "dst_port": 4789, "df_default": None,
            "tos": None, "ttl": None, "csum": None, "exclusive": False,
            "tunnels": [{"name": "vx-ws01", "remote_ip": "198.51.100.21"}]}
    base.update(kw)
    return base


def test_snapshot(fake_ovs):
    idl = fake_ovs.Idl()
    idl.add_bridge("br-ovl", "netdev", ports=[idl.add_vxlan("vx-ws01", OPTS)])
    snap = fake_ovs(idl).snapshot()
    assert snap["bridges"]["br-ovl"]["ports"] == ["br-ovl", "vx-ws01"]
    assert snap["interfaces"]["vx-ws01"]["options"] == OPTS
    assert snap["interfaces"]["vx-ws01"]["ofport"] == 1 and snap["interfaces"]["vx-ws01"]["error"] is None
    assert snap["ports"]["vx-ws01"]["external_ids"] == {vxlan.MANAGED_KEY: vxlan.MANAGED_VALUE}
    assert snap["ovs_version"] == "3.1.0"


def test_create_in_one_transaction_then_idempotent(fake_ovs):
    idl = fake_ovs.Idl()
    session = fake_ovs(idl)
    result = vxlan.ensure(session, params())
    assert result["changed"] and result["bridge_created"] and result["added"] == ["vx-ws01"]
    assert idl.commits == 1 and idl.incremented == "next_cfg"
    assert ("Open_vSwitch", None, "bridges") in idl.verified
    br = [r for r in idl.tables["Bridge"].rows.values() if r.name == "br-ovl"][0]
    assert br.datapath_type == "netdev"
    assert sorted(p.name for p in br.ports) == ["br-ovl", "vx-ws01"]
    assert result["tunnels"][0]["vni"] == 100 and result["tunnels"][0]["managed"]
    again = vxlan.ensure(session, params())
    assert not again["changed"] and idl.commits == 1


def test_check_mode_changes_nothing(fake_ovs):
    idl = fake_ovs.Idl()
    result = vxlan.ensure(fake_ovs(idl), params(), check_mode=True)
    assert result["changed"] and idl.commits == 0 and not idl.writes
    assert result["diff"]["before"] == {} and "vx-ws01" in result["diff"]["after"]["tunnels"]
    assert result["actions"] == ["create bridge br-ovl (datapath_type=netdev)",
                                 "add tunnel vx-ws01 to %s on br-ovl" % OPTS["remote_ip"]]


def test_update_and_exclusive_delete(fake_ovs):
    idl = fake_ovs.Idl()
    idl.add_bridge("br-ovl", "netdev", ports=[idl.add_vxlan("vx-ws01", OPTS),
                                              idl.add_vxlan("vx-gone", dict(OPTS, remote_ip="198.51.100.99"))])
    result = vxlan.ensure(fake_ovs(idl), params(ttl="64", exclusive=True))
    assert result["updated"] == ["vx-ws01"] and result["removed"] == ["vx-gone"]
    assert sorted(result["actions"]) == ["delete port vx-gone from br-ovl",
                                         "update tunnel vx-ws01 to %s on br-ovl" % OPTS["remote_ip"]]
    assert idl.commits == 1
    assert ("Port", "vx-gone") in idl.deleted and ("Interface", "vx-gone") in idl.deleted
    iface = [r for r in idl.tables["Interface"].rows.values() if r.name == "vx-ws01"][0]
    assert iface.options["ttl"] == "64"
    assert [t["name"] for t in result["tunnels"]] == ["vx-ws01"]


def test_delete_bridge(fake_ovs):
    idl = fake_ovs.Idl()
    idl.add_bridge("br-keep")
    idl.add_bridge("br-ovl", "netdev", ports=[idl.add_vxlan("vx-ws01", OPTS)])
    result = vxlan.ensure(fake_ovs(idl), params(state="absent", tunnels=None))
    assert result["bridge_removed"] and [b.name for b in idl.root.bridges] == ["br-keep"]
    assert {r.name for r in idl.tables["Port"].rows.values()} == {"br-keep"}


def test_error_recorded_by_vswitchd_is_reported(fake_ovs):
    idl = fake_ovs.Idl()
    idl.add_bridge("br-ovl", "netdev", ports=[idl.add_vxlan("vx-ws01", OPTS, ofport=-1,
                                                            error="could not add network device vx-ws01")])
    with pytest.raises(vxlan.OvsRecordedError, match="could not add network device") as info:
        vxlan.ensure(fake_ovs(idl), params())
    assert not info.value.changed and list(info.value.interfaces) == ["vx-ws01"]


def test_vswitchd_not_applying_times_out(fake_ovs):
    idl = fake_ovs.Idl(applies=False)
    with pytest.raises(vxlan.OvsError, match="did not apply the change"):
        vxlan.ensure(fake_ovs(idl, timeout=0.05), params())


def test_try_again_is_retried_then_reported(fake_ovs, monkeypatch):
    idl = fake_ovs.Idl(status="try again")
    session = fake_ovs(idl)
    monkeypatch.setattr(session, "refresh", lambda: None)
    with pytest.raises(vxlan.OvsError, match="kept changing"):
        vxlan.ensure(session, params())
    assert idl.commits == 3


def test_hard_error(fake_ovs):
    idl = fake_ovs.Idl(status="error")
    with pytest.raises(vxlan.OvsError, match="rejected the change: constraint violation"):
        vxlan.ensure(fake_ovs(idl), params())


def test_bad_input_never_touches_ovsdb(fake_ovs):
    idl = fake_ovs.Idl()
    with pytest.raises(vxlan.OvsInputError):
        vxlan.ensure(fake_ovs(idl), params(vni=0))
    assert idl.commits == 0 and not idl.writes


def test_connect_without_socket(monkeypatch):
    monkeypatch.setattr(ovsdb, "HAS_OVS", True)
    with pytest.raises(vxlan.OvsError, match="does not exist"):
        ovsdb.OvsdbSession("unix:/nonexistent/db.sock").connect()


def test_log_errors(tmp_path):
    log = tmp_path / "ovs-vswitchd.log"
    log.write_text("2026|00063|dpif|WARN|failed to enumerate\n"
                   "2026|00066|ofproto|ERR|failed to open datapath br-k: No such file or directory\n"
                   "2026|00067|bridge|ERR|failed to create bridge br-k: No such file or directory\n"
                   "2026|00068|bridge|ERR|failed to create bridge br-x: nope\n")
    session = ovsdb.OvsdbSession(log=str(log))
    assert session.log_errors(["br-k"]) == ["failed to open datapath br-k: No such file or directory",
                                            "failed to create bridge br-k: No such file or directory"]
    assert ovsdb.OvsdbSession(log=str(tmp_path / "none")).log_errors(["x"]) == []


def _row(idl, table, name):
    return [r for r in idl.tables[table].rows.values() if r.name == name][0]


def test_bridge_mtu_hwaddr_and_uplink_in_one_transaction_then_idempotent(fake_ovs):
    """The userspace layout: the NIC becomes a port of a netdev bridge that takes its MAC, and the
    bridge's own port has its MTU pinned."""
    idl = fake_ovs.Idl()
    session = fake_ovs(idl)
    args = params(bridge="br-phy", tunnels=None, fail_mode="standalone", mtu=1500, hwaddr="52:54:00:AB:cd:01",
                  uplinks=["eth0"])
    result = vxlan.ensure(session, args)
    assert result["changed"] and result["uplinks_added"] == ["eth0"] and idl.commits == 1
    assert result["actions"] == ["create bridge br-phy (datapath_type=netdev, fail_mode=standalone, "
                                 "hwaddr=52:54:00:ab:cd:01, mtu=1500)", "add interface eth0 to br-phy"]
    br = _row(idl, "Bridge", "br-phy")
    assert br.other_config == {"hwaddr": "52:54:00:ab:cd:01"}
    assert sorted(p.name for p in br.ports) == ["br-phy", "eth0"]
    assert _row(idl, "Interface", "br-phy").mtu_request == [1500]
    assert _row(idl, "Interface", "eth0").type == "" and _row(idl, "Port", "eth0").external_ids == {}
    assert result["diff"]["after"]["mtu"] == 1500 and result["diff"]["after"]["hwaddr"] == "52:54:00:ab:cd:01"
    again = vxlan.ensure(session, args)
    assert not again["changed"] and idl.commits == 1


def test_bridge_mtu_and_hwaddr_changed_on_an_existing_bridge(fake_ovs):
    idl = fake_ovs.Idl()
    idl.add_bridge("br-ovl", "netdev", ports=[idl.add_vxlan("vx-ws01", OPTS)])
    _row(idl, "Bridge", "br-ovl")._data["other_config"] = {"hwaddr": "52:54:00:00:00:01", "other": "kept"}
    session = fake_ovs(idl)
    result = vxlan.ensure(session, params(mtu=1450, hwaddr="52:54:00:00:00:02"))
    assert result["bridge_updated"] == ["hwaddr", "mtu"], result
    assert result["actions"] == ["set hwaddr=52:54:00:00:00:02, mtu=1450 on bridge br-ovl"]
    assert _row(idl, "Bridge", "br-ovl").other_config == {"hwaddr": "52:54:00:00:00:02", "other": "kept"}
    assert ("Bridge", "br-ovl", "other_config") in idl.verified
    assert _row(idl, "Interface", "br-ovl").mtu_request == [1450]
    assert result["diff"]["before"].get("mtu") is None and result["diff"]["before"]["hwaddr"] == "52:54:00:00:00:01"
    assert not vxlan.ensure(session, params(mtu=1450, hwaddr="52:54:00:00:00:02"))["changed"]


def test_uplink_on_another_bridge_is_refused_before_any_change(fake_ovs):
    idl = fake_ovs.Idl()
    nic = idl.add("Port", name="eth0", interfaces=[idl.add("Interface", name="eth0")])
    idl.add_bridge("br-other", "netdev", ports=[nic])
    with pytest.raises(vxlan.OvsInputError, match="uplinks: eth0 is already a port of bridge br-other"):
        vxlan.ensure(fake_ovs(idl), params(bridge="br-phy", tunnels=None, uplinks=["eth0"]))
    assert idl.commits == 0 and not idl.writes
