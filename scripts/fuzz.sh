#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset `fuzz`: clang, everything under ASan + UBSan) and runs
# each for SECONDS (default 60) on its committed seed corpus (tests/fuzz/corpus) plus the corpus
# it has grown so far (build/fuzz/work/corpus). Each run is one line of
# build/fuzz/work/history.tsv (date, harness, seconds it ran, executions), the cumulative record.
# A crash, hang (> 10 s per input), leak or allocation over 1 GiB stops that harness: its input
# is saved under build/fuzz/work/artifacts and the script exits 1; copy it into
# tests/fuzz/regressions/<corpus>/ so the ordinary suite replays it (tests/fuzz/CMakeLists.txt).
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (harness names as in build/fuzz/fuzz/)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
scripts/setup.sh
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz -j "$(nproc)"
work=build/fuzz/work
mkdir -p "$work/artifacts"
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for bin in build/fuzz/fuzz/fuzz_*; do harnesses+=("$(basename "$bin")"); done
fi
status=0 total=0
for name in "${harnesses[@]}"; do
  corpus=${name#fuzz_}
  case $corpus in tokenizer_*) corpus=tokenizer ;; esac
  max_len=4096
  [ "$corpus" = safetensors ] && max_len=65536
  mkdir -p "$work/corpus/$name"
  log="$work/$name.log"
  start=$SECONDS
  if ! "build/fuzz/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
       -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" \
       "$work/corpus/$name" "tests/fuzz/corpus/$corpus" > "$log" 2>&1; then
    status=1
    echo "== $name: FINDING (input saved under $work/artifacts/); the end of $log:" >&2
    tail -40 "$log" >&2
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  execs=${execs:-0}
  ran=$((SECONDS - start))
  total=$((total + execs))
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$ran" "$execs" >> "$work/history.tsv"
  echo "$name: $execs executions in ${ran} s" >&2
done
awk -F'\t' '{s += $3; e += $4} END {printf "fuzzing so far (history.tsv): %.2f hours, %d executions\n", s / 3600, e}' \
  "$work/history.tsv" >&2
exit $status
