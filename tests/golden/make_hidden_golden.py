#!/usr/bin/env python3
"""Write per-layer hidden-state golden data for all-MiniLM-L6-v2 (fp32, CPU).

Why: the C++ engine must reproduce the Hugging Face BertModel forward pass
layer by layer (early exit reads intermediate layers), so we record the
embedding output and the output of every encoder layer for a set of real
sentences from the fine_foods data.

Usage:
    python make_hidden_golden.py --model DIR --data data/fine_foods/dev.tsv \
        --out tests/golden/minilm_l6_hidden.bin

Reference computation (per sentence, each run ALONE):
    batch size 1, no padding, attention_mask all 1, token_type_ids all 0,
    fast tokenizer (AutoTokenizer from the model dir), [CLS] ... [SEP],
    BertModel (AutoModel) in fp32, eval mode (no dropout),
    output_hidden_states=True -> L1 = num_hidden_layers + 1 tensors of [1, N, H]:
    index 0 = embeddings output (after embedding LayerNorm),
    index i = output of encoder layer i (1..num_hidden_layers).

Binary format (all little-endian), see README.md:
    8 bytes  magic b"OFRGOLD1"
    u32      format version = 1
    u32      S  number of sentences
    u32      L1 hidden-state tensors per sentence (7 for MiniLM-L6)
    u32      H  hidden size (384)
    per sentence:
      u32 text byte length, UTF-8 text bytes (no terminator)
      u32 N, then N x i32 token ids (with [CLS] ... [SEP])
      L1 x N x H float32, row-major (layer, token, feature)

Also writes a small provenance sidecar (same name, ".sources.json") saying
which dev.tsv line each sentence came from, and the library versions.
"""
import argparse
import hashlib
import json
import os
import re
import string
import struct
import sys

import numpy as np
import torch
import transformers
import tokenizers
from transformers import AutoModel, AutoTokenizer, BertTokenizer

MAGIC = b"OFRGOLD1"
FORMAT_VERSION = 1

# Token-length window (WordPiece ids incl. [CLS]/[SEP]) a sentence must fall in.
MIN_TOKENS, MAX_TOKENS = 6, 40

# How many sentences to take per token-length band. 40 sentences in total.
# The bands are skewed towards short sentences because the file size is
# dominated by sum(N) * L1 * H * 4 bytes = sum(N) * 10752 bytes: ~540 tokens
# keeps the file under ~6 MB while still covering long (31..40) sequences.
BANDS = [  # (lo, hi inclusive, count)
    (6, 10, 20),
    (11, 15, 11),
    (16, 20, 4),
    (21, 30, 3),
    (31, 40, 2),
]
MAX_FILE_BYTES = 6_000_000

# Feature quotas filled first (each pick still uses up a slot of its band), so
# the set is guaranteed to contain sentences with digits, ALL-CAPS words,
# punctuation inside the sentence and non-ASCII text, plus the exact length
# extremes 6 and 40.  Predicates take the sentence text and its token count.
_PUNCT = set(string.punctuation)


def _inner_punct(s):
    """Distinct ASCII punctuation characters excluding the final character."""
    return {c for c in s[:-1] if c in _PUNCT}


FEATURE_QUOTAS = [  # (name, count, predicate(text, n_tokens)); rarest first
    # dev.tsv has only two sentences with non-ASCII text (U+FFFD, which BERT's
    # text cleaning deletes), both 31..40 tokens long.
    ("non_ascii", 1, lambda s, n: any(ord(c) > 127 for c in s)),
    ("min_length", 1, lambda s, n: n == MIN_TOKENS),
    ("max_length", 1, lambda s, n: n == MAX_TOKENS),
    ("digits", 3, lambda s, n: re.search(r"\d", s) is not None),
    ("all_caps_word", 3, lambda s, n: re.search(r"\b[A-Z]{2,}\b", s) is not None),
    ("inner_punctuation", 3, lambda s, n: len(_inner_punct(s)) >= 2),
]


def split_sentences(text):
    """Simple sentence split on '. ', '! ', '? ' (the mark stays with the
    sentence on its left, the space is dropped)."""
    return [p.strip() for p in re.split(r"(?<=[.!?]) ", text) if p.strip()]


def read_candidates(path, tok):
    """All distinct sentences of the TSV in file order with their token ids,
    restricted to MIN_TOKENS..MAX_TOKENS.  Returns list of dicts."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            _label, text = line.split("\t", 1)
            for sent_idx, sent in enumerate(split_sentences(text)):
                if sent in seen:
                    continue
                seen.add(sent)
                ids = tok(sent, add_special_tokens=True)["input_ids"]
                if MIN_TOKENS <= len(ids) <= MAX_TOKENS:
                    out.append({"line": line_no, "sentence_index": sent_idx,
                                "text": sent, "ids": ids})
    return out


def band_of(n):
    for i, (lo, hi, _count) in enumerate(BANDS):
        if lo <= n <= hi:
            return i
    raise ValueError(n)


def select(cands):
    """Deterministic pick: feature quotas first (first match in file order),
    then fill every band in file order.  Result is sorted in file order."""
    room = [count for (_lo, _hi, count) in BANDS]
    chosen = {}  # candidate index -> reason

    def take(i, reason):
        b = band_of(len(cands[i]["ids"]))
        if i in chosen or room[b] == 0:
            return False
        room[b] -= 1
        chosen[i] = reason
        return True

    for name, count, pred in FEATURE_QUOTAS:
        got = 0
        for i, c in enumerate(cands):
            if got == count:
                break
            if pred(c["text"], len(c["ids"])) and take(i, name):
                got += 1
        if got < count:
            sys.exit(f"feature quota {name!r}: only {got}/{count} sentences found")
    for i in range(len(cands)):
        if sum(room) == 0:
            break
        take(i, "fill")
    if sum(room) != 0:
        sys.exit(f"not enough candidate sentences, unfilled band slots: {room}")
    picked = []
    for i in sorted(chosen, key=lambda i: (cands[i]["line"], cands[i]["sentence_index"])):
        c = dict(cands[i])
        c["reason"] = chosen[i]
        picked.append(c)
    return picked


def write_golden(path, records, n_layers1, hidden):
    """records: list of (text, ids list[int], hs np.float32 [L1, N, H])."""
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<4I", FORMAT_VERSION, len(records), n_layers1, hidden))
        for text, ids, hs in records:
            tb = text.encode("utf-8")
            assert hs.shape == (n_layers1, len(ids), hidden) and hs.dtype == np.float32
            f.write(struct.pack("<I", len(tb)))
            f.write(tb)
            f.write(struct.pack("<I", len(ids)))
            f.write(np.asarray(ids, dtype="<i4").tobytes())
            f.write(np.ascontiguousarray(hs, dtype="<f4").tobytes())  # layer, token, feature


def read_golden(path):
    """Reference reader (mirrors what the C++ side must do)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != MAGIC:
        raise ValueError("bad magic")
    version, s, l1, h = struct.unpack_from("<4I", data, 8)
    if version != FORMAT_VERSION:
        raise ValueError(f"unsupported version {version}")
    pos, out = 24, []
    for _ in range(s):
        (tlen,) = struct.unpack_from("<I", data, pos); pos += 4
        text = data[pos:pos + tlen].decode("utf-8"); pos += tlen
        (n,) = struct.unpack_from("<I", data, pos); pos += 4
        ids = np.frombuffer(data, dtype="<i4", count=n, offset=pos).tolist(); pos += 4 * n
        hs = np.frombuffer(data, dtype="<f4", count=l1 * n * h, offset=pos).reshape(l1, n, h)
        pos += 4 * l1 * n * h
        out.append((text, ids, hs))
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} trailing bytes")
    return l1, h, out


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF checkpoint dir (all-minilm-l6-v2)")
    ap.add_argument("--data", required=True, help="label<TAB>text TSV, e.g. data/fine_foods/dev.tsv")
    ap.add_argument("--out", required=True, help="output .bin path")
    args = ap.parse_args()

    torch.set_num_threads(1)  # small workload; one thread keeps results bit-stable run to run
    torch.set_grad_enabled(False)

    tok = AutoTokenizer.from_pretrained(args.model)  # fast (tokenizer.json)
    assert tok.is_fast, "expected a fast tokenizer"
    # Cross-check tokenization with the slow reference tokenizer on the picked set.
    with open(os.path.join(args.model, "tokenizer_config.json"), encoding="utf-8") as f:
        tcfg = json.load(f)
    slow = BertTokenizer(os.path.join(args.model, "vocab.txt"),
                         do_lower_case=tcfg.get("do_lower_case", True),
                         tokenize_chinese_chars=tcfg.get("tokenize_chinese_chars", True),
                         strip_accents=tcfg.get("strip_accents"))

    model = AutoModel.from_pretrained(args.model, torch_dtype=torch.float32,
                                      attn_implementation="eager")
    model.eval()  # disable dropout
    cfg = model.config
    l1, hidden = cfg.num_hidden_layers + 1, cfg.hidden_size

    cands = read_candidates(args.data, tok)
    picked = select(cands)
    print(f"{len(cands)} candidate sentences ({MIN_TOKENS}..{MAX_TOKENS} tokens), "
          f"picked {len(picked)}", file=sys.stderr)

    records = []
    for c in picked:
        ids = c["ids"]
        slow_ids = slow(c["text"], add_special_tokens=True)["input_ids"]
        assert slow_ids == ids, f"fast/slow tokenizer mismatch on {c['text']!r}"
        input_ids = torch.tensor([ids], dtype=torch.long)              # [1, N]
        out = model(input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),         # no padding
                    token_type_ids=torch.zeros_like(input_ids),        # segment 0
                    output_hidden_states=True)
        assert len(out.hidden_states) == l1
        hs = torch.stack(out.hidden_states, 0)[:, 0]                   # [L1, N, H]
        assert torch.equal(hs[-1], out.last_hidden_state[0])
        records.append((c["text"], ids, hs.numpy().astype(np.float32)))

    write_golden(args.out, records, l1, hidden)

    # ---- read back and assert an exact round trip ----
    rl1, rh, back = read_golden(args.out)
    assert (rl1, rh, len(back)) == (l1, hidden, len(records))
    for (t0, i0, h0), (t1, i1, h1) in zip(records, back):
        assert t0 == t1 and i0 == i1 and h0.shape == h1.shape
        assert np.array_equal(h0.view(np.uint32), h1.view(np.uint32)), "float bits differ"
    size = os.path.getsize(args.out)
    assert size <= MAX_FILE_BYTES, f"{args.out} is {size} bytes > {MAX_FILE_BYTES}"

    total_tokens = sum(len(r[1]) for r in records)
    sources = {
        "golden_file": os.path.basename(args.out),
        "golden_sha256": sha256_file(args.out),
        "data_file": os.path.relpath(args.data),
        "model_safetensors_sha256": sha256_file(os.path.join(args.model, "model.safetensors")),
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "numpy": np.__version__},
        "num_sentences": len(records), "hidden_states_per_sentence": l1,
        "hidden_size": hidden, "total_tokens": total_tokens,
        "sentences": [{"line": c["line"], "sentence_index": c["sentence_index"],
                       "n_tokens": len(c["ids"]), "reason": c["reason"], "text": c["text"]}
                      for c in picked],
    }
    side = os.path.splitext(args.out)[0] + ".sources.json"
    with open(side, "w", encoding="utf-8") as f:
        json.dump(sources, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {size} bytes, {len(records)} sentences, {total_tokens} tokens, "
          f"L1={l1}, H={hidden}; round trip OK; sidecar {side}", file=sys.stderr)


if __name__ == "__main__":
    main()
