#!/usr/bin/env bash
# Bootstrap (or check) the lab's single-node Ceph cluster in this host: mon.a, mgr.x, osd.0 on a
# sparse file, the RBD pool. Idempotent: prints "changed" when it changed something.
# Usage: lab-ceph.sh CONF FSID ADDRESS POOL PG_NUM COMMAND_TIMEOUT SETTLE_TIMEOUT RESTART(0|1)
set -euo pipefail
# Every ceph program is given --cluster ceph: with -c FILE.conf they take the cluster's name from
# the file name (lab-cluster), and look for their data and keyrings under that name.
conf=$1 fsid=$2 addr=$3 pool=$4 pg_num=$5 t=$6 settle=$7 restart=$8
admin_keyring=/etc/ceph/ceph.client.admin.keyring
mon_dir=/var/lib/ceph/mon/ceph-a
mgr_dir=/var/lib/ceph/mgr/ceph-x
osd_dir=/var/lib/ceph/osd/ceph-0
changed=0

# Every ceph call is bounded: a client that cannot reach the monitor retries silently forever.
c() { timeout "$t" ceph -c "$conf" --cluster ceph -n client.admin -k "$admin_keyring" --connect-timeout "$t" "$@"; }
wait_for() {  # wait_for WHAT COMMAND...: retry a check until it passes, at most $settle seconds
  local what=$1; shift
  local end=$((SECONDS + settle))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then echo "timed out after ${settle}s waiting for $what" >&2; return 1; fi
    sleep 2
  done
}
start_unit() {  # enable and start a unit; restart it when the configuration changed
  if ! systemctl is-enabled --quiet "$1"; then systemctl enable --quiet "$1"; changed=1; fi
  if ! systemctl is-active --quiet "$1"; then
    systemctl reset-failed "$1" 2>/dev/null || true
    timeout "$settle" systemctl start "$1"; changed=1
  elif [ "$restart" = 1 ]; then
    timeout "$settle" systemctl restart "$1"; changed=1
  fi
}
mon_up() { c mon stat; }
osd_up() { [ "$(c osd stat -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])')" -ge 1 ]; }
mgr_up() { c mgr stat -f json | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["available"] else 1)'; }
health_ok() { [ "$(c health)" = HEALTH_OK ]; }
# HEALTH_OK alone is not enough: right after the manager starts, every PG is "unknown" and healthy.
pgs_clean() { c pg stat -f json | python3 -c '
import json, sys
s = json.load(sys.stdin)["pg_summary"]
by_state = {x["name"]: x["num"] for x in s["num_pg_by_state"]}
sys.exit(0 if s["num_pgs"] > 0 and by_state.get("active+clean") == s["num_pgs"] else 1)'; }

install -d -o ceph -g ceph -m 0750 /var/lib/ceph/mon /var/lib/ceph/mgr /var/lib/ceph/osd /var/log/ceph
umask 077

# --- monitor ---------------------------------------------------------------------------------
if [ ! -e "$mon_dir/done" ]; then
  tmp=$(mktemp -d /var/lib/ceph/tmp/bootstrap.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  if [ ! -s "$admin_keyring" ]; then
    ceph-authtool --create-keyring "$admin_keyring" --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  fi
  ceph-authtool --create-keyring "$tmp/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$tmp/mon.keyring" --import-keyring "$admin_keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:$addr:3300,v1:$addr:6789]" "$tmp/monmap" >/dev/null
  rm -rf "$mon_dir"; install -d -o ceph -g ceph -m 0750 "$mon_dir"
  chown -R ceph:ceph "$tmp"
  timeout "$settle" ceph-mon -c "$conf" --cluster ceph --mkfs -i a --monmap "$tmp/monmap" --keyring "$tmp/mon.keyring" \
    --setuser ceph --setgroup ceph
  touch "$mon_dir/done"; chown ceph:ceph "$mon_dir/done"
  changed=1
fi
start_unit ceph-mon@a.service
wait_for "the monitor" mon_up

# --- manager ---------------------------------------------------------------------------------
if [ ! -s "$mgr_dir/keyring" ]; then
  install -d -o ceph -g ceph -m 0750 "$mgr_dir"
  c auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$mgr_dir/keyring"
  chown ceph:ceph "$mgr_dir/keyring"
  changed=1
fi
start_unit ceph-mgr@x.service

# --- OSD (BlueStore on a sparse file, created by ceph-osd --mkfs) ------------------------------
if [ ! -e "$osd_dir/ready" ]; then
  osd_uuid=$(python3 -c "import uuid,sys; print(uuid.uuid5(uuid.UUID(sys.argv[1]), 'osd.0'))" "$fsid")
  id=$(c osd new "$osd_uuid" 0)
  [ "$id" = 0 ] || { echo "ceph osd new gave id $id, expected 0" >&2; exit 1; }
  rm -rf "$osd_dir"; install -d -o ceph -g ceph -m 0750 "$osd_dir"
  c auth get-or-create osd.0 mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
    -o "$osd_dir/keyring"
  chown -R ceph:ceph "$osd_dir"
  timeout "$settle" ceph-osd -c "$conf" --cluster ceph -i 0 --mkfs --osd-uuid "$osd_uuid" --setuser ceph --setgroup ceph
  chown -R ceph:ceph "$osd_dir"
  changed=1
fi
start_unit ceph-osd@0.service
wait_for "osd.0 to come up" osd_up
wait_for "the manager" mgr_up

# --- the RBD pool ----------------------------------------------------------------------------
if ! c osd pool ls | grep -qx "$pool"; then
  c osd pool create "$pool" "$pg_num" "$pg_num" replicated --size 1 >/dev/null 2>&1 ||
    c osd pool create "$pool" "$pg_num" "$pg_num" replicated >/dev/null
  changed=1
fi
if ! c osd pool application get "$pool" -f json |
    python3 -c 'import json,sys; sys.exit(0 if "rbd" in json.load(sys.stdin) else 1)'; then
  timeout "$t" rbd -c "$conf" --cluster ceph -n client.admin -k "$admin_keyring" pool init "$pool"
  changed=1
fi

wait_for "HEALTH_OK (ceph health: $(c health detail 2>&1 | head -n 5 | tr '\n' ' '))" health_ok || {
  c health detail >&2 || true; exit 1; }
wait_for "every placement group active+clean" pgs_clean
[ "$changed" = 0 ] || echo changed
