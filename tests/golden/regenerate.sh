#!/usr/bin/env bash
# Regenerates every fixture in tests/golden/ from the all-MiniLM-L6-v2
# checkpoint and data/fine_foods, the two subword tokenizers trained on data/
# (tests/golden/tokenizers), and the random per-family checkpoints.
# Run from anywhere:
#     tests/golden/regenerate.sh
# Creates the venv .cache/golden-venv (system site packages of
# /usr/bin/python3 for torch 1.13, plus tests/golden/requirements.txt) if it
# is missing or lacks the pinned transformers/tokenizers/sentencepiece/protobuf.
# Override the base interpreter with GOLDEN_SYSTEM_PYTHON=/path/to/python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

venv=.cache/golden-venv
sys_python=${GOLDEN_SYSTEM_PYTHON:-/usr/bin/python3}
want_tf=$(sed -n 's/^transformers==//p' tests/golden/requirements.txt)
want_tk=$(sed -n 's/^tokenizers==//p' tests/golden/requirements.txt)
want_sp=$(sed -n 's/^sentencepiece==//p' tests/golden/requirements.txt)
want_pb=$(sed -n 's/^protobuf==//p' tests/golden/requirements.txt)

if [ ! -x "$venv/bin/python" ]; then
  if ! "$sys_python" -c 'import torch' 2>/dev/null; then
    echo "error: $sys_python cannot import torch (Debian: apt-get install python3-torch)" >&2
    exit 1
  fi
  echo "creating $venv (--system-site-packages from $sys_python)" >&2
  "$sys_python" -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "
import sys, torch, transformers, tokenizers, sentencepiece, google.protobuf
sys.exit(transformers.__version__ != '$want_tf' or tokenizers.__version__ != '$want_tk'
         or sentencepiece.__version__ != '$want_sp' or google.protobuf.__version__ != '$want_pb')
" 2>/dev/null; then
  echo "installing tests/golden/requirements.txt into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/golden/requirements.txt
fi

model=$(scripts/fetch-minilm.sh)
py="$venv/bin/python"
"$py" tests/golden/make_hidden_golden.py --model "$model" \
  --data data/fine_foods/dev.tsv --out tests/golden/minilm_l6_hidden.bin
"$py" tests/golden/make_tokenizer_golden.py --model "$model" \
  --data-dir data/fine_foods --out-dir tests/golden
# make_family_golden.py copies the subword tokenizers into families/{roberta,xlm-roberta}/task/.
"$py" tests/golden/make_subword_golden.py --data-dir data --out-dir tests/golden/tokenizers
"$py" tests/golden/make_family_golden.py --out-dir tests/golden/families \
  --tokenizers-dir tests/golden/tokenizers
ls -l tests/golden/minilm_l6_hidden.bin tests/golden/minilm_l6_hidden.sources.json \
  tests/golden/wordpiece_fine_foods.jsonl tests/golden/tokenizer_hard_cases.jsonl \
  tests/golden/tokenizers/*/* >&2
du -sh tests/golden/families tests/golden/tokenizers >&2
