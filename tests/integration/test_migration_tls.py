# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The production transport in the lab: libvirt over TLS and QEMU's migration stream over TLS.

The lab inherits `skillvl_migration_transport: tls` from inventories/skillvl. These tests look
at what that means on the wire and at the door: the migration stream captured on the underlay
is TLS from its first byte (never QEMU's plain 'QEVM' stream), QEMU really runs the migration
with TLS credentials, an unencrypted migration is refused, and a libvirtd refuses a client
whose certificate is signed by the fleet's CA but is not in its tls_allowed_dn_list.
"""
import json
import os
import select
import shlex
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labguests import DST, SRC, migrate, run_in_thread, wait_job  # noqa: E402  pylint: disable=wrong-import-position

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SNIFF = os.path.join(TOP, "lab", "streamsniff.py")
UNDERLAY = {"cloud1": "198.51.100.11", "ws01": "198.51.100.21"}
# kvm_host's private CA on the controller (its default kvm_host_pki_dir; the lab sets no other).
PKI = os.path.join(os.path.expanduser("~"), ".local", "share", "skillvl", "pki")
PROBE = "/root/skillvl-tls-probe"
MIB = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def tls_lab(lab):
    if lab.migration_transport != "tls":
        pytest.fail("the lab must run production's transport tls, not %s" % lab.migration_transport)
    yield
    lab.run(SRC, "rm -rf %s" % PROBE, check=False)


class Sniffer(object):
    """lab/streamsniff.py on SRC's port of the underlay bridge (the wire between the hosts)."""

    def __init__(self, lab, host, seconds=240):
        argv = ["ip", "netns", "exec", "%s-underlay" % lab.name, sys.executable, SNIFF,
                "--iface", host, "--ports", "49152-49215", "--seconds", str(seconds)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _w, _x = select.select([self.proc.stderr], [], [], 30)
        line = self.proc.stderr.readline().decode() if ready else ""
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError("the capture did not start: %r %s" % (line, self.proc.stderr.read()))

    def stop(self):
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)


def migrate_parameters(lab, name):
    out = lab.virsh(SRC, "qemu-monitor-command", name, '{"execute":"query-migrate-parameters"}',
                    check=False).stdout
    try:
        return json.loads(out)["return"]
    except (ValueError, KeyError):
        return {}


def test_migration_stream_is_tls_on_the_wire(lab, guests):
    """Captured on the underlay: every migration connection starts with a TLS handshake record
    and no payload holds QEMU's plain stream magic; QEMU runs the migration with TLS creds."""
    name = guests.boot("migtls-wire", load_mib=32, rate_mib=2)   # ~7 s at 10 MiB/s: time to look at QEMU
    before = guests.last_seq(SRC, name)
    sniffer = Sniffer(lab, SRC)
    params = {}
    try:
        thread, box = run_in_thread(lambda: migrate(lab, name, bandwidth=10, timeout=300))
        wait_job(lab, name)
        deadline = time.monotonic() + 20
        while thread.is_alive() and not params.get("tls-creds") and time.monotonic() < deadline:
            params = migrate_parameters(lab, name) or params
            time.sleep(0.5)
        thread.join(300)
        assert not thread.is_alive(), "vm_migrate did not return"
        capture = sniffer.stop()
    finally:
        sniffer.kill()
    res = box.get("result")
    assert res is not None and not res.get("failed"), box
    assert res["state"] == {"source": "absent", "dest": "running"}, res

    stream = [f for f in capture["flows"] if f["src"] == UNDERLAY[SRC] and f["dst"] == UNDERLAY[DST]
              and 49152 <= f["dport"] <= 49215 and f["bytes"]]
    print("captured: %d frames, QEVM seen %d times; migration connections %s -> %s: %s" % (
        capture["frames"], capture["qevm"], SRC, DST,
        ["port %s %.1f MiB first=%s %s" % (f["sport"], f["bytes"] / MIB, f["first_record"], f["first_payload"])
         for f in stream]))
    print("QEMU migration parameters during the move: tls-creds=%r tls-hostname=%r tls-authz=%r"
          % (params.get("tls-creds"), params.get("tls-hostname"), params.get("tls-authz")))
    assert stream, "no migration connection from %s to %s captured: %s" % (SRC, DST, capture)
    assert sum(f["bytes"] for f in stream) > MIB, "the capture saw almost none of the stream: %s" % stream
    starts = [f for f in stream if f["first_payload"] is not None]
    assert starts, "the capture missed the start of every migration connection: %s" % stream
    assert all(f["first_record"] == "tls-handshake" for f in starts), starts
    assert capture["qevm"] == 0, "QEMU's plain migration magic on the wire: %s" % capture
    assert params.get("tls-creds"), "QEMU migrated without TLS credentials: %s" % params
    assert "tls" in res["plan"]["flags"], res["plan"]
    guests.assert_alive(DST, name, before, "after a TLS migration")
    guests.remove(name)


def test_unencrypted_migration_is_refused(lab, guests):
    """kvm_host sets migrate_tls_force: a migration without --tls does not start; the VM stays."""
    name = guests.boot("migtls-plain")
    proc = lab.virsh(SRC, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", name,
                     lab.libvirt_uri(DST), check=False, timeout=180)
    assert proc.returncode != 0, proc.stdout
    assert "allows migration only with VIR_MIGRATE_TLS" in proc.stderr, proc.stderr
    assert guests.state(SRC, name) == "running" and guests.state(DST, name) == "absent"
    guests.remove(name)


def _stranger_identity(workdir):
    """A libvirt identity signed by the fleet's CA for storage1, a host that is no hypervisor."""
    key, csr, cert = (os.path.join(workdir, n) for n in ("clientkey.pem", "stranger.csr", "clientcert.pem"))
    ext = os.path.join(workdir, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\n"
                "extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:storage1\n")
    req = ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes",
           "-subj", "/O=skillvl.offline_first/OU=libvirt/CN=storage1", "-keyout", key, "-out", csr]
    sign = ["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(PKI, "ca-cert.pem"),
            "-CAkey", os.path.join(PKI, "ca-key.pem"), "-set_serial", str(int(time.time())),
            "-days", "1", "-extfile", ext, "-out", cert]
    for argv in (req, sign):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    with open(key) as f:
        key_text = f.read()
    with open(cert) as f:
        return key_text, f.read()


def test_certificate_outside_the_dn_list_is_refused(lab, guests):
    """ws01's libvirtd accepts cloud1's libvirt identity, and refuses two identities signed by the
    same CA that are not in its tls_allowed_dn_list: cloud1's QEMU identity (what a guest that
    escapes into QEMU holds) and a libvirt identity of storage1 (not a hypervisor). A migration
    whose source libvirtd presents the stranger's certificate does not start."""
    since = lab.run(DST, "date +%s").stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o700)
        key, cert = _stranger_identity(tmp)
    lab.run(SRC, "; ".join([
        "set -e", "umask 077", "rm -rf {p}", "mkdir -p {p}/good {p}/qemu {p}/stranger",
        "for d in good qemu stranger; do cp /etc/pki/CA/cacert.pem {p}/$d/cacert.pem; done",
        "cp /etc/pki/libvirt/clientcert.pem {p}/good/clientcert.pem",
        "cp /etc/pki/libvirt/private/clientkey.pem {p}/good/clientkey.pem",
        "cp /etc/pki/qemu/client-cert.pem {p}/qemu/clientcert.pem",
        "cp /etc/pki/qemu/client-key.pem {p}/qemu/clientkey.pem",
        "cat > {p}/stranger/clientkey.pem"]).format(p=PROBE), input=key)
    lab.run(SRC, "umask 077; cat > %s/stranger/clientcert.pem" % PROBE, input=cert)
    # All three are signed by the fleet's CA.
    lab.run(SRC, "for d in good qemu stranger; do openssl verify -CAfile {p}/$d/cacert.pem {p}/$d/clientcert.pem; "
                 "done".format(p=PROBE))

    def hostname_with(identity):
        uri = "qemu+tls://%s/system?pkipath=%s/%s" % (DST, PROBE, identity)
        return lab.run(SRC, "timeout 60 virsh -c %s hostname" % shlex.quote(uri), check=False, timeout=90)

    good = hostname_with("good")
    assert good.returncode == 0 and good.stdout.strip() == DST, good.stderr
    for identity in ("qemu", "stranger"):
        proc = hostname_with(identity)
        assert proc.returncode not in (0, 124) and proc.stdout.strip() == "", (identity, proc.stdout, proc.stderr)

    # Peer to peer, the source libvirtd opens the destination URI: with the stranger's identity.
    name = guests.boot("migtls-dn")
    uri = "qemu+tls://%s/system?pkipath=%s/stranger" % (DST, PROBE)
    proc = lab.virsh(SRC, "migrate", "--live", "--p2p", "--tls", "--persistent", "--undefinesource", name, uri,
                     check=False, timeout=180)
    assert proc.returncode != 0, proc.stdout
    assert guests.state(SRC, name) == "running" and guests.state(DST, name) == "absent"

    log = lab.run(DST, "journalctl --no-pager --output=cat --since @%s --unit=libvirtd.service" % since).stdout
    refusals = log.count("tls_allowed_dn_list")
    assert refusals >= 3, "ws01's libvirtd did not log DN-list refusals (qemu, stranger, migration):\n%s" % log[-3000:]
    guests.remove(name)
