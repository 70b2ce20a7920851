#!/usr/bin/env bash
# `make test`: every suite. A failing suite does not stop the others; the exit status and the
# closing line say how many suites failed.
# The static suites need neither the lab nor a daemon. Units, changelog and lint run one after
# another beside molecule and then sanity (one core each side, the two sides about as long), the
# background side's output printed whole once it ends. The lab's integration tests run last and
# alone, as their timings need the machine to themselves.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=$PWD/.venv/bin
export PYTHONPATH=$PWD/.build/collections

passed=0; failed=0; failed_names=()
suite() {
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name: $*"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name passed in $((SECONDS - start)) s"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "=== $name FAILED in $((SECONDS - start)) s"
  fi
}

static=$(mktemp -d /var/tmp/skillvl-static.XXXXXX)
trap 'rm -rf "$static"' EXIT
(
  suite units "$bin/pytest" -q -p no:cacheprovider tests/unit
  suite changelog "$bin/antsibull-changelog" lint
  suite lint "$bin/ansible-lint" --profile production
  printf '%s\n' "$passed $failed" "${failed_names[@]}" > "$static/result"
) > "$static/log" 2>&1 &
static_pid=$!

suite molecule tests/molecule/run.sh
suite sanity tests/sanity/run.sh
wait "$static_pid"
cat "$static/log"
if mapfile -t result < "$static/result" && [ "${#result[@]}" -gt 0 ]; then
  read -r s_passed s_failed <<< "${result[0]}"
  passed=$((passed + s_passed)); failed=$((failed + s_failed))
  for name in "${result[@]:1}"; do [ -z "$name" ] || failed_names+=("$name"); done
else
  failed=$((failed + 1)); failed_names+=(static)
fi

suite integration "$bin/pytest" -v -p no:cacheprovider --durations=0 --durations-min=5 tests/integration

echo
[ "$failed" -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
