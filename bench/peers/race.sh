#!/usr/bin/env bash
# One command for the peer race: sets up the venv (Debian python3-torch + pinned pip packages:
# ONNX Runtime, CTranslate2, transformers), builds offramp-bench, offramp and offramp-torch-peer,
# then runs race.py with its arguments (--help prints race.py's options without building).
# Usage: bench/peers/race.sh --model out/fine_foods/model --data data/fine_foods/test.tsv [race.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
help=0
for a in "$@"; do case "$a" in -h | --help) help=1 ;; esac; done
scripts/setup.sh
dpkg-query -W -f='${Status}' python3-torch 2> /dev/null | grep -q "install ok installed" || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends python3-torch python3-venv >&2
}
venv=.cache/peers-venv
req=bench/peers/requirements.txt
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
# (Re)install whenever requirements.txt differs from the copy the last install left in the venv,
# so an older venv picks up new pins (ctranslate2) too.
if ! cmp -s "$req" "$venv/requirements.installed" ||
  ! "$venv/bin/python" -c "import onnxruntime, transformers, onnx, ctranslate2" 2> /dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.installed"
fi
if [ "$help" -eq 1 ]; then exec "$venv/bin/python" bench/peers/race.py --help; fi
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-bench offramp-torch-peer
exec "$venv/bin/python" bench/peers/race.py "$@"
