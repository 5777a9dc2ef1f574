"""Weight-averaged fine-tunes ("model soups"): e5_small and e5_small_spans averaged, shipped form, scored.

    python bench/soup.py                                  # weights 0.75, 0.5 and 0.25 of e5_small
    python bench/soup.py --weights 0.5 --splits dev
    python bench/soup.py --members e5_small e5_small_spans e5_small_spans3 --shares 0.25,0.375,0.375

e5_small (word embeddings frozen) finds more actors, e5_small_spans (word embeddings trained, span loss
counted twice) more targets (bench/results/quality.md). Both were fine-tuned from the same e5-small with
the same seed and data order, so their weights can be averaged into one model of the same size and
speed, where the two models' outputs averaged would need two encoders (over the 60 MB the shipped model
may take). For each weight w this writes bench/runs/soup-<w> (`tasrih soup`: w times e5_small's weights
plus 1-w times e5_small_spans'), exports it as the model ships (`tasrih export --fp16-weights --no-weights
--ngram-labels bench/runs/baseline --calibrate data/dev.jsonl`) to bench/runs/soup-<w>+baseline, and
scores that with the evaluation every candidate gets. Needs the runs of `python bench/quality.py
--candidates baseline e5_small e5_small_spans`. Writes bench/results/soup.json and prints a table.
With --members and --shares, any runs of bench/runs in any shares (one comma-separated share per
member, adding up to 1), each soup in bench/runs/soup-<shares joined by "-">.
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
    ap.add_argument("--weights", nargs="+", type=float, default=[0.75, 0.5, 0.25],
                    help="the first member's share, with two members")
    ap.add_argument("--members", nargs="+", default=list(MEMBERS), help="runs in bench/runs to average")
    ap.add_argument("--shares", nargs="+", metavar="W1,W2,...",
                    help="each member's share, comma-separated, one soup per argument (instead of --weights)")
    ap.add_argument("--splits", nargs="+", default=["dev", "test", "test_v1"])
    ap.add_argument("--out", default="bench/results/soup.json")
    args = ap.parse_args()
    if args.shares:
        soups = [[float(w) for w in spec.split(",")] for spec in args.shares]
    elif len(args.members) == 2:
        soups = [[w, 1 - w] for w in args.weights]
    else:
        ap.error("with more than two --members, give each soup's --shares")
    splits = load_splits(args.splits)
    result = {"command": "python bench/soup.py " + " ".join(sys.argv[1:]), "members": args.members, "soups": {}}
    for shares in soups:
        # With two members a soup is named by the first one's share, as the shipped soup-0.25 is.
        tag = f"{shares[0]:g}" if len(shares) == 2 else "-".join(f"{w:g}" for w in shares)
        kept = [(RUNS / m, w) for m, w in zip(args.members, shares) if w > 0]
        soup = average_weights([r for r, _ in kept], [w for _, w in kept], RUNS / f"soup-{tag}") if len(
            kept) > 1 else kept[0][0]
        shipped = RUNS / f"soup-{tag}+baseline"
        metrics = evaluate_splits(shipped_form(str(soup), str(RUNS / "baseline"), shipped), splits, shipped,
                                  title=f"tasrih soup-{tag}+baseline")
        result["soups"][tag] = {
            s: {"macro_f1": round(m["macro_f1"], 4), "actor_exact_f1": round(m["actor"]["exact"]["f1"], 4),
                "target_exact_f1": round(m["target"]["exact"]["f1"], 4), "ece": round(m["ece"], 4)}
            for s, m in metrics["splits"].items()}
        print(tag, json.dumps(result["soups"][tag]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    head = "e5_small's share" if args.members == list(MEMBERS) else "shares of " + ", ".join(args.members)
    print(f"| {head} | " + " | ".join(f"{s} macro-F1 | {s} actor | {s} target" for s in args.splits) + " |")
    print("|---|" + "---|" * (3 * len(args.splits)))
    for w, r in result["soups"].items():
        print(f"| {w} | " + " | ".join(f"{r[s]['macro_f1']:.3f} | {r[s]['actor_exact_f1']:.3f} | "
                                       f"{r[s]['target_exact_f1']:.3f}" for s in args.splits) + " |")


if __name__ == "__main__":
    main()
