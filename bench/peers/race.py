"""The side-by-side race: Offramp (offramp-bench's Classify workloads, full depth and the
model's calibrated threshold) against ONNX Runtime and PyTorch eager on the same model and the
same tokenized inputs, interleaved round by round so machine noise hits all three alike.

  .cache/peers-venv/bin/python bench/peers/race.py --model out/fine_foods/model \
      --data data/fine_foods/test.tsv            (bench/peers/race.sh sets the venv up)

Peers run full depth (they have no early exit): the model's encoder and last exit head,
batches padded to their longest input. ONNX Runtime gets the model exported from the checkpoint
with torch.onnx, fused by onnxruntime.transformers' BERT optimizer, with every graph
optimisation on; PyTorch eager is offramp-torch-peer (LibTorch's C++ API). Offramp's times
include its tokenizer; the peers get token ids. Before timing, all three must give the same
full-depth predictions (logits within --tol). Prints the ratio table (peer time / Offramp
time) and writes it to OUT/race.md and OUT/race.json.

A Hugging Face *ForSequenceClassification checkpoint without offramp.json (any family Offramp
loads: bench/peers/make_family_models.py writes base-size ones) races at full depth only, against
ONNX Runtime (the export of AutoModelForSequenceClassification); PyTorch eager is then skipped,
as offramp-torch-peer runs Offramp model directories.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_logits import compare  # noqa: E402


class FullDepth(torch.nn.Module):
    """HF BertModel up to the last exit's layer + that exit head (pool, dense+tanh, classifier)."""

    def __init__(self, model_dir):
        super().__init__()
        from safetensors.torch import load_file
        from transformers import BertModel

        oc = json.load(open(f"{model_dir}/offramp.json"))
        last = oc["exits"][-1]
        self.bert = BertModel.from_pretrained(model_dir, add_pooling_layer=False).eval()
        self.bert.encoder.layer = self.bert.encoder.layer[: last["layer"]]
        heads = load_file(f"{model_dir}/exits.safetensors")
        i = len(oc["exits"]) - 1
        w = lambda name: heads[f"exits.{i}.{name}"]
        self.dense = torch.nn.Linear(*w("dense.weight").shape[::-1])
        self.classifier = torch.nn.Linear(*w("classifier.weight").shape[::-1])
        with torch.no_grad():
            self.dense.weight.copy_(w("dense.weight")), self.dense.bias.copy_(w("dense.bias"))
            self.classifier.weight.copy_(w("classifier.weight")), self.classifier.bias.copy_(w("classifier.bias"))
        self.mean = last["pooling"] == "mean"

    def forward(self, input_ids, attention_mask):
        x = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.to(x.dtype).unsqueeze(-1)
        pooled = (x * m).sum(1) / m.sum(1) if self.mean else x[:, 0]
        return self.classifier(torch.tanh(self.dense(pooled)))


class TaskCheckpoint(torch.nn.Module):
    """A *ForSequenceClassification checkpoint as HF runs it: encoder + its own head -> logits."""

    def __init__(self, model_dir):
        super().__init__()
        from transformers import AutoModelForSequenceClassification

        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def is_task_checkpoint(model_dir):
    return not Path(f"{model_dir}/offramp.json").exists()


def export_onnx(model_dir, out_dir):
    """Exports once per model (cached by the weights' mtime); returns the optimised model path."""
    cfg = json.load(open(f"{model_dir}/config.json"))
    task = is_task_checkpoint(model_dir)
    heads = f"{model_dir}/model.safetensors" if task else f"{model_dir}/exits.safetensors"
    stamp = f"{os.path.getmtime(f'{model_dir}/model.safetensors'):.0f}-{os.path.getmtime(heads):.0f}"
    raw, opt = out_dir / f"model-{stamp}.onnx", out_dir / f"model-{stamp}.opt.onnx"
    if opt.exists():
        return opt
    m = (TaskCheckpoint(model_dir) if task else FullDepth(model_dir)).eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    mask = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(m, (ids, mask), str(raw), input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch"}}, opset_version=14)
    from onnxruntime.transformers.optimizer import optimize_model
    # DistilBERT's config names differ; the BERT optimizer fuses every family raced here.
    optimized = optimize_model(str(raw), model_type="bert", num_heads=cfg.get("num_attention_heads", cfg.get("n_heads")),
                               hidden_size=cfg.get("hidden_size", cfg.get("dim")))
    print("ONNX Runtime BERT fusions:", optimized.get_fused_operator_statistics(), file=sys.stderr)
    optimized.save_model_to_file(str(opt))
    return opt


def padded_batches(ids, batch):
    out = []
    for b in range(0, len(ids), batch):
        chunk = ids[b:b + batch]
        T = max(len(x) for x in chunk)
        a = np.zeros((len(chunk), T), dtype=np.int64)
        m = np.zeros((len(chunk), T), dtype=np.int64)
        for i, x in enumerate(chunk):
            a[i, :len(x)], m[i, :len(x)] = x, 1
        out.append((a, m))
    return out


def ort_session(path, threads):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def time_ort(sess, batches, n_inputs, min_time):
    for a, m in batches:  # warm-up
        sess.run(None, {"input_ids": a, "attention_mask": m})
    passes, t0 = 0, time.perf_counter()
    while True:
        for a, m in batches:
            sess.run(None, {"input_ids": a, "attention_mask": m})
        passes += 1
        if time.perf_counter() - t0 >= min_time:
            break
    return 1e3 * (time.perf_counter() - t0) / (passes * n_inputs)


def time_offramp(args, batch, threads, full_only=False):
    """ms per input for full depth and the calibrated threshold, from offramp-bench."""
    settings = "full" if full_only else "(full|chosen|model)"
    cmd = [f"{args.bin}/offramp-bench", "--model", args.model, "--data", args.data, "--inputs", str(args.inputs),
           "--report", "", f"--benchmark_filter=^Classify/real/b{batch}/t{threads}/{settings}/cpu",
           f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    res = {}
    for b in out["benchmarks"]:
        setting = b["name"].split("/")[4]
        res["full" if setting == "full" else "exits"] = {"ms": 1e3 / b["inputs_per_s"], "accuracy": b.get("accuracy"),
                                                         "relative_flops": b["relative_flops"]}
    return res


def time_torch(args, ids_path, batch, threads, logits=None):
    cmd = [f"{args.bin}/offramp-torch-peer", args.model, str(ids_path), "--batch-size", str(batch), "--threads", str(threads),
           "--min-time", str(args.min_time)] + (["--logits", str(logits)] if logits else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["ms_per_input"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="fine-tuned Offramp model directory (calibrated)")
    ap.add_argument("--data", required=True, help="labelled TSV; the first --inputs texts are used")
    ap.add_argument("--inputs", type=int, default=256)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per timed run")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest allowed |logit difference| at full depth")
    ap.add_argument("--bin", default="build/cpu/bin")
    ap.add_argument("--out", default="out/race")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = is_task_checkpoint(args.model)
    oc = {} if task else json.load(open(f"{args.model}/offramp.json"))
    max_length = str(oc.get("max_length") or 512)
    peers = ("ort",) if task else ("ort", "torch")

    # The same inputs for everyone: the first N lines, tokenized once by Offramp's tokenizer.
    lines = [l for l in open(args.data, encoding="utf-8", errors="replace").read().splitlines() if l.strip()][: args.inputs]
    subset = out / "inputs.tsv"
    subset.write_text("\n".join(lines) + "\n")
    ids_path = out / "ids.txt"
    with open(ids_path, "w") as f:
        subprocess.run([f"{args.bin}/offramp", "tokenize", args.model, str(subset), "--tsv", "--format", "ids",
                        "--max-length", max_length], check=True, stdout=f)
    ids = [[int(t) for t in l.split()] for l in open(ids_path)]

    # Equality first: full-depth logits of all three.
    with open(out / "offramp-logits.jsonl", "w") as f:
        subprocess.run([f"{args.bin}/offramp", "classify", args.model, str(subset), "--threshold", "2", "--logits"],
                       check=True, stdout=f, stderr=subprocess.DEVNULL)
    onnx_path = export_onnx(args.model, out)
    sess = ort_session(onnx_path, 2)
    with open(out / "ort-logits.jsonl", "w") as f:
        for a, m in padded_batches(ids, 32):
            for row in sess.run(None, {"input_ids": a, "attention_mask": m})[0]:
                f.write(json.dumps({"logits": [float(v) for v in row]}) + "\n")
    if "torch" in peers:
        time_torch(argparse.Namespace(**{**vars(args), "min_time": 0}), ids_path, 32, 2, out / "torch-logits.jsonl")
    offramp_logits = [json.loads(l)["logits"] for l in open(out / "offramp-logits.jsonl")]
    checks = {}
    for peer in peers:
        peer_logits = [json.loads(l)["logits"] for l in open(out / f"{peer}-logits.jsonl")]
        ok, msg = compare(offramp_logits, peer_logits, args.tol)
        checks[peer] = msg
        print(f"full-depth predictions, Offramp vs {peer}: {'same' if ok else 'DIFFERENT'}: {msg}")
        if not ok:
            sys.exit(f"race.py: {peer} and Offramp disagree beyond --tol {args.tol:g}; not timing a different model")

    configs = [(b, t) for t in map(int, args.threads.split(",")) for b in map(int, args.batches.split(","))]
    samples = {c: {"offramp_full": [], "offramp_exits": [], "ort": [], **({"torch": []} if "torch" in peers else {})}
               for c in configs}
    meta = {}
    for r in range(args.rounds):
        for (b, t) in configs:
            o = time_offramp(args, b, t, full_only=task)
            meta[(b, t)] = o
            samples[(b, t)]["offramp_full"].append(o["full"]["ms"])
            if not task:
                samples[(b, t)]["offramp_exits"].append(o["exits"]["ms"])
            samples[(b, t)]["ort"].append(time_ort(ort_session(onnx_path, t), padded_batches(ids, b), len(ids), args.min_time))
            if "torch" in peers:
                samples[(b, t)]["torch"].append(time_torch(args, ids_path, b, t))
            print(f"round {r + 1}/{args.rounds} batch {b} threads {t}: " +
                  ", ".join(f"{k} {v[-1]:.3f} ms/input" for k, v in samples[(b, t)].items() if v), file=sys.stderr)

    if task:
        return report_task(args, ids, configs, samples, meta, checks, out)
    rows = []
    md = [f"Race on {platform.node()} ({platform.processor() or platform.machine()}), {time.strftime('%Y-%m-%d')}: "
          f"{len(ids)} texts of {args.data}, model {args.model}; median of {args.rounds} interleaved rounds, "
          f"ms per input. onnxruntime {ort.__version__}, torch (LibTorch C++) for the eager peer.", "",
          "| batch | threads | Offramp full | Offramp exits (rel. FLOPs) | ONNX Runtime | PyTorch eager | ORT / Offramp full | "
          "PyTorch / Offramp full | Offramp full / exits | ORT / Offramp exits |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for (b, t) in configs:
        med = {k: statistics.median(v) for k, v in samples[(b, t)].items()}
        row = {"batch": b, "threads": t, **{f"{k}_ms_per_input": v for k, v in med.items()},
               "exits_relative_flops": meta[(b, t)]["exits"]["relative_flops"],
               "exits_accuracy": meta[(b, t)]["exits"]["accuracy"], "full_accuracy": meta[(b, t)]["full"]["accuracy"],
               "ort_over_offramp_full": med["ort"] / med["offramp_full"],
               "torch_over_offramp_full": med["torch"] / med["offramp_full"],
               "offramp_full_over_exits": med["offramp_full"] / med["offramp_exits"],
               "ort_over_offramp_exits": med["ort"] / med["offramp_exits"], "samples": samples[(b, t)]}
        rows.append(row)
        md.append(f"| {b} | {t} | {med['offramp_full']:.3f} | {med['offramp_exits']:.3f} ({row['exits_relative_flops']:.3f}) | "
                  f"{med['ort']:.3f} | {med['torch']:.3f} | {row['ort_over_offramp_full']:.2f}x | "
                  f"{row['torch_over_offramp_full']:.2f}x | {row['offramp_full_over_exits']:.2f}x | "
                  f"{row['ort_over_offramp_exits']:.2f}x |")
    md += ["", f"Full-depth predictions: Offramp vs ONNX Runtime: {checks['ort']}; vs PyTorch: {checks['torch']}."]
    write_report(out, md, {"rows": rows, "checks": checks, "inputs": len(ids), "model": args.model, "data": args.data})


def write_report(out, md_lines, obj):
    text = "\n".join(md_lines) + "\n"
    print(text)
    (out / "race.md").write_text(text)
    json.dump(obj, open(out / "race.json", "w"), indent=1)


def report_task(args, ids, configs, samples, meta, checks, out):
    """A task checkpoint's race: full depth, Offramp against ONNX Runtime."""
    cfg = json.load(open(f"{args.model}/config.json"))
    tokens = sum(len(x) for x in ids) / len(ids)
    md = [f"Race on {platform.node()} ({platform.processor() or platform.machine()}), {time.strftime('%Y-%m-%d')}: "
          f"{len(ids)} texts of {args.data} ({tokens:.1f} tokens each on average), {cfg.get('model_type')} "
          f"checkpoint {args.model} at full depth with its own head; median of {args.rounds} interleaved rounds, "
          f"ms per input. onnxruntime {ort.__version__}.", "",
          "| batch | threads | Offramp | ONNX Runtime | ORT / Offramp |", "|---|---|---|---|---|"]
    rows = []
    for (b, t) in configs:
        med = {k: statistics.median(v) for k, v in samples[(b, t)].items() if v}
        row = {"batch": b, "threads": t, "offramp_full_ms_per_input": med["offramp_full"], "ort_ms_per_input": med["ort"],
               "ort_over_offramp_full": med["ort"] / med["offramp_full"], "samples": samples[(b, t)]}
        rows.append(row)
        md.append(f"| {b} | {t} | {med['offramp_full']:.3f} | {med['ort']:.3f} | {row['ort_over_offramp_full']:.2f}x |")
    md += ["", f"Full-depth predictions: Offramp vs ONNX Runtime: {checks['ort']}."]
    write_report(out, md, {"rows": rows, "checks": checks, "inputs": len(ids), "model": args.model, "data": args.data})


if __name__ == "__main__":
    main()
