#!/usr/bin/env bash
# Build the lab's Debian 12 host image from Debian packages only:
# debootstrap -> podman import -> apt in a build container -> podman commit.
# Usage: build-lab-image.sh IMAGE PACKAGE_LIST_FILE [BACKPORTS_SOURCES...]
# SKILLVL_DEBIAN_MIRROR: the Debian mirror, the one this machine's apt uses (debian-mirror.sh).
set -euo pipefail

image=$1
package_list=$2
shift 2
backports=("$@")          # source packages taken from bookworm-backports (qemu, seabios)
suite=bookworm

# Two labs, or a lab and Molecule, may ask for the same image at once: one builds it, the
# others wait for it (the build container and base image names are not per build).
exec 9>/var/tmp/skillvl-lab-image.lock
flock -w 1800 9 || { echo "timed out waiting for another build of the lab image" >&2; exit 2; }
if podman image exists "$image"; then
  echo "$image was built meanwhile"
  exit 0
fi

mirror=${SKILLVL_DEBIAN_MIRROR:?the Debian mirror (debian-mirror.sh prints it)}

work=$(mktemp -d /var/tmp/skillvl-lab-image.XXXXXX)
build=skillvl-lab-image-build-$$
cleanup() {
  podman rm -f "$build" >/dev/null 2>&1 || true
  podman rmi -f "$image-base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,apt,ca-certificates \
  "$suite" "$work/root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

cat > "$work/root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
SOURCES
# The same file and pin that the kvm_host role writes with kvm_host_qemu_backports.
echo "deb $mirror $suite-backports main" > "$work/root/etc/apt/sources.list.d/skillvl-backports.list"
if [ "${#backports[@]}" -gt 0 ]; then
  for src in "${backports[@]}"; do
    printf 'Package: src:%s\nPin: release n=%s-backports\nPin-Priority: 990\n\n' "$src" "$suite"
  done > "$work/root/etc/apt/preferences.d/skillvl-backports"
fi
cp "$package_list" "$work/root/tmp/packages.txt"

tar -C "$work/root" -c . | podman import --change 'CMD ["/sbin/init"]' - "$image-base" >/dev/null
rm -rf "$work/root"

podman run --name "$build" --network=host "$image-base" /bin/bash -ec '
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start while the image is built.
  printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get update -q
  grep -v "^#" /tmp/packages.txt | xargs apt-get install -y -q --no-install-recommends
  rm -f /usr/sbin/policy-rc.d /tmp/packages.txt
  apt-get clean
  # No console getty and no first-boot wizard in a container; no kernel NFS mounts here.
  systemctl mask getty@tty1.service console-getty.service systemd-firstboot.service \
    systemd-networkd-wait-online.service proc-fs-nfsd.mount run-rpc_pipefs.mount >/dev/null 2>&1
  # Each host makes its own SSH host keys at its first start, as a cloud image does: a key
  # baked into the image would be the same on every host, and checking it would tell them apart from nothing.
  rm -f /etc/ssh/ssh_host_*
  mkdir -p /etc/systemd/system/ssh.service.d
  printf "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n" \
    > /etc/systemd/system/ssh.service.d/host-keys.conf
  # Like a host that only has the packages: the roles enable the services a host needs.
  for unit in nfs-ganesha.service nfs-ganesha-lock.service nfs-server.service nfs-kernel-server.service \
      rpcbind.service rpcbind.socket tgt.service iscsid.service iscsid.socket open-iscsi.service \
      nftables.service; do
    systemctl disable "$unit" >/dev/null 2>&1 || true
  done
  # Every container must get its own machine-id (and so its own MAC addresses and IDs).
  : > /etc/machine-id; rm -f /var/lib/dbus/machine-id
  mkdir -p /etc/systemd/network
  printf "[Match]\nOriginalName=*\n\n[Link]\nMACAddressPolicy=none\n" > /etc/systemd/network/99-default.link
  echo "skillvl lab image built $(date -u +%FT%TZ)" > /etc/skillvl-lab-image
' > "$work/apt.log" 2>&1 || { tail -n 40 "$work/apt.log" >&2; exit 1; }

podman commit --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' "$build" "$image" >/dev/null
echo "built $image"
