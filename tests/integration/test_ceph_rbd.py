"""Ceph RBD in the lab: a real single-node cluster (role lab_ceph: mon, mgr, one BlueStore OSD on a
sparse file, in cloud1) and the hypervisors' client side (role ceph_client on cloud1 and ws01).

- the cluster is HEALTH_OK with every placement group active+clean, and the pool is an RBD pool;
- cloud1's libvirt has the rbd pool running and creates, writes, reads and deletes a volume in it;
- each client's key reaches RBD on its pool only (least capabilities);
- a guest whose disk is an RBD image boots on cloud1 and vm_migrate moves it to ws01 as shared
  storage (no storage copy, no --unsafe), each host opening the image as its own Ceph user: the
  module gives the destination its own disk definition; heartbeats on console and disk go on;
- the same guest scales away to ws01 with its disk copied into a local qcow2 file and comes back
  into a new RBD image (dest_disks), its disk heartbeats intact each time; the old image's name is
  a clash refused with nothing changed; so are a pool the workstation does not have and one too
  small for what the image holds;
- a host without a key (ws02), or with a forged one, cannot open an image: a clear refusal;
- the key is in no process's command line and in no journal, the keyring is 0600, the libvirt
  secret is private;
- the vm role keeps a guest's disks on RBD; scale_away.yml turns them into local files on a
  workstation and return.yml puts them back onto RBD, the guest's writes intact;
- a second run of the storage playbook changes nothing (test_foundation reruns all of site.yml).

Run: SKILLVL_LAB_NAME=ceph SKILLVL_KEEP_LAB=1 .venv/bin/pytest tests/integration/test_ceph_rbd.py
"""
import base64
import re

import pytest

from labguests import IMAGES, guest_xml, migrate, recap

import heartbeat  # lab/heartbeat.py (labguests puts lab/ on the path)  pylint: disable=wrong-import-order

MON_HOST = "cloud1"
CLIENTS = ("cloud1", "ws01")
NO_KEY = "ws02"
POOL = "vms"
LIBVIRT_POOL = "skillvl-rbd"
T = 30                      # seconds any ceph command may take: a lost client retries for ever


def admin(lab, cmd, check=True):
    """ceph/rbd as client.admin on the monitor host (its /etc/ceph: ceph.conf of the client side
    and client.admin's keyring)."""
    return lab.run(MON_HOST, "timeout %d %s" % (T, cmd), check=check, timeout=T + 10)


def key_of(lab, client):
    return admin(lab, "ceph --connect-timeout %d auth print-key client.%s" % (T, client)).stdout.strip()


@pytest.fixture(scope="module")
def ceph(lab):
    for host in CLIENTS + (NO_KEY,):   # libvirtd is socket-activated and exits when idle
        lab.run(host, "systemctl start libvirtd.service >/dev/null 2>&1 || true", check=False)
    yield lab
    lab.virsh(MON_HOST, "vol-delete", "--pool", LIBVIRT_POOL, "itest-vol", check=False)
    admin(lab, "rbd rm %s/itest-img" % POOL, check=False)


def test_cluster_is_healthy(ceph):
    assert admin(ceph, "ceph --connect-timeout %d health" % T).stdout.strip() == "HEALTH_OK"
    pgs = admin(ceph, "ceph --connect-timeout %d pg stat" % T).stdout
    total = int(re.match(r"(\d+) pgs:", pgs).group(1))
    assert "%d active+clean" % total in pgs, pgs
    assert "rbd" in admin(ceph, "ceph --connect-timeout %d osd pool application get %s" % (T, POOL)).stdout
    status = admin(ceph, "ceph --connect-timeout %d -s" % T).stdout
    assert "1 osds: 1 up" in status and "quorum a" in status, status
    # BlueStore on a sparse file: it takes far less than its size.
    du = ceph.run(MON_HOST, "du -k /var/lib/ceph/osd/ceph-0/block; stat -c %s /var/lib/ceph/osd/ceph-0/block").stdout
    used_kib, size = int(du.split()[0]), int(du.split()[-1])
    assert used_kib * 1024 < size / 2, du


def test_libvirt_rbd_pool_creates_writes_reads_a_volume(ceph):
    info = ceph.virsh(MON_HOST, "pool-info", LIBVIRT_POOL).stdout
    assert re.search(r"State:\s+running", info) and re.search(r"Autostart:\s+yes", info), info
    assert "<pool type='rbd'>" in ceph.virsh(MON_HOST, "pool-dumpxml", LIBVIRT_POOL).stdout
    ceph.virsh(MON_HOST, "vol-delete", "--pool", LIBVIRT_POOL, "itest-vol", check=False)
    ceph.virsh(MON_HOST, "vol-create-as", LIBVIRT_POOL, "itest-vol", "8M", "--format", "raw")
    assert "itest-vol" in ceph.virsh(MON_HOST, "vol-list", LIBVIRT_POOL).stdout
    vol = ceph.virsh(MON_HOST, "vol-dumpxml", "--pool", LIBVIRT_POOL, "itest-vol").stdout
    assert "<capacity unit='bytes'>8388608</capacity>" in vol and "<path>vms/itest-vol</path>" in vol, vol
    # libvirt's rbd pool has no vol-upload/download: the data goes through QEMU's rbd driver, as a
    # guest's does, with this host's own key.
    img = "rbd:%s/itest-vol:id=%s" % (POOL, MON_HOST)
    ceph.run(MON_HOST, "timeout %d qemu-io -f raw -c 'write -P 0x5a 1M 1M' '%s'" % (T, img))
    read = ceph.run(MON_HOST, "timeout %d qemu-io -f raw -c 'read -P 0x5a 1M 1M' -c 'read -P 0 0 1M' '%s'"
                    % (T, img)).stdout
    assert "Pattern verification failed" not in read and read.count("read 1048576/1048576 bytes") == 2, read
    # The image is in Ceph, as the cluster sees it; libvirt removes it again.
    assert "itest-vol" in admin(ceph, "rbd ls %s" % POOL).stdout
    ceph.virsh(MON_HOST, "vol-delete", "--pool", LIBVIRT_POOL, "itest-vol")
    assert "itest-vol" not in admin(ceph, "rbd ls %s" % POOL).stdout


def test_each_client_reaches_its_pool_only(ceph):
    admin(ceph, "rbd create --size 8M %s/itest-img" % POOL, check=False)
    for host in CLIENTS:
        caps = admin(ceph, "ceph --connect-timeout %d auth get client.%s" % (T, host)).stdout
        assert 'caps mon = "profile rbd"' in caps and 'caps osd = "profile rbd pool=%s"' % POOL in caps, caps
        assert "allow *" not in caps
        me = "--id %s" % host
        # QEMU's rbd driver with this host's key (from its keyring) opens the image ...
        img = ceph.run(host, "timeout %d qemu-img info 'rbd:%s/itest-img:id=%s'" % (T, POOL, host)).stdout
        assert "virtual size: 8 MiB" in img, img
        # ... but the key cannot reach another pool nor administer the cluster.
        other = ceph.run(host, "timeout %d rados %s -p device_health_metrics ls" % (T, me), check=False)
        assert other.returncode != 0 and "not permitted" in (other.stderr + other.stdout), other
        create = ceph.run(host, "timeout %d ceph %s --connect-timeout %d osd pool create itest-evil 8" % (T, me, T),
                          check=False)
        assert create.returncode != 0 and "denied" in (create.stderr + create.stdout).lower(), create


def test_host_without_key_cannot_open_the_image(ceph):
    admin(ceph, "rbd create --size 8M %s/itest-img" % POOL, check=False)
    assert ceph.run(NO_KEY, "ls /etc/ceph/*.keyring 2>/dev/null", check=False).stdout.strip() == ""
    assert "ceph" not in ceph.virsh(NO_KEY, "secret-list").stdout
    mon = ceph.hostvars(MON_HOST)["skillvl_underlay_address"]
    spec = "rbd:%s/itest-img:mon_host=%s" % (POOL, mon)
    # No key at all: refused before anything is read.
    nokey = ceph.run(NO_KEY, "timeout %d qemu-img info '%s:id=%s'" % (T, spec, NO_KEY), check=False)
    assert nokey.returncode not in (0, 124), nokey               # refused, not timed out
    # librados has no way to authenticate: "error connecting: Operation not supported".
    assert "error connecting" in nokey.stderr, nokey.stderr
    # A well-formed key of its own making for a real user: the monitor refuses it (the host
    # cannot pose as cloud1).
    ceph.run(NO_KEY, "umask 077; printf '[client.cloud1]\\n\\tkey = %s\\n' \"$(ceph-authtool --gen-print-key)\" "
                     "> /tmp/itest-forged.keyring")
    bad = ceph.run(NO_KEY, "timeout %d qemu-img info '%s:id=cloud1:keyring=/tmp/itest-forged.keyring'" % (T, spec),
                   check=False)
    ceph.run(NO_KEY, "rm -f /tmp/itest-forged.keyring")
    assert bad.returncode not in (0, 124), bad
    assert "error connecting: Permission denied" in bad.stderr, bad.stderr


# ---- a guest on RBD -------------------------------------------------------------------------

GUEST = "it-rbd"
IMAGE = "it-rbd-disk"
SEED = "it-rbd-seed"


def rbd_disk(lab, host, image=IMAGE, seed=False):
    """The disk as ceph_client publishes it for host (its own user and secret); seed: a read-only
    cdrom (a cloud-init seed's place)."""
    secrets = lab.virsh(host, "secret-list").stdout
    uuid = re.search(r"^\s*([0-9a-f-]{36})\s+ceph client\.%s secret" % host, secrets, re.M).group(1)
    mon = lab.hostvars(MON_HOST)["skillvl_underlay_address"]
    return ("<disk type='network' device='%s'><driver name='qemu' type='raw'%s/>"
            "<auth username='%s'><secret type='ceph' uuid='%s'/></auth>"
            "<source protocol='rbd' name='%s/%s'><host name='%s' port='6789'/></source>"
            "<target dev='%s' bus='%s'/>%s</disk>"
            % ("cdrom" if seed else "disk", "" if seed else " cache='none'", host, uuid, POOL, image, mon,
               "sda" if seed else "vda", "sata" if seed else "virtio", "<readonly/>" if seed else ""))


def wait_heartbeats(lab, host, after_seq, count, guest=GUEST):
    """At least count heartbeats of the guest on host's serial console after after_seq."""
    def enough():
        out = lab.run(host, "cat /var/log/libvirt/qemu/%s-console.log 2>/dev/null || true" % guest).stdout
        recs = [r for r in heartbeat.parse_console(out) if r["type"] == "hb" and r["seq"] > after_seq]
        return recs if len(recs) >= count else None
    return lab.wait_for(enough, timeout=90, what="%d heartbeats of %s on %s" % (count, guest, host))


def remove_guest(lab, guest=GUEST):
    for host in ("cloud1", "ws01", "ws02"):
        lab.virsh(host, "destroy", guest, check=False)
        lab.virsh(host, "undefine", guest, check=False)
        lab.run(host, "rm -f /var/log/libvirt/qemu/%s-console.log" % guest, check=False)


def boot_on_rbd(lab, image, seed=None):
    """The guest on cloud1, its disk the RBD image (opened as client.cloud1), and with seed the
    read-only RBD image of that name as a cdrom; its first heartbeats."""
    remove_guest(lab)
    admin(lab, "rbd rm %s/%s" % (POOL, image), check=False)
    admin(lab, "rbd create --size 16M %s/%s" % (POOL, image))
    disks = rbd_disk(lab, "cloud1", image) + (rbd_disk(lab, "cloud1", seed, seed=True) if seed else "")
    lab.run("cloud1", "cat > /tmp/%s.xml" % GUEST,
            input=guest_xml(GUEST, mem_mib=128, load_mib=16, rate_mib=8, disk_xml=disks))
    lab.virsh("cloud1", "define", "/tmp/%s.xml" % GUEST)
    lab.virsh("cloud1", "start", GUEST)
    return wait_heartbeats(lab, "cloud1", -1, 4)


def disk_records(raw, last):
    """The guest's disk heartbeats in a disk's first 2 MiB: one boot, written before and after seq last."""
    records = heartbeat.parse_disk(raw, all_boots=True)
    assert records and len(set(r["boot"] for r in records)) == 1, records[:3]
    seqs = [r["seq"] for r in records]
    assert min(seqs) <= last < max(seqs), (min(seqs), last, max(seqs))
    return max(seqs)


def wait_disk(lab, read, last, where):
    """The guest's disk (``read()`` its first 2 MiB) holds heartbeats written after seq ``last`` (the
    guest writes its first record a few seconds after boot); returns the newest seq."""
    def written():
        records = heartbeat.parse_disk(read(), all_boots=True)
        return records if records and max(r["seq"] for r in records) > last else None
    lab.wait_for(written, timeout=90, interval=2, what="disk heartbeats after seq %d on %s" % (last, where))
    return disk_records(read(), last) if last >= 0 else max(r["seq"] for r in written())


def rbd_content(lab, image):
    return base64.b64decode(admin(lab, "sh -c 'rbd export %s/%s - 2>/dev/null | head -c 2097152 | base64 -w0'"
                                       % (POOL, image)).stdout)


def test_guest_on_rbd_boots_and_live_migrates_with_shared_storage(ceph):
    """Boot on cloud1 from an RBD image, vm_migrate to ws01 without copying storage and without
    --unsafe (libvirt sees RBD as shared). Each host opens the image as its own Ceph user: the
    module gives the destination its own disk definition, found in ws01's rbd pool."""
    try:
        before = boot_on_rbd(ceph, IMAGE)
        on_disk = wait_disk(ceph, lambda: rbd_content(ceph, IMAGE), -1, "the RBD image")
        # QEMU holds the RBD image (a watcher on its header), opened as client.cloud1.
        status = admin(ceph, "rbd status %s/%s" % (POOL, IMAGE)).stdout
        assert "watcher=" in status, status
        # ws02 has no Ceph key: refused before the move, the guest untouched on cloud1
        refused = migrate(ceph, GUEST, dest=NO_KEY)
        assert refused.get("failed") and "has no running rbd pool on Ceph pool \"%s\"" % POOL in refused["msg"], \
            refused.get("msg")
        assert ceph.virsh("cloud1", "domstate", GUEST).stdout.strip() == "running"
        res = migrate(ceph, GUEST)
        assert not res.get("failed"), res.get("msg")
        assert res["dest_disks"] == [{"target": "vda", "pool": LIBVIRT_POOL, "volume": IMAGE, "copy": False,
                                      "where": "rbd:%s/%s" % (POOL, IMAGE), "format": "raw", "capacity": None,
                                      "copied_before": False}]
        assert "non_shared_disk" not in res["plan"]["flags"] and "unsafe" not in res["plan"]["flags"]
        assert ceph.virsh("ws01", "domstate", GUEST).stdout.strip() == "running"
        assert ceph.virsh("cloud1", "domstate", GUEST, check=False).returncode != 0
        last = max(r["seq"] for r in before)
        after = wait_heartbeats(ceph, "ws01", last, 3)
        assert all(r["memerr"] == 0 for r in after)
        for flags in ("", "--inactive"):
            xml = ceph.virsh("ws01", "dumpxml", *flags.split(), GUEST).stdout
            assert "username='ws01'" in xml and "username='cloud1'" not in xml, xml
        # The guest's disk heartbeats, read from Ceph: intact, one boot, written on both hosts.
        wait_disk(ceph, lambda: rbd_content(ceph, IMAGE), on_disk, "the RBD image after the move")
        print("RBD guest cloud1 -> ws01 in %.1f s (shared storage, no copy)" % res["figures"]["wall_time_s"])
    finally:
        remove_guest(ceph)
        admin(ceph, "rbd rm %s/%s" % (POOL, IMAGE), check=False)


def test_guest_on_rbd_scales_away_onto_a_local_file_and_comes_back_onto_rbd(ceph):
    """cloud1 (RBD) -> ws01 with its disk copied into a local file, live; then back to cloud1
    into a new RBD image. The guest's own disk heartbeats show the content went along each time;
    the old image's name is refused as a clash with nothing changed; a rerun changes nothing.
    Its read-only RBD cdrom (a seed) is copied into a file before the move, byte for byte, and
    goes back onto its image."""
    local = "%s/%s-vda.raw" % (IMAGES, GUEST)
    local_seed = "%s/%s-sda.raw" % (IMAGES, GUEST)
    back = IMAGE + "-back"
    try:
        for vol in (local, local_seed):
            ceph.run("ws01", "virsh -c qemu:///system vol-delete --pool default %s >/dev/null 2>&1; true"
                     % vol.rsplit("/", 1)[1], check=False)
        admin(ceph, "rbd rm %s/%s" % (POOL, back), check=False)
        # a read-only RBD image as a cdrom, where the vm role puts a cloud-init seed
        seed_sum = make_seed(ceph)
        boot_on_rbd(ceph, IMAGE, seed=SEED)
        last = wait_disk(ceph, lambda: rbd_content(ceph, IMAGE), -1, "the RBD image")
        # raw, so that the disk's content can be read beside the running QEMU (a qcow2's tables stay in QEMU);
        # the seed, which libvirt cannot copy, is read as client.cloud1 and uploaded before the move
        res = migrate(ceph, GUEST, dest_disks=[{"target": "vda", "pool": "default", "format": "raw"},
                                               {"target": "sda", "pool": "default"}])
        assert not res.get("failed"), res.get("msg")
        placed = dict((d["target"], d) for d in res["dest_disks"])
        assert placed["vda"]["where"] == local and placed["vda"]["copy"] is True, res["dest_disks"]
        assert placed["sda"]["where"] == local_seed and placed["sda"]["copied_before"] is True, res["dest_disks"]
        assert "non_shared_disk" in res["plan"]["flags"] and res["plan"]["params"]["migrate_disks"] == ["vda"]
        xml = ceph.virsh("ws01", "dumpxml", "--inactive", GUEST).stdout
        assert "<source file='%s'" % local in xml and "protocol='rbd'" not in xml, xml
        assert "<source file='%s'" % local_seed in xml, xml
        assert ceph.run("ws01", "sha256sum %s" % local_seed).stdout.split()[0] == seed_sum
        last = wait_disk(ceph, lambda: base64.b64decode(ceph.run("ws01", "head -c 2097152 %s | base64 -w0" % local)
                                                        .stdout), last, local)
        # the old image still holds the disk as it was on cloud1: taking its name is a clash
        clash = migrate(ceph, GUEST, host="ws01", dest="cloud1",
                        dest_disks=[{"target": "vda", "pool": LIBVIRT_POOL, "volume": IMAGE}])
        assert clash.get("failed") and 'already has a volume "%s"' % IMAGE in clash["msg"], clash.get("msg")
        assert ceph.virsh("ws01", "domstate", GUEST).stdout.strip() == "running"
        # back onto Ceph, into a new image, opened by cloud1 as client.cloud1; the seed opens the
        # image it was copied from (libvirt's rbd pool takes no upload)
        home = [{"target": "vda", "pool": LIBVIRT_POOL, "volume": back},
                {"target": "sda", "pool": LIBVIRT_POOL, "volume": SEED}]
        res = migrate(ceph, GUEST, host="ws01", dest="cloud1", dest_disks=home)
        assert not res.get("failed"), res.get("msg")
        placed = dict((d["target"], d) for d in res["dest_disks"])
        assert placed["vda"]["where"] == "rbd:%s/%s" % (POOL, back)
        assert placed["sda"]["copy"] is False and placed["sda"]["copied_before"] is False, res["dest_disks"]
        xml = ceph.virsh("cloud1", "dumpxml", "--inactive", GUEST).stdout
        assert "name='%s/%s'" % (POOL, back) in xml and "username='cloud1'" in xml, xml
        assert "name='%s/%s'" % (POOL, SEED) in xml, xml
        wait_disk(ceph, lambda: rbd_content(ceph, back), last, "the new RBD image")
        again = migrate(ceph, GUEST, host="ws01", dest="cloud1", dest_disks=home)
        assert not again.get("failed") and not again["changed"], again.get("msg")
        print("RBD -> local file -> RBD: %s" % res["msg"])
    finally:
        remove_guest(ceph)
        ceph.run("ws01", "rm -f %s %s" % (local, local_seed), check=False)
        for image in (IMAGE, back, SEED):
            admin(ceph, "rbd rm %s/%s" % (POOL, image), check=False)


SMALL_POOL = "it-small"
SMALL_DIR = "/var/lib/skillvl-it-small"


def test_scale_away_into_a_missing_or_full_pool_is_refused_and_the_guest_stays_on_rbd(ceph):
    """cloud1 (RBD) -> ws01 into a pool ws01 does not have, and into one too small for what the image
    holds (a 1 MiB tmpfs; the image holds at least one 4 MiB object, which QEMU's own count of what it
    wrote since it started may not show): each refused by the pre-flight, naming the pool and the
    sizes, with nothing made on ws01 and the guest running on, on its image."""
    def make_small_pool():
        ceph.run("ws01", "mkdir -p %s && mount -t tmpfs -o size=1m,mode=0711 tmpfs %s" % (SMALL_DIR, SMALL_DIR))
        ceph.virsh("ws01", "pool-define-as", SMALL_POOL, "dir", "--target", SMALL_DIR)
        ceph.virsh("ws01", "pool-start", SMALL_POOL)

    def remove_small_pool():
        ceph.virsh("ws01", "pool-destroy", SMALL_POOL, check=False)
        ceph.virsh("ws01", "pool-undefine", SMALL_POOL, check=False)
        ceph.run("ws01", "umount %s; rmdir %s; true" % (SMALL_DIR, SMALL_DIR), check=False)

    remove_small_pool()
    try:
        before = boot_on_rbd(ceph, IMAGE)
        on_disk = wait_disk(ceph, lambda: rbd_content(ceph, IMAGE), -1, "the RBD image")
        pools_before = ceph.virsh("ws01", "pool-list", "--all", "--name").stdout.split()
        missing = migrate(ceph, GUEST, dest_disks=[{"target": "vda", "pool": "nowhere"}])
        assert missing.get("failed") and 'the destination has no storage pool "nowhere" (it has ' in missing["msg"], \
            missing.get("msg")
        assert ceph.virsh("ws01", "pool-list", "--all", "--name").stdout.split() == pools_before

        make_small_pool()
        full = migrate(ceph, GUEST, dest_disks=[{"target": "vda", "pool": SMALL_POOL, "format": "raw"}])
        assert full.get("failed") and re.search(r'disk vda: pool "%s" on the destination has [01] MiB free, the disk '
                                                r'has [1-9]\d* MiB allocated \(16 MiB virtual\)' % SMALL_POOL,
                                                full["msg"]), full.get("msg")
        assert ceph.run("ws01", "ls -A %s" % SMALL_DIR).stdout.strip() == ""     # no volume made
        for refused in (missing, full):
            assert not refused.get("changed"), refused

        assert ceph.virsh("cloud1", "domstate", GUEST).stdout.strip() == "running"
        assert ceph.virsh("ws01", "domstate", GUEST, check=False).returncode != 0
        wait_heartbeats(ceph, "cloud1", max(r["seq"] for r in before), 2)
        wait_disk(ceph, lambda: rbd_content(ceph, IMAGE), on_disk, "the RBD image after the refusals")
    finally:
        remove_guest(ceph)
        remove_small_pool()
        admin(ceph, "rbd rm %s/%s" % (POOL, IMAGE), check=False)


def make_seed(lab):
    """A read-only RBD image of 1 MiB of random bytes (a cloud-init seed's place); its sha256."""
    admin(lab, "rbd rm %s/%s" % (POOL, SEED), check=False)
    admin(lab, "sh -c 'head -c 1048576 /dev/urandom > /tmp/it-seed.raw && rbd import --no-progress "
               "/tmp/it-seed.raw %s/%s && rm -f /tmp/it-seed.raw'" % (POOL, SEED))
    return admin(lab, "sh -c 'rbd export --no-progress %s/%s - | sha256sum'" % (POOL, SEED)).stdout.split()[0]


def test_scale_away_takes_a_read_only_rbd_seed_along_and_return_reopens_its_image(ceph):
    """scale_away.yml with a guest whose disk and cdrom (a seed) are RBD images: on ws01 both are
    files (the seed the same bytes), nothing of it on Ceph; the disk's image at home is gone, the
    seed's stays; return.yml puts the disk into an RBD image again and the seed onto its image,
    and removes ws01's files."""
    files = ["%s/%s-%s" % (IMAGES, GUEST, name) for name in ("vda.qcow2", "sda.raw")]
    try:
        seed_sum = make_seed(ceph)
        boot_on_rbd(ceph, IMAGE, seed=SEED)
        out = ceph.playbook("playbooks/scale_away.yml", {"vm": GUEST, "target": "ws01"}).stdout
        assert "RBD disk(s) vda, sda are local files now" in " ".join(out.split()), out[-3000:]
        xml = ceph.virsh("ws01", "dumpxml", "--inactive", GUEST).stdout
        assert "protocol='rbd'" not in xml and all("<source file='%s'" % f in xml for f in files), xml
        assert ceph.run("ws01", "sha256sum %s" % files[1]).stdout.split()[0] == seed_sum
        # the guest's disks on the workstation are for its QEMU alone, as libvirt makes volumes
        modes = ceph.run("ws01", "stat -c %%a %s" % " ".join(files)).stdout.split()
        assert modes == ["600", "600"], modes
        assert IMAGE not in rbd_images(ceph) and SEED in rbd_images(ceph)
        wait_heartbeats(ceph, "ws01", -1, 3)

        ceph.playbook("playbooks/return.yml", {"vm": GUEST})
        xml = ceph.virsh("cloud1", "dumpxml", "--inactive", GUEST).stdout
        for image in (IMAGE, SEED):
            assert "name='%s/%s'" % (POOL, image) in xml, xml
        assert "<source file=" not in xml and "username='cloud1'" in xml, xml
        assert ceph.virsh("cloud1", "domstate", GUEST).stdout.strip() == "running"
        for path in files:
            assert ceph.run("ws01", "test -e %s" % path, check=False).returncode != 0, path
    finally:
        remove_guest(ceph)
        ceph.run("ws01", "rm -f %s" % " ".join(files), check=False)
        for image in (IMAGE, SEED):
            admin(ceph, "rbd rm %s/%s" % (POOL, image), check=False)


# ---- the vm role with storage rbd, and vm_rbd_volume ----------------------------------------

ROLE_GUEST = "it-vmrbd"
ROLE_IMAGE = ROLE_GUEST + "-data"
GUESTS = "tests/integration/playbooks/guests.yml"


def role_spec(state="running", **extra):
    spec = {"name": ROLE_GUEST, "host": "cloud1", "state": state, "image": "skillvl-lab-guest", "storage": "rbd",
            "memory_mib": 256, "vcpus": 1, "interfaces": [], "cpu": {"mode": "custom", "model": "qemu64"},
            "kernel_args": "skillvl.hb_ms=250 skillvl.mem_mib=8 skillvl.rate_mib=1",
            "disks": [{"name": "data", "size_mib": 16}]}
    spec.update(extra)
    return spec


def rbd_images(lab):
    return admin(lab, "rbd ls %s" % POOL).stdout.split()


def remove_role_guest(lab):
    remove_guest(lab, ROLE_GUEST)
    admin(lab, "rbd rm %s/%s" % (POOL, ROLE_IMAGE), check=False)


def test_vm_role_keeps_a_guest_on_rbd_and_it_scales_away_and_back(ceph):
    """The vm role with storage rbd: the disk is an RBD image made through cloud1's libvirt rbd
    pool and opened as client.cloud1; heartbeats on console and disk; a rerun changes nothing; the
    guest moves to ws01 (shared storage) and back; a missing pool or a clash-free rerun are named;
    a running guest's image is never removed.
    Then scale_away.yml takes it to ws01 with its RBD disk turned into a local qcow2 file there
    (nothing of it on Ceph any more: the stale image at home goes), and return.yml brings it back
    into an RBD image of the same name. The heartbeats the guest wrote on ws01 are on the RBD image
    afterwards; a clash at home refuses the return with the guest left running on ws01; check mode
    changes nothing; the role's rerun changes nothing after. Last, state absent removes the domain
    and the image. One guest for both parts: making it is the slow step."""
    local = "/var/lib/libvirt/images/%s-vda.qcow2" % ROLE_GUEST
    away = {"vm": ROLE_GUEST, "target": "ws01"}
    remove_role_guest(ceph)
    try:
        # A pool this host does not have: a clear error, nothing made.
        bad = ceph.playbook(GUESTS, {"vm_guests": [role_spec()], "vm_rbd_pool": "rbd-nowhere"}, check=False)
        assert bad.returncode != 0 and "no libvirt rbd pool with a Ceph user" in bad.stdout, bad.stdout[-3000:]
        assert ROLE_IMAGE not in rbd_images(ceph)
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST, check=False).returncode != 0

        proc = ceph.playbook(GUESTS, {"vm_guests": [role_spec()]}, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
        assert ROLE_IMAGE in rbd_images(ceph)
        assert "16 MiB" in admin(ceph, "rbd info %s/%s" % (POOL, ROLE_IMAGE)).stdout
        xml = ceph.virsh("cloud1", "dumpxml", "--inactive", ROLE_GUEST).stdout
        assert "protocol='rbd' name='%s/%s'" % (POOL, ROLE_IMAGE) in xml and "username='cloud1'" in xml, xml
        assert "<source file=" not in xml
        before = wait_heartbeats(ceph, "cloud1", -1, 4, ROLE_GUEST)
        on_disk = wait_disk(ceph, lambda: rbd_content(ceph, ROLE_IMAGE), -1, "the role's RBD image")

        again = ceph.playbook(GUESTS, {"vm_guests": [role_spec()]}).stdout
        assert recap(again, "cloud1")["changed"] == "0", recap(again, "cloud1")

        # Removing the image while the guest runs: refused (QEMU is a watcher), nothing changed.
        held = ceph.module("cloud1", "skillvl.offline_first.vm_rbd_volume",
                           {"pool": LIBVIRT_POOL, "name": ROLE_IMAGE, "state": "absent"})
        assert held.get("failed") and "is open by" in held["msg"] and "stop the VM first" in held["msg"], held
        assert ROLE_IMAGE in rbd_images(ceph)

        # Shared storage: a live move to ws01 and back, each host opening the image as itself.
        res = migrate(ceph, ROLE_GUEST)
        assert not res.get("failed"), res.get("msg")
        assert res["dest_disks"][0]["copy"] is False and "unsafe" not in res["plan"]["flags"], res["dest_disks"]
        last = max(r["seq"] for r in before)
        wait_heartbeats(ceph, "ws01", last, 3, ROLE_GUEST)
        assert "username='ws01'" in ceph.virsh("ws01", "dumpxml", ROLE_GUEST).stdout
        # The role leaves it where it now lives (no second copy on its home).
        left = ceph.playbook(GUESTS, {"vm_guests": [role_spec()]}).stdout
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST, check=False).returncode != 0, left[-3000:]
        res = migrate(ceph, ROLE_GUEST, host="ws01", dest="cloud1")
        assert not res.get("failed"), res.get("msg")
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST).stdout.strip() == "running"
        wait_disk(ceph, lambda: rbd_content(ceph, ROLE_IMAGE), on_disk, "the role's RBD image after two moves")

        # --- scale away onto a local file and return onto RBD ---
        before = wait_heartbeats(ceph, "cloud1", -1, 4, ROLE_GUEST)
        dry = ceph.playbook("playbooks/scale_away.yml", away, args=["--check"])
        assert recap(dry.stdout, "cloud1")["failed"] == "0"
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST).stdout.strip() == "running"
        assert ROLE_IMAGE in rbd_images(ceph) and ceph.run("ws01", "test -e %s" % local, check=False).returncode != 0

        out = ceph.playbook("playbooks/scale_away.yml", away).stdout
        assert "RBD disk(s) vda are local files now" in " ".join(out.split()), out[-3000:]
        assert ceph.virsh("ws01", "domstate", ROLE_GUEST).stdout.strip() == "running"
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST, check=False).returncode != 0
        for flags in ("", "--inactive"):
            xml = ceph.virsh("ws01", "dumpxml", *flags.split(), ROLE_GUEST).stdout
            assert "<source file='%s'" % local in xml and "protocol='rbd'" not in xml, xml
        record = ceph.virsh("ws01", "dumpxml", "--inactive", ROLE_GUEST).stdout
        assert 'target="vda" pool="%s" volume="%s"' % (LIBVIRT_POOL, ROLE_IMAGE) in record, record
        assert ROLE_IMAGE not in rbd_images(ceph)       # the stale image at home is gone
        on_ws01 = wait_heartbeats(ceph, "ws01", max(r["seq"] for r in before), 6, ROLE_GUEST)

        # An image of that name at home: the return is refused, nothing changed, the guest runs on.
        admin(ceph, "rbd create --size 16M %s/%s" % (POOL, ROLE_IMAGE))
        clash = ceph.playbook("playbooks/return.yml", {"vm": ROLE_GUEST}, check=False)
        assert clash.returncode != 0 and 'already has a volume "%s"' % ROLE_IMAGE in clash.stdout, clash.stdout[-3000:]
        assert ceph.virsh("ws01", "domstate", ROLE_GUEST).stdout.strip() == "running"
        assert ceph.run("ws01", "test -s %s" % local, check=False).returncode == 0
        admin(ceph, "rbd rm %s/%s" % (POOL, ROLE_IMAGE))

        out = ceph.playbook("playbooks/return.yml", {"vm": ROLE_GUEST}).stdout
        assert "disk(s) vda are RBD images again" in " ".join(out.split()), out[-3000:]
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST).stdout.strip() == "running"
        xml = ceph.virsh("cloud1", "dumpxml", "--inactive", ROLE_GUEST).stdout
        assert "protocol='rbd' name='%s/%s'" % (POOL, ROLE_IMAGE) in xml and "username='cloud1'" in xml, xml
        assert "<skillvl:away" not in xml
        assert ceph.run("ws01", "test -e %s" % local, check=False).returncode != 0
        # what the guest wrote on ws01 came back onto Ceph, in the same boot
        written = set(r["seq"] for r in heartbeat.parse_disk(rbd_content(ceph, ROLE_IMAGE), all_boots=True))
        assert set(r["seq"] for r in on_ws01) <= written, sorted(set(r["seq"] for r in on_ws01) - written)
        wait_disk(ceph, lambda: rbd_content(ceph, ROLE_IMAGE), max(r["seq"] for r in on_ws01), "the RBD image at home")

        again = ceph.playbook(GUESTS, {"vm_guests": [role_spec()]}).stdout
        assert recap(again, "cloud1")["changed"] == "0", again[-3000:]

        gone = ceph.playbook(GUESTS, {"vm_guests": [role_spec("absent")]}, check=False)
        assert gone.returncode == 0, gone.stdout[-6000:]
        assert ROLE_IMAGE not in rbd_images(ceph)
        assert ceph.virsh("cloud1", "domstate", ROLE_GUEST, check=False).returncode != 0
    finally:
        remove_role_guest(ceph)
        ceph.run("ws01", "rm -f %s" % local, check=False)


def test_vm_rbd_volume_converts_a_local_image_into_rbd(ceph):
    """vm_rbd_volume with a qcow2 source: a larger raw RBD image with the same content (qemu-img
    compare through QEMU's rbd driver); check mode and a rerun change nothing; a source larger
    than the size is refused with nothing made."""
    name, src = "itest-conv", "/var/lib/libvirt/images/itest-conv.qcow2"
    args = {"pool": LIBVIRT_POOL, "name": name, "size_mib": 32, "source": src}
    admin(ceph, "rbd rm %s/%s" % (POOL, name), check=False)
    try:
        ceph.run("cloud1", "qemu-img create -q -f qcow2 %s 16M && qemu-io -f qcow2 -c 'write -P 0x7c 1M 2M' "
                           "-c 'write -P 0x3e 15M 1M' %s >/dev/null" % (src, src))
        dry = ceph.module("cloud1", "skillvl.offline_first.vm_rbd_volume", args, check_mode=True)
        assert dry.get("changed") and not dry.get("failed"), dry
        assert name not in rbd_images(ceph)
        small = ceph.module("cloud1", "skillvl.offline_first.vm_rbd_volume", dict(args, size_mib=8))
        assert small.get("failed") and "is smaller than" in small["msg"], small
        assert name not in rbd_images(ceph)
        made = ceph.module("cloud1", "skillvl.offline_first.vm_rbd_volume", args)
        assert made.get("changed") and made["volume"]["capacity"] == 32 << 20, made
        same = ceph.run("cloud1", "qemu-img compare -f qcow2 -F raw %s 'rbd:%s/%s:id=cloud1'" % (src, POOL, name),
                        check=False)
        # compare reads the 16 MiB of the source; the larger image's rest is zero, which compare accepts
        assert same.returncode == 0, same.stdout + same.stderr
        rerun = ceph.module("cloud1", "skillvl.offline_first.vm_rbd_volume", args)
        assert not rerun.get("changed") and not rerun.get("failed"), rerun
    finally:
        admin(ceph, "rbd rm %s/%s" % (POOL, name), check=False)
        ceph.run("cloud1", "rm -f %s" % src, check=False)


def test_key_is_private(ceph):
    """After the RBD guest ran on cloud1 and ws01: libvirt hands QEMU the key AES-encrypted with a
    per-domain master key (`-object secret,...,keyid=masterKey0,iv=...`), never in clear."""
    for host in CLIENTS:
        key = key_of(ceph, host)
        assert len(key) >= 40
        mode = ceph.run(host, "stat -c '%%a %%U' /etc/ceph/ceph.client.%s.keyring" % host).stdout.split()
        assert mode == ["600", "root"], mode
        # In libvirt: a private ceph secret, whose value libvirt does not hand out.
        secrets = ceph.virsh(host, "secret-list").stdout
        uuid = re.search(r"^\s*([0-9a-f-]{36})\s+ceph client\.%s secret" % host, secrets, re.M).group(1)
        got = ceph.virsh(host, "secret-get-value", uuid, check=False)
        assert got.returncode != 0 and key not in got.stdout
        # Nowhere in a command line or a journal, on any host.
        for where in ("cloud1", "ws01", "ws02", "storage1"):
            seen = ceph.run(where, "ps -eo args; journalctl --no-pager -q -o cat 2>/dev/null; "
                                   "cat /var/log/libvirt/qemu/*.log 2>/dev/null; true", timeout=120).stdout
            assert key not in seen, "the key of client.%s shows on %s" % (host, where)


def test_second_run_changes_nothing(ceph):
    """The storage playbook (which carries ceph_client) on the Ceph clients, after site.yml ran:
    nothing to change, the key in no output. test_foundation runs the whole site.yml again."""
    out = ceph.playbook("playbooks/storage.yml", args=["--limit", "ceph_clients"]).stdout
    assert "ceph_client : Keep the key in a libvirt secret" in out
    for host in CLIENTS:
        assert recap(out, host)["changed"] == "0", (host, recap(out, host))
    for host in CLIENTS:
        assert key_of(ceph, host) not in out
