# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation and planning of ovs_vxlan (pure functions, no OVS needed)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs import vxlan


def params(**kw):
    base = {"bridge": "br-ovl", "state": "present", "datapath_type": None, "fail_mode": None,
            "vni": 100, "local_ip": "198.51.100.11", "dst_port": 4789, "df_default": None,
            "tos": None, "ttl": None, "csum": None, "tunnels": [], "exclusive": False}
    base.update(kw)
    return base


def tun(remote, **kw):
    entry = {"remote_ip": remote}
    entry.update(kw)
    return entry


def snap(bridges=None):
    """Build a snapshot: bridges = {name: (datapath, {port: (options or None, managed)})}."""
    s = {"bridges": {}, "ports": {}, "interfaces": {}}
    for br, (dp, ports) in (bridges or {}).items():
        s["bridges"][br] = {"datapath_type": dp, "fail_mode": None, "ports": sorted(list(ports) + [br])}
        s["ports"][br] = {"bridge": br, "interfaces": [br], "external_ids": {}}
        s["interfaces"][br] = {"name": br, "bridge": br, "type": "internal", "options": {}, "ofport": 65534,
                               "error": None}
        for pname, (opts, managed) in ports.items():
            ids = {vxlan.MANAGED_KEY: vxlan.MANAGED_VALUE} if managed else {}
            s["ports"][pname] = {"bridge": br, "interfaces": [pname], "external_ids": ids, "protected": managed}
            s["interfaces"][pname] = {"name": pname, "bridge": br, "type": "vxlan" if opts is not None else "",
                                      "options": opts or {}, "ofport": 1, "error": None}
    return s


OPTS_WS01 = {"remote_ip": "198.51.100.21", "key": "100", "dst_port": "4789", "local_ip": "198.51.100.11"}


# --- validation ---------------------------------------------------------------------------

@pytest.mark.parametrize("vni", [0, 16777216, -1, "ten", True])
def test_vni_out_of_range_is_refused(vni):
    with pytest.raises(vxlan.OvsInputError, match="VNI"):
        vxlan.normalize(params(vni=vni, tunnels=[tun("198.51.100.21")]))


@pytest.mark.parametrize("vni", [1, 16777215])
def test_vni_bounds_are_accepted(vni):
    out = vxlan.normalize(params(vni=vni, tunnels=[tun("198.51.100.21")]))
    assert out["tunnels"][0]["options"]["key"] == str(vni)


@pytest.mark.parametrize("remote", ["198.51.100.300", "", "host.example", "198.51.100.0/24",
                                    "0.0.0.0", "127.0.0.1", "224.0.0.1", "::", "255.255.255.255", "1.2.3"])
def test_invalid_remote_is_refused(remote):
    with pytest.raises(vxlan.OvsInputError, match="remote_ip"):
        vxlan.normalize(params(tunnels=[tun(remote)]))


def test_ipv6_remote_and_mixed_family():
    out = vxlan.normalize(params(local_ip=None, tunnels=[tun("2001:db8::2")]))
    assert out["tunnels"][0]["options"]["remote_ip"] == "2001:db8::2"
    with pytest.raises(vxlan.OvsInputError, match="same IP version"):
        vxlan.normalize(params(tunnels=[tun("2001:db8::2")]))


def test_remote_equal_to_local_is_refused():
    with pytest.raises(vxlan.OvsInputError, match="own local_ip"):
        vxlan.normalize(params(tunnels=[tun("198.51.100.11")]))


def test_duplicate_remote_is_refused():
    with pytest.raises(vxlan.OvsInputError, match=r"tunnels\[1\]: duplicate remote 198.51.100.21"):
        vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="a"), tun("198.51.100.21", name="b")]))


def test_same_remote_other_vni_is_fine():
    out = vxlan.normalize(params(tunnels=[tun("198.51.100.21"), tun("198.51.100.21", vni=200)]))
    names = [t["name"] for t in out["tunnels"]]
    assert len(set(names)) == 2 and all(len(n) <= 15 for n in names)


def test_duplicate_and_bad_names():
    with pytest.raises(vxlan.OvsInputError, match="used twice"):
        vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="vx1"), tun("198.51.100.22", name="vx1")]))
    with pytest.raises(vxlan.OvsInputError, match="bridge's own name"):
        vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="br-ovl")]))
    with pytest.raises(vxlan.OvsInputError, match="port name"):
        vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="a-name-longer-than-15")]))
    with pytest.raises(vxlan.OvsInputError, match="bridge name"):
        vxlan.normalize(params(bridge="br ovl"))


def test_tunnel_options_and_defaults():
    out = vxlan.normalize(params(ttl="64", csum=True, tunnels=[
        tun("198.51.100.21", tos="inherit", df_default=False, dst_port=8472, vni=7, local_ip="198.51.100.12")]))
    assert out["tunnels"][0]["options"] == {
        "remote_ip": "198.51.100.21", "key": "7", "dst_port": "8472", "local_ip": "198.51.100.12",
        "ttl": "64", "csum": "true", "tos": "inherit", "df_default": "false"}


@pytest.mark.parametrize("kw,match", [({"ttl": "0"}, "ttl"), ({"tos": "256"}, "tos"), ({"dst_port": 0}, "dst_port"),
                                      ({"vni": None}, "no VNI")])
def test_bad_options(kw, match):
    with pytest.raises(vxlan.OvsInputError, match=match):
        vxlan.normalize(params(tunnels=[tun("198.51.100.21", **kw)] if "vni" not in kw else [tun("198.51.100.21")],
                               **(kw if "vni" in kw else {})))


def test_module_level_values_checked_without_tunnels():
    with pytest.raises(vxlan.OvsInputError, match="VNI 0"):
        vxlan.normalize(params(vni=0, tunnels=None))
    with pytest.raises(vxlan.OvsInputError, match="exclusive"):
        vxlan.normalize(params(state="absent", exclusive=True))


# --- planning -----------------------------------------------------------------------------

def test_plan_new_bridge_and_tunnels():
    desired = vxlan.normalize(params(datapath_type="netdev", tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    out = vxlan.plan(snap(), desired)
    assert [op["op"] for op in out["ops"]] == ["create_bridge", "add_tunnel"]
    assert out["ops"][0]["datapath_type"] == "netdev"
    assert out["added"] == ["vx-ws01"] and out["bridge_created"]
    assert out["before"] is None
    assert out["after"]["tunnels"]["vx-ws01"]["remote_ip"] == "198.51.100.21"


def test_plan_idempotent():
    desired = vxlan.normalize(params(datapath_type="netdev", tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    out = vxlan.plan(snap({"br-ovl": ("netdev", {"vx-ws01": (OPTS_WS01, True)})}), desired)
    assert out["ops"] == [] and out["before"] == out["after"]


def test_plan_update_options_and_adopt_unmanaged():
    desired = vxlan.normalize(params(ttl="64", tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    out = vxlan.plan(snap({"br-ovl": ("", {"vx-ws01": (OPTS_WS01, False)})}), desired)
    assert out["ops"] == [{"op": "update_tunnel", "bridge": "br-ovl", "port": "vx-ws01",
                           "options": dict(OPTS_WS01, ttl="64"), "mark": True, "protected": True}]


def test_plan_datapath_change():
    desired = vxlan.normalize(params(datapath_type="netdev", fail_mode="secure", tunnels=[]))
    out = vxlan.plan(snap({"br-ovl": ("system", {})}), desired)
    assert out["ops"] == [{"op": "update_bridge", "bridge": "br-ovl", "datapath_type": "netdev",
                           "fail_mode": "secure"}]
    # datapath omitted: left as it is
    assert vxlan.plan(snap({"br-ovl": ("system", {})}), vxlan.normalize(params()))["ops"] == []


def test_plan_exclusive_removes_only_managed_tunnels():
    state = snap({"br-ovl": ("netdev", {
        "vx-ws01": (OPTS_WS01, True),
        "vx-old": (dict(OPTS_WS01, remote_ip="198.51.100.99"), True),
        "vx-foreign": (dict(OPTS_WS01, remote_ip="198.51.100.98"), False),
        "tap0": (None, False)})})
    desired = vxlan.normalize(params(exclusive=True, tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    out = vxlan.plan(state, desired)
    assert out["ops"] == [{"op": "delete_port", "bridge": "br-ovl", "port": "vx-old"}]
    assert out["removed"] == ["vx-old"]
    # Without exclusive nothing goes.
    assert vxlan.plan(state, vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="vx-ws01")])))["ops"] == []


def test_plan_exclusive_allows_renaming_a_tunnel():
    state = snap({"br-ovl": ("netdev", {"vx-old": (OPTS_WS01, True)})})
    desired = vxlan.normalize(params(exclusive=True, tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    ops = vxlan.plan(state, desired)["ops"]
    assert [o["op"] for o in ops] == ["add_tunnel", "delete_port"]


@pytest.mark.parametrize("name,match", [
    ("tap0", "not a VXLAN tunnel"),
    ("br-other", "existing port on bridge br-other"),
    ("vx-x", "existing port on bridge br-other"),
])
def test_plan_clashing_port_names(name, match):
    state = snap({"br-ovl": ("netdev", {"tap0": (None, False)}),
                  "br-other": ("netdev", {"vx-x": (dict(OPTS_WS01, remote_ip="198.51.100.50"), True)})})
    desired = vxlan.normalize(params(tunnels=[tun("198.51.100.21", name=name)]))
    with pytest.raises(vxlan.OvsInputError, match=match):
        vxlan.plan(state, desired)


def test_plan_same_tunnel_under_other_name_clashes():
    state = snap({"br-ovl": ("netdev", {"vx-ws01": (OPTS_WS01, False)})})
    desired = vxlan.normalize(params(tunnels=[tun("198.51.100.21", name="vx-new")]))
    with pytest.raises(vxlan.OvsInputError, match="already exists as port vx-ws01"):
        vxlan.plan(state, desired)


def test_plan_bridge_name_clashes_with_port():
    state = snap({"br-phy": ("netdev", {"eth0": (None, False)})})
    with pytest.raises(vxlan.OvsInputError, match="bridge name eth0 clashes"):
        vxlan.plan(state, vxlan.normalize(params(bridge="eth0")))


def test_plan_absent():
    state = snap({"br-ovl": ("netdev", {"vx-ws01": (OPTS_WS01, True),
                                        "vx-ws02": (dict(OPTS_WS01, remote_ip="198.51.100.22"), True),
                                        "tap0": (None, False)})})
    by_remote = vxlan.normalize(params(state="absent", tunnels=[tun("198.51.100.22")]))
    out = vxlan.plan(state, by_remote)
    assert out["ops"] == [{"op": "delete_port", "bridge": "br-ovl", "port": "vx-ws02"}]
    assert sorted(out["after"]["tunnels"]) == ["vx-ws01"]
    whole = vxlan.plan(state, vxlan.normalize(params(state="absent", tunnels=None)))
    assert whole["ops"] == [{"op": "delete_bridge", "bridge": "br-ovl"}] and whole["after"] is None
    assert whole["removed"] == ["vx-ws01", "vx-ws02"]
    with pytest.raises(vxlan.OvsInputError, match="refusing"):
        vxlan.plan(state, vxlan.normalize(params(state="absent", tunnels=[tun("198.51.100.23", name="tap0")])))
    assert vxlan.plan(snap(), vxlan.normalize(params(state="absent", tunnels=None)))["ops"] == []


def test_recorded_errors():
    state = snap({"br-ovl": ("system", {"vx-ws01": (OPTS_WS01, True)})})
    state["interfaces"]["br-ovl"]["ofport"] = None
    state["interfaces"]["vx-ws01"]["error"] = "could not add network device vx-ws01"
    problems = vxlan.recorded_errors(state, ["br-ovl", "vx-ws01", "missing"])
    assert "kernel module" in problems["br-ovl"] and problems["vx-ws01"].startswith("could not add")
    state["interfaces"]["vx-ws01"]["error"] = None
    state["interfaces"]["vx-ws01"]["ofport"] = -1
    assert "ofport -1" in vxlan.recorded_errors(state, ["vx-ws01"])["vx-ws01"]


def test_split_horizon():
    state = snap({"br-ovl": ("netdev", {"vx-ws01": (OPTS_WS01, True)})})
    hub = vxlan.normalize(params(split_horizon=False, tunnels=[tun("198.51.100.21", name="vx-ws01")]))
    out = vxlan.plan(state, hub)
    assert out["ops"] == [{"op": "update_tunnel", "bridge": "br-ovl", "port": "vx-ws01", "options": OPTS_WS01,
                           "mark": False, "protected": False}]
    assert out["before"]["tunnels"]["vx-ws01"]["split_horizon"] is True
    assert out["after"]["tunnels"]["vx-ws01"]["split_horizon"] is False


@pytest.mark.parametrize("kw,match", [
    (dict(mtu=67), "mtu 67 is out of range"),
    (dict(mtu=65536), "mtu 65536 is out of range"),
    (dict(hwaddr="52:54:00:ab:cd"), "not a MAC address"),
    (dict(hwaddr="01:00:5e:00:00:01"), "multicast"),
    (dict(uplinks=["eth0", "eth0"]), "eth0 is given twice"),
    (dict(uplinks=["br-ovl"]), "bridge's own name"),
    (dict(uplinks=["bad name"]), "interface name 'bad name' is invalid"),
    (dict(uplinks=["vx-ws01"], tunnels=[tun("198.51.100.21", name="vx-ws01")]), "also listed in uplinks"),
    (dict(state="absent", mtu=1500), "apply to state=present only"),
])
def test_bridge_settings_refused(kw, match):
    with pytest.raises(vxlan.OvsInputError, match=match):
        vxlan.normalize(params(**kw))


def test_plan_uplink_already_there_and_vxlan_port_as_uplink():
    state = snap({"br-phy": ("netdev", {"eth0": (None, False), "vx-ws01": (OPTS_WS01, True)})})
    assert vxlan.plan(state, vxlan.normalize(params(bridge="br-phy", uplinks=["eth0"])))["ops"] == []
    with pytest.raises(vxlan.OvsInputError, match="is a VXLAN tunnel port"):
        vxlan.plan(state, vxlan.normalize(params(bridge="br-phy", uplinks=["vx-ws01"])))
