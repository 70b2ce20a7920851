#!/usr/bin/env bash
# `make test`: every suite, cheapest first. A failing suite does not stop the others; the
# exit status and the closing line say how many suites failed.
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

suite units "$bin/pytest" -q -p no:cacheprovider tests/unit
suite changelog "$bin/antsibull-changelog" lint
suite lint "$bin/ansible-lint" --profile production
suite sanity tests/sanity/run.sh
suite molecule tests/molecule/run.sh
suite integration "$bin/pytest" -v -p no:cacheprovider --durations=40 tests/integration

echo
[ "$failed" -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
