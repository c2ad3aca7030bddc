#!/usr/bin/env python3
"""Helper of scripts/make-gpu-model.sh (numpy only): shrinks a WordPiece model directory.

  prune   SRC OUT IDS...   writes OUT: the WordPiece vocabulary cut to the token ids listed in
                           IDS (files of `offramp tokenize --format ids` output) plus the
                           special tokens, word_embeddings rows re-indexed to match, config.json
                           vocab_size (and pad_token_id) updated, and every floating-point tensor
                           of model.safetensors and exits.safetensors stored as F16. Tensor names
                           and order are those of the source files. Prints key=value facts.
  compare A B              A and B are `offramp tokenize` JSON Lines outputs of the same input
                           with two models; fails unless every line has the same token strings
                           (ids may differ: the vocabularies differ).

Why the pruning is exact for the listed texts: WordPiece is greedy longest-match-first over the
vocabulary, and the pruned vocabulary is a subset of the original that keeps every piece those
texts used, so at every step of every word the piece chosen before is still there and no longer
piece can be (it was not in the original either). That argument fails only for words that came
out as [UNK] (a subset vocabulary could then find a different path), so `compare` checks the
result instead of trusting the argument. Other words may tokenize differently (split into other
kept pieces, or [UNK]); only the listed texts are guaranteed.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # the engine splits these out of text
WORD_EMB = "embeddings.word_embeddings.weight"
NP_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64,
             "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def die(msg):
    sys.exit("prune_vocab.py: " + msg)


def read_safetensors(path):
    """Returns (metadata, [(name, dtype_name, shape, raw bytes)]) in data-offset order."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        die(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        die(f"{path}: header length {n} exceeds the file size")
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", None)
    data = memoryview(blob)[8 + n:]
    tensors = []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = info["data_offsets"]
        if not 0 <= b <= e <= len(data):
            die(f"{path}: tensor {name}: data_offsets {b},{e} outside the data section")
        tensors.append((name, info["dtype"], list(info["shape"]), bytes(data[b:e])))
    return meta, tensors


def to_array(path, name, dtype, shape, raw):
    if dtype == "BF16":  # numpy has no bfloat16: widen the bits to float32
        a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    elif dtype in NP_DTYPES:
        a = np.frombuffer(raw, dtype=np.dtype(NP_DTYPES[dtype]).newbyteorder("<"))
    else:
        die(f"{path}: tensor {name}: dtype {dtype} is not supported here")
    if a.size != int(np.prod(shape, dtype=np.int64)):
        die(f"{path}: tensor {name}: {a.size} values for shape {shape}")
    return a.reshape(shape)


def to_f16(path, name, a):
    """float tensors -> F16 (round to nearest even); refuses values that F16 cannot hold."""
    if a.dtype not in (np.float16, np.float32, np.float64):
        return a, 0.0
    with np.errstate(over="ignore"):
        h = a.astype("<f2")
    if not np.all(np.isfinite(h) == np.isfinite(a)):
        die(f"{path}: tensor {name}: values beyond the F16 range (max |x| = {np.nanmax(np.abs(a)):g})")
    err = float(np.max(np.abs(h.astype(np.float64) - a.astype(np.float64)))) if a.size else 0.0
    return h, err


def st_dtype(a):
    for k, v in NP_DTYPES.items():
        if a.dtype == np.dtype(v):
            return k
    die(f"no safetensors dtype for {a.dtype}")


def write_safetensors(path, tensors, meta):
    """tensors: [(name, ndarray)], written in this order; 8-byte aligned data section."""
    header, off = {}, 0
    for name, a in tensors:
        header[name] = {"dtype": st_dtype(a), "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    header["__metadata__"] = meta if meta else {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    os.replace(tmp, path)


def read_vocab(path):
    # Exactly as the engine reads vocab.txt: split at "\n" only, a final "\n" ends the last line.
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def prune(src, out, id_files):
    vocab = read_vocab(os.path.join(src, "vocab.txt"))
    index = {}
    for i, t in enumerate(vocab):
        index.setdefault(t, i)  # the engine keeps the first of duplicate lines
    if len(index) != len(vocab):
        die(f"{src}/vocab.txt has duplicate tokens; pruning would change which id wins")
    cfg = load_json(os.path.join(src, "config.json"))

    used = set()
    for p in id_files:
        with open(p) as f:
            for line in f:
                used.update(int(x) for x in line.split())
    if not used:
        die("no token ids in " + " ".join(id_files))
    if max(used) >= len(vocab) or min(used) < 0:
        die(f"token id {max(used)} outside vocab.txt ({len(vocab)} tokens): ids from another model?")

    # Specials: the engine's five plus any named in the tokenizer's JSON files.
    specials = list(SPECIALS)
    for fn in ("special_tokens_map.json", "tokenizer_config.json"):
        p = os.path.join(src, fn)
        if os.path.exists(p):
            j = load_json(p)
            if "added_tokens_decoder" in j:
                die(f"{p} lists added tokens by id; it would need re-indexing too")
            for k, v in j.items():
                vals = v if k == "additional_special_tokens" else [v]
                for t in vals:
                    if isinstance(t, dict):
                        t = t.get("content")
                    if k.endswith("_token") or k == "additional_special_tokens":
                        if isinstance(t, str) and t not in specials:
                            specials.append(t)
    keep = set(used)
    for t in specials:
        i = index.get(t.encode("utf-8"))
        if i is None:
            if t in ("[CLS]", "[SEP]", "[UNK]"):
                die(f"{src}/vocab.txt has no {t}")
            continue
        keep.add(i)
    keep = np.array(sorted(keep), dtype=np.int64)  # original order: [PAD] (id 0) stays id 0

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.txt"), "wb") as f:
        f.write(b"".join(vocab[i] + b"\n" for i in keep))

    # model.safetensors: F16, word embedding rows re-indexed.
    mpath = os.path.join(src, "model.safetensors")
    meta, tensors = read_safetensors(mpath)
    new, max_err, emb_rows = [], 0.0, None
    for name, dtype, shape, raw in tensors:
        a = to_array(mpath, name, dtype, shape, raw)
        if name == WORD_EMB:
            if a.shape[0] != len(vocab) or cfg.get("vocab_size") != len(vocab):
                die(f"{mpath}: {name} has {a.shape[0]} rows, config.json vocab_size is "
                    f"{cfg.get('vocab_size')}, vocab.txt has {len(vocab)} tokens; they must agree")
            a = a[keep]
            emb_rows = a.shape[0]
        a, err = to_f16(mpath, name, a)
        max_err = max(max_err, err)
        new.append((name, a))
    if emb_rows is None:
        die(f"{mpath}: no tensor {WORD_EMB}")
    write_safetensors(os.path.join(out, "model.safetensors"), new, meta)

    epath = os.path.join(src, "exits.safetensors")
    if os.path.exists(epath):
        meta, tensors = read_safetensors(epath)
        new = []
        for name, dtype, shape, raw in tensors:
            a, err = to_f16(epath, name, to_array(epath, name, dtype, shape, raw))
            max_err = max(max_err, err)
            new.append((name, a))
        write_safetensors(os.path.join(out, "exits.safetensors"), new, meta)

    old_pad = cfg.get("pad_token_id")
    cfg["vocab_size"] = int(len(keep))
    if isinstance(old_pad, int):
        hits = np.nonzero(keep == old_pad)[0]
        cfg["pad_token_id"] = int(hits[0]) if hits.size else 0
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")

    copied = []
    for fn in ("offramp.json", "tokenizer_config.json", "special_tokens_map.json", "train_log.json"):
        if os.path.exists(os.path.join(src, fn)):
            shutil.copyfile(os.path.join(src, fn), os.path.join(out, fn))
            copied.append(fn)
    skipped = sorted(set(os.listdir(src)) - set(copied) -
                     {"vocab.txt", "model.safetensors", "exits.safetensors", "config.json"})

    print(f"vocab_before={len(vocab)}")
    print(f"vocab_after={len(keep)}")
    print(f"used_ids={len(used)}")
    print(f"specials={' '.join(specials)}")
    print(f"pad_token_id={old_pad}->{cfg.get('pad_token_id')}")
    print(f"max_f16_rounding_error={max_err:.3g}")
    print(f"copied={' '.join(copied)}")
    print(f"not_copied={' '.join(skipped)}")


def compare(a_path, b_path):
    with open(a_path, encoding="utf-8") as fa, open(b_path, encoding="utf-8") as fb:
        a, b = fa.readlines(), fb.readlines()
    if len(a) != len(b):
        die(f"{a_path} has {len(a)} lines, {b_path} has {len(b)}")
    diff, tokens = 0, 0
    for la, lb in zip(a, b):
        ta, tb = json.loads(la)["tokens"], json.loads(lb)["tokens"]
        tokens += len(ta)
        if ta != tb:
            if diff == 0:
                print(f"first difference, line {json.loads(la)['line']}:\n  {ta}\n  {tb}", file=sys.stderr)
            diff += 1
    if diff:
        die(f"{diff} of {len(a)} texts tokenize differently")
    print(f"identical: {len(a)} texts, {tokens} tokens")


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "prune":
        prune(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
