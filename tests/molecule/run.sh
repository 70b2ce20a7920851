#!/usr/bin/env bash
# `make molecule`: the full Molecule sequence (destroy, create, converge, idempotence, verify,
# destroy) of the collection's scenarios under extensions/molecule/. Leaves no container and
# no network namespace behind, even when a step fails or the run is interrupted; exits
# non-zero when any scenario fails.
#   tests/molecule/run.sh [SCENARIO...]     default: every scenario (today: kvm_host)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$PWD

export CONTAINERS_CONF=$root/lab/containers.conf
export PATH=$root/.venv/bin:$PATH
export PYTHONPATH=$root/.build/collections
# Molecule writes its own ansible.cfg; the collection is found through the link in .build.
export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export MOLECULE_NO_LOG=false

if [ ! -e .build/collections/ansible_collections/skillvl/offline_first/galaxy.yml ]; then
  mkdir -p .build/collections/ansible_collections/skillvl
  ln -sfn "$root" .build/collections/ansible_collections/skillvl/offline_first
fi

if [ $# -gt 0 ]; then
  scenarios=("$@")
else
  mapfile -t scenarios < <(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' |
    sed 's|^extensions/molecule/||' | sort)
fi

# One run of a scenario at a time on this machine (names of containers and namespaces are fixed).
exec 9> /run/lock/skillvl-molecule.lock
flock -w 1800 9 || { echo "another molecule run holds /run/lock/skillvl-molecule.lock" >&2; exit 1; }

# Last line of defence if Molecule itself dies before its destroy step: every container this
# suite starts is labelled skillvl.molecule.scenario=NAME, and runs in namespaces named after
# its platform (network ns:/run/netns/NAME) plus the scenario's underlay namespace.
leftovers() {
  local scenario=$1 dir=extensions/molecule/$1 c ns
  for c in $(podman ps -a --filter "label=skillvl.molecule.scenario=$scenario" --format '{{.Names}}'); do
    echo "removing leftover container $c" >&2
    podman rm --force --time 5 "$c" >/dev/null || true
  done
  while read -r ns; do
    if [ -e "/run/netns/$ns" ]; then
      echo "removing leftover network namespace $ns" >&2
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" || true
    fi
  done < <(sed -n -e 's|^ *network: *ns:/run/netns/\([A-Za-z0-9_.-]*\) *$|\1|p' \
                  -e 's|^ *molecule_kvm_underlay_ns: *\([A-Za-z0-9_.-]*\) *$|\1|p' "$dir/molecule.yml")
}
# Molecule runs in a process group of its own: on an interrupt, end the whole group (Molecule
# leaves its ansible-playbook running when only it is killed), then remove what is left.
current=""
molecule_pid=""
interrupted() {
  if [ -n "$molecule_pid" ]; then
    kill -TERM -- "-$molecule_pid" 2>/dev/null
    sleep 2
    kill -KILL -- "-$molecule_pid" 2>/dev/null
  fi
  [ -n "$current" ] && leftovers "$current"
  exit 130
}
trap interrupted INT TERM

# Molecule prints no durations: put the time of day on its step lines ("[kvm_host > converge] Executing").
stamp() {
  local line
  while IFS= read -r line; do
    if [[ $line == *"] Execut"* ]]; then printf '%(%T)T %s\n' -1 "$line"; else printf '%s\n' "$line"; fi
  done
}

failed=()
for s in "${scenarios[@]}"; do
  current=$s
  start=$SECONDS
  echo "=== molecule scenario $s"
  setsid molecule test --scenario-name "$s" --destroy=always > >(stamp) 2>&1 &
  molecule_pid=$!
  if wait "$molecule_pid"; then
    echo "=== molecule scenario $s passed in $((SECONDS - start)) s"
  else
    failed+=("$s")
    echo "=== molecule scenario $s FAILED in $((SECONDS - start)) s"
  fi
  molecule_pid=""
  leftovers "$s"
  current=""
done

[ ${#failed[@]} -eq 0 ] || { echo "failed molecule scenarios: ${failed[*]}"; exit 1; }
