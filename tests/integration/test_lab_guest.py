"""Boot the lab guest under TCG in a throwaway lab-image container (no lab fixture).

Checks the interface promised in docs/lab.md: boot line, heartbeats, memory writer
(passes, rate, no memory error), heartbeat sectors on /dev/vda, the skillvl.ip NIC, the
TCP responder on port 8080 and a clean power off on an ACPI power button press. The guest's only network is QEMU user networking with
restrict=on inside a container without network: nothing leaves the machine.

Environment: SKILLVL_LAB_IMAGE (default: the lab's image, found or built by the lab_image role).
The guest comes from .lab/guest; the lab_guest role (re)builds it when it is missing or
older than its sources.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "lab"))

import heartbeat  # noqa: E402  pylint: disable=wrong-import-position
from conftest import wait_for  # noqa: E402  pylint: disable=wrong-import-position

GUEST_DIR = os.path.join(TOP, ".lab", "guest")
ROLE = os.path.join(TOP, "roles", "lab_guest")
BIN = os.path.join(TOP, ".venv", "bin")
ENV = dict(os.environ, CONTAINERS_CONF=os.path.join(TOP, "lab", "containers.conf"))
MEM_MIB, RATE_MIB = 64, 50
NEW_MEM_MIB, NEW_RATE_MIB = 48, 30     # the load after a LOAD request


def _podman(*args, timeout=60, check=True):
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=ENV, check=check)


def _local_play(name, extra_vars=None):
    """Run tests/integration/playbooks/NAME on the controller; its stdout. Fails the test on an error."""
    env = dict(ENV, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,",
         "-e", json.dumps(dict(extra_vars or {}, ansible_python_interpreter=sys.executable)),
         os.path.join(TOP, "tests", "integration", "playbooks", name)],
        capture_output=True, text=True, timeout=900, env=env, cwd=TOP, check=False)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (name, proc.stdout[-5000:], proc.stderr[-3000:])
    return proc.stdout


def _ensure_guest():
    """Build .lab/guest with the role when it is missing or out of date."""
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    argv = ["bash", os.path.join(ROLE, "files", "build-guest.sh"), "--check", GUEST_DIR,
            os.path.join(GUEST_DIR, "cache"), defaults["lab_guest_kernel_package"],
            " ".join(defaults["lab_guest_modules"]), defaults["lab_guest_compression"]]
    state = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if state.returncode == 0 and state.stdout.strip().endswith("SKILLVL-GUEST unchanged"):
        return
    _local_play("lab_guest.yml", {"lab_guest_dir": GUEST_DIR})


def _lab_image():
    """SKILLVL_LAB_IMAGE, or the lab's own image as the lab_image role names it (built if missing)."""
    if os.environ.get("SKILLVL_LAB_IMAGE"):
        return os.environ["SKILLVL_LAB_IMAGE"]
    out = _local_play("lab_image.yml")
    match = re.search(r"SKILLVL-IMAGE (\S+)", out)
    assert match, "the lab_image role named no image:\n%s" % out[-3000:]
    return match.group(1)


PLUGINS_IN_CONTAINER = "/coll/ansible_collections/skillvl/offline_first/plugins"
# The service probe, run inside the guest's container against QEMU's port forward (4 s, 20 ms).
PROBE = ("import json, sys; sys.path.insert(0, '/coll'); "
         "from ansible_collections.skillvl.offline_first.plugins.module_utils.net import service_probe; "
         "print(json.dumps(service_probe.run('127.0.0.1', 18080, seconds=4, interval_ms=20, timeout_ms=3000)))")


def _monitor(work, command):
    """One command to the guest's QEMU monitor (HMP on <work>/monitor.sock, reached from this side
    of the bind mount); returns once QEMU has run it, that is, once its prompt is back."""
    def prompt(sock):
        seen = b""
        while b"(qemu)" not in seen:
            chunk = sock.recv(4096)
            assert chunk, "the monitor closed after %r" % seen
            seen += chunk

    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(os.path.join(work, "monitor.sock"))
        prompt(sock)
        sock.sendall(command.encode() + b"\n")
        prompt(sock)


def _console(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return b""


@pytest.fixture(name="guest_files")
def fixture_guest_files():
    # podman is a controller package of bindep.txt: its absence is a broken setup, not a skip.
    assert shutil.which("podman"), "podman is not installed (make setup installs it)"
    image = _lab_image()
    assert _podman("image", "exists", image, check=False).returncode == 0, "no image %s" % image
    _ensure_guest()
    return GUEST_DIR, image


def test_guest_boots_and_beats(guest_files, tmp_path):
    guest_dir, image = guest_files
    work = str(tmp_path)
    disk = os.path.join(work, "disk.raw")
    with open(disk, "wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    console = os.path.join(work, "console.log")
    name = "skillvl-guest-test-%d" % os.getpid()
    append = ("console=ttyS0 quiet skillvl.hb_ms=500 skillvl.mem_mib=%d skillvl.rate_mib=%d "
              "skillvl.ip=10.0.2.15/24 skillvl.gw=10.0.2.2" % (MEM_MIB, RATE_MIB))
    qemu = ("exec timeout 80 qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot "
            "-kernel /guest/vmlinuz -initrd /guest/initrd.img -append '%s' "
            "-drive file=/work/disk.raw,format=raw,if=virtio "
            "-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:18080-:8080 "
            "-device virtio-net-pci,netdev=n0 -monitor unix:/work/monitor.sock,server=on,wait=off "
            "</dev/null >/work/console.log 2>&1" % append)
    _podman("rm", "-f", name, check=False)
    started = time.monotonic()
    _podman("run", "-d", "--rm", "--privileged", "--network", "none", "--name", name,
            "-v", "%s:/guest:ro" % guest_dir, "-v", "%s:/work" % work,
            "-v", "%s:%s:ro" % (os.path.join(TOP, "plugins"), PLUGINS_IN_CONTAINER),
            image, "/bin/sh", "-c", qemu)
    try:
        # 1. boot line and first heartbeat within 30 s
        first = wait_for(lambda: [r for r in heartbeat.parse_console(_console(console))
                                  if r["type"] == "hb"], 30, 0.5, "SKILLVL-BOOT and the first heartbeat")[0]
        boot_s = time.monotonic() - started
        # 2. heartbeats continue, the writer makes passes at about its rate
        time.sleep(11)
        # 3. the TCP responder answers with the latest heartbeat (through QEMU's hostfwd)
        probe = _podman("exec", name, "python3", "-c",
                        "import socket; s = socket.create_connection(('127.0.0.1', 18080), 5); "
                        "s.settimeout(5); s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); "
                        "print(s.recv(4096).decode())", check=False, timeout=15)
        # 3b. the load changes at run time and the pi service answers (the experiments' workload)
        control = _podman("exec", name, "python3", "-c",
                          "import socket\n"
                          "def ask(msg):\n"
                          "    s = socket.create_connection(('127.0.0.1', 18080), 5)\n"
                          "    s.settimeout(30)\n"
                          "    s.sendall(msg)\n"
                          "    print(s.recv(4096).decode().strip())\n"
                          "ask(b'LOAD mem_mib=%d rate_mib=%d cpu_pct=20\\n')\n"
                          "ask(b'PI 200000\\n')\n" % (NEW_MEM_MIB, NEW_RATE_MIB), check=False, timeout=60)
        assert control.returncode == 0, (control.stdout, control.stderr)

        def new_region_written():
            hbs = [r for r in heartbeat.parse_console(_console(console)) if r["type"] == "hb"]
            old = [r["passes"] for r in hbs if r["mem_mib"] == MEM_MIB]
            new = [r["passes"] for r in hbs if r["mem_mib"] == NEW_MEM_MIB and r["cpu_pct"] == 20]
            return old and new and new[-1] >= old[-1] + 2
        wait_for(new_region_written, 20, 0.5, "two passes over the new region (%s)" % control.stdout)
        # 3c. the service probe (module_utils/net/service_probe.py) sees a 1 s pause of the VM
        # (QEMU's stop/cont, as at a migration's switch-over) as about 1 s of downtime
        box = {}
        watcher = threading.Thread(target=lambda: box.update(out=_podman(
            "exec", name, "python3", "-c", PROBE, check=False, timeout=60)))
        watcher.start()
        time.sleep(1.5)
        stop_sent = time.monotonic()
        _monitor(work, "stop")
        stopped_at = time.monotonic()
        time.sleep(1.0)
        cont_sent = time.monotonic()
        _monitor(work, "cont")
        paused_ms = ((cont_sent - stopped_at) * 1000, (time.monotonic() - stop_sent) * 1000)
        watcher.join(60)
        # 4. an ACPI power button press (virsh shutdown) powers the guest off cleanly
        _monitor(work, "system_powerdown")
        wait_for(lambda: b"SKILLVL-POWEROFF" in _console(console), 15, 0.5, "SKILLVL-POWEROFF")
        stopped = wait_for(lambda: _podman("container", "exists", name, check=False).returncode != 0,
                           10, 0.5, "QEMU to exit after the guest powered off")
        text = _console(console)
    finally:
        _podman("rm", "-f", "-t", "0", name, check=False, timeout=30)

    records = heartbeat.parse_console(text)
    boot = [r for r in records if r["type"] == "boot"]
    summ = heartbeat.summary(records)
    info = "boot %.1fs after start, first heartbeat at uptime %d ms; summary %s\n%s" % (
        boot_s, first["uptime_ms"], {k: v for k, v in summ.items() if k != "last"},
        text[-3000:].decode("utf-8", "replace"))
    assert len(boot) == 1, info
    assert boot[0]["mem_mib"] == MEM_MIB and boot[0]["rate_mib"] == RATE_MIB, info
    assert boot[0]["disk"] == "/dev/vda", info
    assert summ["count"] >= 15, info
    assert summ["missing"] == 0, info
    assert summ["max_gap_ms"] < 2500, info   # hb_ms=500; generous for a loaded 2-core machine
    assert summ["memerr"] == 0 and summ["memerr_lines"] == 0, info
    assert not [r for r in records if r["type"] in ("error", "exit")], info
    assert stopped and [r for r in records if r["type"] == "poweroff"], info
    net = [r for r in records if r["type"] == "net"]
    assert net and net[0]["ip"] == "10.0.2.15/24", info

    hbs = [r for r in records if r["type"] == "hb"]
    with_passes = [r for r in hbs if r["passes"] > 0 and r["mem_mib"] == MEM_MIB]
    assert len(with_passes) >= 2 and with_passes[-1]["passes"] - with_passes[0]["passes"] >= 3, info
    span_ms = with_passes[-1]["uptime_ms"] - with_passes[0]["uptime_ms"]
    rate = (with_passes[-1]["passes"] - with_passes[0]["passes"]) * MEM_MIB * 1000.0 / span_ms
    # pass granularity is MEM_MIB: allow one pass either way, and a slow, shared machine
    slack = MEM_MIB * 1000.0 / span_ms
    assert 0.5 * RATE_MIB - slack <= rate <= 1.1 * RATE_MIB + slack, "rate %.1f MiB/s\n%s" % (rate, info)

    answers = control.stdout.split("\n")
    assert control.returncode == 0 and answers[0] == "LOAD mem_mib=%d rate_mib=%d cpu_pct=20" % (
        NEW_MEM_MIB, NEW_RATE_MIB), (control.stdout, control.stderr)
    pi = answers[1].split()
    assert pi[0] == "PI" and abs(float(pi[1]) - 3.14159) < 0.05 and pi[2] == "n=200000", answers
    loaded = [r for r in hbs if r["mem_mib"] == NEW_MEM_MIB]
    assert loaded and loaded[-1]["rate_mib"] == NEW_RATE_MIB and loaded[-1]["cpu_pct"] == 20, info

    assert box["out"].returncode == 0, (box["out"].stdout, box["out"].stderr)
    watched = json.loads(box["out"].stdout)
    assert watched["answered"] >= 50 and watched["requests"] == watched["answered"] + watched["unanswered"], watched
    # the longest gap is the pause (between the two monitor commands' windows), plus at most one
    # probe interval and an answer's way out of a just-resumed TCG guest
    figures = dict({k: v for k, v in watched.items() if k != "samples"}, paused_ms=paused_ms)
    assert paused_ms[0] - 50 <= watched["downtime_ms"] <= paused_ms[1] + 20 + 300, figures
    assert watched["latency_ms"]["max"] >= 700 and watched["latency_ms"]["p50"] < 200, watched["latency_ms"]

    assert probe.returncode == 0 and "SKILLVL-HB seq=" in probe.stdout, (
        "responder: rc=%s %s %s\n%s" % (probe.returncode, probe.stdout, probe.stderr, info))

    with open(disk, "rb") as handle:
        raw = handle.read()
    header = heartbeat.parse_disk_header(raw)
    assert header and header["boot"] == boot[0]["boot"], raw[:200]
    drecs = heartbeat.parse_disk(raw)
    assert len(drecs) >= summ["count"] - 3, (len(drecs), summ["count"])
    assert drecs[-1]["seq"] >= summ["last_seq"] - 3
    assert heartbeat.summary(drecs)["memerr"] == 0
    assert len(raw) == 2 * 1024 * 1024
