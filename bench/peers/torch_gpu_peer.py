#!/usr/bin/env python3
"""PyTorch GPU peer for scripts/gpu-check.sh: HF BertModel encoder forward in FP16 with random
weights, eager attention ("pytorch-eager") and SDPA ("pytorch-sdpa"), at batch x tokens shapes.

Each run: warm-up iterations, then every timed iteration alone between a pair of CUDA events
(torch.cuda.synchronize before and after); reports the median ms ("ms") and the mean
("ms_mean"). TFLOP/s use the project's formula (models/flops.h, encoder only, no head):
layers * batch * n * (2(4h^2 + 2hf) + 4nh).

Writes {"device", "torch", "transformers", "runs": [{"peer", "model", "batch", "tokens",
"dtype", "ms", "ms_mean", "tflops", ...}]} to --json and prints a short table to stdout.

Exit status: 0 all runs done; 1 some run failed (the others are still written);
2 cannot run here (no torch / transformers, or no CUDA device); 64 bad arguments.
--device cpu is a debug mode (fp32, perf_counter timing) for smoke-testing with tiny shapes.
"""
import argparse
import importlib
import json
import statistics
import sys
import time

# name -> (hidden, layers, heads, intermediate); vocab 30522, max_position 512, gelu for all.
MODELS = {
    "minilm-l6": (384, 6, 12, 1536),
    "bert-base": (768, 12, 12, 3072),
}
PEERS = {"eager": "pytorch-eager", "sdpa": "pytorch-sdpa"}


def forward_flops(hidden, layers, ffn, batch, n):
    # models/flops.h: per layer 2n(4h^2 + 2hf) + 4n^2 h, i.e. per token 2(4h^2 + 2hf) + 4nh.
    return layers * batch * n * (2 * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * n * hidden)


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        item = item.strip()
        try:
            batch, n = (int(x) for x in item.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad shape {item!r}: want BATCHxTOKENS, e.g. 32x128")
        if batch < 1 or not 1 <= n <= 512:
            raise argparse.ArgumentTypeError(f"bad shape {item!r}: batch >= 1, 1 <= tokens <= 512")
        shapes.append((batch, n))
    return shapes


def parse_list(allowed, what):
    def parse(text):
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(bad) or '(none)'}; "
                                             f"choose from {', '.join(allowed)}")
        return items
    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # 64 (EX_USAGE), so that 2 keeps meaning "cannot run here"
        self.print_usage(sys.stderr)
        self.exit(64, f"{self.prog}: error: {message}\n")


def parse_args(argv):
    ap = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    ap.add_argument("--models", type=parse_list(list(MODELS), "model"), default=list(MODELS),
                    help=f"comma list of {', '.join(MODELS)} (default: all)")
    ap.add_argument("--shapes", type=parse_shapes, default=parse_shapes("1x128,32x128,256x128"),
                    help="comma list of BATCHxTOKENS (default: 1x128,32x128,256x128)")
    ap.add_argument("--peers", type=parse_list(list(PEERS), "peer"), default=list(PEERS),
                    help="comma list of eager, sdpa: attention implementations (default: eager,sdpa)")
    ap.add_argument("--sdpa", action="store_true",
                    help="add the sdpa peer to --peers (a second peer set; already in the default)")
    ap.add_argument("--iters", type=int, default=30, help="timed iterations per run, >= 30 on GPU (default 30)")
    ap.add_argument("--warmup", type=int, default=10, help="warm-up iterations per run (default 10)")
    ap.add_argument("--seed", type=int, default=1234, help="seed for weights and token ids (default 1234)")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                    help="cuda (default, FP16); cpu is a debug mode: FP32, wall-clock timing")
    a = ap.parse_args(argv)
    if a.sdpa and "sdpa" not in a.peers:
        a.peers.append("sdpa")
    if a.iters < 1 or a.warmup < 0:
        ap.error("--iters must be >= 1 and --warmup >= 0")
    if a.device == "cuda" and a.iters < 30:
        print(f"warning: --iters {a.iters} < 30; the median is less stable", file=sys.stderr)
    return a


def import_or_exit(module, what):
    """Imports `module`, or says what this peer needs and exits 2 (cannot run here)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        print(f"torch_gpu_peer: cannot import {module} ({e}); this peer needs {what}", file=sys.stderr)
        sys.exit(2)


def build_model(torch, BertConfig, BertModel, name, impl, device, dtype, seed):
    hidden, layers, heads, ffn = MODELS[name]
    shape = dict(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                 intermediate_size=ffn, hidden_act="gelu", max_position_embeddings=512,
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    try:
        cfg = BertConfig(**shape, attn_implementation=impl)
    except TypeError:  # a transformers whose config does not take it as a keyword
        cfg = BertConfig(**shape)
        cfg._attn_implementation = impl
    torch.manual_seed(seed)
    model = BertModel(cfg, add_pooling_layer=False)
    actual = getattr(model.config, "_attn_implementation", None)
    if actual != impl and hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(impl)
        actual = getattr(model.config, "_attn_implementation", None)
    if actual != impl:
        raise RuntimeError(f"asked for attn_implementation={impl!r}, the model uses {actual!r}")
    model = model.to(dtype=dtype, device=device).eval()
    return model, actual


def time_forward(torch, model, ids, mask, device, warmup, iters):
    """Per-iteration times in ms."""
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(input_ids=ids, attention_mask=mask)
        if device == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            for _ in range(iters):
                torch.cuda.synchronize()
                start.record()
                model(input_ids=ids, attention_mask=mask)
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
        else:
            for _ in range(iters):
                t0 = time.perf_counter()
                model(input_ids=ids, attention_mask=mask)
                times.append((time.perf_counter() - t0) * 1e3)
    return times


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    torch = import_or_exit("torch", "PyTorch with CUDA and transformers")
    if a.device == "cuda":
        if not torch.cuda.is_available():
            print("torch_gpu_peer: no CUDA device visible to PyTorch "
                  f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); nothing measured. "
                  "--device cpu is a debug mode only.", file=sys.stderr)
            return 2
        device_name, dtype, dtype_tag = torch.cuda.get_device_name(), torch.float16, "fp16"
    else:
        import platform
        device_name, dtype, dtype_tag = f"cpu ({platform.processor() or platform.machine()})", torch.float32, "fp32"
    transformers = import_or_exit("transformers", "transformers (BertModel)")
    BertConfig, BertModel = transformers.BertConfig, transformers.BertModel

    result = {"device": device_name, "torch": torch.__version__, "transformers": transformers.__version__,
              "iters": a.iters, "warmup": a.warmup, "runs": []}
    failures = []
    print(f"# {device_name}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{dtype_tag}, median of {a.iters} (warm-up {a.warmup})", flush=True)
    print(f"{'peer':<14} {'model':<10} {'shape':>8} {'ms':>9} {'ms_mean':>9} {'TFLOP/s':>8}", flush=True)
    for name in a.models:
        hidden, layers, _, ffn = MODELS[name]
        for impl in a.peers:
            peer = PEERS[impl]
            try:
                model, actual = build_model(torch, BertConfig, BertModel, name, impl, a.device, dtype, a.seed)
            except Exception as e:  # an unsupported implementation in this transformers, OOM, ...
                msg = f"{peer} {name}: cannot build the model: {type(e).__name__}: {e}"
                print(f"torch_gpu_peer: {msg}", file=sys.stderr)
                failures.append(msg)
                continue
            gen = torch.Generator().manual_seed(a.seed)
            for batch, n in a.shapes:
                try:
                    ids = torch.randint(1000, 29000, (batch, n), generator=gen)
                    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP]
                    ids = ids.to(a.device)
                    mask = torch.ones(batch, n, dtype=torch.long, device=a.device)
                    times = time_forward(torch, model, ids, mask, a.device, a.warmup, a.iters)
                except Exception as e:
                    msg = f"{peer} {name} {batch}x{n}: {type(e).__name__}: {e}"
                    print(f"torch_gpu_peer: {msg}", file=sys.stderr)
                    failures.append(msg)
                    if a.device == "cuda":
                        torch.cuda.empty_cache()
                    continue
                ms, ms_mean = statistics.median(times), statistics.fmean(times)
                tflops = forward_flops(hidden, layers, ffn, batch, n) / (ms * 1e-3) / 1e12
                result["runs"].append({"peer": peer, "model": name, "batch": batch, "tokens": n,
                                       "dtype": dtype_tag, "ms": round(ms, 4), "ms_mean": round(ms_mean, 4),
                                       "ms_min": round(min(times), 4), "tflops": round(tflops, 3),
                                       "attn_implementation": actual})
                print(f"{peer:<14} {name:<10} {f'{batch}x{n}':>8} {ms:9.3f} {ms_mean:9.3f} {tflops:8.2f}",
                      flush=True)
            del model
            if a.device == "cuda":
                torch.cuda.empty_cache()
    if failures:
        result["errors"] = failures
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
