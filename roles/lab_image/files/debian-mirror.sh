#!/usr/bin/env bash
# Print the Debian mirror this machine's apt uses for SUITE (deb822 sources first, then the
# one-line sources.list; never the security archive). The lab's host image and the execution
# environment's base image are built from it.
#   debian-mirror.sh SUITE
set -euo pipefail
suite=${1:?usage: debian-mirror.sh SUITE}
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
    awk -v s="$suite" '
      /^URIs:/ { uri=$2 } /^Suites:/ { suites=$0 }
      /^$/ { if (suites ~ " "s"( |$)" && uri !~ /security/) { print uri; exit } uri=""; suites="" }
      END { if (suites ~ " "s"( |$)" && uri !~ /security/) print uri }' | head -n1)
if [ -z "$mirror" ]; then
  mirror=$(awk -v s="$suite" '$1=="deb" && $3==s { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
[ -n "$mirror" ] || { echo "no Debian $suite mirror found in this machine's apt sources" >&2; exit 2; }
echo "$mirror"
