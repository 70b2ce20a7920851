"""The foundation in the lab: an idempotent lab, hosts ready for migration, the guest on cloud1, the
demo's live migration to ws01 with the heartbeat going on, then site.yml run again: idempotent, and
the demo left on ws01 (its home's vm role neither defines nor starts a second copy)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lab"))
import heartbeat  # noqa: E402  pylint: disable=wrong-import-position
from labguests import changed_tasks  # noqa: E402  pylint: disable=wrong-import-position

RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(output):
    return {host: (int(changed), int(unreachable), int(failed))
            for host, changed, unreachable, failed in RECAP.findall(output)}


def heartbeats(lab, host, vm):
    return [r for r in heartbeat.parse_console(lab.console(host, vm)) if r["type"] == "hb"]


def test_lab_playbook_is_idempotent(lab):
    result = recap(lab.playbook("playbooks/lab.yml").stdout)
    assert result == {"localhost": (0, 0, 0)}, result


def test_hosts_are_ready_for_migration(lab):
    uuids = set()
    for host in ("cloud1", "ws01", "ws02"):
        caps = lab.virsh(host, "capabilities").stdout
        uuids.add(re.search(r"<uuid>([^<]+)</uuid>", caps).group(1))
        # Each daemon is reachable from the others over the underlay, as migration needs.
        other = "ws01" if host == "cloud1" else "cloud1"
        assert lab.run(host, "virsh -c %s hostname" % lab.libvirt_uri(other)).stdout.strip() == other
        assert "default" in lab.virsh(host, "pool-list", "--name").stdout
        # libvirtd stays when idle: a restart would leave an RBD pool inactive (kvm_host_libvirtd_idle_timeout)
        cmdline = lab.run(host, "tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value libvirtd)/cmdline").stdout
        assert "libvirtd" in cmdline and "--timeout" not in cmdline, cmdline
    assert len(uuids) == 3, "host UUIDs must differ: %s" % uuids


def test_guest_runs_on_cloud1_with_a_heartbeat(lab):
    assert "running" in lab.virsh("cloud1", "domstate", "demo").stdout
    first = lab.wait_for(lambda: heartbeats(lab, "cloud1", "demo"), timeout=120, what="first heartbeat")
    lab.wait_for(lambda: heartbeats(lab, "cloud1", "demo")[-1]["seq"] > first[-1]["seq"] + 2,
                 timeout=60, what="heartbeats to continue")
    # The vm role never starts a second copy: the guest is defined on cloud1 only.
    for host in ("ws01", "ws02"):
        assert "demo" not in lab.virsh(host, "list", "--all", "--name").stdout.split()


def test_demo_live_migrates_to_ws01_and_the_heartbeat_goes_on(lab):
    before = heartbeats(lab, "cloud1", "demo")[-1]
    out = lab.playbook("playbooks/demo.yml").stdout
    assert "heartbeat seq" in out and "runs on ws01" in out, out[-3000:]

    assert "running" in lab.virsh("ws01", "domstate", "demo").stdout
    assert "demo" not in lab.virsh("cloud1", "list", "--all", "--name").stdout.split()
    # Same boot, later heartbeats, no memory lost, no reboot.
    lab.wait_for(lambda: len(heartbeats(lab, "ws01", "demo")) >= 3, timeout=60, what="heartbeats on ws01")
    after = heartbeats(lab, "ws01", "demo")
    assert after[0]["seq"] > before["seq"]
    assert after[-1]["uptime_ms"] > before["uptime_ms"]
    assert heartbeat.summary(after)["memerr"] == 0
    # The disk came along (copied) and its heartbeat records go on there.
    time.sleep(2)
    raw = lab.run("ws01", "qemu-img convert -U -O raw /var/lib/libvirt/images/demo-data.qcow2 /tmp/demo.raw"
                  " && head -c 1200000 /tmp/demo.raw | base64 -w0 && rm -f /tmp/demo.raw").stdout
    import base64  # pylint: disable=import-outside-toplevel
    records = heartbeat.parse_disk(base64.b64decode(raw))
    assert records and max(r["seq"] for r in records) > before["seq"]


def test_site_playbook_is_idempotent_and_leaves_the_migrated_demo_on_ws01(lab):
    before = heartbeats(lab, "ws01", "demo")[-1]
    out = lab.playbook("playbooks/site.yml").stdout
    result = recap(out)
    # Hypervisors and, through the storage play, the storage server.
    assert set(result) == {"cloud1", "ws01", "ws02", "storage1"}
    assert all(v == (0, 0, 0) for v in result.values()), (result, changed_tasks(out))
    # demo's home is cloud1 in the inventory: the vm role there finds it on ws01 and leaves it be.
    assert "VM demo runs on ws01 (it was migrated there)" in out, out[-4000:]
    assert "demo" not in lab.virsh("cloud1", "list", "--all", "--name").stdout.split()
    assert "running" in lab.virsh("ws01", "domstate", "demo").stdout
    lab.wait_for(lambda: heartbeats(lab, "ws01", "demo")[-1]["seq"] > before["seq"] + 2, timeout=60,
                 what="demo's heartbeats to go on on ws01")
