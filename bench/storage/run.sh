#!/usr/bin/env bash
# Storage benchmark against a running lab (make lab site, or a test lab kept with
# SKILLVL_KEEP_LAB=1): guest-disk I/O over NFS and iSCSI against a local file, and live
# migration time with shared storage against copying the disk. One run, ~5-10 minutes.
#   SKILLVL_LAB_NAME=sto bench/storage/run.sh [--quick] [--no-apply]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=$top/lab/containers.conf ANSIBLE_CONFIG=$top/ansible.cfg
exec "$top/.venv/bin/python" "$top/bench/storage/bench.py" "$@"
