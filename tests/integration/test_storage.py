"""Shared storage in the lab: NFS (nfs-ganesha) and iSCSI (tgt) served by storage1, used by
the hypervisors through QEMU's libnfs/libiscsi network disks.

- live migration cloud1 -> ws01 -> cloud1 with the VM's disk on NFS, then on iSCSI, without
  --unsafe and without copying storage; the disk's heartbeat sectors, read on the server, are
  intact and continue after the migrations;
- refusals: a wrong CHAP secret, an initiator outside the ACL, a client outside the export list;
- the modules: idempotence, check mode, bad input (clear error, nothing changed), and the
  kernel backends by rendering + exportfs validation, including the guard against the false
  pass of nfs-kernel-server's init script.

Run: SKILLVL_LAB_NAME=sto SKILLVL_KEEP_LAB=1 .venv/bin/pytest tests/integration/test_storage.py
"""
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "lab"))

import heartbeat  # noqa: E402  pylint: disable=wrong-import-position

SERVER = "storage1"
EXPORT = "/srv/skillvl/vms"
TARGET = "iqn.2026-11.org.skillvl:storage1.vms"
LUN_FILE = "/srv/skillvl/luns/vms-lun1.img"
DISK_IQN = "iqn.2026-11.org.skillvl:hypervisors"
CHAP_USER = "skillvl-vms"
CHAP_PASSWORD = "lab-only-chap-secret-1"      # inventories/lab/group_vars/all/storage.yml (the vault stand-in)
SECRET_USAGE = "skillvl-iscsi-vms"
GUEST_BOOT = "/var/lib/libvirt/boot/skillvl-lab-guest"
HB_MS = 500

NFS_DISK = ("<disk type='network' device='disk'><driver name='qemu' type='qcow2' cache='none'/>"
            "<source protocol='nfs' name='%s/{volume}'><host name='%s'/></source>"
            "<target dev='vda' bus='virtio'/></disk>" % (EXPORT, SERVER))
ISCSI_DISK = ("<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none'/>"
              "<source protocol='iscsi' name='%s/{volume}'><host name='%s' port='3260'/>"
              "<initiator><iqn name='%s'/></initiator>"
              "<auth username='%s'><secret type='iscsi' usage='{usage}'/></auth></source>"
              "<target dev='vda' bus='virtio'/></disk>" % (TARGET, SERVER, DISK_IQN, CHAP_USER))

DOMAIN = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <kernel>{boot}/vmlinuz</kernel><initrd>{boot}/initrd.img</initrd>
    <cmdline>console=ttyS0 skillvl.hb_ms={hb_ms} skillvl.mem_mib=16 skillvl.rate_mib=8</cmdline></os>
  <features><acpi/></features>
  <cpu mode='custom'><model>qemu64</model></cpu>
  <on_crash>destroy</on_crash>
  <devices>
    {disk}
    <serial type='pty'><log file='/var/log/libvirt/qemu/{name}-console.log' append='off'/></serial>
    <console type='pty'/>
  </devices>
</domain>
"""


# ---- helpers -----------------------------------------------------------------------------

def run_modules(lab, host, calls, timeout=900):
    """Run several module calls on one host in one playbook; returns their result dicts.

    calls: list of (fqcn, args, check_mode). Each task ignores errors, so every call runs and
    failed results are returned like the others (one ansible run instead of one per call).
    """
    tasks = []
    for i, (fqcn, args, check_mode) in enumerate(calls):
        tasks.append({"name": "call %d" % i, fqcn: args, "check_mode": bool(check_mode),
                      "ignore_errors": True, "diff": True})
    play = [{"name": "storage test calls", "hosts": host, "gather_facts": False, "tasks": tasks}]
    fd, path = tempfile.mkstemp(prefix="it-storage-", suffix=".yml")
    with os.fdopen(fd, "w") as handle:
        json.dump(play, handle)
    try:
        env = dict(lab.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
        argv = [os.path.join(TOP, ".venv", "bin", "ansible-playbook"), "-i", os.path.join(TOP, "inventories", "lab"),
                "-e", json.dumps({"lab_name": lab.name}), path]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=TOP,
                              check=False)
    finally:
        os.unlink(path)
    try:
        out = json.loads(proc.stdout[proc.stdout.index("{"):])
        return [t["hosts"][host] for t in out["plays"][0]["tasks"]]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("could not run the module calls on %s:\n%s\n%s"
                             % (host, proc.stdout[-5000:], proc.stderr[-3000:]))


def run_module(lab, host, fqcn, args, check_mode=False):
    return run_modules(lab, host, [(fqcn, args, check_mode)])[0]


def console_records(lab, host, name):
    proc = lab.run(host, "cat /var/log/libvirt/qemu/%s-console.log 2>/dev/null || true" % name)
    return [r for r in heartbeat.parse_console(proc.stdout) if r["type"] == "hb"]


def wait_heartbeats(lab, host, name, after_seq=-1, count=3, timeout=90):
    def enough():
        recs = [r for r in console_records(lab, host, name) if r["seq"] > after_seq]
        return recs if len(recs) >= count else None
    return lab.wait_for(enough, timeout=timeout, interval=1.0,
                        what="%d heartbeats of %s on %s after seq %d" % (count, name, host, after_seq))


def domain_state(lab, host, name):
    proc = lab.virsh(host, "domstate", name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def remove_domain(lab, name):
    for host in ("cloud1", "ws01", "ws02"):
        lab.virsh(host, "destroy", name, check=False)
        lab.virsh(host, "undefine", name, check=False)


def start_domain(lab, host, name, disk):
    xml = DOMAIN.format(name=name, boot=GUEST_BOOT, hb_ms=HB_MS, disk=disk)
    lab.run(host, "cat > /tmp/%s.xml" % name, input=xml)
    lab.virsh(host, "define", "/tmp/%s.xml" % name)
    lab.virsh(host, "start", name)


def migrate(lab, src, dst, name):
    """Through playbooks/migrate.yml and so vm_migrate, with the inventory's transport and storage=shared."""
    started = time.monotonic()
    proc = lab.playbook("playbooks/migrate.yml", {"vm": name, "target": dst}, check=False, timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "VM %s moved from %s to %s" % (name, src, dst) in proc.stdout, proc.stdout[-3000:]
    assert domain_state(lab, dst, name) == "running"
    assert domain_state(lab, src, name) is None, "the source still has %s after the move" % name
    return elapsed


def disk_records(lab, raw_cmd):
    """(valid heartbeat records, number of damaged record sectors) of a disk image read on the server."""
    proc = lab.run(SERVER, "(%s) | base64 -w0" % raw_cmd, timeout=120)
    raw = base64.b64decode(proc.stdout)
    records = heartbeat.parse_disk(raw, all_boots=True)
    valid_slots = set(r["slot"] for r in records)
    damaged = 0
    for slot in range(heartbeat.DISK_SLOTS):
        sector = raw[heartbeat.SECTOR * (1 + slot):heartbeat.SECTOR * (2 + slot)]
        if sector.startswith(heartbeat.REC_MAGIC) and slot not in valid_slots:
            damaged += 1
    return records, damaged


def migration_round_trip(lab, name, disk, read_disk):
    """Boot on cloud1, migrate to ws01 and back, check console and disk heartbeats.

    The guest's disk writer keeps only the latest record when a write is still pending, so a
    starved guest may skip a record on disk (never on the console). What must hold: every
    record on the disk is intact (CRC) and says exactly what the console said for that seq,
    the records cover the time before, between and after the migrations, and one boot wrote
    them all.
    """
    remove_domain(lab, name)
    try:
        start_domain(lab, "cloud1", name, disk)
        wait_heartbeats(lab, "cloud1", name, count=4)
        console = dict((r["seq"], r) for r in console_records(lab, "cloud1", name))
        there = migrate(lab, "cloud1", "ws01", name)
        wait_heartbeats(lab, "ws01", name, after_seq=max(console), count=3)
        on_ws01 = console_records(lab, "ws01", name)
        console.update((r["seq"], r) for r in on_ws01)
        back = migrate(lab, "ws01", "cloud1", name)
        after = wait_heartbeats(lab, "cloud1", name, after_seq=max(console), count=3)
        console.update((r["seq"], r) for r in console_records(lab, "cloud1", name))
        assert all(r["memerr"] == 0 for r in console.values())
        records, damaged = read_disk()
        summary = heartbeat.summary(records)
        assert records, "no heartbeat sectors on the shared disk"
        assert damaged == 0, "%d damaged heartbeat sectors on the shared disk" % damaged
        assert len(set(r["boot"] for r in records)) == 1, "the guest rebooted: %s" % summary
        for rec in records:
            seen = console.get(rec["seq"])
            if seen is not None:
                assert seen["uptime_ms"] == rec["uptime_ms"], (rec, seen)
        seqs = sorted(r["seq"] for r in records)
        assert seqs[0] <= min(console) + 4, "the first heartbeats are not on the disk: %s" % summary
        assert any(min(r["seq"] for r in on_ws01) <= q <= max(r["seq"] for r in on_ws01) for q in seqs)
        assert seqs[-1] >= after[0]["seq"], "the disk stopped receiving heartbeats: %s" % summary
        # a few records may be skipped by a starved guest; many would mean lost writes
        assert summary["missing"] <= max(3, (seqs[-1] - seqs[0]) // 5), summary
        return there, back
    finally:
        remove_domain(lab, name)


# ---- fixtures ------------------------------------------------------------------------------

def ensure_guest_files(lab, host):
    """The vm role installs the lab guest's kernel and initrd; install them if it has not."""
    if lab.run(host, "test -r %s/vmlinuz && test -r %s/initrd.img" % (GUEST_BOOT, GUEST_BOOT),
               check=False).returncode == 0:
        return
    lab.run(host, "mkdir -p %s" % GUEST_BOOT)
    for name in ("vmlinuz", "initrd.img"):
        src = os.path.join(TOP, ".lab", "guest", name)
        assert os.path.exists(src), "%s is missing: build the lab guest (playbooks/lab.yml)" % src
        subprocess.run(["podman", "cp", src, "%s:%s/%s" % (lab.container(host), GUEST_BOOT, name)],
                       check=True, env=lab.env, timeout=120, capture_output=True)


@pytest.fixture(scope="module")
def storage(lab):
    """The storage servers and clients as site.yml left them (test_foundation checks that a second
    site.yml run, storage play included, changes nothing)."""
    for host in ("cloud1", "ws01", "ws02"):
        ensure_guest_files(lab, host)
        for port in (2049, 3260):
            probe = lab.run(host, "timeout 10 bash -c 'exec 3<>/dev/tcp/%s/%d'" % (SERVER, port), check=False)
            assert probe.returncode == 0, (
                "%s cannot open a TCP connection to %s:%d although the lab is up. With the hypervisors' "
                "underlay on an OVS userspace bridge (br-phy), a veth peer that leaves TX checksums to "
                "offload sends segments that arrive with bad checksums: the lab host needs "
                "`ethtool -K eth0 tx off` (docs/storage.md)" % (host, SERVER, port))
    return lab


# ---- the roles -----------------------------------------------------------------------------

def test_servers_are_up(storage):
    nfs, iscsi = run_modules(storage, SERVER, [
        ("skillvl.offline_first.nfs_export_info", {"backend": "ganesha"}, False),
        ("skillvl.offline_first.iscsi_target_info", {"backend": "tgt"}, False)])
    assert nfs["server"]["running"], nfs
    assert [e["path"] for e in nfs["exports"]] == [EXPORT]
    target = [t for t in iscsi["targets"] if t["iqn"] == TARGET]
    assert target and target[0]["luns"] == [LUN_FILE]
    assert DISK_IQN in target[0]["initiators"] and target[0]["chap_users"] == [CHAP_USER]
    assert CHAP_PASSWORD not in repr(iscsi)


# ---- live migration on shared storage --------------------------------------------------------

def test_live_migration_with_disk_on_nfs(storage):
    volume = "it-nfs.qcow2"
    path = "%s/%s" % (EXPORT, volume)
    storage.run(SERVER, "rm -f %s && qemu-img create -q -f qcow2 %s 64M && chown libvirt-qemu:kvm %s && "
                        "chmod 0660 %s" % (path, path, path, path))
    try:
        there, back = migration_round_trip(
            storage, "it-sto-nfs", NFS_DISK.format(volume=volume),
            lambda: disk_records(storage, "qemu-img convert -U -O raw %s /tmp/it-nfs.raw && "
                                          "head -c 2M /tmp/it-nfs.raw; rm -f /tmp/it-nfs.raw" % path))
        print("NFS: cloud1->ws01 %.1fs, ws01->cloud1 %.1fs" % (there, back))
    finally:
        storage.run(SERVER, "rm -f %s" % path, check=False)


def test_live_migration_with_disk_on_iscsi(storage):
    storage.run(SERVER, "dd if=/dev/zero of=%s bs=1M count=2 conv=notrunc status=none" % LUN_FILE)
    there, back = migration_round_trip(
        storage, "it-sto-iscsi", ISCSI_DISK.format(volume=1, usage=SECRET_USAGE),
        lambda: disk_records(storage, "dd if=%s bs=1M count=2 status=none" % LUN_FILE))
    print("iSCSI: cloud1->ws01 %.1fs, ws01->cloud1 %.1fs" % (there, back))


# ---- refusals -------------------------------------------------------------------------------

def _iscsi_open(lab, host, user, password, initiator):
    opts = ("driver=iscsi,transport=tcp,portal=%s:3260,target=%s,lun=1,user=%s,password=%s,"
            "initiator-name=%s" % (SERVER, TARGET, user, password, initiator))
    return lab.run(host, "timeout 30 qemu-img info --image-opts %s" % shlex.quote(opts), check=False)


def test_iscsi_right_credentials_work(storage):
    proc = _iscsi_open(storage, "ws02", CHAP_USER, CHAP_PASSWORD, DISK_IQN)
    assert proc.returncode == 0, proc.stderr


def test_iscsi_initiator_names_still_restrict_after_a_tgt_restart(storage):
    """tgt-admin binds initiator-address ALL to every target without an address line when tgtd
    starts, and tgtd admits an initiator whose address or name is listed: without the role's
    hook any initiator name got in (with the CHAP secret) until the next site.yml run."""
    restart = storage.run(SERVER, "systemctl restart tgt && systemctl is-active tgt", check=False)
    assert restart.returncode == 0, restart.stdout + restart.stderr
    shown = storage.run(SERVER, "tgtadm --lld iscsi --mode target --op show").stdout
    acl = shown.split("Target ")[[i for i, block in enumerate(shown.split("Target ")) if TARGET in block][0]]
    assert "ALL" not in acl.split("ACL information:")[1].split(), acl
    intruder = _iscsi_open(storage, "ws02", CHAP_USER, CHAP_PASSWORD, "iqn.2026-11.org.skillvl:intruder")
    assert intruder.returncode != 0 and "Target not found" in intruder.stderr, intruder.stderr
    assert _iscsi_open(storage, "ws02", CHAP_USER, CHAP_PASSWORD, DISK_IQN).returncode == 0


def test_iscsi_wrong_chap_secret_is_refused(storage):
    proc = _iscsi_open(storage, "ws02", CHAP_USER, "wrong-secret-1234", DISK_IQN)
    assert proc.returncode != 0
    assert "Authentication failure" in proc.stderr, proc.stderr


def test_iscsi_wrong_chap_secret_in_libvirt_gives_clear_error(storage):
    name, usage = "it-sto-badchap", "skillvl-it-wrong"
    uuid = "6b1d5f54-0c4e-4c8a-9c2e-5b0f6f0a0b01"
    host = "ws02"
    secret = ("<secret ephemeral='no' private='yes'><uuid>%s</uuid><usage type='iscsi'><target>%s</target>"
              "</usage></secret>" % (uuid, usage))
    storage.run(host, "cat > /tmp/it-secret.xml", input=secret)
    remove_domain(storage, name)
    try:
        storage.virsh(host, "secret-define", "/tmp/it-secret.xml")
        storage.run(host, "printf %s wrong-secret-1234 > /tmp/it-secret && virsh -c qemu:///system "
                          "secret-set-value %s --file /tmp/it-secret --plain; rm -f /tmp/it-secret" % ("%s", uuid))
        xml = DOMAIN.format(name=name, boot=GUEST_BOOT, hb_ms=HB_MS,
                            disk=ISCSI_DISK.format(volume=1, usage=usage))
        storage.run(host, "cat > /tmp/%s.xml" % name, input=xml)
        proc = storage.virsh(host, "create", "/tmp/%s.xml" % name, check=False)
        assert proc.returncode != 0
        assert "Authentication failure" in proc.stderr, proc.stderr
    finally:
        remove_domain(storage, name)
        storage.virsh(host, "secret-undefine", uuid, check=False)


def test_iscsi_initiator_outside_acl_is_refused(storage):
    proc = _iscsi_open(storage, "ws02", CHAP_USER, CHAP_PASSWORD, "iqn.2026-11.org.skillvl:intruder")
    assert proc.returncode != 0
    assert "Failed to log in to target" in proc.stderr, proc.stderr


def test_nfs_client_outside_export_is_refused(storage):
    # storage1 itself (198.51.100.31) is not among the export's clients (the hypervisors).
    probe = "timeout 30 qemu-img info nfs://%s%s/ 2>&1; echo rc=$?"
    inside = storage.run("ws02", probe % (SERVER, EXPORT)).stdout
    outside = storage.run(SERVER, probe % (SERVER, EXPORT)).stdout
    assert "Failed to mount nfs share" not in inside, inside
    assert "Failed to mount nfs share" in outside, outside


# ---- modules: idempotence, check mode, bad input -------------------------------------------

def _server_state(lab):
    return lab.run(SERVER, "cat /etc/ganesha/ganesha.conf /etc/ganesha/exports.d/* /etc/tgt/conf.d/* "
                           "2>/dev/null | md5sum; ls /srv/skillvl/luns; "
                           "tgtadm --lld iscsi --mode target --op show | md5sum").stdout


NFS_CLIENTS = [{"host": h, "access": "rw", "secure": False} for h in ("198.51.100.11", "198.51.100.21",
                                                                      "198.51.100.22")]
ISCSI_ARGS = {"iqn": TARGET, "backend": "tgt", "luns": [{"path": LUN_FILE, "size": "2G"}],
              "initiators": [DISK_IQN] + ["iqn.2026-11.org.skillvl:%s" % h for h in ("cloud1", "ws01", "ws02")],
              "chap": {"username": CHAP_USER, "password": CHAP_PASSWORD},
              "portals": ["198.51.100.31:3260"]}

BAD_NFS = [
    ({"path": "srv/skillvl/vms", "clients": [{"host": "198.51.100.11"}]}, "relative"),
    ({"path": EXPORT, "clients": [{"host": "bad..host"}]}, "neither a host nor a network"),
    ({"path": EXPORT, "clients": [{"host": "198.51.100.0/33"}]}, "neither a host nor a network"),
    ({"path": EXPORT, "clients": [{"host": "*"}]}, "every host"),
    ({"path": "/srv/skillvl", "clients": [{"host": "198.51.100.11", "extra_options": ["Bogus_Option=1"]}]},
     "Unknown parameter"),
]
BAD_ISCSI = [
    ({"iqn": "iqn.2026-13.org.skillvl:bad"}, "malformed"),
    ({"iqn": "storage1-vms"}, "malformed"),
    ({"iqn": "iqn.2026-11.org.skillvl:it", "initiators": ["cloud1"]}, "initiator IQN"),
    ({"iqn": "iqn.2026-11.org.skillvl:it", "luns": [{"path": "luns/x.img"}]}, "relative"),
    ({"iqn": "iqn.2026-11.org.skillvl:it", "chap": {"username": "u", "password": "short"}}, "12 to 255"),
]


def test_modules_idempotent_check_mode_and_bad_input(storage):
    before = _server_state(storage)
    check_iscsi = dict(ISCSI_ARGS, iqn="iqn.2026-11.org.skillvl:it.check",
                       luns=[{"path": "/srv/skillvl/luns/it.img", "size": "16M"}],
                       chap={"username": "it-check", "password": "another-secret-99"})
    calls = [
        ("skillvl.offline_first.nfs_export", {"name": "vms", "path": EXPORT, "clients": NFS_CLIENTS,
                                              "backend": "ganesha"}, False),
        ("skillvl.offline_first.iscsi_target", ISCSI_ARGS, False),
        ("skillvl.offline_first.nfs_export", {"name": "it-check", "path": "/srv/skillvl", "clients": NFS_CLIENTS,
                                              "backend": "ganesha"}, True),
        ("skillvl.offline_first.iscsi_target", check_iscsi, True),
    ]
    calls += [("skillvl.offline_first.nfs_export", dict({"name": "it-bad", "backend": "ganesha"}, **args), False)
              for args, _words in BAD_NFS]
    calls += [("skillvl.offline_first.iscsi_target", dict(args, backend="tgt"), False) for args, _words in BAD_ISCSI]
    results = run_modules(storage, SERVER, calls)
    nfs_again, iscsi_again, nfs_check, iscsi_check = results[:4]
    assert nfs_again["changed"] is False and not nfs_again.get("failed"), nfs_again
    assert iscsi_again["changed"] is False and not iscsi_again.get("failed"), iscsi_again
    assert nfs_check["changed"] is True and not nfs_check.get("failed"), nfs_check
    assert iscsi_check["changed"] is True and iscsi_check["actions"], iscsi_check
    for result, (args, words) in zip(results[4:], BAD_NFS + BAD_ISCSI):
        assert result.get("failed") and words in result["msg"], (args, result)
    text = json.dumps(results)
    assert CHAP_PASSWORD not in text and "another-secret-99" not in text
    assert _server_state(storage) == before


# ---- secrets off the command line, portals on the underlay -----------------------------------

SERVER_UNDERLAY = "198.51.100.31"        # inventories/lab/hosts.yml
MUTUAL_TARGET = "iqn.2026-11.org.skillvl:storage1.it-mutual"
MUTUAL_LUN = "/srv/skillvl/luns/it-mutual.img"
ARGV_SECRETS = ("it-chap-secret-one", "it-chap-secret-two", "it-target-secret-1")
# Every tgtadm the module runs goes through this wrapper (first in PATH), which logs its argv;
# a sampler reads every process's /proc/PID/cmdline meanwhile. The secrets are matched from a
# file, so that the sampler's own command line holds none.
TGTADM_WRAPPER = """#!/bin/sh
printf '%s\\n' "$*" >> /run/it-tgtadm-argv.log
exec /usr/sbin/tgtadm "$@"
"""
SAMPLER = ("while :; do for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < $f 2>/dev/null; echo; done "
           "| grep -F -f /run/it-secrets >> /run/it-cmdline-hits.log; sleep 0.02; done")


def _listeners(lab, port):
    """Local addresses of the TCP sockets listening on `port` inside the storage host."""
    out = lab.run(SERVER, "ss -ltnH").stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            addr, _sep, lport = fields[3].rpartition(":")
            if lport == str(port):
                found.append(addr.strip("[]"))
    return found


def test_iscsi_and_nfs_listen_on_the_storage_underlay_only(storage):
    """tgtd listens on 0.0.0.0:3260 and [::]:3260 unless it is started with portals; ganesha on
    every address unless Bind_addr says otherwise."""
    for port in (3260, 2049):
        # ganesha binds an IPv6 socket to the IPv4-mapped form of the address: the same address
        listeners = [a[len("::ffff:"):] if a.startswith("::ffff:") else a for a in _listeners(storage, port)]
        assert listeners == [SERVER_UNDERLAY], "port %d: %s" % (port, listeners)
    assert storage.run("ws02", "timeout 10 bash -c 'exec 3<>/dev/tcp/%s/3260'" % SERVER_UNDERLAY,
                       check=False).returncode == 0


def test_tgt_chap_secrets_never_on_a_command_line(storage):
    """Create, bind, reset and delete CHAP accounts (one-way and mutual) through the module, and
    restart and reload tgt, while every tgtadm argv is logged and every process's command line
    is sampled: no secret in any (tgt-admin puts conf.d's accounts on tgtadm's command line when
    tgtd starts). After the restart the initiator logs in with the new secret only (the restore
    hook gave the accounts back), and the role's target still wants its own CHAP secret."""
    lab = storage
    one, two, mutual = ARGV_SECRETS
    lab.run(SERVER, "umask 077 && cat > /run/it-secrets && : > /run/it-tgtadm-argv.log && "
                    ": > /run/it-cmdline-hits.log", input="\n".join(ARGV_SECRETS) + "\n")
    lab.run(SERVER, "cat > /usr/local/sbin/tgtadm && chmod 0755 /usr/local/sbin/tgtadm", input=TGTADM_WRAPPER)
    pid = lab.run(SERVER, "setsid sh -c %s >/dev/null 2>&1 < /dev/null & echo $!" % shlex.quote(SAMPLER)).stdout.strip()
    assert pid.isdigit(), pid
    base = {"iqn": MUTUAL_TARGET, "backend": "tgt", "luns": [{"path": MUTUAL_LUN, "size": "16M"}],
            "initiators": [DISK_IQN], "portals": ["%s:3260" % SERVER_UNDERLAY]}
    try:
        results = run_modules(lab, SERVER, [
            ("skillvl.offline_first.iscsi_target",
             dict(base, chap={"username": "it-mutual-in", "password": one,
                              "mutual_username": "it-mutual-out", "mutual_password": mutual}), False),
            ("skillvl.offline_first.iscsi_target_info", {"backend": "tgt"}, False),
            # a new secret: the account is deleted and created again
            ("skillvl.offline_first.iscsi_target",
             dict(base, chap={"username": "it-mutual-in", "password": two,
                              "mutual_username": "it-mutual-out", "mutual_password": mutual}), False),
        ])
        created, info, reset = results
        assert created["changed"] and not created.get("failed"), created
        assert reset["changed"] and not reset.get("failed"), reset
        target = [t for t in info["targets"] if t["iqn"] == MUTUAL_TARGET]
        assert target and target[0]["chap_users"] == ["it-mutual-in"], info
        assert target[0]["mutual_chap_users"] == ["it-mutual-out"], info
        name = "skillvl-%s.conf" % MUTUAL_TARGET.replace(":", "_")
        assert lab.run(SERVER, "stat -c %%a /etc/tgt/skillvl-chap/%s" % name).stdout.strip() == "600"
        assert "it-mutual-in" not in lab.run(SERVER, "cat /etc/tgt/conf.d/%s" % name).stdout
        restart = lab.run(SERVER, "systemctl restart tgt && systemctl reload tgt && systemctl is-active tgt",
                          check=False)
        assert restart.returncode == 0, restart.stdout + restart.stderr
        after = run_module(lab, SERVER, "skillvl.offline_first.iscsi_target_info", {"backend": "tgt"})
        target = [t for t in after["targets"] if t["iqn"] == MUTUAL_TARGET]
        assert target and target[0]["chap_users"] == ["it-mutual-in"], after
        assert target[0]["mutual_chap_users"] == ["it-mutual-out"], after
        # the account tgtd holds is the one set last
        opts = ("driver=iscsi,transport=tcp,portal=%s:3260,target=%s,lun=1,user=it-mutual-in,"
                "initiator-name=%s,password-secret=sec0" % (SERVER, MUTUAL_TARGET, DISK_IQN))
        for password, ok in ((two, True), (one, False)):
            proc = lab.run("ws02", "umask 077; printf %%s %s > /run/it-sec && timeout 30 qemu-img info "
                                   "--object secret,id=sec0,file=/run/it-sec --image-opts %s; rc=$?; "
                                   "rm -f /run/it-sec; exit $rc" % (shlex.quote(password), shlex.quote(opts)),
                           check=False)
            assert (proc.returncode == 0) == ok, (ok, proc.stderr)
        for password, ok in ((CHAP_PASSWORD, True), ("wrong-secret-1234", False)):
            proc = _iscsi_open(lab, "ws02", CHAP_USER, password, DISK_IQN)
            assert (proc.returncode == 0) == ok, (ok, proc.stderr)
        text = json.dumps(results)
        assert not any(secret in text for secret in ARGV_SECRETS)
    finally:
        removed = run_module(lab, SERVER, "skillvl.offline_first.iscsi_target",
                             {"iqn": MUTUAL_TARGET, "backend": "tgt", "state": "absent", "force": True})
        lab.run(SERVER, "kill %s" % pid, check=False)
        argv_log = lab.run(SERVER, "cat /run/it-tgtadm-argv.log", check=False).stdout
        hits = lab.run(SERVER, "cat /run/it-cmdline-hits.log", check=False).stdout
        lab.run(SERVER, "rm -f /usr/local/sbin/tgtadm /run/it-secrets /run/it-tgtadm-argv.log "
                        "/run/it-cmdline-hits.log %s" % MUTUAL_LUN, check=False)
    assert not removed.get("failed"), removed
    # the wrapper saw the module's tgtadm calls (targets, LUNs, ACL, reads) and tgt-admin's ...
    assert "--mode account --op show" in argv_log, argv_log
    assert "--mode target --op new" in argv_log and "-T %s" % MUTUAL_TARGET in argv_log, argv_log
    # ... and no secret, on its argv or on any process's command line
    assert not any(secret in argv_log for secret in ARGV_SECRETS), argv_log
    assert hits.strip() == "", hits


# ---- kernel backends: render and validate -----------------------------------------------------

def test_kernel_exports_rendered_and_validated(storage):
    host = "ws02"
    storage.run(host, "mkdir -p /srv/it-kernel")
    args = {"name": "it-kernel", "path": "/srv/it-kernel", "backend": "kernel",
            "clients": [{"host": "198.51.100.11", "access": "rw"}, {"host": "198.51.100.0/24"}]}
    bad = dict(args, clients=[{"host": "198.51.100.11", "extra_options": ["bogus"]}])
    try:
        first, again, rejected, info = run_modules(storage, host, [
            ("skillvl.offline_first.nfs_export", args, False),
            ("skillvl.offline_first.nfs_export", args, False),
            ("skillvl.offline_first.nfs_export", bad, False),
            ("skillvl.offline_first.nfs_export_info", {"backend": "kernel"}, False)])
        assert first["changed"] and not first.get("failed"), first
        assert any("no kernel NFS server is running" in w for w in first.get("warnings", [])), first
        assert again["changed"] is False, again
        # exportfs -ra rejects the option; the previous entry is restored and applied again
        assert rejected.get("failed") and 'unknown keyword "bogus"' in rejected["msg"], rejected
        entry = storage.run(host, "cat /etc/exports.d/it-kernel.exports").stdout
        assert '"/srv/it-kernel" 198.51.100.11(rw,sync,root_squash,no_subtree_check,secure)' in entry, entry
        table = storage.run(host, "exportfs -v").stdout
        assert "/srv/it-kernel" in table and "198.51.100.11(" in table and "bogus" not in table
        assert info["server"]["running"] is False
        assert [e["name"] for e in info["exports"]] == ["it-kernel"]
    finally:
        run_module(storage, host, "skillvl.offline_first.nfs_export",
                   {"name": "it-kernel", "backend": "kernel", "state": "absent"})
        storage.run(host, "rmdir /srv/it-kernel", check=False)
    assert "/srv/it-kernel" not in storage.run(host, "exportfs -v").stdout


def test_kernel_nfs_server_false_pass_is_caught(storage):
    """nfs-kernel-server's init script exits 0 without a kernel server: the role must fail."""
    host = "ws02"
    proc = storage.playbook("tests/integration/storage/kernel_guard.yml", {"it_host": host}, check=False)
    try:
        out = " ".join(proc.stdout.split())
        assert proc.returncode != 0
        assert "no kernel NFS server is running" in out, proc.stdout[-3000:]
        assert "this kernel has no nfsd" in out
    finally:
        run_module(storage, host, "skillvl.offline_first.nfs_export",
                   {"name": "it-guard", "backend": "kernel", "state": "absent"})
        storage.run(host, "rmdir /srv/it-guard", check=False)
