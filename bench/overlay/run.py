# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the VXLAN overlay against its underlay, in one run.

1. OVS userspace datapath (the lab's hypervisors, cloud1 -> ws01): iperf3 throughput and ping
   RTT host to host on the underlay (through br-phy) and endpoint to endpoint over the overlay
   (br-ovl + VXLAN + br-phy).
2. Kernel VXLAN: two namespaces inside storage1 joined by a veth (underlay, 10.77.0.0/24) with a
   kernel VXLAN device each (VNI 10100, inner 203.0.113.0/24, MTU 1450): the same figures.
3. One live migration of the lab guest cloud1 -> ws01 (and back) with the migration stream on
   the underlay (tcp://198.51.100.x) and through the overlay (tcp://203.0.113.x, the hosts'
   addresses on br-ovl): job time and downtime from `virsh domjobinfo --completed`.

    .venv/bin/python bench/overlay/run.py [--lab ovl] [--seconds 5] [--pings 20] [--rounds 2]
        [--no-migration] [--build] [--doc docs/overlay.md]

Needs a lab with the overlay (playbooks/lab.yml, then playbooks/overlay.yml; --build runs both).
Writes bench/results/overlay-<time>.csv and the table between the markers
<!-- bench:overlay:start --> / <!-- bench:overlay:end --> in --doc. Ratios are overlay / underlay
of the same run. Everything it starts is stopped and removed at the end.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import conftest  # noqa: E402  pylint: disable=wrong-import-position

SRC, DST = "cloud1", "ws01"
UNDERLAY = {"cloud1": "198.51.100.11", "ws01": "198.51.100.21"}
OVERLAY_HOST = {"cloud1": "203.0.113.11", "ws01": "203.0.113.21"}
EP = {"cloud1": "203.0.113.121", "ws01": "203.0.113.122"}
BOOT = "/var/lib/libvirt/boot/skillvl-lab-guest"
START, END = "<!-- bench:overlay:start -->", "<!-- bench:overlay:end -->"
GUEST = "ovlbench"


def ns(name):
    return "ip netns exec %s " % name if name else ""


def iperf(lab, srv_host, srv_ns, cli_host, cli_ns, addr, seconds):
    """TCP throughput in Mbit/s (receiver side), iperf3 bounded by its own duration + timeout."""
    lab.run(srv_host, "%stimeout %d iperf3 -s -1 -B %s -p 5299 -D" % (ns(srv_ns), seconds + 30, addr))
    time.sleep(0.5)
    try:
        out = lab.run(cli_host, "%siperf3 -c %s -p 5299 -t %d -J --connect-timeout 3000"
                      % (ns(cli_ns), addr, seconds), timeout=seconds + 40).stdout
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        lab.run(srv_host, "pkill -f 'iperf3 -s -1 -B %s -p 5299' || true" % addr, check=False)


def rtt(lab, host, netns, addr, count):
    """Average ping RTT in ms (count pings, 0.2 s apart)."""
    out = lab.run(host, "%sping -n -q -c %d -i 0.2 -W 2 %s" % (ns(netns), count, addr),
                  timeout=count + 20).stdout
    m = re.search(r"= [\d.]+/([\d.]+)/", out)
    if not m:
        raise RuntimeError("no RTT from ping %s on %s:\n%s" % (addr, host, out))
    return float(m.group(1))


# --- setup / teardown -------------------------------------------------------------------

def add_endpoint(lab, host, addr):
    lab.run(host, " && ".join([
        "ip netns add ovb",
        "ovs-vsctl --timeout=20 add-port br-ovl ovb -- set Interface ovb type=internal",
        "for i in $(seq 50); do ip link show ovb >/dev/null 2>&1 && break; sleep 0.1; done",
        "ip link set ovb netns ovb", "ip -n ovb link set lo up", "ip -n ovb link set ovb mtu 1450 up",
        "ip -n ovb addr add %s/24 dev ovb" % addr, "ip netns exec ovb ethtool -K ovb tx off >/dev/null"]))


def del_endpoint(lab, host):
    lab.run(host, "ovs-vsctl --if-exists del-port br-ovl ovb; ip netns del ovb 2>/dev/null; true", check=False)


KERNEL_SETUP = """set -e
ip netns add kva; ip netns add kvb
ip link add kva0 netns kva type veth peer name kvb0 netns kvb
ip -n kva addr add 10.77.0.1/24 dev kva0; ip -n kvb addr add 10.77.0.2/24 dev kvb0
for n in kva kvb; do ip -n $n link set lo up; ip -n $n link set ${n}0 up; done
ip -n kva link add vx0 type vxlan id 10100 dstport 4789 local 10.77.0.1 remote 10.77.0.2
ip -n kvb link add vx0 type vxlan id 10100 dstport 4789 local 10.77.0.2 remote 10.77.0.1
ip -n kva addr add 203.0.113.201/24 dev vx0; ip -n kvb addr add 203.0.113.202/24 dev vx0
for n in kva kvb; do ip -n $n link set vx0 mtu 1450 up; done
"""


def guest_xml():
    return """<domain type='qemu'>
  <name>{name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <kernel>{boot}/vmlinuz</kernel><initrd>{boot}/initrd.img</initrd>
    <cmdline>console=ttyS0 skillvl.hb_ms=500 skillvl.mem_mib=32 skillvl.rate_mib=8 skillvl.ip=203.0.113.60/24 skillvl.mtu=1450</cmdline>
  </os>
  <cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model></cpu>
  <features><acpi/><apic/></features>
  <devices>
    <interface type='network'><source network='skillvl-ovl'/><model type='virtio'/><mtu size='1450'/>
      <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>
    </interface>
    <serial type='pty'><log file='/var/log/libvirt/qemu/{name}-console.log' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='none'/>
  </devices>
</domain>""".format(name=GUEST, boot=BOOT)


def ensure_guest_files(lab):
    """The vm role installs the guest kernel; a lab built without site.yml gets it from .lab/guest."""
    for host in (SRC, DST):
        if lab.run(host, "test -s %s/vmlinuz && test -s %s/initrd.img" % (BOOT, BOOT), check=False).returncode:
            lab.run(host, "mkdir -p %s" % BOOT)
            for f in ("vmlinuz", "initrd.img"):
                subprocess.run(["podman", "cp", os.path.join(TOP, ".lab", "guest", f),
                                "%s:%s/%s" % (lab.container(host), BOOT, f)], check=True, env=lab.env, timeout=60)


def remove_guest(lab):
    for host in (SRC, DST):
        lab.run(host, "virsh -c qemu:///system destroy {n} >/dev/null 2>&1; virsh -c qemu:///system undefine {n} "
                      ">/dev/null 2>&1; rm -f /tmp/{n}.xml; true".format(n=GUEST), check=False)


def migrate(lab, src, dst, path):
    addr = (UNDERLAY if path == "underlay" else OVERLAY_HOST)[dst]
    cmd = ("virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource %s %s "
           "--migrateuri tcp://%s --listen-address %s --timeout 120 %s"
           % (GUEST, lab.libvirt_uri(dst), addr, addr, lab.virsh_migrate_tls(dst)))
    t0 = time.monotonic()
    lab.run(src, cmd, timeout=180)
    wall = time.monotonic() - t0
    info = lab.run(src, "virsh -c qemu:///system domjobinfo %s --completed" % GUEST, check=False).stdout
    if "Time elapsed" not in info:
        info = lab.run(dst, "virsh -c qemu:///system domjobinfo %s --completed" % GUEST, check=False).stdout

    def field(name):
        m = re.search(r"^%s:\s+([\d.]+)" % re.escape(name), info, re.M)
        return float(m.group(1)) if m else None
    return {"wall_s": wall, "job_ms": field("Time elapsed"), "downtime_ms": field("Total downtime")}


# --- main -------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", "ovl"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--pings", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="migrations per path (alternating direction)")
    ap.add_argument("--no-migration", action="store_true")
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--doc", default=os.path.join(TOP, "docs", "overlay.md"))
    args = ap.parse_args()
    lab = conftest.Lab(args.lab)
    if args.build:
        lab.playbook("playbooks/lab.yml")
        lab.playbook("playbooks/overlay.yml")
    t_start = time.monotonic()
    rows = []

    def add(datapath, metric, underlay, overlay, unit):
        rows.append({"datapath": datapath, "metric": metric, "unit": unit, "underlay": round(underlay, 3),
                     "overlay": round(overlay, 3), "ratio": round(overlay / underlay, 3) if underlay else None})
        print("%-16s %-22s underlay %10.2f  overlay %10.2f %-7s ratio %.2f"
              % (datapath, metric, underlay, overlay, unit, overlay / underlay if underlay else 0), flush=True)

    made = []
    try:
        # 1. OVS userspace datapath
        for host in (SRC, DST):
            del_endpoint(lab, host)
            add_endpoint(lab, host, EP[host])
            made.append(host)
        u_bw = iperf(lab, DST, None, SRC, None, UNDERLAY[DST], args.seconds)
        o_bw = iperf(lab, DST, "ovb", SRC, "ovb", EP[DST], args.seconds)
        add("ovs-userspace", "tcp_throughput", u_bw, o_bw, "Mbit/s")
        add("ovs-userspace", "ping_rtt_avg", rtt(lab, SRC, None, UNDERLAY[DST], args.pings),
            rtt(lab, SRC, "ovb", EP[DST], args.pings), "ms")
        # 2. kernel VXLAN
        lab.run("storage1", "ip netns del kva 2>/dev/null; ip netns del kvb 2>/dev/null; true", check=False)
        lab.run("storage1", KERNEL_SETUP)
        u_bw = iperf(lab, "storage1", "kvb", "storage1", "kva", "10.77.0.2", args.seconds)
        o_bw = iperf(lab, "storage1", "kvb", "storage1", "kva", "203.0.113.202", args.seconds)
        add("kernel-vxlan", "tcp_throughput", u_bw, o_bw, "Mbit/s")
        add("kernel-vxlan", "ping_rtt_avg", rtt(lab, "storage1", "kva", "10.77.0.2", args.pings),
            rtt(lab, "storage1", "kva", "203.0.113.202", args.pings), "ms")
        # 3. live migration, stream on the underlay vs through the overlay
        if not args.no_migration:
            ensure_guest_files(lab)
            remove_guest(lab)
            lab.run(SRC, "cat > /tmp/%s.xml" % GUEST, input=guest_xml())
            lab.virsh(SRC, "define", "/tmp/%s.xml" % GUEST)
            lab.virsh(SRC, "start", GUEST)
            time.sleep(5)
            runs = {"underlay": [], "overlay": []}
            where = SRC
            for i in range(args.rounds):
                for path in ("underlay", "overlay"):
                    other = DST if where == SRC else SRC
                    runs[path].append(migrate(lab, where, other, path))
                    where = other
                    print("migration %d %s: %s" % (i, path, runs[path][-1]), flush=True)
            for key, unit in (("job_ms", "ms"), ("downtime_ms", "ms"), ("wall_s", "s")):
                u = [r[key] for r in runs["underlay"] if r[key] is not None]
                o = [r[key] for r in runs["overlay"] if r[key] is not None]
                if u and o:
                    add("migration", key.rsplit("_", 1)[0] + "_median", sorted(u)[len(u) // 2],
                        sorted(o)[len(o) // 2], unit)
    finally:
        for host in made:
            del_endpoint(lab, host)
        lab.run("storage1", "ip netns del kva 2>/dev/null; ip netns del kvb 2>/dev/null; true", check=False)
        if not args.no_migration:
            remove_guest(lab)
    elapsed = time.monotonic() - t_start
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    outdir = os.path.join(TOP, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "overlay-%s.csv" % stamp), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["datapath", "metric", "unit", "underlay", "overlay", "ratio"])
        writer.writeheader()
        writer.writerows(rows)
    load = open("/proc/loadavg").read().split()[0]
    table = ["", "Run %s, lab `%s`, %d s per iperf3 run, %d pings, load average %s at the end, %.0f s in all."
             % (stamp, args.lab, args.seconds, args.pings, load, elapsed), "",
             "| datapath | metric | unit | underlay | overlay | overlay / underlay |",
             "|---|---|---|---:|---:|---:|"]
    for r in rows:
        ratio = "%.2f" % r["ratio"] if r["ratio"] else "-"
        table.append("| %s | %s | %s | %.2f | %.2f | %s |"
                     % (r["datapath"], r["metric"], r["unit"], r["underlay"], r["overlay"], ratio))
    table.append("")
    if args.doc and os.path.exists(args.doc):
        text = open(args.doc).read()
        if START in text and END in text:
            text = text[:text.index(START) + len(START)] + "\n".join(table) + text[text.index(END):]
            open(args.doc, "w").write(text)
    print("\n".join(table))


if __name__ == "__main__":
    main()
