# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VXLAN tunnels on an Open vSwitch bridge: validation, planning, and the OVSDB run.

The planning half is pure: it takes a snapshot of the OVS configuration (plain dicts, see
``ovsdb.OvsdbSession.snapshot``) and the desired state, and returns a plan of operations
plus a before/after view for diff mode. ``ensure`` and ``describe`` connect the plan to a
live OVSDB session (the Open vSwitch Python IDL, one transaction per run).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import zlib

from ansible_collections.skillvl.offline_first.plugins.module_utils.ovs.common import (  # noqa: F401 (errors re-exported)
    ADD_TUNNEL, ADD_UPLINK, BRIDGE_SETTINGS, CREATE_BRIDGE, DELETE_BRIDGE, DELETE_PORT, MANAGED_KEY, MANAGED_VALUE,
    UPDATE_BRIDGE, UPDATE_TUNNEL, OvsError, OvsInputError, OvsRecordedError, OvsTryAgain, connection_argument_spec, describe_op, op)

try:
    import netaddr
    HAS_NETADDR = True
except ImportError:
    HAS_NETADDR = False


VNI_MIN = 1
VNI_MAX = 16777215
IFNAMSIZ = 15
DEFAULT_DST_PORT = 4789
DATAPATH_TYPES = ("system", "netdev")
FAIL_MODES = ("standalone", "secure")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MTU_MIN, MTU_MAX = 68, 65535


# What a tunnel may set for itself; given at module level, each is every tunnel's default.
_PER_TUNNEL = dict(
    local_ip=dict(type="str"),
    vni=dict(type="int"),
    dst_port=dict(type="int"),
    df_default=dict(type="bool"),
    tos=dict(type="str"),
    ttl=dict(type="str"),
    csum=dict(type="bool"),
)
TUNNEL_SPEC = dict(name=dict(type="str"), remote_ip=dict(type="str", required=True), **_PER_TUNNEL)


def argument_spec():
    """The options of ovs_vxlan: the desired bridge and tunnels, and how to reach OVSDB."""
    spec = dict((key, dict(value)) for key, value in _PER_TUNNEL.items())
    spec["dst_port"]["default"] = DEFAULT_DST_PORT
    spec.update(
        bridge=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        datapath_type=dict(type="str", choices=list(DATAPATH_TYPES)),
        fail_mode=dict(type="str", choices=list(FAIL_MODES)),
        mtu=dict(type="int"),
        hwaddr=dict(type="str"),
        uplinks=dict(type="list", elements="str"),
        tunnels=dict(type="list", elements="dict", options=TUNNEL_SPEC),
        split_horizon=dict(type="bool", default=True),
        exclusive=dict(type="bool", default=False),
    )
    spec.update(connection_argument_spec())
    return spec


# --- validation ---------------------------------------------------------------------------

def _ip(value, what):
    if not HAS_NETADDR:
        raise OvsError("the Python library netaddr is needed on the host (Debian: python3-netaddr)")
    text = str(value).strip() if value is not None else ""
    try:
        if not text or "/" in text:
            raise ValueError(text)
        addr = netaddr.IPAddress(text, flags=netaddr.INET_PTON)
    except (ValueError, TypeError, netaddr.AddrFormatError):
        raise OvsInputError("%s %r is not a valid IPv4 or IPv6 address" % (what, value))
    if addr.value == 0 or addr.is_multicast() or addr.is_loopback() or \
            (addr.version == 4 and addr == netaddr.IPAddress("255.255.255.255")):
        raise OvsInputError("%s %s cannot be a VXLAN endpoint (unspecified, loopback, broadcast "
                            "or multicast address)" % (what, addr))
    return addr


def _int_in(value, lo, hi, what):
    if isinstance(value, bool):
        raise OvsInputError("%s must be an integer between %d and %d, got %r" % (what, lo, hi, value))
    try:
        number = int(str(value), 10)
    except (TypeError, ValueError):
        raise OvsInputError("%s must be an integer between %d and %d, got %r" % (what, lo, hi, value))
    if number < lo or number > hi:
        raise OvsInputError("%s %d is out of range: it must be between %d and %d" % (what, number, lo, hi))
    return number


def _inherit_or_int(value, lo, hi, what):
    if value is None:
        return None
    if str(value).strip().lower() == "inherit":
        return "inherit"
    return str(_int_in(value, lo, hi, what + " (or 'inherit')"))


def validate_port_name(name, what="port name"):
    if not name or len(name) > IFNAMSIZ or not _NAME_RE.match(name):
        raise OvsInputError("%s %r is invalid: use 1 to %d letters, digits, '.', '-' or '_'"
                            % (what, name, IFNAMSIZ))
    return name


def default_port_name(remote_ip, vni, dst_port):
    """A stable name that fits IFNAMSIZ: vx + crc32 of (remote, VNI, UDP port)."""
    seed = ("%s/%d/%d" % (remote_ip, vni, dst_port)).encode("ascii")
    return "vx%08x" % (zlib.crc32(seed) & 0xffffffff)


def _mac(value):
    text = str(value).strip().lower()
    if not _MAC_RE.match(text):
        raise OvsInputError("hwaddr %r is not a MAC address (six hex pairs joined by ':')" % (value,))
    if int(text[:2], 16) & 1:
        raise OvsInputError("hwaddr %s is a multicast address: a bridge needs a unicast one" % text)
    return text


def _flag(value):
    if value is None:
        return None
    return "true" if value else "false"


def normalize(params):
    """Validate the module parameters; return the desired state.

    ``params`` has the module's options (bridge, state, datapath_type, fail_mode, vni,
    local_ip, dst_port, df_default, tos, ttl, csum, tunnels, exclusive). Raises
    OvsInputError naming the first problem found.
    """
    bridge = validate_port_name(params.get("bridge"), "bridge name")
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        raise OvsInputError("state must be present or absent, got %r" % state)
    dp = params.get("datapath_type")
    if dp is not None and dp not in DATAPATH_TYPES:
        raise OvsInputError("datapath_type must be one of %s, got %r" % (", ".join(DATAPATH_TYPES), dp))
    fail_mode = params.get("fail_mode")
    if fail_mode is not None and fail_mode not in FAIL_MODES:
        raise OvsInputError("fail_mode must be one of %s, got %r" % (", ".join(FAIL_MODES), fail_mode))

    mtu = _int_in(params["mtu"], MTU_MIN, MTU_MAX, "mtu") if params.get("mtu") is not None else None
    hwaddr = _mac(params["hwaddr"]) if params.get("hwaddr") not in (None, "") else None
    uplinks = []
    for name in params.get("uplinks") or []:
        validate_port_name(name, "uplinks: interface name")
        if name == bridge:
            raise OvsInputError("uplinks: %s is the bridge's own name" % name)
        if name in uplinks:
            raise OvsInputError("uplinks: %s is given twice" % name)
        uplinks.append(name)
    if state == "absent" and (mtu is not None or hwaddr is not None or uplinks):
        raise OvsInputError("mtu, hwaddr and uplinks apply to state=present only")

    defaults = {
        "vni": params.get("vni"),
        "local_ip": params.get("local_ip"),
        "dst_port": params.get("dst_port") if params.get("dst_port") is not None else DEFAULT_DST_PORT,
        "df_default": params.get("df_default"),
        "tos": params.get("tos"),
        "ttl": params.get("ttl"),
        "csum": params.get("csum"),
    }
    tunnels = []
    seen_names = {}
    seen_keys = {}
    raw_tunnels = params.get("tunnels")
    for index, raw in enumerate(raw_tunnels or []):
        where = "tunnels[%d]" % index
        if not isinstance(raw, dict):
            raise OvsInputError("%s must be a dictionary with at least remote_ip" % where)
        merged = dict(defaults)
        merged.update(dict((k, v) for k, v in raw.items() if v is not None))
        if merged.get("remote_ip") in (None, ""):
            raise OvsInputError("%s: remote_ip is required" % where)
        remote = _ip(merged["remote_ip"], "%s: remote_ip" % where)
        local = None
        if merged.get("local_ip") not in (None, ""):
            local = _ip(merged["local_ip"], "%s: local_ip" % where)
            if local.version != remote.version:
                raise OvsInputError("%s: local_ip %s and remote_ip %s are not of the same IP version"
                                    % (where, local, remote))
            if local == remote:
                raise OvsInputError("%s: remote_ip %s is this host's own local_ip" % (where, remote))
        if merged.get("vni") is None:
            raise OvsInputError("%s: no VNI given (set vni on the tunnel or for the module)" % where)
        vni = _int_in(merged["vni"], VNI_MIN, VNI_MAX, "%s: VNI" % where)
        dst_port = _int_in(merged["dst_port"], 1, 65535, "%s: dst_port" % where)
        key = (str(remote), vni, dst_port, str(local) if local else None)
        if key in seen_keys:
            raise OvsInputError("%s: duplicate remote %s (VNI %d, UDP port %d) already given as tunnels[%d]"
                                % (where, remote, vni, dst_port, seen_keys[key]))
        seen_keys[key] = index
        name = merged.get("name") or default_port_name(remote, vni, dst_port)
        validate_port_name(name, "%s: port name" % where)
        if name == bridge:
            raise OvsInputError("%s: port name %s clashes with the bridge's own name" % (where, name))
        if name in seen_names:
            raise OvsInputError("%s: port name %s is used twice (also by tunnels[%d])"
                                % (where, name, seen_names[name]))
        if name in uplinks:
            raise OvsInputError("%s: port name %s is also listed in uplinks" % (where, name))
        seen_names[name] = index
        options = {"remote_ip": str(remote), "key": str(vni), "dst_port": str(dst_port)}
        if local is not None:
            options["local_ip"] = str(local)
        for opt, value in (("df_default", _flag(merged.get("df_default"))),
                           ("tos", _inherit_or_int(merged.get("tos"), 0, 255, "%s: tos" % where)),
                           ("ttl", _inherit_or_int(merged.get("ttl"), 1, 255, "%s: ttl" % where)),
                           ("csum", _flag(merged.get("csum")))):
            if value is not None:
                options[opt] = value
        tunnels.append({"name": name, "options": options,
                        "protected": True if params.get("split_horizon") is None else bool(params.get("split_horizon"))})

    # Validate module-level values even when no tunnel uses them.
    if defaults["vni"] is not None:
        _int_in(defaults["vni"], VNI_MIN, VNI_MAX, "VNI")
    _int_in(defaults["dst_port"], 1, 65535, "dst_port")
    if defaults["local_ip"] not in (None, ""):
        _ip(defaults["local_ip"], "local_ip")
    _inherit_or_int(defaults["tos"], 0, 255, "tos")
    _inherit_or_int(defaults["ttl"], 1, 255, "ttl")

    split_horizon = params.get("split_horizon")
    exclusive = bool(params.get("exclusive"))
    if state == "absent" and exclusive:
        raise OvsInputError("exclusive applies to state=present only")
    return {
        "bridge": bridge,
        "state": state,
        "datapath_type": dp,
        "fail_mode": fail_mode,
        "mtu": mtu,
        "hwaddr": hwaddr,
        "uplinks": uplinks,
        "tunnels": tunnels,
        "tunnels_given": raw_tunnels is not None,
        "exclusive": exclusive,
        "split_horizon": True if split_horizon is None else bool(split_horizon),
    }


# --- snapshot helpers ----------------------------------------------------------------------

def _tunnel_identity(options):
    return (options.get("remote_ip"), options.get("key", "0"), options.get("dst_port", str(DEFAULT_DST_PORT)),
            options.get("local_ip"))


def bridge_view(snapshot, bridge):
    """The bridge and its managed VXLAN tunnels as the diff shows them (None if absent)."""
    br = snapshot["bridges"].get(bridge)
    if br is None:
        return None
    view = {
        "name": bridge,
        "datapath_type": br.get("datapath_type") or "system",
        "fail_mode": br.get("fail_mode") or "standalone",
        "tunnels": {},
    }
    own = snapshot["interfaces"].get(bridge) or {}
    for key, value in (("hwaddr", br.get("hwaddr")), ("mtu", own.get("mtu_request"))):
        if value is not None:
            view[key] = value
    for pname in br["ports"]:
        port = snapshot["ports"][pname]
        for iname in port["interfaces"]:
            iface = snapshot["interfaces"][iname]
            if iface["type"] == "vxlan":
                entry = dict(iface["options"])
                entry["managed"] = port["external_ids"].get(MANAGED_KEY) == MANAGED_VALUE
                entry["split_horizon"] = bool(port.get("protected"))
                view["tunnels"][pname] = entry
    return view


def _is_managed(snapshot, pname):
    return snapshot["ports"][pname]["external_ids"].get(MANAGED_KEY) == MANAGED_VALUE


def _vxlan_iface(snapshot, pname):
    """The VXLAN interface of a single-interface port, or None."""
    port = snapshot["ports"][pname]
    if len(port["interfaces"]) != 1:
        return None
    iface = snapshot["interfaces"].get(port["interfaces"][0])
    if iface is None or iface["type"] != "vxlan" or iface["name"] != pname:
        return None
    return iface


# --- planning ------------------------------------------------------------------------------

def plan(snapshot, desired):
    """Compare a snapshot with the desired state.

    Returns a dict with ``ops`` (a list of operations for ``OvsdbSession.apply``),
    ``added``, ``updated``, ``removed`` (tunnel port names), ``bridge_created``,
    ``bridge_removed`` and ``before``/``after`` views. Raises OvsInputError on clashes,
    before anything is changed.
    """
    bridge = desired["bridge"]
    before = bridge_view(snapshot, bridge)
    br = snapshot["bridges"].get(bridge)
    ops = []
    result = {"added": [], "updated": [], "removed": [], "bridge_created": False,
              "bridge_removed": False, "bridge_updated": [], "uplinks_added": []}

    if bridge in snapshot["ports"] and snapshot["ports"][bridge]["bridge"] != bridge:
        raise OvsInputError("bridge name %s clashes with port %s of bridge %s"
                            % (bridge, bridge, snapshot["ports"][bridge]["bridge"]))

    if desired["state"] == "absent":
        if br is None:
            pass
        elif not desired["tunnels_given"]:
            ops.append(op(DELETE_BRIDGE, bridge))
            result["bridge_removed"] = True
            result["removed"] = sorted(p for p in br["ports"] if _vxlan_iface(snapshot, p) is not None)
        else:
            wanted = dict((t["name"], t) for t in desired["tunnels"])
            for pname in br["ports"]:
                iface = _vxlan_iface(snapshot, pname)
                if iface is None:
                    if pname in wanted and pname != bridge:
                        raise OvsInputError("port %s on bridge %s is not a VXLAN tunnel port: refusing to remove it"
                                            % (pname, bridge))
                    continue
                ident = _tunnel_identity(iface["options"])
                hit = pname in wanted or any(
                    _tunnel_identity(t["options"]) == ident for t in desired["tunnels"])
                if hit:
                    ops.append(op(DELETE_PORT, bridge, port=pname))
                    result["removed"].append(pname)
        after = _apply_view(before, ops, desired)
        result.update({"ops": ops, "before": before, "after": after})
        return result

    # state == present
    own_settings = dict((key, desired[key]) for key in ("hwaddr", "mtu") if desired[key] is not None)
    if br is None:
        ops.append(op(CREATE_BRIDGE, bridge, datapath_type=desired["datapath_type"] or "system",
                      fail_mode=desired["fail_mode"], **own_settings))
        result["bridge_created"] = True
    else:
        changes = {}
        if desired["datapath_type"] is not None and \
                (br.get("datapath_type") or "system") != desired["datapath_type"]:
            changes["datapath_type"] = desired["datapath_type"]
        if desired["fail_mode"] is not None and (br.get("fail_mode") or "standalone") != desired["fail_mode"]:
            changes["fail_mode"] = desired["fail_mode"]
        if "hwaddr" in own_settings and (br.get("hwaddr") or "").lower() != desired["hwaddr"]:
            changes["hwaddr"] = desired["hwaddr"]
        if "mtu" in own_settings and (snapshot["interfaces"].get(bridge) or {}).get("mtu_request") != desired["mtu"]:
            changes["mtu"] = desired["mtu"]
        if changes:
            ops.append(op(UPDATE_BRIDGE, bridge, **changes))
            result["bridge_updated"] = sorted(changes)

    for name in desired["uplinks"]:
        port = snapshot["ports"].get(name)
        if port is None:
            ops.append(op(ADD_UPLINK, bridge, port=name))
            result["uplinks_added"].append(name)
        elif port["bridge"] != bridge:
            raise OvsInputError("uplinks: %s is already a port of bridge %s; remove it there first"
                                % (name, port["bridge"]))
        elif _vxlan_iface(snapshot, name) is not None:
            raise OvsInputError("uplinks: %s is a VXLAN tunnel port of bridge %s, not a network interface"
                                % (name, bridge))

    wanted_names = set(t["name"] for t in desired["tunnels"])
    own_ports = set(br["ports"]) if br else set()
    leaving = set()
    if desired["exclusive"] and br is not None:
        for pname in sorted(own_ports):
            if pname not in wanted_names and _is_managed(snapshot, pname) and _vxlan_iface(snapshot, pname):
                leaving.add(pname)

    for tun in desired["tunnels"]:
        name = tun["name"]
        port = snapshot["ports"].get(name)
        if port is not None and port["bridge"] != bridge:
            raise OvsInputError("port name %s clashes with an existing port on bridge %s" % (name, port["bridge"]))
        if port is None and name in snapshot["interfaces"]:
            raise OvsInputError("port name %s clashes with an existing OVS interface of that name" % name)
        ident = _tunnel_identity(tun["options"])
        for other, iface in sorted(snapshot["interfaces"].items()):
            if other == name or other in leaving or iface["type"] != "vxlan":
                continue
            if _tunnel_identity(iface["options"]) == ident:
                raise OvsInputError(
                    "the tunnel to %s (VNI %s, UDP port %s) already exists as port %s on bridge %s; "
                    "name it %s or remove that port first"
                    % (ident[0], ident[1], ident[2], other, iface.get("bridge"), other))
        if port is None:
            ops.append(op(ADD_TUNNEL, bridge, port=name, options=tun["options"], protected=tun["protected"]))
            result["added"].append(name)
            continue
        iface = _vxlan_iface(snapshot, name)
        if iface is None:
            raise OvsInputError("port name %s clashes with an existing port on bridge %s that is not a "
                                "VXLAN tunnel" % (name, bridge))
        managed = _is_managed(snapshot, name)
        if iface["options"] != tun["options"] or not managed or \
                bool(port.get("protected")) != tun["protected"]:
            ops.append(op(UPDATE_TUNNEL, bridge, port=name, options=tun["options"], mark=not managed,
                          protected=tun["protected"]))
            result["updated"].append(name)

    for pname in sorted(leaving):
        ops.append(op(DELETE_PORT, bridge, port=pname))
        result["removed"].append(pname)

    after = _apply_view(before, ops, desired)
    result.update({"ops": ops, "before": before, "after": after})
    return result


def _apply_view(before, ops, desired):
    """The bridge view after the planned operations."""
    view = None
    if before is not None:
        view = dict(before)
        view["tunnels"] = dict((k, dict(v)) for k, v in before["tunnels"].items())
    for step in ops:
        kind = step["op"]
        if kind == CREATE_BRIDGE:
            view = {"name": step["bridge"], "datapath_type": step["datapath_type"],
                    "fail_mode": step["fail_mode"] or "standalone", "tunnels": {}}
            view.update((key, step[key]) for key in ("hwaddr", "mtu") if step.get(key) is not None)
        elif kind == UPDATE_BRIDGE:
            for key in BRIDGE_SETTINGS:
                if key in step:
                    view[key] = step[key]
        elif kind == DELETE_BRIDGE:
            view = None
        elif kind in (ADD_TUNNEL, UPDATE_TUNNEL):
            entry = dict(step["options"])
            entry["managed"] = True
            entry["split_horizon"] = step["protected"]
            view["tunnels"][step["port"]] = entry
        elif kind == DELETE_PORT:
            view["tunnels"].pop(step["port"], None)
    return view


# --- errors recorded by ovs-vswitchd --------------------------------------------------------

def recorded_errors(snapshot, names):
    """{interface: message} for interfaces among ``names`` on which OVS recorded a failure."""
    problems = {}
    for name in names:
        iface = snapshot["interfaces"].get(name)
        if iface is None:
            continue
        if iface.get("error"):
            problems[name] = iface["error"]
        elif iface.get("ofport") == -1:
            problems[name] = "OVS could not attach it (ofport -1)"
        elif iface.get("ofport") is None:
            problems[name] = ("ovs-vswitchd did not set it up (no OpenFlow port); for a bridge with "
                              "datapath_type system this means the openvswitch kernel module is missing")
    return problems


def tunnel_facts(snapshot, bridge):
    """Tunnel ports of a bridge as the module returns them."""
    facts = []
    br = snapshot["bridges"].get(bridge)
    if br is None:
        return facts
    for pname in sorted(br["ports"]):
        iface = _vxlan_iface(snapshot, pname)
        if iface is None:
            continue
        opts = iface["options"]
        facts.append({
            "name": pname,
            "remote_ip": opts.get("remote_ip"),
            "local_ip": opts.get("local_ip"),
            "vni": int(opts["key"]) if str(opts.get("key", "")).isdigit() else opts.get("key"),
            "dst_port": int(opts.get("dst_port", DEFAULT_DST_PORT)),
            "options": dict(opts),
            "ofport": iface.get("ofport"),
            "error": iface.get("error"),
            "managed": _is_managed(snapshot, pname),
            "split_horizon": bool(snapshot["ports"][pname].get("protected")),
        })
    return facts


# --- the run against OVSDB ------------------------------------------------------------------

def ensure(session, params, check_mode=False, attempts=3):
    """Validate, plan, apply in one transaction, wait for ovs-vswitchd, check for errors.

    ``session`` is an ``ovsdb.OvsdbSession`` (or a test double with the same methods).
    Returns a result dict for the module.
    """
    desired = normalize(params)
    planned = None
    for attempt in range(attempts):
        snapshot = session.snapshot()
        planned = plan(snapshot, desired)
        if check_mode or not planned["ops"]:
            break
        try:
            next_cfg = session.apply(planned["ops"], comment="ovs_vxlan: %s" % desired["bridge"])
        except OvsTryAgain:
            if attempt + 1 == attempts:
                raise OvsError("OVSDB kept changing under this run (%d attempts): another client is "
                               "reconfiguring bridge %s" % (attempts, desired["bridge"]))
            session.refresh()
            continue
        session.wait_applied(next_cfg)
        break
    changed = bool(planned["ops"])
    snapshot = session.snapshot() if (changed and not check_mode) else snapshot
    result = {
        "changed": changed,
        "bridge": desired["bridge"],
        "added": planned["added"],
        "updated": planned["updated"],
        "removed": planned["removed"],
        "bridge_created": planned["bridge_created"],
        "bridge_removed": planned["bridge_removed"],
        "bridge_updated": planned["bridge_updated"],
        "uplinks_added": planned["uplinks_added"],
        "actions": [describe_op(step) for step in planned["ops"]],
        "diff": {"before": planned["before"] or {}, "after": planned["after"] or {}},
        "tunnels": tunnel_facts(snapshot, desired["bridge"]),
    }
    if not check_mode and desired["state"] == "present":
        names = [desired["bridge"]] + [t["name"] for t in desired["tunnels"]]
        problems = recorded_errors(snapshot, names)
        if desired["bridge"] in problems:
            # The bridge itself failed: its tunnels failed with it, name the cause only.
            problems = {desired["bridge"]: problems[desired["bridge"]]}
        if problems:
            logged = session.log_errors(sorted(problems))
            text = "; ".join("%s: %s" % (k, v) for k, v in sorted(problems.items()))
            if logged:
                text += " (ovs-vswitchd log: %s)" % " | ".join(logged)
            raise OvsRecordedError("ovs-vswitchd could not set up bridge %s: %s"
                                   % (desired["bridge"], text), problems, changed)
    return result


def describe(session, bridge=None):
    """Read-only view: bridges with their VXLAN tunnel ports (for ovs_vxlan_info)."""
    snapshot = session.snapshot()
    names = [bridge] if bridge else sorted(snapshot["bridges"])
    bridges = []
    for name in names:
        br = snapshot["bridges"].get(name)
        if br is None:
            continue
        internal = snapshot["interfaces"].get(name, {})
        bridges.append({
            "name": name,
            "datapath_type": br.get("datapath_type") or "system",
            "fail_mode": br.get("fail_mode") or "standalone",
            "error": internal.get("error"),
            "ports": sorted(br["ports"]),
            "tunnels": tunnel_facts(snapshot, name),
        })
    return {"bridges": bridges, "ovs_version": snapshot.get("ovs_version")}
