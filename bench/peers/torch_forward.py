#!/usr/bin/env python3
"""PyTorch eager peer: full-depth HF BertModel forward of a checkpoint at batch x length
shapes and thread counts, timed like offramp-bench's BM_Forward (random ids, fp32, no padding).
Prints one JSON line per shape: {"batch", "len", "threads", "ms", "gflops"}.
Needs torch + transformers (tests/golden/regenerate.sh builds that venv: .cache/golden-venv).
"""
import argparse, json, time

import torch
from transformers import AutoModel


def flops(cfg, batch, n):
    # Same formula as models/flops.h: per layer 2n(4h^2 + 2hf) + 4n^2 h.
    h, f = cfg.hidden_size, cfg.intermediate_size
    return batch * cfg.num_hidden_layers * (2 * n * (4 * h * h + 2 * h * f) + 4 * n * n * h)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--shapes", default="1x64,32x128")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per shape")
    a = ap.parse_args()
    model = AutoModel.from_pretrained(a.model).eval()
    g = torch.Generator().manual_seed(42)
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        for shape in a.shapes.split(","):
            batch, n = (int(x) for x in shape.split("x"))
            ids = torch.randint(1000, 29000, (batch, n), generator=g)
            ids[:, 0] = 101
            with torch.inference_mode():
                model(input_ids=ids)  # warm-up
                iters, start = 0, time.perf_counter()
                while time.perf_counter() - start < a.min_time or iters < 2:
                    model(input_ids=ids)
                    iters += 1
                ms = (time.perf_counter() - start) / iters * 1e3
            print(json.dumps({"peer": "pytorch-eager", "torch": torch.__version__, "batch": batch, "len": n,
                              "threads": threads, "ms": round(ms, 3),
                              "gflops": round(flops(model.config, batch, n) / ms * 1e-6, 1)}), flush=True)


if __name__ == "__main__":
    main()
