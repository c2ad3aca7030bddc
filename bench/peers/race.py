"""The side-by-side race: Offramp (offramp-bench's Classify workloads, full depth and the
model's calibrated threshold, at FP32, INT8 and BF16) against ONNX Runtime (FP32 and INT8),
PyTorch eager and CTranslate2 (FP32 and INT8) on the same model, the same token ids and the same
thread counts, interleaved round by round so machine noise hits all of them alike.

  bench/peers/race.sh --model out/fine_foods/model --data data/fine_foods/test.tsv
  (or .cache/peers-venv/bin/python bench/peers/race.py ... once race.sh has set the venv up)

Peers run full depth (they have no early exit): the model's encoder and last exit head,
batches padded to their longest input.
  ONNX Runtime FP32: the model exported from the checkpoint with torch.onnx, fused by
    onnxruntime.transformers' BERT optimizer, every graph optimisation on.
  ONNX Runtime INT8: that fused model through onnxruntime.quantization.quantize_dynamic
    (per-channel QInt8 weights, activations quantized on the fly).
  PyTorch eager: offramp-torch-peer (LibTorch's C++ API), FP32.
  CTranslate2 FP32 / INT8: the same HF checkpoint through ctranslate2's TransformersConverter,
    run by ctranslate2.Encoder (compute_type float32 / int8) on the token ids; the exit head
    (pooling, dense+tanh, classifier) runs in numpy on its last hidden state (see Ct2Head).
  Offramp INT8 / BF16: offramp-bench's cpu-int8 / cpu-bf16 devices (`--precision int8|bf16`);
    a precision this CPU cannot run is skipped with the reason.
Offramp's times include its tokenizer; the peers get token ids. Before timing, every FP32 peer
must give Offramp FP32's full-depth predictions (logits within --tol); the INT8/BF16 engines
only report their max |logit difference| from Offramp FP32 and how many predictions differ.
Every engine's full-depth accuracy (its own logits' argmax against the TSV's labels) is reported
beside its speed. Prints the table (ms per input, and each time over Offramp FP32's full-depth
time) and writes it to OUT/race.md and OUT/race.json.

A Hugging Face *ForSequenceClassification checkpoint without offramp.json (any family Offramp
loads: bench/peers/make_family_models.py writes base-size ones) races at full depth only, against
ONNX Runtime (the export of AutoModelForSequenceClassification) and, for BERT, CTranslate2 (its
pooler output and the checkpoint's classifier); PyTorch eager is then skipped, as
offramp-torch-peer runs Offramp model directories.
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

# numpy's BLAS only runs CTranslate2's small classification head (and ORT's input arrays); keep
# it from spawning a thread per core beside the engines' own --threads pools.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_logits import compare  # noqa: E402

ENGINE_NAMES = {"offramp": "Offramp", "ort": "ONNX Runtime", "torch": "PyTorch eager", "ct2": "CTranslate2"}
BENCH_DEVICE = {"fp32": "cpu", "int8": "cpu-int8", "bf16": "cpu-bf16"}  # offramp-bench --devices


def key_of(engine, precision, depth="full"):
    """Timing/logits key: offramp_full, offramp_int8_exits, ort, ort_int8, torch, ct2, ct2_int8."""
    if engine == "offramp":
        return "offramp_" + ("" if precision == "fp32" else precision + "_") + depth
    return engine + ("" if precision == "fp32" else "_" + precision)


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


def model_stamp(model_dir):
    """Names the cached ONNX export and CTranslate2 conversion of a model: the weights' mtimes,
    and offramp.json's (which picks the last exit, so the depth and the head)."""
    files = ["model.safetensors"] + ([] if is_task_checkpoint(model_dir) else ["exits.safetensors", "offramp.json"])
    return "-".join(f"{os.path.getmtime(f'{model_dir}/{f}'):.0f}" for f in files)


def export_onnx(model_dir, out_dir):
    """Exports once per model (cached by the weights' mtime); returns the optimised model path."""
    cfg = json.load(open(f"{model_dir}/config.json"))
    task = is_task_checkpoint(model_dir)
    stamp = model_stamp(model_dir)
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


def quantize_onnx(opt_path):
    """ONNX Runtime INT8: dynamic quantization of the fused model (cached beside it)."""
    q = opt_path.with_name(opt_path.name.replace(".opt.onnx", ".opt.int8.onnx"))
    if q.exists():
        return q
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    tmp = q.with_name(q.name + ".tmp")
    # Per-channel QInt8 weights; ORT's uint8 activations x int8 weights can saturate on CPUs
    # without VNNI (reduce_range is ORT's remedy): the accuracy and logit-difference columns
    # show any effect. ONNX shape inference cannot type the outputs of the fused contrib ops
    # (Attention, SkipLayerNormalization, ...), so the quantizer is told untyped tensors are float.
    quantize_dynamic(str(opt_path), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    tmp.rename(q)
    return q


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


def time_passes(one_pass, n_inputs, min_time):
    """ms per input: one warm-up pass, then whole passes over the inputs for at least min_time."""
    one_pass()
    passes, t0 = 0, time.perf_counter()
    while True:
        one_pass()
        passes += 1
        if time.perf_counter() - t0 >= min_time:
            break
    return 1e3 * (time.perf_counter() - t0) / (passes * n_inputs)


def ort_logits(sess, batches):
    return [row for a, m in batches for row in sess.run(None, {"input_ids": a, "attention_mask": m})[0]]


def time_ort(sess, batches, n_inputs, min_time):
    def one_pass():
        for a, m in batches:
            sess.run(None, {"input_ids": a, "attention_mask": m})
    return time_passes(one_pass, n_inputs, min_time)


# --- CTranslate2 --------------------------------------------------------------------------------

class Skip(Exception):
    """An engine or precision this model or machine cannot race; the message says why."""


class Ct2Head:
    """The classification head on CTranslate2's encoder output, in numpy (float32).

    CTranslate2's Encoder returns the encoder's last hidden state and, for BERT, the BERT
    pooler's output (tanh(dense(h[CLS])) with the checkpoint's `pooler.*` weights); it has no
    classification head of its own. An Offramp model's final exit head is not the BERT pooler:
    it pools the last exit layer's hidden states (mean over the real tokens, or [CLS], as
    offramp.json says), then applies its own dense+tanh and classifier from exits.safetensors.
    CTranslate2's pooler_output is therefore unused here (an Offramp checkpoint need not even
    carry pooler weights: out/ff1's has none, and transformers initialises them at random when
    the converter loads BertModel, which is harmless). That head is a few
    matrix products, so it is reproduced exactly here on last_hidden_state, padding masked by
    the lengths; the encoder is converted with num_hidden_layers = the last exit's layer. A
    BERT *ForSequenceClassification checkpoint's head is the BERT pooler + `classifier`, so
    there pooler_output is used and only the classifier runs in numpy."""

    def __init__(self, model_dir, task):
        from safetensors.numpy import load_file
        if task:
            w = load_file(f"{model_dir}/model.safetensors")
            self.dense = None
            self.cls_w, self.cls_b = w["classifier.weight"].T.copy(), w["classifier.bias"]
            return
        oc = json.load(open(f"{model_dir}/offramp.json"))
        i = len(oc["exits"]) - 1
        w = load_file(f"{model_dir}/exits.safetensors")
        g = lambda name: w[f"exits.{i}.{name}"].astype(np.float32)
        self.dense = (g("dense.weight").T.copy(), g("dense.bias"))
        self.cls_w, self.cls_b = g("classifier.weight").T.copy(), g("classifier.bias")
        self.mean = oc["exits"][-1]["pooling"] == "mean"

    def __call__(self, out, mask):
        """out: ctranslate2.EncoderForwardOutput of a padded batch; mask: [batch, T] float32."""
        if self.dense is None:
            h = np.asarray(out.pooler_output)
        else:
            x = np.asarray(out.last_hidden_state)
            if self.mean:
                pooled = np.einsum("bth,bt->bh", x, mask) / mask.sum(1, keepdims=True)
            else:
                pooled = x[:, 0]
            h = np.tanh(pooled @ self.dense[0] + self.dense[1])
        return h @ self.cls_w + self.cls_b


def ct2_convert(model_dir, out_dir, stamp, task):
    """Converts the HF checkpoint once per model (cached like the ONNX export); returns its dir."""
    import ctranslate2

    cfg = json.load(open(f"{model_dir}/config.json"))
    if cfg.get("model_type") != "bert":
        raise Skip(f"model_type {cfg.get('model_type')!r}: the CTranslate2 peer is wired for BERT only "
                   "(its exit-head / pooler+classifier reproduction)")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise Skip("CTranslate2's BERT converter needs absolute position embeddings")
    dst = out_dir / f"ct2-{stamp}"
    if (dst / "model.bin").exists():
        return dst
    src = Path(model_dir).resolve()
    if not task:
        last = json.load(open(f"{model_dir}/offramp.json"))["exits"][-1]["layer"]
        if last != cfg["num_hidden_layers"]:
            # The full-depth model stops at the last exit's layer: convert a view of the
            # checkpoint whose config has that many layers (transformers skips the rest).
            src = out_dir / f"ct2-src-{stamp}"
            src.mkdir(exist_ok=True)
            for f in Path(model_dir).resolve().iterdir():
                if f.name != "config.json" and not (src / f.name).exists():
                    (src / f.name).symlink_to(f)
            (src / "config.json").write_text(json.dumps({**cfg, "num_hidden_layers": last}, indent=1))

    class Converter(ctranslate2.converters.TransformersConverter):
        # ctranslate2 4.8 passes from_pretrained(dtype=...), the keyword of transformers >= 4.56;
        # transformers 4.40 (pinned for Debian's torch 1.13) knows it as torch_dtype.
        def load_model(self, model_class, path, **kwargs):
            kwargs.pop("dtype", None)
            return model_class.from_pretrained(path, torch_dtype=torch.float32, **kwargs)

    print(f"CTranslate2: converting {src} (any 'pooler' weights transformers reports as newly "
          "initialized are unused by the race)", file=sys.stderr)
    tmp = out_dir / f"ct2-{stamp}.tmp"
    Converter(str(src)).convert(str(tmp), force=True)  # float32 weights; int8 is quantized at load
    tmp.rename(dst)
    return dst


def ct2_encoder(path, compute_type, threads):
    import ctranslate2
    return ctranslate2.Encoder(str(path), device="cpu", compute_type=compute_type, inter_threads=1,
                               intra_threads=threads)


def ct2_batches(ids, batch):
    """Padded int32 token ids and lengths as StorageViews (built once, as ORT's arrays are)."""
    import ctranslate2
    out = []
    for a, m in padded_batches(ids, batch):
        a32, lengths = a.astype(np.int32), m.sum(1).astype(np.int32)
        # StorageView.from_array shares the arrays' memory: they are kept alive beside it.
        out.append((ctranslate2.StorageView.from_array(a32), ctranslate2.StorageView.from_array(lengths),
                    m.astype(np.float32), (a32, lengths)))
    return out


def ct2_logits(enc, head, batches):
    return [row for a, lengths, m, _ in batches for row in head(enc.forward_batch(a, lengths), m)]


def time_ct2(enc, head, batches, n_inputs, min_time):
    def one_pass():
        for a, lengths, m, _ in batches:
            head(enc.forward_batch(a, lengths), m)
    return time_passes(one_pass, n_inputs, min_time)


# --- Offramp and PyTorch ------------------------------------------------------------------------

def time_offramp(args, batch, threads, precisions, full_only=False):
    """ms per input, accuracy and relative FLOPs from offramp-bench, per precision: full depth
    and (unless full_only) the calibrated threshold, one offramp-bench run for all precisions."""
    settings = "full" if full_only else "(full|chosen|model)"
    devices = [BENCH_DEVICE[p] for p in precisions]
    cmd = [f"{args.bin}/offramp-bench", "--model", args.model, "--data", args.data, "--inputs", str(args.inputs),
           "--batches", str(batch), "--threads", str(threads), "--devices", ",".join(devices), "--report", "",
           f"--benchmark_filter=^Classify/real/b{batch}/t{threads}/{settings}/({'|'.join(devices)})(/|$)",
           f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    precision_of = {d: p for p, d in BENCH_DEVICE.items()}
    res = {p: {} for p in precisions}
    for b in out["benchmarks"]:
        parts = b["name"].split("/")  # Classify/real/b<B>/t<T>/<setting>/<device>/real_time
        res[precision_of[parts[5]]]["full" if parts[4] == "full" else "exits"] = {
            "ms": 1e3 / b["inputs_per_s"], "accuracy": b.get("accuracy"), "relative_flops": b["relative_flops"]}
    for p in precisions:
        for depth in ("full",) if full_only else ("full", "exits"):
            if depth not in res[p]:
                sys.exit(f"race.py: offramp-bench ran no {depth} workload for {BENCH_DEVICE[p]} ({' '.join(cmd)})")
    return res


def time_torch(args, ids_path, batch, threads, logits=None):
    cmd = [f"{args.bin}/offramp-torch-peer", args.model, str(ids_path), "--batch-size", str(batch), "--threads", str(threads),
           "--min-time", str(args.min_time)] + (["--logits", str(logits)] if logits else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["ms_per_input"]


def offramp_logits(args, subset, precision, path):
    """offramp classify at full depth on the CPU; raises Skip with Offramp's reason when this
    CPU cannot run the precision (FP32 must run)."""
    cmd = [f"{args.bin}/offramp", "classify", args.model, str(subset), "--full-depth", "--logits",
           "--device", "cpu", "--precision", precision]
    with open(path, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        if precision == "fp32":
            sys.exit(f"race.py: {' '.join(cmd)} failed: {why}")
        Path(path).unlink()
        raise Skip(why)
    return [json.loads(l)["logits"] for l in open(path)]


def write_logits(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps({"logits": [float(v) for v in row]}) + "\n")
    return [[float(v) for v in row] for row in rows]


def logit_stats(ref, other):
    """max |difference| over all logits, and how many argmaxes differ."""
    a, b = np.asarray(ref, dtype=np.float64), np.asarray(other, dtype=np.float64)
    return float(np.abs(a - b).max()), int((a.argmax(1) != b.argmax(1)).sum())


def accuracy(logits, gold):
    return float(np.mean(np.asarray(logits).argmax(1) == np.asarray(gold)))


# --- The race -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="fine-tuned Offramp model directory (calibrated)")
    ap.add_argument("--data", required=True, help="labelled TSV; the first --inputs texts are used")
    ap.add_argument("--inputs", type=int, default=256)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds per timed run")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest allowed |logit difference| at full depth (FP32 peers)")
    ap.add_argument("--precisions", default="fp32,int8,bf16",
                    help="precisions raced besides FP32 (Offramp int8/bf16, ONNX Runtime and CTranslate2 int8)")
    ap.add_argument("--peers", default="ort,torch,ct2", help="peers raced against Offramp: ort, torch, ct2")
    ap.add_argument("--bin", default="build/cpu/bin")
    ap.add_argument("--out", default="out/race")
    args = ap.parse_args()
    precisions = ["fp32"] + [p for p in args.precisions.split(",") if p and p != "fp32"]
    peers = [p for p in args.peers.split(",") if p]
    for p in precisions:
        if p not in BENCH_DEVICE:
            ap.error(f"--precisions: '{p}' is not fp32, int8 or bf16")
    for p in peers:
        if p not in ENGINE_NAMES or p == "offramp":
            ap.error(f"--peers: '{p}' is not ort, torch or ct2")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = is_task_checkpoint(args.model)
    oc = {} if task else json.load(open(f"{args.model}/offramp.json"))
    max_length = str(oc.get("max_length") or 512)
    skipped = {}  # key -> why it is not raced
    if task and "torch" in peers:
        peers.remove("torch")
        skipped["torch"] = "offramp-torch-peer runs Offramp model directories, not task checkpoints"

    # The same inputs for everyone: the first N lines, tokenized once by Offramp's tokenizer.
    lines = [l for l in open(args.data, encoding="utf-8", errors="replace").read().splitlines() if l.strip()][: args.inputs]
    subset = out / "inputs.tsv"
    subset.write_text("\n".join(lines) + "\n")
    ids_path = out / "ids.txt"
    with open(ids_path, "w") as f:
        subprocess.run([f"{args.bin}/offramp", "tokenize", args.model, str(subset), "--tsv", "--format", "ids",
                        "--max-length", max_length], check=True, stdout=f)
    ids = [[int(t) for t in l.split()] for l in open(ids_path)]
    info = json.loads(subprocess.run([f"{args.bin}/offramp", "info", "--json", args.model], check=True,
                                     capture_output=True, text=True).stdout)
    labels = info["labels"]
    gold = []
    for n, l in enumerate(lines, 1):
        label = l.split("\t", 1)[0]
        if label not in labels:
            sys.exit(f"race.py: {args.data}:{n}: label '{label}' is not one of the model's ({', '.join(labels)})")
        gold.append(labels.index(label))

    # Full-depth logits of every engine and precision, before any timing.
    logits = {}
    offramp_precisions = []
    for p in precisions:
        key = key_of("offramp", p)
        try:
            logits[key] = offramp_logits(args, subset, p, out / f"offramp{'' if p == 'fp32' else '-' + p}-logits.jsonl")
            offramp_precisions.append(p)
        except Skip as e:
            skipped[key] = f"Offramp --precision {p}: {e}"
            if not task:
                skipped[key_of("offramp", p, "exits")] = skipped[key]
            print(f"race.py: skipping Offramp {p.upper()}: {e}", file=sys.stderr)
    stamp = model_stamp(args.model)
    onnx = {}
    if "ort" in peers:
        onnx["fp32"] = export_onnx(args.model, out)
        if "int8" in precisions:
            onnx["int8"] = quantize_onnx(onnx["fp32"])
        for p, path in onnx.items():
            logits[key_of("ort", p)] = write_logits(out / f"ort{'' if p == 'fp32' else '-' + p}-logits.jsonl",
                                                    ort_logits(ort_session(path, 2), padded_batches(ids, 32)))
    if "torch" in peers:
        time_torch(argparse.Namespace(**{**vars(args), "min_time": 0}), ids_path, 32, 2, out / "torch-logits.jsonl")
        logits["torch"] = [json.loads(l)["logits"] for l in open(out / "torch-logits.jsonl")]
    ct2 = {}  # precision -> compute_type
    if "ct2" in peers:
        try:
            ct2_dir = ct2_convert(args.model, out, stamp, task)
            ct2_head = Ct2Head(args.model, task)
            ct2 = {p: {"fp32": "float32", "int8": "int8"}[p] for p in precisions if p in ("fp32", "int8")}
        except Skip as e:
            for p in precisions:
                if p != "bf16":
                    skipped[key_of("ct2", p)] = f"CTranslate2: {e}"
            print(f"race.py: skipping CTranslate2: {e}", file=sys.stderr)
        for p, compute_type in ct2.items():
            enc = ct2_encoder(ct2_dir, compute_type, 2)
            logits[key_of("ct2", p)] = write_logits(out / f"ct2{'' if p == 'fp32' else '-' + p}-logits.jsonl",
                                                    ct2_logits(enc, ct2_head, ct2_batches(ids, 32)))
            del enc

    # FP32 peers must agree with Offramp FP32 (else they run a different model); the lower
    # precisions only report how far they are from it.
    ref = logits["offramp_full"]
    checks, quality = {}, {}
    for key, z in logits.items():
        max_diff, flips = logit_stats(ref, z)
        quality[key] = {"full_depth_accuracy": accuracy(z, gold), "max_abs_logit_diff_vs_offramp_fp32": max_diff,
                        "different_predictions_vs_offramp_fp32": flips}
        if key == "offramp_full":
            continue
        fp32 = describe(key)[1] == "FP32"
        ok, msg = compare(ref, z, args.tol if fp32 else float("inf"))
        checks[key] = msg
        if fp32:
            print(f"full-depth predictions, Offramp FP32 vs {key}: {'same' if ok else 'DIFFERENT'}: {msg}")
            if not ok:
                sys.exit(f"race.py: {key} and Offramp disagree beyond --tol {args.tol:g}; not timing a different model")
        else:
            print(f"full-depth logits, Offramp FP32 vs {key}: {msg} (reported, not checked)")

    configs = [(b, t) for t in map(int, args.threads.split(",")) for b in map(int, args.batches.split(","))]
    timed = [key_of("offramp", p, d) for p in offramp_precisions for d in (("full",) if task else ("full", "exits"))]
    timed += [key_of("ort", p) for p in onnx] + (["torch"] if "torch" in peers else []) + [key_of("ct2", p) for p in ct2]
    samples = {c: {k: [] for k in timed} for c in configs}
    meta = {}
    for r in range(args.rounds):
        for (b, t) in configs:
            s = samples[(b, t)]
            o = time_offramp(args, b, t, offramp_precisions, full_only=task)
            meta[(b, t)] = o
            for p, res in o.items():
                for depth, v in res.items():
                    s[key_of("offramp", p, depth)].append(v["ms"])
            for p, path in onnx.items():
                s[key_of("ort", p)].append(time_ort(ort_session(path, t), padded_batches(ids, b), len(ids), args.min_time))
            if "torch" in peers:
                s["torch"].append(time_torch(args, ids_path, b, t))
            for p, compute_type in ct2.items():
                enc = ct2_encoder(ct2_dir, compute_type, t)
                s[key_of("ct2", p)].append(time_ct2(enc, ct2_head, ct2_batches(ids, b), len(ids), args.min_time))
                del enc
            print(f"round {r + 1}/{args.rounds} batch {b} threads {t}: " +
                  ", ".join(f"{k} {v[-1]:.3f} ms/input" for k, v in s.items() if v), file=sys.stderr)
    report(args, task, ids, configs, timed, samples, meta, quality, checks, skipped, info, out)


def describe(key):
    """(engine, precision, depth) of a timing key."""
    engine, _, rest = key.partition("_")
    parts = rest.split("_") if rest else []
    depth = parts.pop() if engine == "offramp" else "full"
    return ENGINE_NAMES[engine], (parts[0] if parts else "fp32").upper(), depth


def report(args, task, ids, configs, timed, samples, meta, quality, checks, skipped, info, out):
    try:
        import ctranslate2
        ct2_version = ctranslate2.__version__
    except ImportError:
        ct2_version = "not installed"
    ref = "offramp_full"
    rows, med_of = [], {}
    for (b, t) in configs:
        med = {k: statistics.median(v) for k, v in samples[(b, t)].items() if v}
        med_of[(b, t)] = med
        row = {"batch": b, "threads": t, **{f"{k}_ms_per_input": v for k, v in med.items()},
               **{f"{k}_over_offramp_full": v / med[ref] for k, v in med.items() if k != ref}}
        for p, res in meta[(b, t)].items():  # offramp-bench's own accuracy and FLOPs, per precision
            pre = "" if p == "fp32" else f"{p}_"
            for depth, v in res.items():
                row[f"{pre}{depth}_accuracy"] = v["accuracy"]
                if depth == "exits":
                    row[f"{pre}exits_relative_flops"] = v["relative_flops"]
        if "offramp_exits" in med:
            row["offramp_full_over_exits"] = med["offramp_full"] / med["offramp_exits"]
            if "ort" in med:
                row["ort_over_offramp_exits"] = med["ort"] / med["offramp_exits"]
        row["samples"] = samples[(b, t)]
        rows.append(row)

    engines = []
    for k in timed:
        name, precision, depth = describe(k)
        e = {"key": k, "engine": name, "precision": precision, "depth": depth}
        if depth == "full":
            e.update(quality[k])
        else:  # an exit row: offramp-bench's accuracy of Offramp's own early-exit decisions
            p = precision.lower()
            e["exits_accuracy"] = meta[configs[0]][p]["exits"]["accuracy"]
            e["exits_relative_flops"] = meta[configs[0]][p]["exits"]["relative_flops"]
        e["ms_per_input"] = {f"b{b}/t{t}": med_of[(b, t)][k] for (b, t) in configs}
        e["over_offramp_full"] = {f"b{b}/t{t}": med_of[(b, t)][k] / med_of[(b, t)][ref] for (b, t) in configs}
        engines.append(e)

    tokens = sum(len(x) for x in ids) / len(ids)
    what = (f"{info.get('architecture', 'the')} checkpoint {args.model} at full depth with its own head" if task
            else f"model {args.model}")
    md = [f"Race on {platform.node()} ({platform.processor() or platform.machine()}), {time.strftime('%Y-%m-%d')}: "
          f"{len(ids)} texts of {args.data} ({tokens:.1f} tokens each on average), {what}; median of {args.rounds} "
          f"interleaved rounds, ms per input (and over Offramp FP32 full depth: above 1 is slower). Accuracy: at full "
          f"depth from each engine's own logits against the TSV's labels; exit rows: Offramp's early-exit decisions. "
          f"onnxruntime {ort.__version__}, ctranslate2 {ct2_version}, torch (LibTorch C++) for the eager peer; "
          f"Offramp's CPU precisions here: {info.get('cpu_precisions', 'unknown')}.", ""]
    head = "| engine | precision | depth | accuracy | max abs logit diff vs Offramp FP32 (different predictions) |"
    rule = "|---|---|---|---|---|"
    for (b, t) in configs:
        head += f" b{b} t{t} ms | b{b} t{t} / Offramp full |"
        rule += "---|---|"
    md += [head, rule]
    for e in engines:
        if e["depth"] == "full":
            acc = f"{e['full_depth_accuracy']:.4f}"
            diff = ("reference" if e["key"] == ref else
                    f"{e['max_abs_logit_diff_vs_offramp_fp32']:.3g} ({e['different_predictions_vs_offramp_fp32']})")
            depth = "full"
        else:
            acc = "" if e["exits_accuracy"] is None else f"{e['exits_accuracy']:.4f}"
            diff, depth = "", f"exits ({e['exits_relative_flops']:.3f} FLOPs)"
        line = f"| {e['engine']} | {e['precision']} | {depth} | {acc} | {diff} |"
        for (b, t) in configs:
            line += f" {e['ms_per_input'][f'b{b}/t{t}']:.3f} | {e['over_offramp_full'][f'b{b}/t{t}']:.2f}x |"
        md.append(line)
    fp32 = [f"{' '.join(describe(k)[:2])}: {m}" for k, m in checks.items() if describe(k)[1] == "FP32"]
    low = [f"{' '.join(describe(k)[:2])}: {m}" for k, m in checks.items() if describe(k)[1] != "FP32"]
    md.append("")
    if fp32:
        md.append(f"Full-depth predictions against Offramp FP32 (must agree within {args.tol:g}): " + "; ".join(fp32) + ".")
    if low:
        md.append("Lower precisions against Offramp FP32 (reported, not required to agree): " + "; ".join(low) + ".")
    md.append("INT8: Offramp: int8 GEMMs, the rest FP32 (`--precision int8`); ONNX Runtime: quantize_dynamic of the "
              "fused model, per-channel QInt8 weights, activations quantized per tensor at run time; CTranslate2: "
              "compute_type int8 (int8 weights, activations quantized at run time). BF16: Offramp's `--precision bf16` "
              "(bf16 GEMMs); CTranslate2 is raced at float32 and int8 only.")
    if skipped:  # one entry per engine and precision (Offramp's full and exit rows share theirs)
        why_of = {" ".join(describe(k)[:2]): why for k, why in skipped.items()}
        md.append("Not raced: " + "; ".join(f"{what}: {why}" for what, why in why_of.items()) + ".")
    write_report(out, md, {"rows": rows, "engines": engines, "checks": checks, "skipped": skipped,
                           "inputs": len(ids), "model": args.model, "data": args.data, "tol": args.tol,
                           "versions": {"onnxruntime": ort.__version__, "ctranslate2": ct2_version},
                           "cpu_precisions": info.get("cpu_precisions")})


def write_report(out, md_lines, obj):
    text = "\n".join(md_lines) + "\n"
    print(text)
    (out / "race.md").write_text(text)
    json.dump(obj, open(out / "race.json", "w"), indent=1)


if __name__ == "__main__":
    main()
