#!/usr/bin/env bash
# The TF-IDF + logistic-regression baseline (scripts/tfidf_baseline.py) in its own venv.
# Usage: scripts/tfidf-baseline.sh fine_foods|spam_assassin [OUT.json]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ds=${1:?usage: scripts/tfidf-baseline.sh DATASET [OUT.json]}
[ -d "$root/data/$ds" ] || { echo "tfidf-baseline.sh: no data/$ds" >&2; exit 2; }
venv="$root/.cache/baseline-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sklearn" 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "scikit-learn==1.5.2"
fi
"$venv/bin/python" "$root/scripts/tfidf_baseline.py" "$root/data/$ds" ${2:+--json "$2"}
