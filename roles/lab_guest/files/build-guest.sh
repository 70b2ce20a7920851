#!/usr/bin/env bash
# Build the skillvl lab guest (kernel + initramfs) from Debian packages, on this machine.
#
# Usage: build-guest.sh [--check] OUT_DIR CACHE_DIR KERNEL_PACKAGE MODULES COMPRESSION [TOOLS]
#   OUT_DIR         gets vmlinuz, initrd.img and guest.json
#   CACHE_DIR       keeps the downloaded kernel .deb
#   KERNEL_PACKAGE  a Debian kernel package or metapackage (linux-image-cloud-amd64)
#   MODULES         space-separated module names to load at boot (with their dependencies)
#   COMPRESSION     gzip | zstd | xz (initramfs compression)
#   TOOLS           space-separated commands of this machine copied into the guest with the
#                   libraries they load (qemu-ga stress-ng: a guest an agent can load)
# The last line of stdout is "SKILLVL-GUEST changed|unchanged|would-change": the role's
# changed_when reads it. Nothing is rebuilt when the checksum of all inputs (kernel
# package and version, sources, busybox, compiler, modules, compression) is unchanged.
# The kernel package is only downloaded and unpacked, never installed.
set -euo pipefail

check=0
if [ "${1:-}" = --check ]; then
  check=1
  shift
fi
[ $# -eq 5 ] || [ $# -eq 6 ] ||
  { echo "usage: $0 [--check] OUT_DIR CACHE_DIR KERNEL_PACKAGE MODULES COMPRESSION [TOOLS]" >&2; exit 2; }
out=$1 cache=$2 kpkg=$3 modules=$4 compression=$5 tools=${6:-}
src=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C

die() { echo "build-guest: $*" >&2; exit 1; }

case "$compression" in
  gzip) compress=(gzip -9 -n) ;;
  zstd) compress=(zstd -q -19 -T1 -c) ;;
  xz) compress=(xz -9 --check=crc32 -c) ;;
  *) die "unknown compression '$compression' (gzip, zstd or xz)" ;;
esac
for tool in apt-cache apt-get dpkg-deb dpkg-query gcc cpio depmod modprobe sha256sum "${compress[0]}"; do
  command -v "$tool" >/dev/null || die "'$tool' not found: install the controller packages of bindep.txt"
done
declare -A toolpath=()
for tool in $tools; do
  toolpath[$tool]=$(command -v "$tool") || die "'$tool' not found on this machine: install the controller packages of bindep.txt"
done
busybox=/bin/busybox
bbline=$({ "$busybox" 2>&1 || true; } | head -n1)
[[ "$bbline" == BusyBox* ]] || die "$busybox missing: install busybox-static"
dpkg-query -W -f='${Status}\n' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
  die "busybox-static is not installed (a dynamically linked busybox cannot run in the guest)"

# --- resolve the kernel package behind the metapackage ---------------------------------
field() {  # field PACKAGE NAME: a control field of the candidate version
  apt-cache show --no-all-versions "$1" 2>/dev/null | awk -v f="$2:" '$1 == f { sub(/^[^:]*: */, ""); print; exit }'
}
resolve() {
  local deps
  pkg=$kpkg
  deps=$(field "$kpkg" Depends)
  if [[ "$kpkg" != linux-image-[0-9]* ]]; then
    pkg=$(tr ',|' '\n' <<<"$deps" | awk '$1 ~ /^linux-image-[0-9]/ { print $1; exit }')
  fi
  [ -n "$pkg" ] && ver=$(field "$pkg" Version) && [ -n "$ver" ]
}
pkg=''
ver=''
if ! resolve; then
  [ "$check" = 1 ] && { echo "kernel package $kpkg unknown to apt (lists stale?)"; echo "SKILLVL-GUEST would-change"; exit 0; }
  echo "apt does not know $kpkg: running apt-get update once"
  apt-get update -q >/dev/null || die "apt-get update failed"
  resolve || die "apt knows no kernel package behind '$kpkg'"
fi

# --- the checksum of all inputs ---------------------------------------------------------
inputs=$(
  {
    echo "kernel=$pkg=$ver modules=$modules compression=$compression tools=$tools"
    for tool in $tools; do sha256sum "${toolpath[$tool]}"; done
    dpkg-query -W -f='busybox=${Version}\n' busybox-static 2>/dev/null || sha256sum "$busybox"
    gcc --version | head -n1
    cd "$src" && sha256sum build-guest.sh init skillvl-guest.c
  } | sha256sum | cut -d' ' -f1)

manifest="$out/guest.json"
uptodate() {
  [ -f "$manifest" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ] || return 1
  grep -q "\"inputs_sha256\": \"$inputs\"" "$manifest" || return 1
  grep -q "\"vmlinuz_sha256\": \"$(sha256sum < "$out/vmlinuz" | cut -d' ' -f1)\"" "$manifest" || return 1
  grep -q "\"initrd_sha256\": \"$(sha256sum < "$out/initrd.img" | cut -d' ' -f1)\"" "$manifest"
}
if uptodate; then
  echo "guest up to date ($pkg $ver, inputs $inputs)"
  echo "SKILLVL-GUEST unchanged"
  exit 0
fi
if [ "$check" = 1 ]; then
  echo "guest would be (re)built from $pkg $ver"
  echo "SKILLVL-GUEST would-change"
  exit 0
fi

# --- download and unpack the kernel package (never installed) ---------------------------
mkdir -p "$cache" "$out"
deb=
for f in "$cache/${pkg}_"*.deb; do
  [ -f "$f" ] || continue
  if [ "$(dpkg-deb -f "$f" Package)" = "$pkg" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
    deb=$f
  fi
done
if [ -z "$deb" ]; then
  download() { (cd "$cache" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1); }
  if ! download; then
    echo "apt-get download $pkg=$ver failed: running apt-get update once"
    apt-get update -q >/dev/null || die "apt-get update failed"
    download || die "apt-get download $pkg=$ver failed"
  fi
  for f in "$cache/${pkg}_"*.deb; do
    [ "$(dpkg-deb -f "$f" Version)" = "$ver" ] && deb=$f
  done
  [ -n "$deb" ] || die "downloaded $pkg=$ver but cannot find the .deb in $cache"
  # keep only this version in the cache
  for f in "$cache/${pkg}_"*.deb; do [ "$f" = "$deb" ] || rm -f "$f"; done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/skillvl-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")
[ "$(wc -w <<<"$kver")" = 1 ] || die "expected one kernel release in $deb, found: $kver"
vmlinuz="$work/kernel/boot/vmlinuz-$kver"
[ -f "$vmlinuz" ] || die "$deb has no boot/vmlinuz-$kver"
depmod -b "$work/kernel" "$kver"

# --- the initramfs tree -----------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"     # for /init's "#!/bin/sh"
install -m 0755 "$src/init" "$root/init"
gcc -static -O2 -Wall -pthread -o "$root/bin/skillvl-guest" "$src/skillvl-guest.c"
strip "$root/bin/skillvl-guest" 2>/dev/null || true
# Each tool with the shared libraries it loads and the dynamic loader, at their own paths.
for tool in $tools; do
  bin=${toolpath[$tool]}
  install -D -m 0755 "$bin" "$root$bin"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
done
mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true   # root only; /init copes without

: > "$root/lib/modules/load.order"
loaded=" "
for mod in $modules; do
  if ! deps=$(modprobe -d "$work/kernel" -S "$kver" --show-depends "$mod" 2>&1); then
    die "module $mod is neither built in nor a module of $kver: $deps"
  fi
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue          # "builtin NAME": nothing to load
    base=$(basename "$path")
    name=${base%%.ko*}
    case "$loaded" in *" $name "*) continue ;; esac
    case "$base" in
      *.ko.xz) xz -dc "$path" > "$root/lib/modules/$name.ko" ;;
      *.ko.zst) zstd -qdc "$path" > "$root/lib/modules/$name.ko" ;;
      *.ko.gz) gzip -dc "$path" > "$root/lib/modules/$name.ko" ;;
      *.ko) cp "$path" "$root/lib/modules/$name.ko" ;;
      *) die "unexpected module file $path" ;;
    esac
    echo "$name.ko" >> "$root/lib/modules/load.order"
    loaded="$loaded$name "
  done <<<"$deps"
done

(cd "$root" && find . -mindepth 1 -print0 | sort -z |
  cpio --null -o -H newc -R 0:0 --reproducible --quiet) | "${compress[@]}" > "$work/initrd.img"

# --- install the results and the manifest -----------------------------------------------
vsum=$(sha256sum < "$vmlinuz" | cut -d' ' -f1)
isum=$(sha256sum < "$work/initrd.img" | cut -d' ' -f1)
isize=$(stat -c %s "$work/initrd.img")
modjson=$(sed 's/\.ko$//; s/.*/"&"/' "$root/lib/modules/load.order" | paste -sd, | sed 's/,/, /g')
bbver=$(awk '{print $2}' <<<"$bbline")
cp "$vmlinuz" "$out/vmlinuz.tmp" && mv -f "$out/vmlinuz.tmp" "$out/vmlinuz"
cp "$work/initrd.img" "$out/initrd.img.tmp" && mv -f "$out/initrd.img.tmp" "$out/initrd.img"
cat > "$manifest.tmp" <<JSON
{
  "format": 1,
  "kernel_package": "$pkg",
  "kernel_package_version": "$ver",
  "kernel_release": "$kver",
  "busybox_version": "$bbver",
  "modules": [$modjson],
  "compression": "$compression",
  "tools": [$(for tool in $tools; do printf '"%s",' "$tool"; done | sed 's/,$//; s/,/, /g')],
  "vmlinuz_sha256": "$vsum",
  "initrd_sha256": "$isum",
  "initrd_bytes": $isize,
  "inputs_sha256": "$inputs"
}
JSON
mv -f "$manifest.tmp" "$manifest"
echo "built guest: kernel $kver ($pkg $ver), initrd $isize bytes, modules: $(paste -sd' ' "$root/lib/modules/load.order")"
echo "SKILLVL-GUEST changed"
