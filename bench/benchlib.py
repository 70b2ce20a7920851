# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the migration benches share: their options, a lab with the other guests paused, a guest
booted with a memory-write load, a move with vm_migrate, and the table written into a doc.

The lab itself comes from tests/integration (conftest.Lab, labguests.Guests)."""
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import conftest  # noqa: E402  pylint: disable=wrong-import-position
import labguests  # noqa: E402  pylint: disable=wrong-import-position

SRC, DST = "cloud1", "ws01"
MIB = 1024.0 * 1024.0


def add_load_arguments(parser, lab, doc, loads, timeout, timeout_help):
    """The options every load bench takes."""
    parser.add_argument("--lab", default=os.environ.get("SKILLVL_LAB_NAME", lab))
    parser.add_argument("--cap", type=int, default=30, help="bandwidth cap, MiB/s")
    parser.add_argument("--rate", type=int, default=50, help="memory writer rate, MiB/s")
    parser.add_argument("--base", type=int, default=256, help="working-set base (100 %% load), MiB")
    parser.add_argument("--guest-mib", type=int, default=384)
    parser.add_argument("--timeout", type=int, default=timeout, help=timeout_help)
    parser.add_argument("--loads", default=loads)
    parser.add_argument("--doc", default=os.path.join(TOP, "docs", doc))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--destroy", action="store_true")


@contextlib.contextmanager
def bench_lab(args, prefix):
    """The lab (built unless --no-build), with every guest not named ``prefix``* paused on the
    source and the destination (they would compete for the 2 cores); yields (lab, guests).
    Afterwards the bench's guests are removed, the others resumed, the lab removed with --destroy."""
    lab = conftest.Lab(args.lab)
    if not args.no_build:
        lab.playbook("playbooks/lab.yml")
        lab.playbook("playbooks/site.yml")
    paused = {}
    for host in (SRC, DST):
        running = lab.virsh(host, "list", "--state-running", "--name").stdout.split()
        paused[host] = [n for n in running if not n.startswith(prefix)]
        for other in paused[host]:
            lab.virsh(host, "suspend", other)
    guests = labguests.Guests(lab)
    try:
        yield lab, guests
    finally:
        for name in guests.names:
            guests.remove(name)
        for host, names in paused.items():
            for other in names:
                lab.virsh(host, "resume", other, check=False)
        if args.destroy:
            lab.playbook("playbooks/lab_destroy.yml", check=False)


def boot_loaded(guests, name, args, load_pct):
    """Boot the guest writing ``load_pct`` % of the working-set base, and wait until the writer
    has touched all of it; returns the load in MiB."""
    load_mib = int(round(args.base * load_pct / 100.0))
    guests.boot(name, mem_mib=args.guest_mib, load_mib=load_mib, rate_mib=args.rate if load_mib else 0)
    time.sleep(3 if load_mib == 0 else 3 + load_mib / float(max(args.rate, 1)))
    return load_mib


def run_ours(lab, name, cap, timeout, allow_postcopy):
    """vm_migrate strategy=auto: by default it finishes busy guests by throttling them
    (auto-converge); with allow_postcopy it switches them to post-copy."""
    started = time.monotonic()
    args = {"name": name, "dest": DST, "transport": lab.migration_transport, "strategy": "auto",
            "allow_postcopy": allow_postcopy, "bandwidth": cap, "timeout": timeout,
            "timeout_action": "postcopy" if allow_postcopy else "abort"}
    res = lab.module(SRC, "skillvl.offline_first.vm_migrate", args, timeout=timeout + 300)
    wall = time.monotonic() - started
    figs = res.get("figures") or {}
    ok = not res.get("failed") and res.get("state", {}).get("dest") == "running"
    return {"completed": ok, "wall_s": round(wall, 2),
            "total_s": (figs.get("total_time_ms") or 0) / 1000.0 if ok else None,
            "downtime_ms": figs.get("downtime_ms") if ok else None,
            "sent_mib": round((figs.get("data_bytes") or 0) / MIB, 1) if ok else None,
            "iterations": figs.get("memory_iterations"),
            "throttle_pct": figs.get("auto_converge_throttle"),
            "strategy": res.get("strategy_used") or "-",
            "why": res.get("postcopy_reason"),
            "pre_dirty_mib_s": figs.get("pre_dirty_rate_mib_s"),
            "host": DST if ok else SRC,
            "error": None if ok else res.get("msg")}


DEBIAN12_QEMU = ("qemu-system-x86", "qemu-system-common")
QEMU_BIN = "/usr/bin/qemu-system-x86_64"


def qemu_version(lab, host=SRC):
    """The QEMU that libvirt runs on ``host``, as its --version's first line says it."""
    return lab.run(host, "%s --version" % QEMU_BIN).stdout.splitlines()[0].replace("QEMU emulator version ", "")


def shape_wan(lab, rate_mbit=None, rtt_ms=None, state="present"):
    """The emulated link on cloud1's underlay side, measured from ws01 when applied (the
    wan_emulation role fails if it is not what was asked); returns the playbook's output."""
    extra = {"wan_hosts": SRC, "wan_emulation_state": state}
    if state == "present":
        extra.update(wan_emulation_rate_mbit=rate_mbit, wan_emulation_rtt_ms=rtt_ms, wan_emulation_verify_from=DST)
    return lab.playbook("playbooks/wan.yml", extra).stdout


def _unpack_debian12_qemu(cache):
    """Debian 12's own QEMU 7.2 (bookworm's packages, downloaded with apt) unpacked into
    ``cache``/stage: the binary and the TCG accelerator module; returns the stage directory."""
    stage = os.path.join(cache, "stage")
    if os.path.exists(os.path.join(stage, "qemu-system-x86_64.real")):
        return stage
    root = os.path.join(cache, "root")
    os.makedirs(root, exist_ok=True)
    subprocess.run(["apt-get", "download"] + ["%s/bookworm" % p for p in DEBIAN12_QEMU], cwd=cache, check=True)
    for deb in sorted(f for f in os.listdir(cache) if f.endswith(".deb")):
        subprocess.run(["dpkg", "-x", deb, root], cwd=cache, check=True)
    os.makedirs(os.path.join(stage, "modules"), exist_ok=True)
    shutil.copy2(os.path.join(root, "usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so"),
                 os.path.join(stage, "modules"))
    # the wrapper points QEMU at its own modules, and at the firmware the lab's QEMU brought along
    with open(os.path.join(stage, "qemu-system-x86_64"), "w") as handle:
        handle.write("#!/bin/sh\nQEMU_MODULE_DIR=/opt/q72/modules exec /opt/q72/qemu-system-x86_64.real "
                     "-L /usr/share/seabios -L /usr/share/qemu \"$@\"\n")
    os.chmod(os.path.join(stage, "qemu-system-x86_64"), 0o755)
    shutil.copy2(os.path.join(root, "usr/bin/qemu-system-x86_64"), os.path.join(stage, "qemu-system-x86_64.real"))
    return stage


@contextlib.contextmanager
def debian12_qemu(lab, hosts=(SRC, DST), cache=os.path.join(TOP, ".build", "debian12-qemu")):
    """Debian 12's own QEMU 7.2 in place of the lab's (bookworm-backports) on ``hosts`` while the
    block runs. The wrapper takes the lab QEMU's path, the one libvirt's capabilities list and
    vm_migrate's pre-flight checks; libvirtd restarts to see the version. Afterwards the lab's
    QEMU is put back the same way. Guests already running keep the QEMU they started with."""
    stage = _unpack_debian12_qemu(cache)
    swapped = []
    try:
        for host in hosts:
            lab.run(host, "rm -rf /opt/q72")
            subprocess.run(["podman", "cp", stage, "%s:/opt/q72" % lab.container(host)], env=lab.env, check=True)
            lab.run(host, "cp -p %s /opt/q72/qemu-system-x86_64.lab && cp --remove-destination "
                          "/opt/q72/qemu-system-x86_64 %s && systemctl restart libvirtd" % (QEMU_BIN, QEMU_BIN))
            swapped.append(host)
        yield [qemu_version(lab, host) for host in hosts]
    finally:
        for host in swapped:
            lab.run(host, "cp --remove-destination /opt/q72/qemu-system-x86_64.lab %s && rm -rf /opt/q72 && "
                          "systemctl restart libvirtd" % QEMU_BIN, check=False)


def parse_jobinfo(text):
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _num(value):
    try:
        return float(value.split()[0])
    except (AttributeError, ValueError, IndexError):
        return None


def jobinfo_bytes(value):
    """Bytes of a `virsh domjobinfo` size ("332.000 KiB"), or None."""
    if not value:
        return None
    num, unit = _num(value), value.split()[-1]
    factor = {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": MIB * 1024}.get(unit, 1)
    return None if num is None else num * factor


def run_virsh(lab, name, cap, timeout):
    """Plain `virsh migrate --live` with default settings (bandwidth cap ``cap`` MiB/s as for ours;
    0: none), given up (domjobabort) after ``timeout`` s."""
    box = {}

    def target():
        box["proc"] = lab.run(SRC, "virsh -c qemu:///system migrate --live --persistent --undefinesource "
                                   "%s%s %s %s" % ("--bandwidth %d " % cap if cap else "", lab.virsh_migrate_tls(DST),
                                                   name, lab.libvirt_uri(DST)),
                              check=False, timeout=timeout + 120)
    thread = threading.Thread(target=target)
    thread.daemon = True
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    completed = not thread.is_alive() and box.get("proc") is not None and box["proc"].returncode == 0
    if thread.is_alive():
        lab.virsh(SRC, "domjobabort", name, check=False)
        thread.join(60)
    wall = time.monotonic() - started
    row = {"completed": completed, "wall_s": round(wall, 2), "strategy": "precopy (virsh default)"}
    if completed:
        info = parse_jobinfo(lab.virsh(DST, "domjobinfo", name, "--completed", check=False).stdout)
        row["total_s"] = (_num(info.get("Time elapsed")) or 0) / 1000.0 or round(wall, 2)
        row["downtime_ms"] = _num(info.get("Total downtime"))
        row["sent_mib"] = round((jobinfo_bytes(info.get("Data processed")) or 0) / MIB, 1)
        row["iterations"] = _num(info.get("Iteration"))
        row["host"] = DST
    else:
        row.update(total_s=None, downtime_ms=None, sent_mib=None, iterations=None, host=SRC,
                   error=(box.get("proc").stderr.strip() if box.get("proc") is not None else "aborted")[-200:])
    return row


def write_doc(path, text, start, end):
    """Put ``text`` between the markers in the document (appended with them the first time)."""
    block = "%s\n%s\n%s" % (start, text, end)
    old = open(path).read() if os.path.exists(path) else ""
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as handle:
        handle.write(new)
