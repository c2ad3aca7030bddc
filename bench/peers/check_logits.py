"""Checks that two runs gave the same full-depth predictions: JSON Lines with a "logits" list
per input (offramp classify --logits, offramp-torch-peer --logits, race.py's ONNX Runtime
run), compared line by line. Exit 0 when every logit agrees within --tol (absolute) and every
argmax agrees; exit 1 naming the worst input otherwise. Standard library only."""
import argparse
import json
import sys


def read(path):
    with open(path) as f:
        return [json.loads(line)["logits"] for line in f if line.strip()]


def compare(a, b, tol):
    """Returns (ok, message)."""
    if len(a) != len(b):
        return False, f"{len(a)} inputs against {len(b)}"
    worst, worst_i, flips = 0.0, -1, 0
    for i, (x, y) in enumerate(zip(a, b)):
        if len(x) != len(y):
            return False, f"input {i + 1}: {len(x)} logits against {len(y)}"
        d = max(abs(p - q) for p, q in zip(x, y))
        if d > worst:
            worst, worst_i = d, i
        flips += max(range(len(x)), key=x.__getitem__) != max(range(len(y)), key=y.__getitem__)
    ok = worst <= tol and flips == 0
    msg = f"{len(a)} inputs: max |difference| {worst:.3g} (input {worst_i + 1}), {flips} different predictions"
    return ok, msg


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    ok, msg = compare(read(args.a), read(args.b), args.tol)
    print(("same predictions: " if ok else "predictions differ: ") + msg + f" (tolerance {args.tol:g})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
