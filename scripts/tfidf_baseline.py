"""TF-IDF + logistic regression baseline on a data/<dataset> split.

Word 1-2-gram TF-IDF (sublinear tf), logistic regression with C chosen on dev from a fixed
grid, refit on train only (dev never trains), then scored once on test. Prints a table and
writes JSON: dev accuracy per C, the chosen C, test accuracy and macro-F1.
"""
import argparse
import json
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score


def read_tsv(path):
    labels, texts = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if "\t" not in line:
                sys.exit(f"{path}:{no}: expected label<TAB>text")
            label, text = line.split("\t", 1)
            labels.append(label)
            texts.append(text)
    if not texts:
        sys.exit(f"{path}: empty file")
    return labels, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data_dir", help="folder with train.tsv, dev.tsv, test.tsv")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    ytr, xtr = read_tsv(f"{a.data_dir}/train.tsv")
    ydev, xdev = read_tsv(f"{a.data_dir}/dev.tsv")
    yte, xte = read_tsv(f"{a.data_dir}/test.tsv")
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True)
    Xtr, Xdev, Xte = vec.fit_transform(xtr), vec.transform(xdev), vec.transform(xte)
    grid = [0.1, 0.3, 1, 3, 10, 30, 100]
    dev_acc = {}
    for c in grid:
        clf = LogisticRegression(C=c, max_iter=5000).fit(Xtr, ytr)
        dev_acc[c] = accuracy_score(ydev, clf.predict(Xdev))
    best_c = max(grid, key=lambda c: (dev_acc[c], -c))
    clf = LogisticRegression(C=best_c, max_iter=5000).fit(Xtr, ytr)
    pred = clf.predict(Xte)
    result = {
        "data": a.data_dir,
        "features": "word 1-2-gram TF-IDF, sublinear tf",
        "dev_accuracy_by_C": {str(c): v for c, v in dev_acc.items()},
        "C": best_c,
        "test_accuracy": accuracy_score(yte, pred),
        "test_macro_f1": f1_score(yte, pred, average="macro"),
        "test_inputs": len(yte),
    }
    print(f"TF-IDF + logistic regression on {a.data_dir}: C={best_c} (dev {100 * dev_acc[best_c]:.2f}%), "
          f"test accuracy {100 * result['test_accuracy']:.2f}%, macro-F1 {100 * result['test_macro_f1']:.2f}%")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
