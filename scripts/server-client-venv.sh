#!/usr/bin/env bash
# A virtual environment with the Python client the server tests use (tritonclient's HTTP and gRPC clients,
# pinned in tests/server/requirements.txt), cached in .cache/server-venv. Prints its python.
# Usage: scripts/server-client-venv.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.cache/server-venv
req=$root/tests/server/requirements.txt
if ! "$venv/bin/python" -c 'import tritonclient.http' 2> /dev/null ||
  ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "server-client-venv: installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv" >&2
  /usr/bin/python3 -m venv "$venv" || { echo "cannot create $venv (apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$venv/requirements.txt"
fi
echo "$venv/bin/python"
