#!/usr/bin/env bash
# `make bench`: every benchmark, each against its baseline in the same run, on a lab of its
# own (lab name `bench`), removed at the end. Figures go to docs/*.md and bench/results/.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export CONTAINERS_CONF=$top/lab/containers.conf ANSIBLE_CONFIG=$top/ansible.cfg
lab=${SKILLVL_LAB_NAME:-bench}
py=$top/.venv/bin/python
rc=0
.venv/bin/ansible-playbook -i inventories/lab -e lab_name="$lab" playbooks/lab.yml &&
  .venv/bin/ansible-playbook -i inventories/lab -e lab_name="$lab" playbooks/site.yml || exit 1
"$py" bench/migration/run.py --lab "$lab" --no-build || rc=1
"$py" bench/planner/run.py --lab "$lab" --no-build || rc=1
"$py" bench/slowlink/run.py --lab "$lab" --no-build || rc=1
"$py" bench/idle_writer/run.py --lab "$lab" --no-build || rc=1
"$py" bench/idle_writer/run.py --lab "$lab" --no-build --wan 4.6,36.8 --cases seeds-guest-client \
  --budget-ms 300,2400 --window 150 || rc=1
"$py" bench/overlay/run.py --lab "$lab" || rc=1
SKILLVL_LAB_NAME=$lab bench/storage/run.sh || rc=1
"$py" bench/offline/run.py --lab "$lab" --no-build || rc=1
"$py" bench/awx/run.py --lab "$lab" --no-build || rc=1
.venv/bin/ansible-playbook -i inventories/lab -e lab_name="$lab" playbooks/lab_destroy.yml || rc=1
exit $rc
