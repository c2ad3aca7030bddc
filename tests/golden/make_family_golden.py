#!/usr/bin/env python3
"""Write small random checkpoints of every supported model family and their golden outputs.

Why: the engine loads each family's Hugging Face checkpoints as `save_pretrained` writes
them, and must reproduce HF's forward pass at every layer. A randomly initialised model of
each family, small enough to commit, pins the family's tensor names, prefixes, position ids
and math; the real MiniLM golden (make_hidden_golden.py) pins the numerics at full size.

Usage (after make_subword_golden.py, whose tokenizers the roberta and xlm-roberta families use):
    python make_family_golden.py --out-dir tests/golden/families \
        [--tokenizers-dir tests/golden/tokenizers]

Per family F (bert, distilbert, roberta, xlm-roberta, electra, electra-projected), under
OUT_DIR/F/:
    task/   F's *ForSequenceClassification, save_pretrained (safetensors; the encoder's
            tensors carry the family's prefix, e.g. "roberta."), with id2label, plus the
            family's tokenizer files: vocab.txt (WordPiece families: a small synthetic
            vocabulary written here), or a copy of TOKENIZERS_DIR/roberta/ (vocab.json,
            merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json) or
            TOKENIZERS_DIR/xlm-roberta/ (sentencepiece.bpe.model, tokenizer.json,
            tokenizer_config.json, special_tokens_map.json)
    bare/   the same encoder alone (AutoModel.save_pretrained: no prefix)
    hidden.bin   per-layer hidden states in the OFRGOLD1 format of make_hidden_golden.py
                 (text fields empty: the inputs are token ids), computed by the task
                 model's encoder
    logits.json  {"ids": [[...]], "logits": [[...]], "texts": [...]}: the task model's
                 classification logits for the id inputs, and "texts": real sentences
                 tokenized by HF's SLOW tokenizer of task/ (BertTokenizer, RobertaTokenizer
                 or XLMRobertaTokenizer) with the task model's logits for them

Vocabulary sizes: 120 for the WordPiece families; roberta: len(vocab.json) of the trained
byte-level BPE (1000); xlm-roberta: len(XLMRobertaTokenizer) (1002: the 1000 sentencepiece
pieces shifted by fairseq's offset, <pad>, and <mask>).

electra-projected: ElectraForSequenceClassification with embedding_size 16 != hidden_size 32,
so HF adds electra.embeddings_project = Linear(16 -> 32) after the embeddings (whose
LayerNorm is 16 wide). In transformers 4.40.2 ElectraModel.forward applies
embeddings_project to the embeddings output BEFORE calling the encoder, and the encoder
records hidden_states[0] from its input, so hidden_states[0] (tensor 0 of hidden.bin) is the
output of embeddings_project (32 wide), not the 16-wide LayerNorm output. The script checks
this.

Reference computation: torch.manual_seed(SEED + family index); each sequence run alone
(batch 1, no padding, attention mask all ones, token_type_ids all zeros where the family has
them), fp32, eval mode. Ids: the family's [CLS]/<s> id, random ids in [5, vocab) (never the
padding id, which would shift RoBERTa's positions), the [SEP]/</s> id. Each family reseeds
torch and numpy, so a family's vocabulary size changes only its own fixtures, and a family
added at the end of TASK_CLASSES changes none of the others.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np
import torch
import transformers
from transformers import AutoModel

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC = b"OFRGOLD1"
FORMAT_VERSION = 1
SEED = 1234
VOCAB, HIDDEN, LAYERS, HEADS, FFN, MAX_POS = 120, 32, 2, 4, 64, 40
EMBEDDING_PROJECTED = 16  # electra-projected: embedding_size != hidden_size
LENGTHS = [1, 2, 3, 5, 8, 13, 17, 21, 30, 38]  # tokens between the two special ones
LABELS = {0: "neg", 1: "pos", 2: "neutral"}


def config_for(family, vocab=VOCAB):
    common = dict(vocab_size=vocab, max_position_embeddings=MAX_POS, id2label=LABELS,
                  label2id={v: k for k, v in LABELS.items()})
    if family == "distilbert":
        return transformers.DistilBertConfig(dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                                             hidden_dim=FFN, activation="gelu", **common)
    bert_like = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                     intermediate_size=FFN, hidden_act="gelu", **common)
    if family == "bert":
        return transformers.BertConfig(**bert_like)
    if family == "roberta":
        # fairseq numbering: positions start at pad_token_id + 1, so the table has 2 more rows.
        bert_like["max_position_embeddings"] = MAX_POS + 2
        return transformers.RobertaConfig(type_vocab_size=1, pad_token_id=1, **bert_like)
    if family == "xlm-roberta":
        bert_like["max_position_embeddings"] = MAX_POS + 2
        return transformers.XLMRobertaConfig(type_vocab_size=1, pad_token_id=1, **bert_like)
    if family == "electra":
        return transformers.ElectraConfig(embedding_size=HIDDEN, **bert_like)
    if family == "electra-projected":
        return transformers.ElectraConfig(embedding_size=EMBEDDING_PROJECTED, **bert_like)
    raise ValueError(family)


TASK_CLASSES = {
    "bert": transformers.BertForSequenceClassification,
    "distilbert": transformers.DistilBertForSequenceClassification,
    "roberta": transformers.RobertaForSequenceClassification,
    "xlm-roberta": transformers.XLMRobertaForSequenceClassification,
    "electra": transformers.ElectraForSequenceClassification,
    "electra-projected": transformers.ElectraForSequenceClassification,  # keep last: new seeds only
}
SPECIAL = {  # (first, last) ids: [CLS]/[SEP] for BERT-style vocabularies, <s>/</s> otherwise
    "bert": (2, 3), "distilbert": (2, 3), "electra": (2, 3), "roberta": (0, 2), "xlm-roberta": (0, 2),
    "electra-projected": (2, 3),
}


WORDPIECE = {"bert", "distilbert", "electra", "electra-projected"}
SUBWORD_FILES = {  # files of make_subword_golden.py's tokenizer directories copied into task/
    "roberta": ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"],
    "xlm-roberta": ["sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"],
}
TEXTS = ["Tasty, but the bag arrived torn.", "not good at all!", "great taste", "Z"]


def synthetic_vocab():
    """VOCAB WordPiece tokens: the specials at ids 0..4 ([CLS] 2, [SEP] 3 as SPECIAL says),
    letters, ##letters, punctuation, then filler tokens."""
    v = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    v += [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    v += [".", ",", "!", "?", "'", "the", "good", "bad", "great", "tasty", "bag", "not", "at", "all", "taste"]
    v += [f"[unused{i}]" for i in range(VOCAB - len(v))]
    assert len(v) == VOCAB
    return v


def perturb_norms(model, rng):
    """Random LayerNorm gammas/betas and biases: HF initialises them to 1/0, which would leave
    a wrong gamma/beta mapping unseen."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith(".bias"):
                p.add_(torch.from_numpy(rng.normal(0.0, 0.1, size=tuple(p.shape)).astype(np.float32)))


def slow_tokenizer(family, task_dir):
    """HF's slow (reference) tokenizer of the family, from the files in task/."""
    if family in WORDPIECE:
        return transformers.BertTokenizer(os.path.join(task_dir, "vocab.txt"), do_lower_case=True)
    if family == "roberta":
        return transformers.RobertaTokenizer(os.path.join(task_dir, "vocab.json"),
                                             os.path.join(task_dir, "merges.txt"))
    return transformers.XLMRobertaTokenizer(os.path.join(task_dir, "sentencepiece.bpe.model"))


def vocab_size(family, tokenizers_dir):
    if family == "roberta":
        with open(os.path.join(tokenizers_dir, "roberta", "vocab.json"), encoding="utf-8") as f:
            return len(json.load(f))
    if family == "xlm-roberta":
        return len(transformers.XLMRobertaTokenizer(os.path.join(tokenizers_dir, "xlm-roberta",
                                                                 "sentencepiece.bpe.model")))
    return VOCAB


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--tokenizers-dir", default=os.path.join(HERE, "tokenizers"),
                    help="make_subword_golden.py's output (roberta/, xlm-roberta/)")
    args = ap.parse_args()
    for index, family in enumerate(TASK_CLASSES):
        vocab = vocab_size(family, args.tokenizers_dir)
        torch.manual_seed(SEED + index)
        rng = np.random.default_rng(SEED + index)
        task = TASK_CLASSES[family](config_for(family, vocab)).eval()
        perturb_norms(task, rng)
        base = task.base_model
        out = os.path.join(args.out_dir, family)
        shutil.rmtree(out, ignore_errors=True)
        task.save_pretrained(os.path.join(out, "task"), safe_serialization=True)
        base.save_pretrained(os.path.join(out, "bare"), safe_serialization=True)
        first, last = SPECIAL[family]
        seqs = [[first] + [int(x) for x in rng.integers(5, vocab, size=n)] + [last] for n in LENGTHS]
        blob = bytearray(MAGIC + struct.pack("<IIII", FORMAT_VERSION, len(seqs), LAYERS + 1, HIDDEN))
        logits = []
        with torch.no_grad():
            for ids in seqs:
                x = torch.tensor([ids])
                hs = base(input_ids=x, output_hidden_states=True).hidden_states
                assert len(hs) == LAYERS + 1
                if hasattr(base, "embeddings_project"):
                    # hidden_states[0] is the projection's output, not the embeddings' LayerNorm
                    emb = base.embeddings(input_ids=x)
                    assert emb.shape[-1] == EMBEDDING_PROJECTED and hs[0].shape[-1] == HIDDEN
                    assert torch.equal(hs[0], base.embeddings_project(emb))
                blob += struct.pack("<I", 0) + struct.pack("<I", len(ids)) + struct.pack(f"<{len(ids)}i", *ids)
                for h in hs:
                    blob += h[0].numpy().astype("<f4").tobytes()
                logits.append([float(v) for v in task(input_ids=x).logits[0]])
        task_dir = os.path.join(out, "task")
        if family in WORDPIECE:
            with open(os.path.join(task_dir, "vocab.txt"), "w") as f:
                f.write("\n".join(synthetic_vocab()) + "\n")
        else:
            for name in SUBWORD_FILES[family]:
                shutil.copyfile(os.path.join(args.tokenizers_dir, family, name), os.path.join(task_dir, name))
        tok = slow_tokenizer(family, task_dir)
        assert len(tok) == vocab, (family, len(tok), vocab)
        texts = []
        with torch.no_grad():
            for text in TEXTS:
                ids = tok(text)["input_ids"]
                assert len(ids) <= MAX_POS, (family, text, len(ids))
                z = task(input_ids=torch.tensor([ids])).logits[0]
                texts.append({"text": text, "ids": ids, "logits": [float(v) for v in z]})
        with open(os.path.join(out, "hidden.bin"), "wb") as f:
            f.write(blob)
        with open(os.path.join(out, "logits.json"), "w") as f:
            json.dump({"family": family, "transformers": transformers.__version__, "torch": torch.__version__,
                       "ids": seqs, "logits": logits, "texts": texts}, f)
        print(f"{family}: {out} (vocab {vocab}, {len(blob)} bytes of hidden states)")


if __name__ == "__main__":
    main()
