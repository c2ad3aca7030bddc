#!/usr/bin/env bash
# Makes a small copy of a fine-tuned WordPiece model directory (default: the MiniLM-L6
# fine_foods model that scripts/reproduce.sh trains) for the GPU machine: what travels there
# is limited to 64 MiB in all, and the fp32 model is ~94 MB. Two reductions:
#  - fp16 weights: every float tensor of model.safetensors and exits.safetensors is stored as
#    F16 (the GPU computes in fp16 anyway; the engine reads F16 and widens it to fp32 on CPU).
#    This rounds the weights, so CPU results can differ slightly from the fp32 model.
#  - the WordPiece vocabulary pruned to the tokens that the given texts (default: the texts
#    of data/fine_foods/{dev,test}.tsv, which the GPU tests and benchmarks read) use, plus [PAD] [UNK] [CLS] [SEP] [MASK], with the
#    word_embeddings rows re-indexed and config.json's vocab_size updated. This is exact for
#    those texts: WordPiece is greedy longest-match-first, every piece they used is kept and no
#    longer piece can appear, so they tokenize to the same pieces (checked below, not assumed).
#    Other texts may differ: a word whose pieces were dropped is split into other kept
#    pieces, or becomes [UNK].
# tokenizer.json is left out (the pruned vocab.txt is the tokenizer; a full tokenizer.json
# would contradict it); tokenizer_config.json / special_tokens_map.json name tokens by string
# only, so they are kept. Token ids come from the engine's own tokenizer (`offramp tokenize`).
# Usage: scripts/make-gpu-model.sh [SRC_MODEL_DIR=out/fine_foods/model] [OUT_DIR=.cache/gpu-model] [TSV...]
#   TSV...: label<TAB>text files whose texts must tokenize exactly as before
#           (default data/fine_foods/dev.tsv test.tsv)
#   Sizes for the fine_foods MiniLM-L6 model: ~94.5 MB -> ~30.0 MB (dev.tsv test.tsv, 8342
#   tokens) or ~32.3 MB (with train.tsv too, 11380 tokens).
# Env: OFFRAMP=path to the offramp CLI (default build/cpu/bin/offramp, built if missing).
# Writes OUT_DIR (replacing an earlier output of this script) with a README.md of provenance.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
src=${1:-out/fine_foods/model}
out=${2:-.cache/gpu-model}
shift $(($# < 2 ? $# : 2))
texts=("$@")
[ ${#texts[@]} -gt 0 ] || texts=(data/fine_foods/dev.tsv data/fine_foods/test.tsv)

die() { echo "make-gpu-model.sh: $*" >&2; exit 1; }
for f in config.json model.safetensors vocab.txt; do
  [ -f "$src/$f" ] || die "$src/$f is missing: no fine-tuned model at $src.
  Train it with: scripts/reproduce.sh fine_foods   (writes out/fine_foods/model)"
done
[ -f "$src/offramp.json" ] && [ -f "$src/exits.safetensors" ] ||
  echo "make-gpu-model.sh: warning: $src has no exit heads (offramp.json, exits.safetensors)" >&2
for t in "${texts[@]}"; do [ -f "$t" ] || die "text file $t is missing"; done
[ "$(cd "$src" && pwd -P)" != "$(mkdir -p "$out" && cd "$out" && pwd -P)" ] || die "OUT_DIR must differ from SRC_MODEL_DIR"
if [ -n "$(ls -A "$out")" ] && ! grep -qs '^Made by scripts/make-gpu-model.sh' "$out/README.md"; then
  die "$out is not empty and was not made by this script; refusing to replace it"
fi

bin=${OFFRAMP:-build/cpu/bin/offramp}
if [ ! -x "$bin" ]; then
  echo "== building the offramp CLI ($bin)"
  cmake --preset cpu > /dev/null
  cmake --build --preset cpu -j "$(nproc)" --target offramp-cli
fi

# numpy: the system python's, else the peer-race venv's (pinned in bench/peers/requirements.txt).
py=python3
if ! "$py" -c 'import numpy' 2> /dev/null; then
  venv=.cache/peers-venv
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv" ||
    die "cannot create $venv (install python3-venv, or numpy for python3)"
  "$venv/bin/python" -c 'import numpy' 2> /dev/null ||
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      "$(grep -m1 '^numpy==' bench/peers/requirements.txt)" || die "cannot install numpy into $venv"
  py=$venv/bin/python
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Whole texts (no truncation), so the model also stays exact at a larger --max-length.
full=1048576

echo "== token ids of ${texts[*]} (offramp tokenize, no truncation)"
ids=()
for i in "${!texts[@]}"; do
  "$bin" tokenize "$src" --tsv --format ids --max-length $full "${texts[$i]}" > "$work/ids.$i"
  ids+=("$work/ids.$i")
done

echo "== writing $out (pruned vocabulary, fp16)"
new=$work/model
facts=$("$py" scripts/prune_vocab.py prune "$src" "$new" "${ids[@]}")
echo "$facts" | sed 's/^/   /'
fact() { echo "$facts" | sed -n "s/^$1=//p"; }

echo "== checking: the texts tokenize to the same pieces with both models"
for i in "${!texts[@]}"; do
  "$bin" tokenize "$src" --tsv --max-length $full "${texts[$i]}" > "$work/a.jsonl"
  "$bin" tokenize "$new" --tsv --max-length $full "${texts[$i]}" > "$work/b.jsonl"
  echo "   ${texts[$i]}: $("$py" scripts/prune_vocab.py compare "$work/a.jsonl" "$work/b.jsonl")"
done
"$bin" info "$new" > /dev/null || die "the engine cannot load the new model directory"

sha() { sha256sum "$1" | cut -d' ' -f1; }
commit=$(git rev-parse HEAD 2> /dev/null || echo unknown)
git diff --quiet HEAD 2> /dev/null || commit="$commit (working tree had changes)"
{
  cat << EOF
# GPU copy of \`$src\` (fp16, pruned WordPiece vocabulary)

Made by scripts/make-gpu-model.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $commit.
Regenerate with \`scripts/make-gpu-model.sh $src $out${1:+ ${texts[*]}}\`.

Why: what travels to the GPU machine is limited to 64 MiB in all and the fp32 model directory
is $(du -sb "$src" | cut -f1) bytes; this copy is small enough to carry.

What changed compared with the source:
- **fp16**: every float tensor of model.safetensors and exits.safetensors is stored as F16
  (the GPU runs fp16; on the CPU the engine widens F16 to fp32, so CPU results may differ a
  little from the fp32 source). Largest absolute rounding change of a weight: $(fact max_f16_rounding_error).
  Tensor names and order are the source's.
- **vocabulary**: vocab.txt keeps the $(fact used_ids) tokens that the texts below use plus the
  specials ($(fact specials)): $(fact vocab_before) -> $(fact vocab_after) tokens, in the original
  order; embeddings.word_embeddings.weight rows re-indexed the same way; config.json
  vocab_size = $(fact vocab_after), pad_token_id $(fact pad_token_id).
  This is exact for these texts: WordPiece is greedy longest-match-first, every piece they used
  is kept and the pruned vocabulary is a subset, so no different piece can match; the script
  also checked that \`offramp tokenize\` gives the same pieces for every text with both models
  (no truncation). Any other text may tokenize differently: a word whose pieces were dropped
  is split into other kept pieces or becomes [UNK] (e.g. "reykjavik" -> re ##yk ##ja ##vi ##k).
- tokenizer.json is left out (it would still hold the full vocabulary); kept as is:
  $(fact copied). Not copied: $(fact not_copied).

Texts (label<TAB>text) the vocabulary is cut to:
EOF
  for t in "${texts[@]}"; do echo "- \`$t\` ($(wc -l < "$t") lines, sha256 $(sha "$t"))"; done
  echo
  echo "Source files:"
  for f in "$src"/*; do echo "- \`$(basename "$f")\` $(stat -c %s "$f") bytes, sha256 $(sha "$f")"; done
} > "$new/README.md"

rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$new" "$out"

echo "== sizes (bytes)"
printf '   %-24s %12s %12s\n' file "$src" "$out"
for f in $( (ls "$src"; ls "$out") | sort -u); do
  a=$([ -f "$src/$f" ] && stat -c %s "$src/$f" || echo -)
  b=$([ -f "$out/$f" ] && stat -c %s "$out/$f" || echo -)
  printf '   %-24s %12s %12s\n' "$f" "$a" "$b"
done
printf '   %-24s %12s %12s\n' "total (du -sb)" "$(du -sb "$src" | cut -f1)" "$(du -sb "$out" | cut -f1)"
