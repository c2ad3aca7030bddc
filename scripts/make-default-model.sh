#!/usr/bin/env bash
# Rebuilds the embedded default model models/fine-foods-minilm-int8: all-MiniLM-L6-v2
# (scripts/fetch-minilm.sh) fine-tuned on data/fine_foods/train.tsv with an exit after every
# layer (scripts/reproduce.sh's recipe: 4 epochs, AdamW lr 2e-4, batch 32, max 128 tokens,
# seed 42; the best epoch on dev is kept), stored in int8 (`offramp quantize`), calibrated
# under int8 on dev (`--max-drop 1 --write`), evaluated on test.
# Usage: scripts/make-default-model.sh [--threads N] [--from FP32_MODEL]
#   --from: skip the fine-tuning (about 11 minutes on 2 cores) and quantize this model instead
#           (an offramp-train output of the same recipe, e.g. out/fine_foods/model).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
threads=0 from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) echo "usage: scripts/make-default-model.sh [--threads N] [--from FP32_MODEL]" >&2; exit 1 ;;
  esac
done
scripts/setup.sh
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-train
bin=build/cpu/bin
model=models/fine-foods-minilm-int8
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$from" ]; then
  minilm=$(scripts/fetch-minilm.sh .cache/models)
  "$bin/offramp-train" --init "$minilm" --train data/fine_foods/train.tsv --dev data/fine_foods/dev.tsv \
    --out "$work/fp32" --epochs 4 --lr 2e-4 --seed 42 --max-length 128 --threads "$threads"
  from="$work/fp32"
fi
rm -rf "$model.new"
"$bin/offramp" quantize "$from" --precision int8 --out "$model.new"
"$bin/offramp" calibrate "$model.new" data/fine_foods/dev.tsv --max-drop 1 --write --out "$model.new/calibration" \
  --threads "$threads"
"$bin/offramp" evaluate "$model.new" data/fine_foods/test.tsv --json "$model.new/calibration/test-evaluation.json" \
  --threads "$threads"
rm -rf "$model"
mv "$model.new" "$model"
du -sh "$model"
