#!/usr/bin/env bash
# Reproduces the README's results for one dataset: fine-tunes all-MiniLM-L6-v2 with an exit
# after every layer on data/<DATASET>/train.tsv, calibrates (temperatures + threshold with
# --max-drop 1) on dev, then evaluates on test: full depth, each static exit, and the chosen
# threshold, beside what dev predicted. Also runs the TF-IDF + logistic-regression baseline.
# Usage: scripts/reproduce.sh fine_foods|spam_assassin [--epochs N] [--lr X] [--threads N]
# Output: out/<DATASET>/ (model/, calibration/, test-evaluation.json, baseline.json)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
ds=${1:-}
if [ "$ds" != fine_foods ] && [ "$ds" != spam_assassin ]; then
  echo "usage: scripts/reproduce.sh fine_foods|spam_assassin [--epochs N] [--threads N]" >&2
  exit 2
fi
shift
epochs=4 threads=0 lr=2e-4
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    *) echo "reproduce.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
scripts/setup.sh
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-train
minilm=$(scripts/fetch-minilm.sh)
out=out/$ds
mkdir -p "$out"
bin=build/cpu/bin

echo "== training (logs: $out/train.log)"
"$bin/offramp-train" --init "$minilm" --train "data/$ds/train.tsv" --dev "data/$ds/dev.tsv" --out "$out/model" \
  --epochs "$epochs" --lr "$lr" --seed 42 --max-length 128 --threads "$threads" 2> >(tee "$out/train.log" >&2)

echo "== calibrating on dev (temperatures, sweep, threshold chosen with --max-drop 1)"
"$bin/offramp" calibrate "$out/model" "data/$ds/dev.tsv" --max-drop 1 --write --out "$out/calibration" --threads "$threads"

echo "== evaluating on test at the chosen threshold"
"$bin/offramp" evaluate "$out/model" "data/$ds/test.tsv" --json "$out/test-evaluation.json" --threads "$threads"

echo "== TF-IDF + logistic regression baseline (same split)"
scripts/tfidf-baseline.sh "$ds" "$out/baseline.json"

echo "== summary (also in $out/summary.md)"
python3 scripts/summarize_results.py "$out"
