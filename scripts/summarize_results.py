"""Summary of a scripts/reproduce.sh run: full depth, static exits and the threshold chosen on
dev (with what dev predicted beside what test shows), and the TF-IDF baseline. Prints a
Markdown table and writes it to OUT_DIR/summary.md. Standard library only."""
import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize_results.py OUT_DIR   (out/<dataset> of scripts/reproduce.sh)")
    out = sys.argv[1]
    cal = json.load(open(f"{out}/calibration/sweep.json"))
    test = json.load(open(f"{out}/test-evaluation.json"))
    base = json.load(open(f"{out}/baseline.json"))
    chosen, setting = cal["chosen"], test["setting"]
    pct = lambda x: f"{100 * x:.2f}"
    lines = [
        f"| {out} | accuracy % | macro-F1 % | FLOPs rel. to full depth | mean exit layer | inputs leaving per exit |",
        "|---|---|---|---|---|---|",
        f"| test, full depth | {pct(test['full_depth']['accuracy'])} | {pct(test['full_depth']['macro_f1'])} | 1.000 | "
        f"{test['full_depth']['mean_exit_layer']:.2f} | |",
    ]
    for s in test["static"]:
        lines.append(f"| test, exit {s['layer']} alone | {pct(s['accuracy'])} | {pct(s['macro_f1'])} | "
                     f"{s['relative_flops']:.3f} | {s['mean_exit_layer']:.2f} | |")
    hist = lambda p: " / ".join(str(h) for h in p["exit_histogram"])
    lines.append(f"| dev, chosen {chosen['policy']} >= {chosen['threshold']:g} (--max-drop 1) | {pct(chosen['accuracy'])} | "
                 f"{pct(chosen['macro_f1'])} | {chosen['relative_flops']:.3f} | {chosen['mean_exit_layer']:.2f} | {hist(chosen)} |")
    lines.append(f"| dev, full depth | {pct(cal['full_depth']['accuracy'])} | {pct(cal['full_depth']['macro_f1'])} | 1.000 | | |")
    lines.append(f"| test, at that threshold | {pct(setting['accuracy'])} | {pct(setting['macro_f1'])} | "
                 f"{setting['relative_flops']:.3f} | {setting['mean_exit_layer']:.2f} | {hist(setting)} |")
    lines.append(f"| test, TF-IDF + logistic regression (C={base['C']:g}) | {pct(base['test_accuracy'])} | "
                 f"{pct(base['test_macro_f1'])} | | | |")
    drop = 100 * (test["full_depth"]["accuracy"] - setting["accuracy"])
    dev_vs_test_acc = 100 * (chosen["accuracy"] - setting["accuracy"])
    dev_vs_test_flops = (chosen["relative_flops"] - setting["relative_flops"]) / setting["relative_flops"]
    lines += ["",
              f"- test accuracy at the chosen threshold is {drop:.2f} points below full depth, at "
              f"{100 * setting['relative_flops']:.1f}% of full-depth FLOPs",
              f"- dev predicted {pct(chosen['accuracy'])}% / {chosen['relative_flops']:.3f}; test shows "
              f"{pct(setting['accuracy'])}% / {setting['relative_flops']:.3f} (accuracy {dev_vs_test_acc:+.2f} points, "
              f"FLOPs {100 * dev_vs_test_flops:+.1f}%)",
              f"- full depth is {100 * (test['full_depth']['accuracy'] - base['test_accuracy']):+.2f} points against the "
              f"TF-IDF baseline on test"]
    text = "\n".join(lines) + "\n"
    print(text)
    open(f"{out}/summary.md", "w").write(text)


if __name__ == "__main__":
    main()
