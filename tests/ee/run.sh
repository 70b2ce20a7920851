#!/usr/bin/env bash
# make test-ee: the execution environment (execution-environment.yml, ee/README.md).
# What ansible-builder's introspection finds in the installed collection; the EE built (podman's
# cache reuses an unchanged build); then, inside it: ansible-doc, the Python imports, and a
# playbook run by ansible-runner --process-isolation with podman, as AWX runs a job.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/lab/containers.conf}
podman info > /dev/null || { echo "podman does not work here" >&2; exit 2; }
exec "$PWD/.venv/bin/pytest" -v -p no:cacheprovider --durations=10 tests/ee "$@"
