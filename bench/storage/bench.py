"""Shared-storage benchmark in the lab (entry point: bench/storage/run.sh).

1. Disk I/O as a guest sees it, measured on the hypervisor cloud1 with `qemu-img bench`
   (QEMU's block layer, cache=none) against
     - a local raw file on cloud1 (baseline, same run),
     - a raw file on storage1's NFS export through QEMU's libnfs (nfs://),
     - a raw LUN on storage1's tgt target through QEMU's libiscsi (iscsi://, CHAP),
     - a raw RBD image on the lab's Ceph pool through QEMU's librbd, as client.cloud1,
   sequential 1 MiB (queue depth 4) and strided 4 KiB (a prime stride over the image, which
   visits offsets in a scattered order: qemu-img bench has no random mode; depth 1), reads and
   writes. Ratios are against the local file.
2. Live migration cloud1 -> ws01 of the lab guest whose disk is on NFS (shared storage: only
   memory moves) against the same guest with a local disk copied along
   (--copy-storage-all, destination disk precreated); and, with vm_migrate, the guest on an RBD
   image (shared: each host opens it as its own Ceph user) against the same guest whose RBD disk
   is copied into a local file on ws01 (dest_disks).

Results: a table on stdout and bench/results/storage-<UTC time>.json.
The lab must be up (lab.yml, site.yml); playbooks/storage.yml is applied first unless --no-apply.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "lab"))

from conftest import Lab  # noqa: E402  pylint: disable=wrong-import-position
from test_storage import run_module  # noqa: E402  pylint: disable=wrong-import-position
from test_ceph_rbd import POOL, admin, rbd_disk  # noqa: E402  pylint: disable=wrong-import-position

SERVER = "storage1"
HV, DEST = "cloud1", "ws01"
EXPORT = "/srv/skillvl/vms"
BENCH_IQN = "iqn.2026-11.org.skillvl:storage1.bench"
BENCH_LUN = "/srv/skillvl/luns/bench.img"
DISK_IQN = "iqn.2026-11.org.skillvl:hypervisors"
CHAP_USER, CHAP_PASSWORD = "skillvl-bench", "lab-only-bench-secret-1"
GUEST_BOOT = "/var/lib/libvirt/boot/skillvl-lab-guest"
LOCAL_DIR = "/var/lib/libvirt/images"
KINDS = ("local", "nfs", "iscsi", "rbd")
BENCH_RBD = "bench-rbd"
RBD_FILE = "rbd:%s/%s:id=%s" % (POOL, BENCH_RBD, HV)     # QEMU's rbd: syntax, the keyring of client.cloud1


def rbd(lab, args, check=True):
    """The rbd tool as client.admin on the lab's Ceph host, bounded."""
    return admin(lab, "rbd %s" % args, check=check)


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def bench_once(lab, target, write, seq, size_mib, quick):
    """One qemu-img bench run; returns dict with MiB/s and IOPS."""
    if seq:
        bufsize, count, depth, step = 1 << 20, (64 if quick else 1024), 4, None
    else:
        # 4 KiB requests, stride of 7919 blocks (prime) wrapping over the image
        bufsize, count, depth, step = 4096, (1000 if quick else 12000), 1, 4096 * 7919
    user, target = target
    argv = ["runuser", "-u", user, "--", "qemu-img", "bench", "-t", "none", "-c", str(count), "-d", str(depth), "-s", str(bufsize)]
    if step:
        argv += ["-S", str(step)]
    if write:
        argv += ["-w", "--pattern", "165"]
    argv += target
    started = time.monotonic()
    proc = lab.run(HV, " ".join(shlex.quote(a) for a in argv), timeout=600)
    wall = time.monotonic() - started
    m = re.search(r"Run completed in ([0-9.]+) seconds", proc.stdout)
    seconds = float(m.group(1)) if m else wall
    total = bufsize * count
    return dict(seconds=round(seconds, 3), mib_s=round(total / seconds / 2 ** 20, 2),
                iops=round(count / seconds, 1), requests=count, request_bytes=bufsize, depth=depth)


def io_benchmarks(lab, quick):
    size_mib = 256
    results = {}
    lab.run(HV, "qemu-img create -q -f raw %s/bench-local.raw %dM && "
                "dd if=/dev/zero of=%s/bench-local.raw bs=1M count=%d conv=notrunc status=none && "
                "chown libvirt-qemu:kvm %s/bench-local.raw"
                % (LOCAL_DIR, size_mib, LOCAL_DIR, size_mib, LOCAL_DIR))
    lab.run(SERVER, "dd if=/dev/zero of=%s/bench-nfs.raw bs=1M count=%d status=none && "
                    "chown libvirt-qemu:kvm %s/bench-nfs.raw && chmod 0660 %s/bench-nfs.raw"
                    % (EXPORT, size_mib, EXPORT, EXPORT))
    result = run_module(lab, SERVER, "skillvl.offline_first.iscsi_target", {
        "iqn": BENCH_IQN, "backend": "tgt", "luns": [{"path": BENCH_LUN, "size": "%dM" % size_mib}],
        "initiators": [DISK_IQN], "chap": {"username": CHAP_USER, "password": CHAP_PASSWORD},
        "portals": ["198.51.100.31:3260"]})
    assert not result.get("failed"), result
    lab.run(SERVER, "dd if=/dev/zero of=%s bs=1M count=%d conv=notrunc status=none" % (BENCH_LUN, size_mib))
    # written through, like the others, so that reads do not meet holes; librbd reads the host's own
    # keyring (0600 root), hence root
    rbd(lab, "rm %s/%s" % (POOL, BENCH_RBD), check=False)
    rbd(lab, "create --size %dM %s/%s" % (size_mib, POOL, BENCH_RBD))
    lab.run(HV, "qemu-io -f raw -c 'write -P 0 0 %dM' %s >/dev/null" % (size_mib, RBD_FILE), timeout=600)
    iscsi_opts = ("driver=iscsi,transport=tcp,portal=%s:3260,target=%s,lun=1,user=%s,password=%s,"
                  "initiator-name=%s" % (SERVER, BENCH_IQN, CHAP_USER, CHAP_PASSWORD, DISK_IQN))
    # qemu-img runs as libvirt-qemu, like QEMU under libvirt (as root, libnfs would present
    # uid 0, which root_squash maps to nobody).
    targets = {
        "local": ("libvirt-qemu", ["-f", "raw", "%s/bench-local.raw" % LOCAL_DIR]),
        "nfs": ("libvirt-qemu", ["-f", "raw", "nfs://%s%s/bench-nfs.raw" % (SERVER, EXPORT)]),
        "iscsi": ("libvirt-qemu", ["--image-opts", iscsi_opts]),
        "rbd": ("root", ["-f", "raw", RBD_FILE]),
    }
    try:
        for kind in KINDS:
            for label, write, seq in (("seq_read", False, True), ("seq_write", True, True),
                                      ("rand4k_read", False, False), ("rand4k_write", True, False)):
                res = bench_once(lab, targets[kind], write, seq, size_mib, quick)
                results.setdefault(kind, {})[label] = res
                log("%-5s %-12s %8.1f MiB/s %8.0f IOPS" % (kind, label, res["mib_s"], res["iops"]))
    finally:
        lab.run(HV, "rm -f %s/bench-local.raw" % LOCAL_DIR, check=False)
        lab.run(SERVER, "rm -f %s/bench-nfs.raw" % EXPORT, check=False)
        run_module(lab, SERVER, "skillvl.offline_first.iscsi_target",
                   {"iqn": BENCH_IQN, "backend": "tgt", "state": "absent", "force": True})
        lab.run(SERVER, "rm -f %s" % BENCH_LUN, check=False)
        lab.run(SERVER, "tgtadm --lld iscsi --mode account --op delete --user %s" % CHAP_USER, check=False)
        rbd(lab, "rm %s/%s" % (POOL, BENCH_RBD), check=False)
    ratios = {}
    for kind in KINDS[1:]:
        for label, res in results[kind].items():
            ratios["%s/%s" % (kind, label)] = round(res["mib_s"] / results["local"][label]["mib_s"], 3)
    return results, ratios


DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{mem}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <kernel>{boot}/vmlinuz</kernel><initrd>{boot}/initrd.img</initrd>
    <cmdline>console=ttyS0 skillvl.hb_ms=500 skillvl.mem_mib=32 skillvl.rate_mib=8</cmdline></os>
  <features><acpi/></features>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <devices>
    {disk}
    <serial type='pty'><log file='/var/log/libvirt/qemu/{name}-console.log' append='off'/></serial>
    <console type='pty'/>
  </devices>
</domain>
"""


def remove_domain(lab, name):
    for host in (HV, DEST):
        lab.virsh(host, "destroy", name, check=False)
        lab.virsh(host, "undefine", name, check=False)


def wait_hb(lab, host, name, count=3, timeout=90):
    import heartbeat  # pylint: disable=import-outside-toplevel

    def ready():
        text = lab.run(host, "cat /var/log/libvirt/qemu/%s-console.log 2>/dev/null || true" % name).stdout
        return len([r for r in heartbeat.parse_console(text) if r["type"] == "hb"]) >= count
    lab.wait_for(ready, timeout=timeout, what="heartbeats of %s on %s" % (name, host))


def one_migration(lab, name, disk, extra):
    remove_domain(lab, name)
    xml = DOMAIN.format(name=name, mem=128, boot=GUEST_BOOT, disk=disk)
    lab.run(HV, "cat > /tmp/%s.xml" % name, input=xml)
    lab.virsh(HV, "define", "/tmp/%s.xml" % name)
    lab.virsh(HV, "start", name)
    try:
        wait_hb(lab, HV, name)
        started = time.monotonic()
        lab.virsh(HV, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", *extra,
                  *lab.virsh_migrate_tls(DEST).split(), name, lab.libvirt_uri(DEST), timeout=900)
        seconds = time.monotonic() - started
        info = lab.virsh(DEST, "domjobinfo", "--completed", name, check=False).stdout
        fields = dict((k.strip(), v.strip()) for k, _s, v in (line.partition(":") for line in info.splitlines()) if v)
        wait_hb(lab, DEST, name, count=1)
        return dict(wall_seconds=round(seconds, 2), job=fields)
    finally:
        remove_domain(lab, name)


def migration_benchmarks(lab, quick):
    disk_mib = 128 if quick else 1024
    out = {}
    # shared: disk on NFS (only memory moves)
    lab.run(SERVER, "rm -f {e}/bench-mig.qcow2 && qemu-img create -q -f qcow2 {e}/bench-mig.qcow2 {m}M && "
                    "qemu-io -f qcow2 -c 'write -P 90 0 {m}M' {e}/bench-mig.qcow2 >/dev/null && "
                    "chown libvirt-qemu:kvm {e}/bench-mig.qcow2 && chmod 0660 {e}/bench-mig.qcow2"
                    .format(e=EXPORT, m=disk_mib))
    nfs_disk = ("<disk type='network' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
                "<source protocol='nfs' name='%s/bench-mig.qcow2'><host name='%s'/></source>"
                "<target dev='vda' bus='virtio'/></disk>" % (EXPORT, SERVER))
    try:
        out["shared_nfs"] = one_migration(lab, "bench-sto-shared", nfs_disk, [])
        log("migration, disk on NFS (shared):     %.2f s" % out["shared_nfs"]["wall_seconds"])
    finally:
        lab.run(SERVER, "rm -f %s/bench-mig.qcow2" % EXPORT, check=False)
    # copy: local disk with the same data, copied along (destination precreated)
    path = "%s/bench-mig-local.qcow2" % LOCAL_DIR
    lab.run(HV, "rm -f {p} && qemu-img create -q -f qcow2 {p} {m}M && qemu-io -f qcow2 -c 'write -P 90 0 {m}M' "
                "{p} >/dev/null && chown libvirt-qemu:kvm {p}".format(p=path, m=disk_mib))
    lab.run(DEST, "rm -f {p} && qemu-img create -q -f qcow2 {p} {m}M && chown libvirt-qemu:kvm {p}"
                  .format(p=path, m=disk_mib))
    local_disk = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/>"
                  "<target dev='vda' bus='virtio'/></disk>" % path)
    try:
        out["copy_storage"] = one_migration(lab, "bench-sto-copy", local_disk, ["--copy-storage-all"])
        log("migration, local disk copied (%d MiB): %.2f s" % (disk_mib, out["copy_storage"]["wall_seconds"]))
    finally:
        lab.run(HV, "rm -f %s" % path, check=False)
        lab.run(DEST, "rm -f %s" % path, check=False)
    out["disk_mib"] = disk_mib
    out["ratio_copy_over_shared"] = round(out["copy_storage"]["wall_seconds"] / out["shared_nfs"]["wall_seconds"], 2)
    out.update(rbd_migrations(lab, disk_mib))
    out["ratio_rbd_copy_over_shared"] = round(out["rbd_to_local"]["wall_seconds"] / out["shared_rbd"]["wall_seconds"], 2)
    return out


def rbd_migrations(lab, disk_mib):
    """vm_migrate cloud1 -> ws01 of a guest on an RBD image: shared, then copied into a local file."""
    out = {}
    image = "bench-mig-rbd"
    local = "bench-rbd-copy-vda.raw"
    for name, dest_disks, key in (("bench-rbd-shared", [], "shared_rbd"),
                                  ("bench-rbd-copy", [{"target": "vda", "pool": "default", "volume": local,
                                                       "format": "raw"}], "rbd_to_local")):
        rbd(lab, "rm %s/%s" % (POOL, image), check=False)
        rbd(lab, "create --size %dM %s/%s" % (disk_mib, POOL, image))
        lab.run(HV, "qemu-io -f raw -c 'write -P 90 0 %dM' rbd:%s/%s:id=%s >/dev/null" % (disk_mib, POOL, image, HV),
                timeout=900)
        lab.run(DEST, "virsh -c qemu:///system vol-delete --pool default %s >/dev/null 2>&1; true" % local)
        remove_domain(lab, name)
        lab.run(HV, "cat > /tmp/%s.xml" % name,
                input=DOMAIN.format(name=name, mem=128, boot=GUEST_BOOT, disk=rbd_disk(lab, HV, image)))
        lab.virsh(HV, "define", "/tmp/%s.xml" % name)
        lab.virsh(HV, "start", name)
        try:
            wait_hb(lab, HV, name)
            res = lab.module(HV, "skillvl.offline_first.vm_migrate",
                             {"name": name, "dest": DEST, "transport": lab.migration_transport,
                              "dest_disks": dest_disks, "timeout": 900})
            assert not res.get("failed"), res.get("msg")
            wait_hb(lab, DEST, name, count=1)
            figs = res["figures"]
            out[key] = dict(wall_seconds=figs["wall_time_s"], data_mib=round((figs["data_bytes"] or 0) / 2 ** 20, 1),
                            disk_mib=round((figs["disk_bytes"] or 0) / 2 ** 20, 1), downtime_ms=figs["downtime_ms"])
            log("vm_migrate, %-28s %.2f s" % (key + ":", figs["wall_time_s"]))
        finally:
            remove_domain(lab, name)
            lab.run(DEST, "virsh -c qemu:///system vol-delete --pool default %s >/dev/null 2>&1; true" % local)
            rbd(lab, "rm %s/%s" % (POOL, image), check=False)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and a smaller disk")
    parser.add_argument("--skip-io", action="store_true")
    parser.add_argument("--skip-migration", action="store_true")
    parser.add_argument("--no-apply", action="store_true",
                        help="do not apply playbooks/storage.yml first (it is idempotent)")
    args = parser.parse_args()
    lab = Lab(os.environ.get("SKILLVL_LAB_NAME", "skillvl"))
    started = time.monotonic()
    if not args.no_apply:
        log("applying playbooks/storage.yml")
        lab.playbook("playbooks/storage.yml")
    report = dict(lab=lab.name, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  quick=args.quick)
    if not args.skip_io:
        report["io"], report["io_ratio_vs_local"] = io_benchmarks(lab, args.quick)
    if not args.skip_migration:
        report["migration"] = migration_benchmarks(lab, args.quick)
    report["bench_seconds"] = round(time.monotonic() - started, 1)
    os.makedirs(os.path.join(TOP, "bench", "results"), exist_ok=True)
    path = os.path.join(TOP, "bench", "results", "storage-%s.json" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    if "io" in report:
        print("\n| test | local MiB/s | NFS MiB/s (ratio) | iSCSI MiB/s (ratio) | RBD MiB/s (ratio) |")
        print("|---|---|---|---|---|")
        for label in ("seq_read", "seq_write", "rand4k_read", "rand4k_write"):
            loc, nfs, isc, rbd_ = (report["io"][k][label]["mib_s"] for k in KINDS)
            print("| %s | %.1f | %.1f (%.2f) | %.1f (%.2f) | %.1f (%.2f) |"
                  % (label, loc, nfs, nfs / loc, isc, isc / loc, rbd_, rbd_ / loc))
    if "migration" in report:
        mig = report["migration"]
        print("\nlive migration: shared NFS disk %.2f s, copy of a %d MiB local disk %.2f s (x%.2f)"
              % (mig["shared_nfs"]["wall_seconds"], mig["disk_mib"], mig["copy_storage"]["wall_seconds"],
                 mig["ratio_copy_over_shared"]))
        print("vm_migrate: shared RBD disk %.2f s, RBD disk copied into a local file %.2f s (x%.2f)"
              % (mig["shared_rbd"]["wall_seconds"], mig["rbd_to_local"]["wall_seconds"],
                 mig["ratio_rbd_copy_over_shared"]))
    print("\nresults: %s (%.0f s)" % (os.path.relpath(path, TOP), report["bench_seconds"]))


if __name__ == "__main__":
    main()
