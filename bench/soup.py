"""Weight-averaged fine-tunes ("model soups"): e5_small and e5_small_spans averaged, shipped form, scored.

    python bench/soup.py                                  # weights 0.75, 0.5 and 0.25 of e5_small
    python bench/soup.py --weights 0.5 --splits dev

e5_small (word embeddings frozen) finds more actors, e5_small_spans (word embeddings trained, span loss
counted twice) more targets (bench/results/quality.md). Both were fine-tuned from the same e5-small with
the same seed and data order, so their weights can be averaged into one model of the same size and
speed, where the two models' outputs averaged would need two encoders (over the 60 MB the shipped model
may take). For each weight w this writes bench/runs/soup-<w> (`tasrih soup`: w times e5_small's weights
plus 1-w times e5_small_spans'), exports it as the model ships (`tasrih export --fp16-weights --no-weights
--ngram-labels bench/runs/baseline --calibrate data/dev.jsonl`) to bench/runs/soup-<w>+baseline, and
scores that with the evaluation every candidate gets. Needs the runs of `python bench/quality.py
--candidates baseline e5_small e5_small_spans`. Writes bench/results/soup.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quality import load_splits, shipped_form  # bench/quality.py, beside this script

from train.evaluate import evaluate_splits
from train.soup import average_weights

RUNS = Path("bench/runs")
MEMBERS = ("e5_small", "e5_small_spans")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", nargs="+", type=float, default=[0.75, 0.5, 0.25], help="e5_small's share")
    ap.add_argument("--splits", nargs="+", default=["dev", "test", "test_v1"])
    ap.add_argument("--out", default="bench/results/soup.json")
    args = ap.parse_args()
    splits = load_splits(args.splits)
    result = {"command": "python bench/soup.py " + " ".join(sys.argv[1:]), "members": MEMBERS, "soups": {}}
    for w in args.weights:
        soup = average_weights([RUNS / MEMBERS[0], RUNS / MEMBERS[1]], [w, 1 - w], RUNS / f"soup-{w:g}")
        shipped = RUNS / f"soup-{w:g}+baseline"
        metrics = evaluate_splits(shipped_form(str(soup), str(RUNS / "baseline"), shipped), splits, shipped,
                                  title=f"tasrih soup-{w:g}+baseline")
        result["soups"][f"{w:g}"] = {
            s: {"macro_f1": round(m["macro_f1"], 4), "actor_exact_f1": round(m["actor"]["exact"]["f1"], 4),
                "target_exact_f1": round(m["target"]["exact"]["f1"], 4), "ece": round(m["ece"], 4)}
            for s, m in metrics["splits"].items()}
        print(f"{w:g}", json.dumps(result["soups"][f"{w:g}"]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| e5_small's share | " + " | ".join(f"{s} macro-F1 | {s} actor | {s} target" for s in args.splits) + " |")
    print("|---|" + "---|" * (3 * len(args.splits)))
    for w, r in result["soups"].items():
        print(f"| {w} | " + " | ".join(f"{r[s]['macro_f1']:.3f} | {r[s]['actor_exact_f1']:.3f} | "
                                       f"{r[s]['target_exact_f1']:.3f}" for s in args.splits) + " |")


if __name__ == "__main__":
    main()
