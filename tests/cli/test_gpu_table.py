#!/usr/bin/env python3
"""scripts/gpu_table.py, the verdicts gpu-check.sh prints last, on bench JSON shaped like
offramp-gpu-bench's and torch_gpu_peer.py's: targets met, missed, unmeasured, a variant row
that is shown but not judged, errors the bench recorded, a host-emulation dry run that judges
nothing, and bad input.

usage: test_gpu_table.py PATH/TO/gpu_table.py"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

TABLE = sys.argv.pop(1) if len(sys.argv) > 1 else "scripts/gpu_table.py"
GPU = "NVIDIA H200 (sm_90, 139 GiB, 132 SMs)"


def encoder_flops(model, batch, tokens):
    """models/flops.h's encoder FLOPs, as both benches compute TFLOP/s."""
    layers, h, f = (6, 384, 1536) if model == "minilm-l6" else (12, 768, 3072)
    return layers * batch * tokens * (2 * (4 * h * h + 2 * h * f) + 4 * tokens * h)


def offramp_json(ms, peak=700.0, ee=((0.30, 0.28, ""), (0.30, 0.20, " (1 lane)"))):
    """ms: {(model, batch, tokens): ms}; ee: (relative_time, relative_flops, model suffix)."""
    runs = [{"model": m, "batch": b, "tokens": n, "dtype": "fp16", "ms": t,
             "tflops": encoder_flops(m, b, n) / (t * 1e-3) / 1e12} for (m, b, n), t in ms.items()]
    early = [{"model": "gpu-model" + sfx, "batch": 256, "inputs": 1000, "policy": "max_prob",
              "threshold": 0.614, "relative_time": rt, "relative_flops": rf, "full_accuracy": 0.83,
              "exit_accuracy": 0.82, "lanes": 1 if sfx else 2,
              "waits_per_batch": 3.5 if sfx else 8.25, "full_waits_per_batch": 12.0}
             for rt, rf, sfx in ee]
    return {"device": GPU, "dtype": "fp16", "gemm_peak_tflops": peak, "runs": runs,
            "early_exit": early}


def torch_json(ms):
    return {"device": GPU, "torch": "2.9", "transformers": "4.57",
            "runs": [{"peer": "pytorch-eager", "model": m, "batch": b, "tokens": n, "dtype": "fp16",
                      "ms": t} for (m, b, n), t in ms.items()]}


# Offramp meets every target against this peer: bert-base 256x128 at 22 GFLOP x 256 in 12 ms
# is ~477 TFLOP/s, 0.68 of a 700 TFLOP/s peak, 1.67x eager; the 1x128 rows are 2.5x eager.
OURS = {("minilm-l6", 1, 128): 0.4, ("bert-base", 1, 128): 1.0, ("bert-base", 256, 128): 12.0}
EAGER = {("minilm-l6", 1, 128): 1.0, ("bert-base", 1, 128): 2.5, ("bert-base", 256, 128): 20.0}


class GpuTable(unittest.TestCase):
    def run_table(self, off, peer):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for name, data in (("offramp.json", off), ("torch.json", peer)):
                p = os.path.join(d, name)
                if isinstance(data, str):
                    with open(p, "w") as f:
                        f.write(data)
                elif data is not None:
                    with open(p, "w") as f:
                        json.dump(data, f)
                paths.append(p)
            r = subprocess.run([sys.executable, TABLE] + paths, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def verdicts(self, out):
        return [l for l in out.splitlines() if l.startswith("- PASS") or l.startswith("- FAIL")
                or l.startswith("- NOT MEASURED")]

    def test_all_targets_met(self):
        rc, out, _ = self.run_table(offramp_json(OURS), torch_json(EAGER))
        self.assertEqual(rc, 0)
        self.assertIn("Targets: 4 PASS, 0 FAIL, 0 NOT MEASURED", out)
        self.assertIn("| bert-base | 256x128 | 12.000 |", out)
        self.assertIn("1.67x", out)  # 20 / 12
        self.assertIn("| 8.2 / 12.0 |", out)  # host waits per batch: early exit / full depth

    def test_bench_errors_are_listed(self):
        off = offramp_json(OURS)
        off["errors"] = ["early exit gpu-model (4 lanes): out of memory"]
        rc, out, _ = self.run_table(off, torch_json(EAGER))
        self.assertEqual(rc, 0)
        self.assertIn("  - bench error: early exit gpu-model (4 lanes): out of memory", out)
        self.assertIn("Targets: 4 PASS, 0 FAIL, 0 NOT MEASURED", out)  # the rows that came

    def test_each_missed_target_fails_alone(self):
        slow = {**OURS, ("bert-base", 256, 128): 16.0}  # 0.51 of the peak but 1.25x eager
        rc, out, _ = self.run_table(offramp_json(slow), torch_json(EAGER))
        self.assertEqual(rc, 0)  # the verdict is gpu-check's to act on
        fails = [l for l in self.verdicts(out) if l.startswith("- FAIL")]
        self.assertEqual(len(fails), 1, out)
        self.assertIn("bert-base 256x128", fails[0])

        late = offramp_json(OURS, ee=((0.40, 0.30, ""),))  # 1.33 x the FLOPs
        _, out, _ = self.run_table(late, torch_json(EAGER))
        fails = [l for l in self.verdicts(out) if l.startswith("- FAIL")]
        self.assertEqual(len(fails), 1, out)
        self.assertIn("early exit gpu-model batch 256", fails[0])
        self.assertIn("ratio 1.33", fails[0])

    def test_variant_rows_are_shown_not_judged(self):
        # The 1-lane comparison row misses 1.15x (0.30 vs 0.20) but only the default is judged.
        _, out, _ = self.run_table(offramp_json(OURS), torch_json(EAGER))
        self.assertIn("| gpu-model (1 lane) | 256 |", out)
        self.assertFalse(any("1 lane" in l for l in self.verdicts(out)), out)

    def test_missing_peer_or_rows_are_not_measured(self):
        rc, out, _ = self.run_table(offramp_json(OURS), None)
        self.assertEqual(rc, 0)
        self.assertIn("PyTorch: n/a", out)
        self.assertIn("Targets: 1 PASS, 0 FAIL, 3 NOT MEASURED", out)
        partial = offramp_json({("minilm-l6", 1, 128): 0.4}, ee=())
        _, out, _ = self.run_table(partial, torch_json(EAGER))
        self.assertIn("| bert-base | 256x128 | n/a |", out)
        self.assertIn("Targets: 1 PASS, 0 FAIL, 3 NOT MEASURED", out)

    def test_host_emulation_judges_nothing(self):
        emu = copy.deepcopy(offramp_json(OURS))
        emu["device"] = "host emulation of the GPU interface (OFFRAMP_GPU_EMULATION=1; no CUDA)"
        _, out, _ = self.run_table(emu, torch_json(EAGER))
        self.assertIn("a dry run, no target is judged", out)
        self.assertIn("Targets: 0 PASS, 0 FAIL, 4 NOT MEASURED", out)

    def test_unreadable_json_is_an_error(self):
        rc, _, err = self.run_table("{not json", torch_json(EAGER))
        self.assertEqual(rc, 1)
        self.assertIn("unreadable JSON", err)
        rc, _, err = self.run_table(offramp_json(OURS), "[1, 2]")
        self.assertEqual(rc, 1)
        self.assertIn("expected a JSON object", err)


if __name__ == "__main__":
    unittest.main()
