#!/usr/bin/env bash
# ansible-test sanity on a copy of the tracked files, laid out as ansible_collections/NS/NAME.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/.venv/bin
# Outside the checkout: ansible-test would otherwise ask git, which ignores .build/.
work=$(mktemp -d /var/tmp/skillvl-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/ansible_collections
dest=$tree/skillvl/offline_first

# ansible-test pins pip; the offline stand-in must carry the matching name.
pip_version=$("$bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
m = re.search(r"get_pip_(\d+_\d+)", src.read_text()) or re.search(r"PIP_VERSION\s*=\s*'(\d+\.\d+)", src.read_text())
print(m.group(1).replace(".", "_") if m else "24_2")
PY
)
mkdir -p ~/.ansible/test/cache
cp "$top/tests/sanity/get_pip_standin.py" ~/.ansible/test/cache/"get_pip_${pip_version}.py"

mkdir -p "$dest"
(cd "$top" && git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/")
# Collections we depend on, from the ansible package, for the import and validate-modules tests.
site=$("$bin/python" -c '
import os, ansible_collections
print(next(os.path.dirname(p) for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, "community", "general"))))')
for ns in community ansible containers; do
  for coll in "$site/ansible_collections/$ns"/*; do
    name=$(basename "$coll")
    [ "$ns/$name" = "ansible/builtin" ] && continue
    mkdir -p "$tree/$ns"; ln -sfn "$coll" "$tree/$ns/$name"
  done
done
cd "$dest"
"$bin/ansible-test" sanity --color no --requirements --python "$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
 "$@"
