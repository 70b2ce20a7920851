# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VXLAN overlay (role ovs_overlay, module ovs_vxlan) in the local lab.

Endpoints are OVS internal ports of br-ovl moved into namespaces inside the host containers,
with 203.0.113.0/24 addresses; the kernel-VXLAN peer lives in a namespace on storage1.
Every loop is bounded; every test removes what it made.
"""

import json
import os
import re
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BRIDGE = "br-ovl"
VNI = 10100
UNDERLAY = {"cloud1": "198.51.100.11", "ws01": "198.51.100.21", "ws02": "198.51.100.22",
            "storage1": "198.51.100.31"}
ENDPOINTS = {"cloud1": "203.0.113.101", "ws01": "203.0.113.102", "ws02": "203.0.113.103"}
KVX_ADDR = "203.0.113.104"
GUEST = "ovl-mig"
GUEST_ADDR = "203.0.113.50"
OVERLAY_HOST = {"cloud1": "203.0.113.11", "ws01": "203.0.113.21", "ws02": "203.0.113.22"}
BOOT = "/var/lib/libvirt/boot/skillvl-lab-guest"
VXLAN = "skillvl.offline_first.ovs_vxlan"
VXLAN_INFO = "skillvl.offline_first.ovs_vxlan_info"


def tunnels(lab, host):
    res = lab.module(host, VXLAN_INFO, {"bridge": BRIDGE})
    assert not res.get("failed"), res
    return dict((t["remote_ip"], t) for t in res["bridges"][0]["tunnels"])


def ovs_state(lab, host):
    return lab.run(host, "ovs-vsctl show").stdout


def ping(lab, host, netns, addr, count=3):
    cmd = "ip netns exec %s ping -n -q -c %d -i 0.3 -W 2 %s" % (netns, count, addr)
    return lab.run(host, cmd, check=False, timeout=30)


def add_endpoint(lab, host, name, addr):
    """An OVS internal port of br-ovl inside namespace `name` of the host container."""
    lab.run(host, " && ".join([
        "ip netns add %s" % name,
        "ovs-vsctl --timeout=20 add-port %s %s -- set Interface %s type=internal" % (BRIDGE, name, name),
        "for i in $(seq 50); do ip link show %s >/dev/null 2>&1 && break; sleep 0.1; done" % name,
        "ip link set %s netns %s" % (name, name),
        "ip -n %s link set lo up" % name,
        "ip -n %s link set %s mtu 1450 up" % (name, name),
        "ip -n %s addr add %s/24 dev %s" % (name, addr, name),
        "ip netns exec %s ethtool -K %s tx off >/dev/null" % (name, name),
    ]))


def del_endpoint(lab, host, name):
    lab.run(host, "ovs-vsctl --if-exists del-port %s %s; ip netns del %s 2>/dev/null; true"
            % (BRIDGE, name, name), check=False)


@pytest.fixture(scope="module")
def overlay(lab):
    """The overlay as playbooks/overlay.yml builds it; site.yml includes it, so usually it is there."""
    if lab.run("cloud1", "ovs-vsctl br-exists %s" % BRIDGE, check=False).returncode != 0:
        lab.playbook("playbooks/overlay.yml")
    return BRIDGE


@pytest.fixture(scope="module")
def endpoints(lab, overlay):
    made = []
    try:
        for host, addr in ENDPOINTS.items():
            add_endpoint(lab, host, "ep1", addr)
            made.append(host)
        yield ENDPOINTS
    finally:
        for host in made:
            del_endpoint(lab, host, "ep1")


def test_underlay_reachable_by_name(lab, overlay):
    for host in ("cloud1", "ws01", "ws02"):
        for peer in ("cloud1", "ws01", "ws02", "storage1"):
            if peer != host:
                proc = lab.run(host, "ping -n -q -c 1 -W 2 %s" % peer, check=False, timeout=30)
                assert proc.returncode == 0, "%s cannot reach %s on the underlay:\n%s" % (host, peer, proc.stdout)


def test_tunnels_match_the_mesh(lab, overlay):
    for host in ("cloud1", "ws01", "ws02"):
        found = tunnels(lab, host)
        expected = set(UNDERLAY[p] for p in ("cloud1", "ws01", "ws02") if p != host)
        assert set(found) == expected
        for t in found.values():
            assert t["vni"] == VNI and t["dst_port"] == 4789 and t["local_ip"] == UNDERLAY[host]
            assert t["error"] is None and t["ofport"] > 0 and t["managed"] and t["split_horizon"]
    net = lab.virsh("cloud1", "net-dumpxml", "skillvl-ovl").stdout
    assert "<virtualport type='openvswitch'" in net and "bridge name='br-ovl'" in net


def test_endpoints_reach_each_other(lab, endpoints):
    for host in endpoints:
        for peer, addr in endpoints.items():
            if peer != host:
                proc = ping(lab, host, "ep1", addr)
                assert proc.returncode == 0, "%s -> %s (%s) over the overlay:\n%s" % (host, peer, addr, proc.stdout)


def test_inner_mtu_1450_passes_and_larger_does_not(lab, endpoints):
    # 1450 - 28 bytes of IP + ICMP headers, DF set: fits the inner MTU end to end.
    ok = lab.run("cloud1", "ip netns exec ep1 ping -n -q -c 2 -W 2 -M do -s 1422 %s" % ENDPOINTS["ws01"],
                 check=False, timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    big = lab.run("cloud1", "ip netns exec ep1 ping -n -q -c 1 -W 2 -M do -s 1452 %s" % ENDPOINTS["ws01"],
                  check=False, timeout=30)
    assert big.returncode != 0


def test_kernel_vxlan_peer_and_removing_it(lab, endpoints):
    """A kernel-VXLAN VTEP (as Proxmox VE SDN uses) on the same VNI joins the overlay."""
    before = dict((h, tunnels(lab, h)) for h in ("cloud1", "ws01", "ws02"))
    extra = {"ovs_overlay_extra_vteps": [{"name": "kvx", "address": UNDERLAY["storage1"]}]}
    remotes = " ".join(UNDERLAY[h] for h in ("cloud1", "ws01", "ws02"))
    restored = False
    try:
        lab.playbook("playbooks/overlay.yml", extra)
        lab.run("storage1", "; ".join([
            "set -e",
            "ip netns add kvx",
            # noudpcsum: a zero outer UDP checksum; a partial one (veth offload) fails OVS userspace's check.
            "ip link add vx%d type vxlan id %d dstport 4789 local %s nolearning noudpcsum"
            % (VNI, VNI, UNDERLAY["storage1"]),
            "for r in %s; do bridge fdb append 00:00:00:00:00:00 dev vx%d dst $r; done" % (remotes, VNI),
            "ethtool -K vx%d tx off >/dev/null" % VNI,
            "ip link set vx%d netns kvx" % VNI,
            "ip -n kvx link set lo up",
            "ip -n kvx link set vx%d mtu 1450 up" % VNI,
            "ip -n kvx addr add %s/24 dev vx%d" % (KVX_ADDR, VNI),
        ]))
        for host, addr in ENDPOINTS.items():
            proc = ping(lab, "storage1", "kvx", addr)
            assert proc.returncode == 0, "kernel VXLAN -> %s (%s):\n%s" % (host, addr, proc.stdout)
            back = ping(lab, host, "ep1", KVX_ADDR, count=2)
            assert back.returncode == 0, "%s -> kernel VXLAN peer:\n%s" % (host, back.stdout)
        # Removing the peer from the inventory removes exactly its tunnel.
        lab.playbook("playbooks/overlay.yml")
        restored = True
        for host in ("cloud1", "ws01", "ws02"):
            after = tunnels(lab, host)
            assert after == before[host], host
    finally:
        lab.run("storage1", "ip netns del kvx 2>/dev/null; true", check=False)
        if not restored:
            lab.playbook("playbooks/overlay.yml", check=False)


def test_vxlan_from_unknown_vtep_is_dropped(lab, endpoints):
    """storage1 is not a VTEP: its VXLAN over the underlay does not get into the overlay.

    End to end, whatever drops it. With the lab's userspace datapath, ovs-vswitchd reads the NIC
    through a packet socket and decapsulates VXLAN for its own address before the host kernel
    sees the frame, so our nftables rule never sees it: OVS's tunnel lookup (a port matches its
    remote_ip only) drops it, and this test passes with or without the rule. The rule itself is
    tested by test_nftables_rule_keeps_unknown_vteps_from_the_kernel_vxlan_socket.
    """
    ruleset = json.loads(lab.run("cloud1", "nft -j list table inet skillvl_overlay").stdout)["nftables"]
    sets = dict((i["set"]["name"], i["set"].get("elem", [])) for i in ruleset if "set" in i)
    assert sorted(sets["vteps4"]) == sorted([UNDERLAY["ws01"], UNDERLAY["ws02"]])

    def drops():
        nft = 0
        for item in json.loads(lab.run("cloud1", "nft -j list chain inet skillvl_overlay input").stdout)["nftables"]:
            rule = item.get("rule") or {}
            if rule.get("comment") == "VXLAN from an unknown VTEP":
                nft = [e["counter"]["packets"] for e in rule["expr"] if "counter" in e][0]
        # Userspace: the tunnel header is popped, then no tunnel port matches the source and the
        # upcall drops the packet (or the pop itself fails).
        ovs = sum(int(lab.run("cloud1", "ovs-appctl coverage/read-counter %s" % name).stdout.strip() or 0)
                  for name in ("datapath_drop_upcall_error", "datapath_drop_tunnel_pop_error"))
        return nft, ovs
    before = drops()
    try:
        lab.run("storage1", "; ".join([
            "set -e", "ip netns add kvx",
            "ip link add vx%d type vxlan id %d dstport 4789 local %s remote %s noudpcsum"
            % (VNI, VNI, UNDERLAY["storage1"], UNDERLAY["cloud1"]),
            "ip link set vx%d netns kvx" % VNI,
            "ip -n kvx link set vx%d mtu 1450 up" % VNI,
            "ip -n kvx addr add %s/24 dev vx%d" % (KVX_ADDR, VNI)]))
        assert ping(lab, "storage1", "kvx", ENDPOINTS["cloud1"]).returncode != 0
        # OVS sums its coverage counters about once a second.
        lab.wait_for(lambda: [a > b for a, b in zip(drops(), before)] != [False, False], timeout=15,
                     interval=1, what="a drop counter for VXLAN from an unknown VTEP on cloud1 %s" % (before,))
        print("drops of VXLAN from storage1 on cloud1 (nftables rule, OVS): before %s, after %s" % (before, drops()))
    finally:
        lab.run("storage1", "ip netns del kvx 2>/dev/null; true", check=False)


# A path into cloud1's kernel that OVS does not own: a veth from a namespace the test makes, with
# addresses from 198.18.0.0/15 (no fleet VTEP), and kernel VXLAN sockets as production's kernel
# datapath has (its vxlan_sys_4789 is such a device).
INTRUDER = {"host": "198.18.79.1", "peer": "198.18.79.2", "vni": 4242}
FORGE = r"""
import socket, struct, sys
inner = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x06" + bytes(28)   # a broadcast ARP frame
packet = struct.pack("!II", 0x08000000, %(vni)d << 8) + inner
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("%(peer)s", 0))
for _ in range(int(sys.argv[2])):
    s.sendto(packet, ("%(host)s", int(sys.argv[1])))
""" % INTRUDER


def nft_unknown_vtep_drops(lab, host):
    """Packets counted by the overlay's drop rule for VXLAN from unknown VTEPs (None: no such rule)."""
    chain = json.loads(lab.run(host, "nft -j list chain inet skillvl_overlay input").stdout)["nftables"]
    for item in chain:
        rule = item.get("rule") or {}
        if rule.get("comment") == "VXLAN from an unknown VTEP":
            return [e["counter"]["packets"] for e in rule["expr"] if "counter" in e][0]
    return None


def test_nftables_rule_keeps_unknown_vteps_from_the_kernel_vxlan_socket(lab, overlay):
    """Where VXLAN ends in the host kernel (production's kernel datapath), a packet from an address
    that is no fleet VTEP is counted by our drop rule and never reaches the VXLAN device; the same
    packet to another port (no rule) does reach a VXLAN device: without the rule this fails."""
    host, n = "cloud1", 20
    rx = "cat /sys/class/net/vxt-k/statistics/rx_packets /sys/class/net/vxt-c/statistics/rx_packets"
    try:
        lab.run(host, "; ".join([
            "set -e", "ip netns add vxt",
            "ip link add vxt-h type veth peer name vxt-p netns vxt",
            "ip addr add %(host)s/30 dev vxt-h" % INTRUDER, "ip link set vxt-h up",
            "ip -n vxt link set lo up", "ip -n vxt addr add %(peer)s/30 dev vxt-p" % INTRUDER,
            "ip -n vxt link set vxt-p up",
            # The kernel's VXLAN socket on the filtered port, and a control on a port nothing filters.
            "ip link add vxt-k type vxlan id %(vni)d dstport 4789 local %(host)s nolearning" % INTRUDER,
            "ip link add vxt-c type vxlan id %(vni)d dstport 47890 local %(host)s nolearning" % INTRUDER,
            "ip link set vxt-k up", "ip link set vxt-c up",
            "for i in $(seq 50); do ip netns exec vxt ping -n -q -c 1 -W 1 %(host)s >/dev/null && break; "
            "sleep 0.1; done" % INTRUDER]))
        lab.run(host, "cat > /tmp/vxt-forge.py", input=FORGE)
        nft0 = nft_unknown_vtep_drops(lab, host)
        assert nft0 is not None, "no counting drop rule for VXLAN from unknown VTEPs in inet skillvl_overlay"
        k0, c0 = map(int, lab.run(host, rx).stdout.split())

        lab.run(host, "ip netns exec vxt python3 /tmp/vxt-forge.py 47890 %d" % n)
        lab.wait_for(lambda: int(lab.run(host, rx).stdout.split()[1]) >= c0 + n, timeout=10, interval=0.5,
                     what="the control VXLAN device receiving the forged packets (port 47890)")

        lab.run(host, "ip netns exec vxt python3 /tmp/vxt-forge.py 4789 %d" % n)
        lab.wait_for(lambda: (nft_unknown_vtep_drops(lab, host) or 0) >= nft0 + n, timeout=10, interval=0.5,
                     what="our nftables rule counting %d forged VXLAN packets from %s" % (n, INTRUDER["peer"]))
        time.sleep(1)
        k1 = int(lab.run(host, rx).stdout.split()[0])
        leaked = k1 - k0
        assert leaked == 0, "forged VXLAN from %s reached the kernel VXLAN socket: %d packets" % (
            INTRUDER["peer"], leaked)
        print("our rule dropped %d forged VXLAN packets; the same packets on port 47890 reached the device"
              % (nft_unknown_vtep_drops(lab, host) - nft0))
    finally:
        lab.run(host, "ip link del vxt-k 2>/dev/null; ip link del vxt-c 2>/dev/null; ip link del vxt-h 2>/dev/null; "
                      "ip netns del vxt 2>/dev/null; rm -f /tmp/vxt-forge.py; true", check=False)


@pytest.mark.parametrize("args,message", [
    ({"vni": 0}, "VNI 0 is out of range"),
    ({"vni": 16777216}, "VNI 16777216 is out of range"),
    ({"tunnels": [{"remote_ip": "198.51.100.300"}]}, "is not a valid IPv4 or IPv6 address"),
    ({"tunnels": [{"remote_ip": "198.51.100.21", "name": "a1"}, {"remote_ip": "198.51.100.21", "name": "a2"}]},
     "duplicate remote 198.51.100.21"),
    ({"tunnels": [{"remote_ip": "198.51.100.99", "name": "eth0"}]}, "clashes with an existing port on bridge br-phy"),
    ({"tunnels": [{"remote_ip": "198.51.100.99", "name": "x1"}, {"remote_ip": "198.51.100.98", "name": "x1"}]},
     "used twice"),
])
def test_bad_input_changes_nothing(lab, overlay, args, message):
    full = {"bridge": BRIDGE, "vni": VNI, "local_ip": UNDERLAY["cloud1"],
            "tunnels": [{"remote_ip": UNDERLAY["ws01"]}]}
    full.update(args)
    before = ovs_state(lab, "cloud1")
    res = lab.module("cloud1", VXLAN, full)
    assert res.get("failed") and message in res["msg"], res
    assert not res.get("changed")
    assert ovs_state(lab, "cloud1") == before


def test_role_refuses_bad_vni_without_change(lab, overlay):
    before = ovs_state(lab, "cloud1")
    nets = [{"name": "skillvl-ovl", "vni": 16777216, "bridge": BRIDGE}]
    proc = lab.playbook("playbooks/overlay.yml", {"ovs_overlay_networks": nets}, check=False,
                        args=("--limit", "cloud1"))
    assert proc.returncode != 0 and "VNIs out of range (1..16777215): [16777216]" in proc.stdout + proc.stderr
    assert ovs_state(lab, "cloud1") == before


def test_check_mode_and_exact_removal(lab, overlay):
    """The module alone: check mode, adding a peer, removing exactly that peer."""
    base = {"bridge": BRIDGE, "vni": VNI, "local_ip": UNDERLAY["cloud1"]}
    before = tunnels(lab, "cloud1")
    want = dict(base, tunnels=[{"remote_ip": "198.51.100.77", "name": "vx-test"}])
    res = lab.module("cloud1", VXLAN, want, check_mode=True)
    assert res["changed"] and res["added"] == ["vx-test"] and not res.get("failed")
    assert tunnels(lab, "cloud1") == before
    try:
        res = lab.module("cloud1", VXLAN, want)
        assert res["changed"] and res["added"] == ["vx-test"], res
        assert not lab.module("cloud1", VXLAN, want)["changed"]
        res = lab.module("cloud1", VXLAN, dict(base, state="absent", tunnels=[{"remote_ip": "198.51.100.77"}]))
        assert res["removed"] == ["vx-test"], res
        assert tunnels(lab, "cloud1") == before
    finally:
        lab.run("cloud1", "ovs-vsctl --if-exists del-port %s vx-test" % BRIDGE, check=False)


def test_error_recorded_by_ovs_is_reported(lab, overlay):
    """No OVS kernel datapath in the lab: a 'system' bridge fails although OVSDB took it."""
    try:
        res = lab.module("cloud1", VXLAN, {"bridge": "br-ktest", "datapath_type": "system"})
        assert res.get("failed"), res
        assert "could not set up bridge br-ktest" in res["msg"] and "br-ktest" in res["interfaces_in_error"]
    finally:
        cleanup = lab.module("cloud1", VXLAN, {"bridge": "br-ktest", "state": "absent"})
        assert not cleanup.get("failed"), cleanup
    assert "br-ktest" not in ovs_state(lab, "cloud1")


# --- a lab guest on the overlay, live-migrated -----------------------------------------------

def guest_xml():
    return """<domain type='qemu'>
  <name>{name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <kernel>{boot}/vmlinuz</kernel><initrd>{boot}/initrd.img</initrd>
    <cmdline>console=ttyS0 skillvl.hb_ms=250 skillvl.ip={addr}/24 skillvl.mtu=1450</cmdline>
  </os>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <interface type='network'><source network='skillvl-ovl'/><model type='virtio'/><mtu size='1450'/>
      <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>
    </interface>
    <serial type='pty'><log file='/var/log/libvirt/qemu/{name}-console.log' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>""".format(name=GUEST, boot=BOOT, addr=GUEST_ADDR)


def remove_guest(lab):
    for host in ("cloud1", "ws01"):
        lab.run(host, "virsh -c qemu:///system destroy {n} >/dev/null 2>&1; virsh -c qemu:///system undefine {n} "
                      ">/dev/null 2>&1; rm -f /tmp/{n}.xml /var/log/libvirt/qemu/{n}-console.log; true"
                .format(n=GUEST), check=False)


def ensure_guest_files(lab):
    """site.yml's vm role installs the guest kernel; copy it from .lab/guest where it is missing."""
    for host in ("cloud1", "ws01"):
        if lab.run(host, "test -s %s/vmlinuz -a -s %s/initrd.img" % (BOOT, BOOT), check=False).returncode:
            lab.run(host, "mkdir -p %s" % BOOT)
            for name in ("vmlinuz", "initrd.img"):
                subprocess.run(["podman", "cp", os.path.join(TOP, ".lab", "guest", name),
                                "%s:%s/%s" % (lab.container(host), BOOT, name)],
                               check=True, env=lab.env, timeout=60)


def heartbeat_over_overlay(lab):
    proc = lab.run("ws02", "ip netns exec ep1 timeout 5 bash -c 'exec 3<>/dev/tcp/%s/8080; head -c 200 <&3'"
                   % GUEST_ADDR, check=False, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else None


def migrate_guest(lab, src, dst, stream_addr):
    return lab.run(src, "virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource %s "
                        "%s --migrateuri tcp://%s --listen-address %s --timeout 120 %s"
                   % (GUEST, lab.libvirt_uri(dst), stream_addr, stream_addr, lab.virsh_migrate_tls(dst)),
                   timeout=180)


@pytest.fixture
def guest(lab, endpoints):
    ensure_guest_files(lab)
    for host in ("cloud1", "ws01"):
        lab.run(host, "systemctl start libvirtd.service >/dev/null 2>&1 || true", check=False)
    remove_guest(lab)
    try:
        lab.run("cloud1", "cat > /tmp/%s.xml" % GUEST, input=guest_xml())
        lab.virsh("cloud1", "define", "/tmp/%s.xml" % GUEST)
        lab.virsh("cloud1", "start", GUEST)
        lab.wait_for(lambda: ping(lab, "ws02", "ep1", GUEST_ADDR, count=1).returncode == 0, timeout=90,
                     interval=1, what="the guest answering on %s over the overlay" % GUEST_ADDR)
        yield GUEST
    finally:
        remove_guest(lab)
        lab.run("ws02", "pkill -f 'ping -n -i 0.2 -c 200 -W 1 %s'; rm -f /tmp/ovl-ping.txt; true" % GUEST_ADDR,
                check=False)


def test_guest_keeps_overlay_address_across_migration(lab, guest):
    """cloud1 -> ws01 with the migration stream through the overlay, back over the underlay."""
    lab.wait_for(lambda: heartbeat_over_overlay(lab), timeout=60, interval=1,
                 what="the guest's heartbeat on TCP 8080 over the overlay")
    # 200 pings 0.2 s apart from ws02 (40 s at most), while the guest moves.
    lab.run("ws02", "nohup ip netns exec ep1 ping -n -i 0.2 -c 200 -W 1 %s > /tmp/ovl-ping.txt 2>&1 &"
            % GUEST_ADDR)
    time.sleep(2)
    t0 = time.monotonic()
    migrate_guest(lab, "cloud1", "ws01", OVERLAY_HOST["ws01"])
    moved_in = time.monotonic() - t0
    assert lab.virsh("ws01", "domstate", GUEST).stdout.strip() == "running"
    assert lab.virsh("cloud1", "domstate", GUEST, check=False).returncode != 0
    lab.wait_for(lambda: "packets transmitted" in lab.run("ws02", "cat /tmp/ovl-ping.txt").stdout,
                 timeout=60, interval=1, what="the pings from ws02 to finish")
    out = lab.run("ws02", "cat /tmp/ovl-ping.txt").stdout
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    sent, received = int(m.group(1)), int(m.group(2))
    lost = sent - received
    print("migration through the overlay took %.1f s; pings lost during the move: %d of %d (0.2 s apart)"
          % (moved_in, lost, sent))
    # The guest keeps its address: it answers from ws01, its heartbeat too.
    assert ping(lab, "ws02", "ep1", GUEST_ADDR).returncode == 0
    lab.wait_for(lambda: heartbeat_over_overlay(lab), timeout=30, interval=1,
                 what="the guest's heartbeat over the overlay after the move")
    assert lost <= 25, "lost %d of %d pings (more than 5 s) while the guest moved:\n%s" % (lost, sent, out)
    # And back with the migration stream on the underlay.
    migrate_guest(lab, "ws01", "cloud1", UNDERLAY["cloud1"])
    assert lab.virsh("cloud1", "domstate", GUEST).stdout.strip() == "running"
    lab.wait_for(lambda: ping(lab, "ws02", "ep1", GUEST_ADDR, count=1).returncode == 0, timeout=30,
                 interval=1, what="the guest answering after moving back")
