#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, build the CLI, classify
# data/fine_foods/test.tsv with the embedded default model (models/fine-foods-minilm-int8) at its
# calibrated threshold, then run the calibration sweep on dev: table on stdout, CSV/JSON and
# the accuracy-versus-FLOPs plot in out/demo/. No download: the model is in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli
offramp=build/cpu/bin/offramp
model=models/fine-foods-minilm-int8
mkdir -p out/demo
echo "== offramp info $model"
$offramp info "$model"
echo
echo "== offramp classify $model data/fine_foods/test.tsv   (the model's calibrated threshold)"
start=$(date +%s.%N)
$offramp classify "$model" data/fine_foods/test.tsv > out/demo/test-predictions.jsonl
end=$(date +%s.%N)
echo "predictions: out/demo/test-predictions.jsonl; $(awk "BEGIN{printf \"%.2f\", $end-$start}") s for 1000 reviews; first 2:"
head -2 out/demo/test-predictions.jsonl
echo
echo "== offramp calibrate $model data/fine_foods/dev.tsv --max-drop 1 --out out/demo/calibration"
$offramp calibrate "$model" data/fine_foods/dev.tsv --max-drop 1 --out out/demo/calibration
