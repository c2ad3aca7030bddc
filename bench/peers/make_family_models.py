"""Random base-size *ForSequenceClassification checkpoints of every family Offramp loads, for
the per-family speed rows of bench/RESULTS.md (race.py --model DIR on each). Speed does not
depend on the weights, so random ones serve, and no model download is needed.

  .cache/peers-venv/bin/python bench/peers/make_family_models.py --out .cache/family-models

Shapes are the public base checkpoints' (bert-base-uncased, distilbert-base-uncased,
roberta-base, xlm-roberta-base, electra-small-discriminator), except the vocabulary: BERT,
DistilBERT and ELECTRA use all-MiniLM-L6-v2's uncased WordPiece vocab.txt (30,522, from
scripts/fetch-minilm.sh); RoBERTa and XLM-R use the small tokenizers trained on data/ for the
tokenizer golden tests (tests/golden/tokenizers, 1,000 and 1,002 ids), so their texts come out
about twice as long in tokens as with the real 50k/250k vocabularies. Writes OUT/<family>/
(config.json, model.safetensors, tokenizer files); an existing directory is kept.
"""
import argparse
import shutil
import subprocess
from pathlib import Path

import torch
import transformers

ROOT = Path(__file__).resolve().parents[2]
LABELS = {0: "other", 1: "great"}


def configs(wordpiece_vocab):
    common = dict(id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    bert = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, **common)
    return {
        "bert": (transformers.BertConfig(vocab_size=wordpiece_vocab, **bert), transformers.BertForSequenceClassification),
        "distilbert": (transformers.DistilBertConfig(vocab_size=wordpiece_vocab, **common),
                       transformers.DistilBertForSequenceClassification),
        "roberta": (transformers.RobertaConfig(vocab_size=1000, max_position_embeddings=514, type_vocab_size=1,
                                               pad_token_id=1, **bert), transformers.RobertaForSequenceClassification),
        "xlm-roberta": (transformers.XLMRobertaConfig(vocab_size=1002, max_position_embeddings=514, type_vocab_size=1,
                                                      pad_token_id=1, **bert),
                        transformers.XLMRobertaForSequenceClassification),
        "electra": (transformers.ElectraConfig(vocab_size=wordpiece_vocab, embedding_size=128, hidden_size=256,
                                               num_hidden_layers=12, num_attention_heads=4, intermediate_size=1024,
                                               **common), transformers.ElectraForSequenceClassification),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / ".cache/family-models"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    minilm = Path(subprocess.run([str(ROOT / "scripts/fetch-minilm.sh")], check=True, capture_output=True,
                                 text=True).stdout.strip())
    vocab_lines = (minilm / "vocab.txt").read_text(encoding="utf-8").splitlines()
    for i, (family, (cfg, cls)) in enumerate(configs(len(vocab_lines)).items()):
        out = Path(args.out) / family
        if (out / "model.safetensors").exists():
            print(f"{out}: exists, kept")
            continue
        torch.manual_seed(args.seed + i)
        model = cls(cfg).eval()
        model.save_pretrained(out, safe_serialization=True)
        if family in ("roberta", "xlm-roberta"):
            for f in (ROOT / "tests/golden/tokenizers" / family).iterdir():
                if not f.name.endswith(".jsonl"):
                    shutil.copy(f, out / f.name)
        else:
            for name in ("vocab.txt", "tokenizer_config.json"):
                shutil.copy(minilm / name, out / name)
        n = sum(p.numel() for p in model.parameters())
        print(f"{out}: {family}, {n / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()
