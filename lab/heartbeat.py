"""Parse the lab guest's heartbeat: serial console text and the disk's heartbeat sectors.

Pure Python (standard library only). Import it from tests and benchmarks with
``sys.path.insert(0, "<checkout>/lab")`` then ``import heartbeat``.

Console lines (see roles/lab_guest/files/skillvl-guest.c)::

    SKILLVL-BOOT boot=<hex> hb_ms=500 mem_mib=64 rate_mib=50 cpu_pct=0 disk=/dev/vda uptime_ms=3383
    SKILLVL-HB seq=<n> uptime_ms=<ms> mem_mib=<N> rate_mib=<R> passes=<p> memerr=<e> cpu_pct=<P>
    SKILLVL-LOAD mem_mib=<N> rate_mib=<R> cpu_pct=<P>     (a LOAD request changed the load)
    SKILLVL-MEMERR pass=<p> page=<i> word=<w> found=<hex> expected=<hex> total=<e>

Disk: sector 0 holds a header ``SKILLVL-HBDISK v1\\nboot=<hex> ...``; sector
``1 + seq % 2048`` holds ``SKILLVL-HBREC v1 boot=<hex> seq=.. uptime_ms=.. passes=..
memerr=.. crc=<crc32 of the text before " crc=">``.
"""
import re
import zlib

SECTOR = 512
DISK_SLOTS = 2048
DISK_MAGIC = b"SKILLVL-HBDISK v1"
REC_MAGIC = b"SKILLVL-HBREC v1 "

_LINE = re.compile(r"(SKILLVL-(?:BOOT|HB|MEMERR|NET|ERROR|WARN|EXIT|POWEROFF|LOAD))((?:[ \t]+\S+)*)")
_INT_FIELDS = {"seq", "uptime_ms", "mem_mib", "rate_mib", "passes", "memerr", "hb_ms",
               "pass", "page", "word", "total", "rc", "cpu_pct"}


def _fields(text):
    out = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep:
            continue
        if key in _INT_FIELDS:
            try:
                out[key] = int(value)
            except ValueError:
                out[key] = value
        else:
            out[key] = value
    return out


def parse_console(text):
    """Return the SKILLVL records found in console text, in order.

    Every record is a dict with ``type`` ("hb", "boot", "memerr", "net", "error", "warn",
    "exit") and the line's key=value fields (numbers as int). Lines may be mixed with kernel
    messages or carry carriage returns; a line cut off at the end of the text is ignored.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    records = []
    lines = text.replace("\r", "\n").split("\n")
    if lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # incomplete last line
    for line in lines:
        match = _LINE.search(line)
        if not match:
            continue
        kind = match.group(1)[len("SKILLVL-"):].lower()
        record = {"type": kind}
        record.update(_fields(match.group(2)))
        if kind == "hb" and not {"seq", "uptime_ms"} <= set(record):
            continue
        if kind == "hb" and not all(isinstance(record.get(k), int)
                                    for k in ("seq", "uptime_ms")):
            continue
        records.append(record)
    return records


def _sector_text(raw):
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def parse_disk(raw, all_boots=False):
    """Return the valid heartbeat records of a disk image (bytes), sorted by seq.

    Records whose CRC does not match are dropped. Unless ``all_boots`` is true, only the
    records of the boot named in the header (sector 0) are kept; with no valid header, all
    valid records are returned. Each record is a dict with ``type`` "hb", ``boot``,
    ``seq``, ``uptime_ms``, ``passes``, ``memerr`` and ``slot`` (its sector index - 1).
    """
    raw = bytes(raw)
    header = parse_disk_header(raw)
    records = []
    for slot in range(DISK_SLOTS):
        sector = raw[SECTOR * (1 + slot):SECTOR * (2 + slot)]
        if not sector.startswith(REC_MAGIC):
            if len(sector) < SECTOR:
                break
            continue
        text = _sector_text(sector).rstrip("\n")
        body, sep, crc = text.rpartition(" crc=")
        if not sep:
            continue
        try:
            if int(crc, 16) != zlib.crc32(body.encode("ascii")):
                continue
        except ValueError:
            continue
        record = {"type": "hb"}
        record.update(_fields(body[len(REC_MAGIC):]))
        if not all(isinstance(record.get(k), int) for k in ("seq", "uptime_ms")):
            continue
        if record["seq"] % DISK_SLOTS != slot:
            continue
        record["slot"] = slot
        if not all_boots and header and record.get("boot") != header.get("boot"):
            continue
        records.append(record)
    records.sort(key=lambda r: (r.get("boot", ""), r["seq"]))
    return records


def parse_disk_header(raw):
    """Return the disk header's fields as a dict (``boot``, ``hb_ms``, ...), or None."""
    sector = bytes(raw[:SECTOR])
    if not sector.startswith(DISK_MAGIC):
        return None
    text = _sector_text(sector)
    fields = _fields(text[len(DISK_MAGIC):])
    fields["magic"] = DISK_MAGIC.decode()
    return fields


def summary(records):
    """Summarise heartbeat records (from parse_console or parse_disk).

    Returns a dict: ``count`` (heartbeats), ``first_seq``, ``last_seq``, ``max_gap_ms``
    (largest uptime_ms difference between consecutive heartbeats, None if fewer than
    two), ``missing`` (seq numbers skipped between first and last), ``memerr`` (the
    largest memerr counter seen, plus SKILLVL-MEMERR lines are counted in
    ``memerr_lines``), ``passes`` (last writer pass count), ``boots`` (SKILLVL-BOOT
    lines) and ``last`` (the last heartbeat record or None).
    """
    hbs = [r for r in records if r.get("type", "hb") == "hb"
           and isinstance(r.get("seq"), int) and isinstance(r.get("uptime_ms"), int)]
    out = {
        "count": len(hbs),
        "first_seq": hbs[0]["seq"] if hbs else None,
        "last_seq": hbs[-1]["seq"] if hbs else None,
        "max_gap_ms": None,
        "missing": 0,
        "memerr": max([r.get("memerr", 0) for r in hbs if isinstance(r.get("memerr"), int)]
                      or [0]),
        "memerr_lines": sum(1 for r in records if r.get("type") == "memerr"),
        "passes": hbs[-1].get("passes") if hbs else None,
        "boots": sum(1 for r in records if r.get("type") == "boot"),
        "last": hbs[-1] if hbs else None,
    }
    gaps = []
    for prev, cur in zip(hbs, hbs[1:]):
        if cur["seq"] <= prev["seq"]:   # a new boot restarts seq: not a gap
            continue
        gaps.append(cur["uptime_ms"] - prev["uptime_ms"])
        out["missing"] += cur["seq"] - prev["seq"] - 1
    if gaps:
        out["max_gap_ms"] = max(gaps)
    return out
