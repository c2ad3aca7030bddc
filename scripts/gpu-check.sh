#!/usr/bin/env bash
# scripts/gpu-check.sh: the one command for a machine with an NVIDIA GPU. It builds the CUDA
# backend, runs the CUDA tests, benchmarks Offramp on the GPU against PyTorch, and prints the
# comparison table last.
#
# Usage (from anywhere; it works in the repository root):
#     scripts/gpu-check.sh
# Environment:
#     OUT                  where the logs and results go (default out/gpu-check)
#     OFFRAMP_CUDA_ARCHS   CMAKE_CUDA_ARCHITECTURES (default 90a-real: the H100/H200 only)
#     OFFRAMP_GPU_TEST_TIMEOUT  seconds per test binary / benchmark / peer (default 240)
#     OFFRAMP_GPU_CHECK_SECONDS the whole run's budget (default 0: none). With one, each step
#                          after the build gets at most what is left minus a reserve for the
#                          steps after it, so that a hang still leaves time for the benchmark,
#                          the peer and the table before the caller's own limit kills the run.
#                          A step whose share is spent still gets 10 s, and the CLI's `info`
#                          30 s, so give it ~60 s less than the device call's timeout_s.
#     OFFRAMP_GPU_BUILD_DIR     the build folder (default build/gpu)
#
# What it needs there: CUDA's nvcc (/usr/local/cuda), CMake, g++, python3 with torch and
# transformers (ninja if present). The other build dependencies travel from here, because the
# GPU machine has no apt and no network:
#   1. HERE, on a Debian 12 machine: scripts/gpu-deps.sh   (fetches .cache/gpu-debs, ~7.2 MiB)
#      and, optionally, scripts/make-gpu-model.sh          (writes .cache/gpu-model)
#   2. THERE, through the device tool, naming the git-ignored folders in carry so that they
#      travel with the working tree (all of it within the tool's 64 MiB):
#        run(command="OFFRAMP_GPU_CHECK_SECONDS=420 scripts/gpu-check.sh",
#            carry=[".cache/gpu-debs", ".cache/gpu-model"], timeout_s=480)
#      scripts/gpu-env.sh unpacks the .debs into .cache/gpu-prefix (never into /).
#
# Steps, each with a ==== header:
#   0. header: model, GPU (nvidia-smi), driver, toolchain versions; no GPU: exit 2
#   a. source scripts/gpu-env.sh
#   b. configure build/gpu (CUDA on, oneDNN and LibTorch off) and build offramp-cli,
#      test_cuda_kernels, test_cuda_engine and offramp-gpu-bench, keeping going past errors
#   c. run test_cuda_kernels and test_cuda_engine (directly, not through ctest, whose fixtures
#      need the network), OFFRAMP_GPU_MODEL=<model>; then `offramp evaluate --device cuda`
#   d. offramp-gpu-bench and the PyTorch peer (bench/peers/torch_gpu_peer.py)
#   e. serving on the GPU: offramp-serve-bench --device cuda (the Batcher on its lanes: per-input
#      answers, whole batches, one request at a time, under offered loads), its table in the log
#   then the comparison table (scripts/gpu_table.py), printed last
# Model: .cache/gpu-model if it exists (the pruned fp16 fine-tuned MiniLM-L6 that
# scripts/make-gpu-model.sh writes), else models/fine-foods-tiny (the embedded default).
#
# Output in $OUT (the device tool returns at most 8 files): gpu-check.log (everything),
# test_cuda_kernels.log, test_cuda_engine.log, offramp_gpu.json, torch_gpu.json, gpu_table.md,
# and after a failed CUDA test binary <binary>.memcheck.log (its failures under memcheck).
# Exit status: 0 all passed; 1 a build, test, benchmark or peer step failed (the table is still
# printed); 2 no NVIDIA GPU here.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUTDIR=${OUT:-out/gpu-check}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
BUILD=${OFFRAMP_GPU_BUILD_DIR:-build/gpu}
TIMEOUT=${OFFRAMP_GPU_TEST_TIMEOUT:-240}
BUDGET=${OFFRAMP_GPU_CHECK_SECONDS:-0}
seconds_or_exit() {  # $1 the variable's name, $2 its value: a whole number (no leading 0)
  if ! [[ $2 =~ ^(0|[1-9][0-9]*)$ ]]; then
    echo "gpu-check: $1 must be a whole number of seconds, not '$2'" >&2
    exit 64
  fi
}
seconds_or_exit OFFRAMP_GPU_TEST_TIMEOUT "$TIMEOUT"
seconds_or_exit OFFRAMP_GPU_CHECK_SECONDS "$BUDGET"

# Seconds a step may take: TIMEOUT, or with a budget, what is left of it minus $1 seconds kept
# for the steps after it (at least 10, so that a late step still gets a try).
step_timeout() {
  local t=$TIMEOUT left
  if (( BUDGET > 0 )); then
    left=$(( BUDGET - SECONDS - $1 ))
    (( left < t )) && t=$left
    (( t < 10 )) && t=10
  fi
  echo "$t"
}

step() { printf '\n==== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# Prints the GPUs, or a reason on stderr and returns 1.
probe_gpu() {
  local out
  if command -v nvidia-smi >/dev/null; then
    if out=$(nvidia-smi -L 2>&1) && grep -q '^GPU ' <<<"$out"; then
      printf '%s\n' "$out"
      return 0
    fi
    echo "nvidia-smi -L: $(head -3 <<<"$out" | tr '\n' ' ')" >&2
    return 1
  fi
  # No nvidia-smi: ask torch.
  if command -v python3 >/dev/null &&
     out=$(python3 -c 'import torch, sys
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
print("\n".join(f"GPU {i}: {torch.cuda.get_device_name(i)} (torch)" for i in range(n)))
sys.exit(0 if n else 1)' 2>/dev/null); then
    printf '%s\n' "$out"
    return 0
  fi
  echo "nvidia-smi is not on PATH and torch sees no CUDA device" >&2
  return 1
}

# The built executable called $1: tests/ for offramp_test() targets, bin/ for tools.
find_bin() {
  local c
  for c in "$BUILD/tests/$1" "$BUILD/bin/$1"; do
    if [[ -f "$c" && -x "$c" ]]; then echo "$c"; return 0; fi
  done
  find "$BUILD" -name "$1" -type f -perm -u+x 2>/dev/null | head -1
}

# Runs the built executable $1 with the arguments after $2, within step_timeout $2; a missing
# binary or a failure is added to main's `failures`. Returns the run's exit status.
run_bin() {
  local name=$1 keep=$2 exe rc
  shift 2
  exe=$(find_bin "$name")
  if [[ -z "$exe" ]]; then echo "$name: not built"; failures+=("$name (not built)"); return 1; fi
  set +e
  timeout -k 5 "$(step_timeout "$keep")" "$exe" "$@"
  rc=$?
  set -e
  (( rc == 0 )) || failures+=("$name (exit $rc)")
  return "$rc"
}

# After a CUDA test binary failed: its failed tests again (or, after a crash, the test that was
# running) under compute-sanitizer's memcheck, which names the kernel and the bad address that
# a sticky CUDA error only reports at the next call. Bounded by $4 (the budget's share) and by
# OFFRAMP_GPU_MEMCHECK_TIMEOUT (default 120 s).
memcheck() {
  local t=$1 exe=$2 model=$3 limit=$4 san filter
  san=$(command -v compute-sanitizer || true)
  [[ -z "$san" && -x /usr/local/cuda/bin/compute-sanitizer ]] && san=/usr/local/cuda/bin/compute-sanitizer
  if [[ -z "$san" ]]; then echo "(compute-sanitizer not found: no memcheck rerun)"; return 0; fi
  filter=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/.]*\).*/\1/p' "$OUTDIR/$t.log" |
           grep -v '^[0-9]*$' | sort -u | paste -sd: -)
  [[ -n "$filter" ]] || filter='*'  # a crash names no test (--gtest_brief): all, until the timeout
  step "c. memcheck rerun of $t: $filter"
  set +e
  (( limit < ${OFFRAMP_GPU_MEMCHECK_TIMEOUT:-120} )) || limit=${OFFRAMP_GPU_MEMCHECK_TIMEOUT:-120}
  OFFRAMP_GPU_MODEL=$model timeout -k 5 "$limit" "$san" --tool memcheck \
    --print-limit 20 "$exe" --gtest_brief=1 --gtest_filter="$filter" > "$OUTDIR/$t.memcheck.log" 2>&1
  echo "memcheck exit $?; its first findings:"
  set -e
  grep -m 12 -E '^========= +(Invalid|Program hit|Address|at |by thread)|ERROR SUMMARY' "$OUTDIR/$t.memcheck.log" || true
}

main() {
  local failures=() gpus reason model rc exe t limit gen=() want_gen cached

  step "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname 2>/dev/null || uname -n)"
  if ! gpus=$(probe_gpu 2>"$OUTDIR/.probe"); then
    reason=$(cat "$OUTDIR/.probe"); rm -f "$OUTDIR/.probe"
    echo "no NVIDIA GPU found: $reason" >&2
    return 2
  fi
  rm -f "$OUTDIR/.probe"
  echo "$gpus"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit \
      --format=csv 2>/dev/null || true
    nvidia-smi -q 2>/dev/null | sed -n '2,16p' || true
  fi
  if [[ -d .cache/gpu-model ]]; then model=$ROOT/.cache/gpu-model; else model=$ROOT/models/fine-foods-tiny; fi
  echo "model:  $model ($(du -sh "$model" 2>/dev/null | cut -f1))"
  echo "nvcc:   $( (/usr/local/cuda/bin/nvcc --version || nvcc --version) 2>/dev/null | grep -m1 release || echo 'not found')"
  echo "cmake:  $(cmake --version 2>/dev/null | head -1)"
  echo "c++:    $(c++ --version 2>/dev/null | head -1)"
  echo "python: $(python3 -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null || echo 'no torch')"
  echo "out:    $OUTDIR"
  rm -f "$OUTDIR/offramp_gpu.json" "$OUTDIR/torch_gpu.json" "$OUTDIR/gpu_table.md" \
        "$OUTDIR"/test_cuda_*.log "$OUTDIR"/test_cuda_*.memcheck.log

  step "a. dependencies: source scripts/gpu-env.sh"
  if [[ ! -d "${OFFRAMP_GPU_DEBS:-.cache/gpu-debs}" ]]; then
    echo "gpu-check: ${OFFRAMP_GPU_DEBS:-.cache/gpu-debs} is missing: run scripts/gpu-deps.sh on a Debian 12 machine first," \
         "then carry it: run(command=\"scripts/gpu-check.sh\", carry=[\".cache/gpu-debs\", \".cache/gpu-model\"])" >&2
    return 1
  fi
  # shellcheck source=scripts/gpu-env.sh
  source scripts/gpu-env.sh || { echo "gpu-check: scripts/gpu-env.sh failed" >&2; return 1; }

  step "b. configure and build $BUILD (CUDA archs ${OFFRAMP_CUDA_ARCHS:-90a-real}, -j$(nproc))"
  want_gen="Unix Makefiles"
  if command -v ninja >/dev/null; then gen=(-G Ninja); want_gen=Ninja; fi
  # A cache from another generator or another checkout cannot be reused.
  if [[ -f "$BUILD/CMakeCache.txt" ]]; then
    cached=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$BUILD/CMakeCache.txt")
    if [[ "$cached" != "$want_gen" ||
          "$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt")" != "$ROOT" ]]; then
      echo "removing $BUILD (configured elsewhere or with $cached)"
      rm -rf "$BUILD"
    fi
  fi
  cmake -S . -B "$BUILD" "${gen[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DOFFRAMP_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${OFFRAMP_CUDA_ARCHS:-90a-real}" \
    -DOFFRAMP_WITH_DNNL=OFF \
    -DOFFRAMP_WITH_TORCH=OFF \
    "${OFFRAMP_GPU_CMAKE_ARGS[@]}" || { echo "gpu-check: cmake configure failed" >&2; return 1; }
  # Keep going past a broken target, so that the others still run.
  local keep_going=(-k)
  if [[ $want_gen == Ninja ]]; then keep_going=(-k 0); fi
  if ! cmake --build "$BUILD" -j "$(nproc)" \
       --target offramp-cli test_cuda_kernels test_cuda_engine offramp-gpu-bench offramp-serve-bench \
       -- "${keep_going[@]}"; then
    failures+=("build")
  fi
  # The budget's reserves are estimates until a GPU run has timed the steps: every step's
  # header shows the clock, and this line the build's share.
  echo "gpu-check: ${SECONDS}s into the run after the build"

  # Seconds kept for what follows each step: the CLI run ~15, the benchmark ~90, the peer ~40,
  # the serving bench ~50.
  local -A keep=([test_cuda_kernels]=260 [test_cuda_engine]=200)
  for t in test_cuda_kernels test_cuda_engine; do
    limit=$(step_timeout "${keep[$t]}")
    step "c. $t (OFFRAMP_GPU_MODEL=$model, at most ${limit}s)"
    exe=$(find_bin "$t")
    if [[ -z "$exe" ]]; then echo "$t: not built" | tee "$OUTDIR/$t.log"; failures+=("$t (not built)"); continue; fi
    set +e
    OFFRAMP_GPU_MODEL=$model timeout -k 5 "$limit" "$exe" --gtest_brief=1 2>&1 | tee "$OUTDIR/$t.log"
    rc=${PIPESTATUS[0]}
    set -e
    if (( rc == 124 )); then failures+=("$t (timed out after ${limit}s)")
    elif (( rc != 0 )); then failures+=("$t (exit $rc)"); memcheck "$t" "$exe" "$model" "$(step_timeout "${keep[$t]}")"; fi
  done

  step "c. the CLI on the GPU: offramp evaluate $model data/fine_foods/test.tsv --device cuda"
  exe=$(find_bin offramp)
  if [[ -z "$exe" ]]; then
    echo "offramp: not built"; failures+=("offramp CLI (not built)")
  else
    set +e
    timeout -k 5 30 "$exe" info "$model" | grep -E '^(model|architecture|GPU) '
    timeout -k 5 "$(step_timeout 185)" "$exe" evaluate "$model" data/fine_foods/test.tsv --device cuda
    rc=$?
    set -e
    (( rc == 0 )) || failures+=("offramp evaluate --device cuda (exit $rc)")
  fi

  step "d. offramp-gpu-bench --model $model --data data/fine_foods/test.tsv --batch 256"
  run_bin offramp-gpu-bench 95 --model "$model" --data data/fine_foods/test.tsv --batch 256 \
    --json "$OUTDIR/offramp_gpu.json" || true

  step "d. PyTorch peer: python3 bench/peers/torch_gpu_peer.py"
  # With the image's own library path: the carried libraries are for the build, not for torch.
  set +e
  LD_LIBRARY_PATH=$OFFRAMP_GPU_ORIG_LD_LIBRARY_PATH PYTHONUNBUFFERED=1 \
    timeout -k 5 "$(step_timeout 55)" python3 bench/peers/torch_gpu_peer.py --json "$OUTDIR/torch_gpu.json"
  rc=$?
  set -e
  (( rc == 0 )) || failures+=("torch_gpu_peer.py (exit $rc)")

  # Issue 16's GPU table: single-text requests at Poisson arrivals, 2 s per load. One request at
  # a time only at the lower loads, where its backlog drains in seconds.
  step "e. serving on the GPU: offramp-serve-bench --model $model --device cuda"
  if run_bin offramp-serve-bench 25 --model "$model" --device cuda --seconds 2 --rates 200,1000 \
       --modes per-input,whole-batch,serial; then
    run_bin offramp-serve-bench 5 --model "$model" --device cuda --seconds 2 --rates 4000,16000 \
      --modes per-input,whole-batch || true
  fi

  step "summary"
  if (( ${#failures[@]} )); then
    echo "gpu-check: FAILED (${#failures[@]}):"
    printf '  - %s\n' "${failures[@]}"
  else
    echo "gpu-check: build, tests, benchmark and peer all passed"
  fi
  echo "logs and results: $OUTDIR"

  step "d. table: scripts/gpu_table.py"
  python3 scripts/gpu_table.py "$OUTDIR/offramp_gpu.json" "$OUTDIR/torch_gpu.json" | tee "$OUTDIR/gpu_table.md" ||
    failures+=("gpu_table.py")
  (( ${#failures[@]} == 0 )) || return 1
}

main "$@" 2>&1 | tee "$OUTDIR/gpu-check.log"
exit "${PIPESTATUS[0]}"
