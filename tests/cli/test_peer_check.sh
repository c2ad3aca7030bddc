#!/usr/bin/env bash
# The race's prediction-equality check is real: Offramp and the LibTorch peer agree on a
# model, and the check fails once the model Offramp runs has different weights.
# Usage: test_peer_check.sh BIN_DIR MODEL_DIR REPO_DIR
set -euo pipefail
bin=$1 model=$2 repo=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -40 "$repo/data/fine_foods/dev.tsv" > "$tmp/dev.tsv"
"$bin/offramp" tokenize "$model" "$tmp/dev.tsv" --tsv --format ids --max-length 32 > "$tmp/ids"
"$bin/offramp-torch-peer" "$model" "$tmp/ids" --batch-size 8 --threads 1 --min-time 0 --logits "$tmp/torch.jsonl" > /dev/null
"$bin/offramp" classify "$model" "$tmp/dev.tsv" --threshold 2 --logits --max-length 32 > "$tmp/offramp.jsonl" 2> /dev/null
python3 "$repo/bench/peers/check_logits.py" "$tmp/offramp.jsonl" "$tmp/torch.jsonl"

# Same model, except one classifier weight of the last exit head changed by 0.5.
cp -r "$model" "$tmp/changed"
python3 - "$tmp/changed/exits.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
raw = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
last = max(int(k.split(".")[1]) for k in header if k.startswith("exits."))
begin = header[f"exits.{last}.classifier.weight"]["data_offsets"][0] + 8 + n
value = struct.unpack("<f", raw[begin:begin + 4])[0] + 0.5
raw[begin:begin + 4] = struct.pack("<f", value)
open(path, "wb").write(bytes(raw))
PY
"$bin/offramp" classify "$tmp/changed" "$tmp/dev.tsv" --threshold 2 --logits --max-length 32 > "$tmp/changed.jsonl" 2> /dev/null
if python3 "$repo/bench/peers/check_logits.py" "$tmp/changed.jsonl" "$tmp/torch.jsonl"; then
  echo "FAIL: the check passed although the weights differ" >&2
  exit 1
fi
echo "OK: the check caught the changed weights"
