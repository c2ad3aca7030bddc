#!/usr/bin/env bash
# One command for the peer race: sets up the venv (Debian python3-torch + pinned pip packages),
# builds offramp-bench, offramp and offramp-torch-peer, then runs race.py with its arguments.
# Usage: bench/peers/race.sh --model out/fine_foods/model --data data/fine_foods/test.tsv [race.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
scripts/setup.sh
dpkg-query -W -f='${Status}' python3-torch 2> /dev/null | grep -q "install ok installed" || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends python3-torch python3-venv >&2
}
venv=.cache/peers-venv
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -c "import onnxruntime, transformers, onnx" 2> /dev/null ||
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-bench offramp-torch-peer
exec "$venv/bin/python" bench/peers/race.py "$@"
