#!/usr/bin/env bash
# The lab's underlay: one network namespace per host, joined by a Linux bridge that lives in
# a namespace of its own. Nothing is routed out of the machine.
#   lab-net.sh up LAB PREFIXLEN HOST=ADDRESS...   create what is missing; prints "changed" if it did
#   lab-net.sh down LAB [HOST...]                 remove the lab's namespaces (and so its veths)
#   lab-net.sh status LAB                         list the lab's namespaces
# Every namespace this script creates is recorded in /run/skillvl-lab/LAB.netns, so that
# `down` removes exactly this lab's namespaces and never another lab's.
set -euo pipefail

state_dir=/run/skillvl-lab
changed=0

report() { if [ "$changed" = 1 ]; then echo changed; else echo ok; fi; }
ns_exists() { [ -e "/run/netns/$1" ]; }
record() { mkdir -p "$state_dir"; grep -sqxF "$2" "$state_dir/$1.netns" || echo "$2" >> "$state_dir/$1.netns"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

up() {
  local lab=$1 prefixlen=$2; shift 2
  local underlay="$lab-underlay"
  if ! ns_exists "$underlay"; then ip netns add "$underlay"; changed=1; fi
  record "$lab" "$underlay"
  in_ns "$underlay" ip link set lo up
  if ! in_ns "$underlay" ip link show br0 >/dev/null 2>&1; then
    in_ns "$underlay" ip link add br0 type bridge
    changed=1
  fi
  in_ns "$underlay" ip link set br0 up

  local spec host addr ns
  for spec in "$@"; do
    host=${spec%%=*}; addr=${spec#*=}; ns="$lab-$host"
    if [ ${#host} -gt 15 ]; then echo "host name '$host' is longer than an interface name may be" >&2; exit 2; fi
    if ! ns_exists "$ns"; then ip netns add "$ns"; changed=1; fi
    record "$lab" "$ns"
    in_ns "$ns" ip link set lo up
    if ! in_ns "$ns" ip link show eth0 >/dev/null 2>&1; then
      # A stale bridge-side end (its peer gone with an old namespace) blocks the name.
      in_ns "$underlay" ip link del "$host" >/dev/null 2>&1 || true
      ip link add "$host" netns "$underlay" type veth peer name eth0 netns "$ns"
      changed=1
    fi
    in_ns "$underlay" ip link set "$host" master br0 up
    # OVS's userspace datapath (if a role moves eth0 onto a bridge) re-homes the address:
    # only add it where neither eth0 nor any other interface carries it yet.
    if ! grep -q " inet ${addr%/*}/" <<< "$(in_ns "$ns" ip -o addr show)"; then
      in_ns "$ns" ip addr add "$addr/$prefixlen" dev eth0
      changed=1
    fi
    in_ns "$ns" ip link set eth0 up
    # veth offloads leave TCP checksums to be filled in later, which OVS's userspace datapath
    # never does: TCP to and from such a host stalls. Real NICs have no such gap.
    in_ns "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 || true
    in_ns "$underlay" ethtool -K "$host" tx off >/dev/null 2>&1 || true
  done
  report
}

down() {
  local lab=$1; shift
  local list=("$lab-underlay")
  local h
  for h in "$@"; do list+=("$lab-$h"); done
  if [ -f "$state_dir/$lab.netns" ]; then mapfile -t -O "${#list[@]}" list < "$state_dir/$lab.netns"; fi
  local ns
  for ns in "${list[@]}"; do
    if ns_exists "$ns"; then
      # Processes left in the namespace (a stray daemon) would keep it alive unnamed.
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns"
      changed=1
    fi
  done
  rm -f "$state_dir/$lab.netns"
  report
}

status() {
  local lab=$1
  if [ -f "$state_dir/$lab.netns" ]; then cat "$state_dir/$lab.netns"; fi
}

cmd=${1:-}; shift || true
case "$cmd" in
  up) [ $# -ge 2 ] || { echo "usage: $0 up LAB PREFIXLEN HOST=ADDRESS..." >&2; exit 2; }; up "$@" ;;
  down) [ $# -ge 1 ] || { echo "usage: $0 down LAB [HOST...]" >&2; exit 2; }; down "$@" ;;
  status) [ $# -eq 1 ] || { echo "usage: $0 status LAB" >&2; exit 2; }; status "$@" ;;
  *) echo "usage: $0 up|down|status LAB ..." >&2; exit 2 ;;
esac
