#!/usr/bin/env bash
# Build the base image of the execution environment from Debian packages only, as the lab's
# host image is built (roles/lab_image): debootstrap bookworm minbase with the packages of
# ee/base-packages.txt -> podman import. No container registry is needed.
#
#   ee/build-base-image.sh          build localhost/skillvl-ee-base:TAG unless it exists; print the ref
#   ee/build-base-image.sh --ref    only print the ref
#
# TAG is derived from this script, the package list and the package manager wrapper, so an
# unchanged base is reused and a changed one gets a new tag (older tags are then removed);
# :bookworm names the latest one (execution-environment.yml's default base image).
# The Debian mirror is the one this machine's apt already uses (as for the lab image).
# Messages go to stderr; stdout is the image reference alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repository=localhost/skillvl-ee-base
suite=bookworm
inputs=("$here/build-base-image.sh" "$here/base-packages.txt" "$here/skillvl-ee-pkgmgr")
tag=$(cat "${inputs[@]}" | sha256sum | cut -c1-12)
image=$repository:$tag

if [ "${1:-}" = --ref ]; then
  echo "$image"
  exit 0
fi

exec 9>/var/tmp/skillvl-ee-base.lock
flock -w 1800 9 || { echo "timed out waiting for another build of $image" >&2; exit 2; }
if podman image exists "$image"; then
  podman tag "$image" "$repository:$suite"
  echo "$image exists, reused" >&2
  echo "$image"
  exit 0
fi

# the mirror the lab's host image is built from
mirror=$("$here/../roles/lab_image/files/debian-mirror.sh" "$suite")

work=$(mktemp -d /var/tmp/skillvl-ee-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
packages=$(grep -v '^#' "$here/base-packages.txt" | xargs | tr ' ' ,)

echo "debootstrap $suite ($packages) from $mirror" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

root=$work/root
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
SOURCES
install -m 0755 "$here/skillvl-ee-pkgmgr" "$root/usr/local/bin/skillvl-ee-pkgmgr"
# No documentation, no apt lists or caches, no logs of the bootstrap in the image.
printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
  > "$root/etc/dpkg/dpkg.cfg.d/skillvl-ee-nodoc"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
  "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info
: > "$root/etc/machine-id"
echo "skillvl execution environment base image $tag built $(date -u +%FT%TZ) from $mirror" > "$root/etc/skillvl-ee-base"

tar -C "$root" -c . | podman import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
podman tag "$image" "$repository:$suite"

# Older bases of this repository are no longer used by execution-environment.yml.
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "$repository"); do
  if [ "$old" != "$image" ] && [[ $old =~ :[0-9a-f]{12}$ ]]; then
    podman rmi "$old" >/dev/null 2>&1 || echo "kept $old (still in use)" >&2
  fi
done
echo "built $image" >&2
echo "$image"
