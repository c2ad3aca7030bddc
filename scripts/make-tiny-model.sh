#!/usr/bin/env bash
# Rebuilds the small test model models/fine-foods-tiny (the default model before
# fine-foods-minilm-int8; the tests and fuzzers use its sentencepiece tokenizer) from scratch with the project's
# own tools: a sentencepiece vocabulary (spm_train on the training texts), a small BERT-shaped
# encoder with an exit after every layer trained by offramp-train, then calibration on dev
# (temperatures + threshold chosen with --max-drop 1) and a test evaluation.
# Usage: scripts/make-tiny-model.sh [--threads N]      (about 10 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
threads=0
[ "${1:-}" = "--threads" ] && threads=$2
scripts/setup.sh
cmake --preset cpu > /dev/null
cmake --build --preset cpu -j "$(nproc)" --target offramp-cli offramp-train
bin=build/cpu/bin
model=models/fine-foods-tiny
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Tokenizer: unigram sentencepiece, case-folded, [CLS]/[SEP] as user-defined pieces.
cut -f2- data/fine_foods/train.tsv > "$work/train.txt"
spm_train --input="$work/train.txt" --model_prefix="$work/spiece" --vocab_size=4000 --model_type=unigram \
  --normalization_rule_name=nmt_nfkc_cf --user_defined_symbols='[CLS],[SEP]' --character_coverage=1.0 \
  --input_sentence_size=1000000 --shuffle_input_sentence=false --seed_sentencepiece_size=1000000 \
  --num_threads=1 --minloglevel=2
mkdir -p "$work/tok"
cp "$work/spiece.model" "$work/tok/spiece.model"

# Encoder: 4 layers, hidden 128, 4 heads, FFN 512 (about 1.3 M parameters).
cat > "$work/config.json" <<'JSON'
{
  "architectures": ["BertModel"],
  "model_type": "bert",
  "vocab_size": 4000,
  "hidden_size": 128,
  "num_hidden_layers": 4,
  "num_attention_heads": 4,
  "intermediate_size": 512,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "attention_probs_dropout_prob": 0.1,
  "max_position_embeddings": 256,
  "type_vocab_size": 2,
  "initializer_range": 0.02,
  "layer_norm_eps": 1e-12,
  "pad_token_id": 0
}
JSON
rm -rf "$model.new"
"$bin/offramp-train" --config "$work/config.json" --tokenizer "$work/tok" --train data/fine_foods/train.tsv \
  --dev data/fine_foods/dev.tsv --out "$model.new" --epochs 8 --lr 3e-4 --warmup 0.1 --batch-size 32 \
  --max-length 256 --dropout 0.2 --weight-decay 0.05 --seed 7 --threads "$threads"
"$bin/offramp" calibrate "$model.new" data/fine_foods/dev.tsv --max-drop 1 --write --out "$model.new/calibration" \
  --threads "$threads"
"$bin/offramp" evaluate "$model.new" data/fine_foods/test.tsv --json "$model.new/calibration/test-evaluation.json" \
  --threads "$threads"
rm -rf "$model"
mv "$model.new" "$model"
du -sh "$model"
