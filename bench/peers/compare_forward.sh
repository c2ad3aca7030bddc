#!/usr/bin/env bash
# Full-depth forward, Offramp vs PyTorch eager, interleaved in one run so machine noise hits
# both alike: ROUNDS x (offramp-bench BM_Forward, torch_forward.py). Prints both raw results.
# Usage: bench/peers/compare_forward.sh BUILD_DIR MODEL_DIR [ROUNDS]
set -euo pipefail
build=$1 model=$2 rounds=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$here/../../.cache/golden-venv/bin/python}
for r in $(seq "$rounds"); do
  echo "== round $r: offramp"
  "$build/bin/offramp-bench" --backbone "$model" --report "" --benchmark_filter='BM_Forward|BM_Sgemm' --benchmark_min_time=2 2>/dev/null | grep BM_
  echo "== round $r: pytorch eager"
  "$py" "$here/torch_forward.py" --model "$model"
done
