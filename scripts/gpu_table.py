#!/usr/bin/env python3
"""gpu-check summary: Offramp's GPU bench JSON (build/gpu/bin/offramp-gpu-bench) beside the PyTorch
peer's (bench/peers/torch_gpu_peer.py), as Markdown tables, then the targets as PASS / FAIL /
NOT MEASURED lines.

usage: gpu_table.py OFFRAMP_JSON TORCH_JSON

A file that is absent, or a row or field missing from one, shows as n/a and its target as
NOT MEASURED. A file that exists but is not a JSON object: message on stderr, exit 1.
Otherwise exit 0 whatever the targets say (gpu-check decides). Standard library only.
"""
import json
import math
import os
import sys

# Rows always shown, measured or not, so a missing one reads n/a rather than vanishing.
EXPECTED_MODELS = ["minilm-l6", "bert-base"]
EXPECTED_SHAPES = [(1, 128), (32, 128), (256, 128)]
PEERS = [("pytorch-eager", "PyTorch eager"), ("pytorch-sdpa", "PyTorch sdpa")]
NA = "n/a"

# Targets.
PEAK_FRACTION_MIN = 0.50    # bert-base 256x128: fraction of the cuBLASLt FP16 GEMM peak
LARGE_SPEEDUP_MIN = 1.5     # bert-base 256x128: speed-up over PyTorch eager
SMALL_SPEEDUP_MIN = 2.0     # every 1x128 row: speed-up over PyTorch eager
EXIT_TIME_SLACK = 1.15      # early exit: relative_time <= 1.15 * relative_flops


class Unreadable(Exception):
    pass


def load(path):
    """The JSON object at path; None when the file is absent."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise Unreadable(f"{path}: {e}")
    if not isinstance(data, dict):
        raise Unreadable(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def num(row, key):
    """A finite number from a dict, else None."""
    if not isinstance(row, dict):
        return None
    v = row.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def integer(row, key):
    v = num(row, key)
    return int(v) if v is not None and v == int(v) else None


def text(row, key):
    v = row.get(key) if isinstance(row, dict) else None
    return v if isinstance(v, str) and v else None


def rows_of(data, key):
    v = data.get(key) if isinstance(data, dict) else None
    return [r for r in v if isinstance(r, dict)] if isinstance(v, list) else []


def fmt(v, spec, suffix=""):
    return NA if v is None else f"{v:{spec}}{suffix}"


def ratio(a, b):
    return a / b if a is not None and b is not None and b > 0 else None


def cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return out


def verdict(checks):
    """checks: [(label, value, ok)] with value/ok None when not measured. FAIL if any measured check
    fails, else NOT MEASURED if any is missing, else PASS."""
    if any(ok is False for _, _, ok in checks):
        return "FAIL"
    if any(ok is None for _, _, ok in checks):
        return "NOT MEASURED"
    return "PASS"


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(argv) != 2 else sys.stdout)
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 1
    try:
        off, peer = load(argv[1]), load(argv[2])
    except Unreadable as e:
        print(f"gpu_table: unreadable JSON: {e}", file=sys.stderr)
        return 1

    out = ["## GPU check summary", ""]
    off_dtype = text(off, "dtype") or "fp16"
    peak = num(off, "gemm_peak_tflops")
    if peak is not None and peak <= 0:
        peak = None
    if off is None:
        out.append(f"- Offramp: {NA} ({argv[1]} not found)")
    else:
        out.append(f"- Offramp: {text(off, 'device') or NA}, {off_dtype}, cuBLASLt FP16 GEMM peak "
                   f"{fmt(peak, '.1f', ' TFLOP/s')}")
        for err in (off.get("errors") if isinstance(off.get("errors"), list) else []):
            out.append(f"  - bench error: {cell(err)}")
    if peer is None:
        out.append(f"- PyTorch: {NA} ({argv[2]} not found)")
    else:
        out.append(f"- PyTorch: {text(peer, 'device') or NA}, torch {text(peer, 'torch') or NA}, "
                   f"transformers {text(peer, 'transformers') or NA}")
        for err in (peer.get("errors") if isinstance(peer.get("errors"), list) else []):
            out.append(f"  - peer error: {cell(err)}")
    if off and peer and text(off, "device") and text(peer, "device") and text(off, "device") != text(peer, "device"):
        out.append("- note: Offramp and PyTorch ran on different devices")
    out.append("")

    # --- Table 1: forward latency -------------------------------------------------------------
    keyed = {}  # (model, batch, tokens) -> Offramp row (first wins)
    for r in rows_of(off, "runs"):
        m, b, n = text(r, "model"), integer(r, "batch"), integer(r, "tokens")
        if m and b and n and (text(r, "dtype") or off_dtype) == off_dtype:
            keyed.setdefault((m, b, n), r)
    peer_ms, other_dtype = {}, set()  # (peer, model, batch, tokens) -> ms, only rows in Offramp's dtype
    for r in rows_of(peer, "runs"):
        p, m, b, n = text(r, "peer"), text(r, "model"), integer(r, "batch"), integer(r, "tokens")
        if not (p and m and b and n and num(r, "ms") is not None):
            continue
        if (text(r, "dtype") or off_dtype) != off_dtype:
            other_dtype.add(text(r, "dtype"))
            continue
        peer_ms.setdefault((p, m, b, n), num(r, "ms"))
    if other_dtype:  # into the bullet list above, before its closing blank line
        out.insert(len(out) - 1, f"- note: PyTorch rows in {', '.join(sorted(other_dtype))} left out "
                                 f"(Offramp ran {off_dtype})")

    keys = [(m, b, n) for m in EXPECTED_MODELS for b, n in EXPECTED_SHAPES]
    extra = set(keyed) | {k[1:] for k in peer_ms}
    order = {m: i for i, m in enumerate(EXPECTED_MODELS)}
    keys += sorted(extra - set(keys), key=lambda k: (order.get(k[0], len(order)), k[0], k[1], k[2]))
    peers_shown = [p for p in PEERS if p[0] == "pytorch-eager" or any(k[0] == p[0] for k in peer_ms)]

    header = ["model", "batch x tokens", "Offramp ms", "TFLOP/s", "of GEMM peak"]
    for _, label in peers_shown:
        header += [f"{label} ms", f"speed-up vs {label.split()[-1]}"]
    rows, stats = [], {}
    for m, b, n in keys:
        r = keyed.get((m, b, n))
        ms, tflops = num(r, "ms"), num(r, "tflops")
        frac = ratio(tflops, peak)
        row = [m, f"{b}x{n}", fmt(ms, ".3f"), fmt(tflops, ".1f"), fmt(frac, ".2f")]
        speedups = {}
        for p, _ in peers_shown:
            # A variant row ("minilm-l6 (no CUDA graphs)") is compared with its base model's peer.
            pm = peer_ms.get((p, m.split(" (")[0], b, n))
            speedups[p] = ratio(pm, ms)
            row += [fmt(pm, ".3f"), fmt(speedups[p], ".2f", "x")]
        rows.append(row)
        stats[(m, b, n)] = (frac, speedups.get("pytorch-eager"))
    out += [f"### Encoder forward, {off_dtype}, full depth (ms: median; speed-up = peer ms / Offramp ms)", ""]
    out += table(header, rows) + [""]

    # --- Table 2: early exit ------------------------------------------------------------------
    ee = rows_of(off, "early_exit")
    out += ["### Early exit: wall clock against FLOPs (both relative to full depth)", ""]
    ee_rows, ee_checks = [], []
    for r in ee:
        model = text(r, "model") or NA
        policy, thr = text(r, "policy"), num(r, "threshold")
        setting = f"{policy or NA} >= {thr:g}" if thr is not None else (policy or NA)
        rt, rf = num(r, "relative_time"), num(r, "relative_flops")
        if rt is None:  # derive it from the wall times when only those came
            rt = ratio(num(r, "exit_ms"), num(r, "full_ms"))
        rr = ratio(rt, rf)
        fa, xa = num(r, "full_accuracy"), num(r, "exit_accuracy")
        ee_rows.append([model, fmt(integer(r, "batch"), "d"), fmt(integer(r, "inputs"), "d"), setting,
                        fmt(rf, ".3f"), fmt(rt, ".3f"), fmt(rr, ".2f"), f"{fmt(fa, '.4f')} / {fmt(xa, '.4f')}",
                        f"{fmt(num(r, 'waits_per_batch'), '.1f')} / {fmt(num(r, 'full_waits_per_batch'), '.1f')}"])
        ok = None if rt is None or rf is None else rt <= EXIT_TIME_SLACK * rf
        if " (" not in model:  # variants ("model (1 lane)") are shown, not judged
            ee_checks.append((f"{model} batch {fmt(integer(r, 'batch'), 'd')} {setting}", rt, rf, rr, ok))
    if ee_rows:
        out += table(["model", "batch", "inputs", "policy >= threshold", "relative FLOPs",
                      "relative wall clock", "time / FLOPs", "accuracy full / exit",
                      "host waits per batch: exit / full"], ee_rows)
    else:
        out.append(f"{NA} (no early-exit rows)")
    out.append("")

    # --- Targets ------------------------------------------------------------------------------
    out += ["### Targets", ""]
    verdicts = []
    # OFFRAMP_GPU_EMULATION runs the GPU path on the CPU (a dry run): its times judge nothing.
    emulated = "host emulation" in (text(off, "device") or "")
    if emulated:
        out += ["(Offramp ran on the host emulation of the GPU interface: a dry run, no target "
                "is judged)", ""]

    def line(name, checks, detail):
        v = "NOT MEASURED" if emulated else verdict([(None, None, ok) for ok in checks])
        verdicts.append(v)
        out.append(f"- {v}: {name}: {detail}")

    frac, sp = stats.get(("bert-base", 256, 128), (None, None))
    line("bert-base 256x128",
         [None if frac is None else frac >= PEAK_FRACTION_MIN, None if sp is None else sp >= LARGE_SPEEDUP_MIN],
         f"fraction of GEMM peak {fmt(frac, '.2f')} (>= {PEAK_FRACTION_MIN:.2f}), "
         f"speed-up vs PyTorch eager {fmt(sp, '.2f', 'x')} (>= {LARGE_SPEEDUP_MIN:g}x)")
    for (m, b, n), (_, sp) in stats.items():
        if (b, n) == (1, 128) and " (" not in m:  # variants are shown, not judged
            line(f"{m} 1x128", [None if sp is None else sp >= SMALL_SPEEDUP_MIN],
                 f"speed-up vs PyTorch eager {fmt(sp, '.2f', 'x')} (>= {SMALL_SPEEDUP_MIN:g}x)")
    if ee_checks:
        for name, rt, rf, rr, ok in ee_checks:
            line(f"early exit {name}", [ok],
                 f"relative wall clock {fmt(rt, '.3f')} vs relative FLOPs {fmt(rf, '.3f')}, ratio "
                 f"{fmt(rr, '.2f')} (<= {EXIT_TIME_SLACK:g})")
    else:
        line("early exit", [None], "no early-exit rows (wall clock <= "
             f"{EXIT_TIME_SLACK:g} x relative FLOPs)")
    out += ["", f"Targets: {verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL, "
                f"{verdicts.count('NOT MEASURED')} NOT MEASURED"]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
