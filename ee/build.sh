#!/usr/bin/env bash
# make ee: build the execution environment localhost/skillvl-ee:<galaxy.yml version> locally.
#   1. the base image from Debian packages (ee/build-base-image.sh; reused while unchanged)
#   2. the collection artifacts and .build/ee/requirements.yml (ee/ee_collections.py)
#   3. ansible-builder build (execution-environment.yml) with podman, context .build/ee/context
# Podman's layer cache makes a second build with unchanged inputs take seconds.
# EE_BUILD_CLI_ARGS: extra `podman build` arguments. By default the build's RUN steps see this
# machine's CA bundle (read-only, not stored in the image), so that pip reaches PyPI through a
# TLS-inspecting proxy the host trusts.
# Prints the image reference on the last line.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${VENV:-$root/.venv}/bin
out=.build/ee
version=$(sed -n 's/^version: *//p' galaxy.yml)
image=${EE_IMAGE:-localhost/skillvl-ee}:$version
ca=/etc/ssl/certs/ca-certificates.crt
if [ -z "${EE_BUILD_CLI_ARGS+set}" ] && [ -f "$ca" ]; then
  EE_BUILD_CLI_ARGS="--volume=$ca:$ca:ro"
fi

base=$(ee/build-base-image.sh)
mkdir -p "$out"
"$bin/python" ee/ee_collections.py "$out" >/dev/null
# Only what ansible-builder writes belongs in the context (it keeps files it did not write).
rm -rf "$out/context"
echo "building $image on $base (log: $out/build.log)" >&2
start=$SECONDS
"$bin/ansible-builder" build -f execution-environment.yml -t "$image" --container-runtime podman \
  --context "$out/context" --build-arg EE_BASE_IMAGE="$base" \
  --extra-build-cli-args="${EE_BUILD_CLI_ARGS:-}" -v 3 > "$out/build.log" 2>&1 ||
  { tail -n 40 "$out/build.log" >&2; echo "ansible-builder build failed, see $out/build.log" >&2; exit 1; }
echo "built $image in $((SECONDS - start)) s" >&2
echo "$image"
