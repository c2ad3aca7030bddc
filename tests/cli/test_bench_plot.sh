#!/usr/bin/env bash
# offramp-bench on a tiny configuration of the embedded default model (one iteration per
# workload): its JSON carries the documented counters and it writes the cost report; then
# `offramp plot` turns it and the committed sample into PNG + SVG, and bad JSON is a clear error.
# Usage: test_bench_plot.sh BIN_DIR REPO_DIR
set -euo pipefail
bin=$1 repo=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/offramp-bench" --model "$repo/models/fine-foods-tiny" --data "$repo/data/fine_foods/dev.tsv" --inputs 16 \
  --batches 1,4 --threads 1 --lengths 32 --report "$tmp/report" --benchmark_min_time=0.001 \
  --benchmark_out="$tmp/bench.json" --benchmark_out_format=json > "$tmp/console.txt"
grep -q "Classify/real/b4/t1/full/cpu" "$tmp/console.txt"
python3 - "$tmp/bench.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
runs = [b for b in j["benchmarks"] if b["name"].startswith("Classify/")]
assert runs, "no Classify runs"
need = {"inputs_per_s", "ms_per_batch", "gflop_per_input", "GFLOP/s", "mean_exit_layer", "relative_flops"}
for b in runs:
    missing = need - set(b)
    assert not missing, f"{b['name']}: missing counters {missing}"
    assert b["inputs_per_s"] > 0 and b["gflop_per_input"] > 0, b["name"]
    real = "/real/" in b["name"]
    assert ("accuracy" in b) == real, f"{b['name']}: accuracy only for the labelled real texts"
    if real:
        assert 0 <= b["accuracy"] <= 1
full = [b for b in runs if b["name"].startswith("Classify/real/b4/t1/full/")][0]
assert full["mean_exit_layer"] == 4 and abs(full["relative_flops"] - 1) < 0.01, full
settings = {b["name"].split("/")[4] for b in runs}
assert "chosen" in settings, f"the calibration's chosen threshold is not benchmarked: {settings}"
assert "offramp_static_exits" in j["context"]
print("bench JSON ok:", len(runs), "classify runs, settings", sorted(settings))
PY
test -s "$tmp/report/report.md" && test -s "$tmp/report/report.json"
grep -q "J per 1000 inputs" "$tmp/report/report.md"

"$bin/offramp" plot "$tmp/bench.json" --out "$tmp/fresh"
"$bin/offramp" plot "$repo/bench/samples/fine-foods-tiny.json" --out "$tmp/sample"
for f in fresh.png fresh.svg sample.png sample.svg; do test -s "$tmp/$f" || { echo "missing $f" >&2; exit 1; }; done
head -c 8 "$tmp/sample.png" | grep -q PNG
grep -q "<svg" "$tmp/sample.svg"

echo '{"benchmarks": [' > "$tmp/bad.json"
if "$bin/offramp" plot "$tmp/bad.json" 2> "$tmp/err"; then echo "bad JSON was accepted" >&2; exit 1; fi
grep -q "not valid JSON" "$tmp/err"
echo '{"context": {}, "benchmarks": []}' > "$tmp/empty.json"
if "$bin/offramp" plot "$tmp/empty.json" 2> "$tmp/err"; then echo "empty bench JSON was accepted" >&2; exit 1; fi
grep -q "no Classify/real" "$tmp/err"
echo "OK"
