"""Unit tests for lab/heartbeat.py (console and disk parsers) and the guest's formats."""
import os
import re
import subprocess
import sys
import time
import zlib


TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(TOP, "lab"))

import heartbeat  # noqa: E402  pylint: disable=wrong-import-position

GUEST_C = os.path.join(TOP, "roles", "lab_guest", "files", "skillvl-guest.c")

CONSOLE = (
    "[    0.000000] Linux version 6.1.0-56-cloud-amd64\r\n"
    "SKILLVL-BOOT boot=0badcafe hb_ms=500 mem_mib=64 rate_mib=50 disk=/dev/vda uptime_ms=3383\r\n"
    "SKILLVL-HB seq=0 uptime_ms=3383 mem_mib=64 rate_mib=50 passes=0 memerr=0\r\n"
    "SKILLVL-HB seq=1 uptime_ms=3883 mem_mib=64 rate_mib=50 passes=0 memerr=0\r\n"
    "[    4.1] random kernel noise\r\n"
    "SKILLVL-HB seq=2 uptime_ms=4383 mem_mib=64 rate_mib=50 passes=1 memerr=0\r\n"
    "SKILLVL-HB seq=4 uptime_ms=6083 mem_mib=64 rate_mib=50 passes=2 memerr=0\r\n"
    "SKILLVL-HB seq=5 uptime_ms=6583 mem_mib=64 rate_mib=50 passes=2 memerr=0\r\n"
    "SKILLVL-HB seq=6 uptime_ms=70"  # cut off mid-line
)


def disk_record(seq, uptime, boot="0badcafe", passes=0, memerr=0, bad_crc=False):
    body = "SKILLVL-HBREC v1 boot=%s seq=%d uptime_ms=%d passes=%d memerr=%d" % (
        boot, seq, uptime, passes, memerr)
    crc = zlib.crc32(body.encode()) ^ (1 if bad_crc else 0)
    return ("%s crc=%08x\n" % (body, crc)).encode().ljust(heartbeat.SECTOR, b"\0")


def disk_image(records, boot="0badcafe", size=2 * 1024 * 1024):
    raw = bytearray(size)
    header = ("SKILLVL-HBDISK v1\nboot=%s hb_ms=500 mem_mib=64 rate_mib=50 slots=2048\n" % boot)
    raw[:len(header)] = header.encode()
    for seq, rec in records:
        off = heartbeat.SECTOR * (1 + seq % heartbeat.DISK_SLOTS)
        raw[off:off + heartbeat.SECTOR] = rec
    return bytes(raw)


def test_parse_console_records():
    recs = heartbeat.parse_console(CONSOLE)
    assert [r["type"] for r in recs] == ["boot", "hb", "hb", "hb", "hb", "hb"]
    assert recs[0]["boot"] == "0badcafe" and recs[0]["mem_mib"] == 64
    assert recs[1] == {"type": "hb", "seq": 0, "uptime_ms": 3383, "mem_mib": 64,
                       "rate_mib": 50, "passes": 0, "memerr": 0}


def test_parse_console_bytes_and_memerr():
    text = (b"SKILLVL-HB seq=0 uptime_ms=100 mem_mib=8 rate_mib=0 passes=3 memerr=0\n"
            b"SKILLVL-MEMERR pass=4 page=17 found=00 expected=ff total=1\n"
            b"SKILLVL-HB seq=1 uptime_ms=600 mem_mib=8 rate_mib=0 passes=5 memerr=1\n")
    recs = heartbeat.parse_console(text)
    assert [r["type"] for r in recs] == ["hb", "memerr", "hb"]
    assert recs[1]["page"] == 17
    summ = heartbeat.summary(recs)
    assert summ["memerr"] == 1 and summ["memerr_lines"] == 1 and summ["passes"] == 5


def test_parse_console_ignores_garbage():
    assert heartbeat.parse_console("") == []
    assert heartbeat.parse_console("SKILLVL-HB seq=x uptime_ms=1\nhello\n") == []


def test_summary_gaps_and_missing():
    summ = heartbeat.summary(heartbeat.parse_console(CONSOLE))
    assert summ["count"] == 5
    assert summ["first_seq"] == 0 and summ["last_seq"] == 5
    assert summ["max_gap_ms"] == 1700
    assert summ["missing"] == 1
    assert summ["memerr"] == 0 and summ["boots"] == 1
    assert summ["last"]["seq"] == 5


def test_summary_empty_and_single():
    assert heartbeat.summary([])["count"] == 0
    assert heartbeat.summary([])["max_gap_ms"] is None
    one = heartbeat.parse_console("SKILLVL-HB seq=7 uptime_ms=1 mem_mib=0 rate_mib=0 passes=0 memerr=0\n")
    assert heartbeat.summary(one)["max_gap_ms"] is None
    assert heartbeat.summary(one)["last_seq"] == 7


def test_parse_disk_valid_records():
    raw = disk_image([(s, disk_record(s, 1000 + 500 * s, passes=s)) for s in range(5)])
    header = heartbeat.parse_disk_header(raw)
    assert header["boot"] == "0badcafe" and header["hb_ms"] == 500
    recs = heartbeat.parse_disk(raw)
    assert [r["seq"] for r in recs] == [0, 1, 2, 3, 4]
    assert recs[2]["uptime_ms"] == 2000 and recs[2]["slot"] == 2
    summ = heartbeat.summary(recs)
    assert summ["last_seq"] == 4 and summ["max_gap_ms"] == 500 and summ["memerr"] == 0


def test_parse_disk_bad_crc_wrong_slot_and_old_boot():
    recs = [(0, disk_record(0, 100)), (1, disk_record(1, 600, bad_crc=True)),
            (2, disk_record(2, 1100, boot="deadbeef")), (3, disk_record(3, 1600))]
    raw = bytearray(disk_image(recs))
    # a record written to the wrong slot is rejected
    raw[heartbeat.SECTOR * 5:heartbeat.SECTOR * 6] = disk_record(9, 9999)
    got = heartbeat.parse_disk(bytes(raw))
    assert [r["seq"] for r in got] == [0, 3]
    every = heartbeat.parse_disk(bytes(raw), all_boots=True)
    assert sorted(r["seq"] for r in every) == [0, 2, 3]


def test_parse_disk_wraps_and_short_images():
    seqs = range(2040, 2060)
    raw = disk_image([(s, disk_record(s, 10 * s)) for s in seqs])
    assert [r["seq"] for r in heartbeat.parse_disk(raw)] == list(seqs)
    assert heartbeat.parse_disk(b"") == []
    assert heartbeat.parse_disk_header(b"\0" * 512) is None
    # no header: all valid records count
    headless = b"\0" * 512 + disk_record(0, 5)
    assert [r["seq"] for r in heartbeat.parse_disk(headless)] == [0]


def test_guest_program_formats(tmp_path):
    """Compile the guest program, run it ~1.6 s on the build machine, parse both outputs."""
    exe = tmp_path / "skillvl-guest"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(exe), GUEST_C], check=True, timeout=120)
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\xaa" * (4 * 1024 * 1024))
    env = dict(os.environ, SKILLVL_DISK=str(disk), SKILLVL_NO_RESPONDER="1")
    proc = subprocess.Popen([str(exe), "skillvl.hb_ms=100 skillvl.mem_mib=4 skillvl.rate_mib=20"],
                            stdout=subprocess.PIPE, env=env)
    try:
        out = proc.communicate(timeout=1.6)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate(timeout=10)[0]
    recs = heartbeat.parse_console(out)
    assert recs[0]["type"] == "boot" and recs[0]["hb_ms"] == 100
    summ = heartbeat.summary(recs)
    assert summ["count"] >= 10
    assert summ["max_gap_ms"] < 400
    assert summ["passes"] >= 3           # 4 MiB at 20 MiB/s: ~5 passes/s
    assert summ["memerr"] == 0 and summ["memerr_lines"] == 0
    raw = disk.read_bytes()
    drecs = heartbeat.parse_disk(raw)
    assert heartbeat.parse_disk_header(raw)["boot"] == recs[0]["boot"]
    assert len(drecs) >= summ["count"] - 3
    assert drecs[-1]["seq"] >= summ["last_seq"] - 2
    # the disk beyond sector 1 + 2048 slots is untouched
    assert set(raw[heartbeat.SECTOR * (1 + heartbeat.DISK_SLOTS):]) == {0xaa}


def _anon_region(pid, size):
    """Start address of the anonymous rw mapping of exactly `size` bytes in process pid."""
    with open("/proc/%d/maps" % pid, encoding="ascii") as handle:
        for line in handle:
            parts = line.split()
            start, end = (int(x, 16) for x in parts[0].split("-"))
            if end - start == size and parts[1] == "rw-p" and len(parts) == 5:
                return start
    return None


def test_guest_program_detects_lost_writes(tmp_path):
    """Overwrite a page of the writer's region from outside (/proc/PID/mem): memerr counts it."""
    exe = tmp_path / "skillvl-guest"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(exe), GUEST_C], check=True, timeout=120)
    env = dict(os.environ, SKILLVL_NO_RESPONDER="1", SKILLVL_DISK=str(tmp_path / "none"))
    size = 3 * 1024 * 1024
    proc = subprocess.Popen([str(exe), "skillvl.hb_ms=100 skillvl.mem_mib=3 skillvl.rate_mib=10"],
                            stdout=subprocess.PIPE, env=env)
    try:
        start = None
        for _attempt in range(20):
            time.sleep(0.1)
            start = _anon_region(proc.pid, size)
            if start:
                break
        assert start is not None, "no anonymous %d-byte region in /proc/%d/maps" % (size, proc.pid)
        time.sleep(0.5)   # the first pass (0.3 s at 10 MiB/s) is done: patterns are set
        # gcc is a controller package (bindep.txt) and the tests run as root: neither may skip.
        with open("/proc/%d/mem" % proc.pid, "r+b", buffering=0) as mem:
            mem.seek(start + 100 * 4096)
            mem.write(b"\0" * 4096)
        time.sleep(0.8)   # at least one more pass over page 100
    finally:
        proc.kill()
        out = proc.communicate(timeout=10)[0]
    recs = heartbeat.parse_console(out)
    errs = [r for r in recs if r["type"] == "memerr"]
    assert len(errs) == 1 and errs[0]["page"] == 100 and errs[0]["word"] == 0, out[-2000:]
    assert errs[0]["found"] == "0" * 16
    assert heartbeat.summary(recs)["memerr"] == 1


ASK_WRITES = r"""
import socket, sys, time
def ask(line):
    for _try in range(50):
        try:
            s = socket.create_connection(("127.0.0.1", 8080), 1)
            break
        except OSError:
            time.sleep(0.1)
    s.sendall(line.encode() + b"\n")
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        got = s.recv(4096)
        if not got:
            return out.decode().strip()
        out += got
for line in sys.argv[1:]:
    print(ask(line))
"""


def test_guest_write_request_fills_the_disk_clear_of_the_heartbeat(tmp_path):
    """WRITE fills whole MiBs with one byte and syncs; it refuses the heartbeat's first MiB and
    anything past the disk's end, writing nothing then. Run in a private network namespace (its
    own loopback, so port 8080 is the test's), on a file disk."""
    exe = tmp_path / "skillvl-guest"
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(exe), GUEST_C], check=True, timeout=120)
    disk = tmp_path / "disk.raw"
    disk.write_bytes(b"\xaa" * (8 * 1024 * 1024))
    script = tmp_path / "ask.py"
    script.write_text(ASK_WRITES)
    shell = ("ip link set lo up && {{ {exe} 'skillvl.hb_ms=100 skillvl.mem_mib=0' >/dev/null & pid=$!; }} && "
             "{py} {script} 'WRITE offset_mib=3 mib=2 byte=90' 'WRITE offset_mib=1 mib=1 byte=1' "
             "'WRITE offset_mib=7 mib=2 byte=1' 'WRITE offset_mib=4 mib=1 byte=300'; "
             "kill $pid").format(exe=exe, py=sys.executable, script=script)
    proc = subprocess.run(["unshare", "--net", "sh", "-c", shell], env=dict(os.environ, SKILLVL_DISK=str(disk)),
                          capture_output=True, text=True, timeout=60, check=True)
    answers = proc.stdout.splitlines()
    assert re.match(r"WRITE offset_mib=3 mib=2 byte=90 us=\d+$", answers[0]), answers
    assert answers[1].startswith("WRITE-ERROR offset_mib must be 2 or more"), answers
    assert answers[2] == "WRITE-ERROR %s has 8 MiB, not 9" % disk, answers
    assert answers[3].startswith("WRITE-ERROR"), answers
    raw = disk.read_bytes()
    mib = 1024 * 1024
    assert raw[3 * mib:5 * mib] == b"\x5a" * (2 * mib)
    assert set(raw[5 * mib:]) == {0xaa} and set(raw[heartbeat.SECTOR * (1 + heartbeat.DISK_SLOTS):3 * mib]) == {0xaa}
