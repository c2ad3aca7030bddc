#!/usr/bin/env bash
# A small random hyperparameter search with offramp-train, then `offramp report` over its runs
# (Expected Validation Performance, the reproducibility checklist). Each trial draws a learning
# rate log-uniformly from [LR_MIN, LR_MAX], epochs from EPOCHS, a batch size from BATCHES and a
# seed; the draws come from --seed, so the same command gives the same trials. OUT/search.json
# records the method, the bounds and every trial's values; OUT/trial-K is trial K's model with
# its train_report.json; OUT/report/ holds the report.
# Usage: scripts/random-search.sh --train T --dev D --out OUT --trials N
#          (--init CHECKPOINT | --config C --tokenizer DIR) [--seed S] [--lr-min X] [--lr-max X]
#          [--epochs "1 2 3"] [--batches "16 32"] [--bin DIR] [-- extra offramp-train options]
set -euo pipefail
train="" dev="" out="" trials="" init="" config="" tokenizer="" seed=1
lr_min=1e-5 lr_max=5e-4 epochs="1 2 3" batches="16 32"
bin="$(cd "$(dirname "$0")/.." && pwd)/build/cpu/bin"
usage() { sed -n '2,11p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --train) train=$2; shift 2 ;;
    --dev) dev=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --trials) trials=$2; shift 2 ;;
    --init) init=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --tokenizer) tokenizer=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --lr-min) lr_min=$2; shift 2 ;;
    --lr-max) lr_max=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "random-search.sh: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$train" ] && [ -n "$dev" ] && [ -n "$out" ] && [ -n "$trials" ] || usage
[[ "$trials" =~ ^[1-9][0-9]*$ ]] || { echo "random-search.sh: --trials must be a positive integer" >&2; exit 2; }
if [ -n "$init" ]; then model=(--init "$init"); elif [ -n "$config" ] && [ -n "$tokenizer" ]; then
  model=(--config "$config" --tokenizer "$tokenizer"); else
  echo "random-search.sh: give --init CHECKPOINT or --config C --tokenizer DIR" >&2; exit 2; fi
for tool in offramp offramp-train; do
  [ -x "$bin/$tool" ] || { echo "random-search.sh: $bin/$tool not found (build first, or pass --bin)" >&2; exit 2; }
done
mkdir -p "$out"
# Draws: one line per trial "lr epochs batch seed", from awk's generator seeded with --seed.
draws=$(awk -v n="$trials" -v s="$seed" -v lo="$lr_min" -v hi="$lr_max" -v ep="$epochs" -v bs="$batches" 'BEGIN {
  srand(s); ne = split(ep, E, " "); nb = split(bs, B, " ")
  for (k = 1; k <= n; ++k) {
    lr = exp(log(lo) + rand() * (log(hi) - log(lo)))
    printf "%.3g %d %d %d\n", lr, E[1 + int(rand() * ne)], B[1 + int(rand() * nb)], 1 + int(rand() * 1000000)
  } }')
{
  printf '{"method": "random search", "seed": %s, "trials": %s,\n' "$seed" "$trials"
  printf ' "bounds": {"lr": ["%s", "%s", "log-uniform"], "epochs": "%s", "batch_size": "%s", "seed": "uniform 1..1e6"},\n' \
    "$lr_min" "$lr_max" "$epochs" "$batches"
  printf ' "draws": ['
  k=0
  while read -r lr ep bs sd; do
    [ $k -gt 0 ] && printf ', '
    printf '{"trial": %d, "lr": %s, "epochs": %s, "batch_size": %s, "seed": %s}' $((k + 1)) "$lr" "$ep" "$bs" "$sd"
    k=$((k + 1))
  done <<< "$draws"
  printf ']}\n'
} > "$out/search.json"
runs=()
k=0
while read -r lr ep bs sd; do
  k=$((k + 1))
  echo "== trial $k/$trials: lr $lr, epochs $ep, batch $bs, seed $sd" >&2
  "$bin/offramp-train" "${model[@]}" --train "$train" --dev "$dev" --out "$out/trial-$k" --lr "$lr" --epochs "$ep" \
    --batch-size "$bs" --seed "$sd" --offramp "$bin/offramp" "$@" 2> "$out/trial-$k.log" || {
    echo "random-search.sh: trial $k failed; the end of $out/trial-$k.log:" >&2; tail -5 "$out/trial-$k.log" >&2; exit 1; }
  runs+=("$out/trial-$k")
done <<< "$draws"
"$bin/offramp" report "${runs[@]}" --out "$out/report"
