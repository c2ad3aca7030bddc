#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build, and classify
# data/fine_foods/test.tsv with early exits, printing accuracy, exit histogram and FLOPs.
#
# Until the embedded default model lands (issue 3: offramp-train + calibration), the demo
# runs the real all-MiniLM-L6-v2 backbone with seeded *random* exit heads: labels and
# accuracy are meaningless (chance level), while tokenization, the encoder, the exits, the
# FLOPs accounting and the speed are the real thing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
minilm=$(scripts/fetch-minilm.sh)
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-make-fixtures
OFFRAMP_MINILM_DIR=$minilm build/cpu/tests/offramp-make-fixtures > /dev/null
model=build/cpu/test-models/minilm-heads-mean
echo "== offramp info $model"
build/cpu/tools/offramp info "$model"
echo "== offramp classify $model data/fine_foods/test.tsv --threshold 0.75 --max-length 128"
start=$(date +%s.%N)
build/cpu/tools/offramp classify "$model" data/fine_foods/test.tsv --threshold 0.75 --max-length 128 > build/cpu/demo-predictions.jsonl
end=$(date +%s.%N)
echo "predictions: build/cpu/demo-predictions.jsonl (first 3 below); $(awk "BEGIN{printf \"%.2f\", $end-$start}") s for 1000 reviews"
head -3 build/cpu/demo-predictions.jsonl
