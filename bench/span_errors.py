"""What the actor and target errors of a model are: wrong boundary, wrong party, a span where the gold has none.

    python bench/span_errors.py                                   # the shipped model on dev and test
    python bench/span_errors.py --model DIR --splits dev test

Exact-match F1 counts every miss alike. This sorts the spans of the sentences whose claim label the
model got right (a wrong label already costs the spans) into:
  exact     the gold span
  boundary  overlaps the gold span, other start or end (a title kept, a coordinated party cut ...)
  other     a span elsewhere in the sentence: another party
  spurious  a span where the gold has none (a pro-drop actor, a claim aimed at nobody named)
  missed    no span where the gold has one
  both null neither has one
Writes bench/results/span_errors.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KINDS = ("exact", "boundary", "other", "spurious", "missed", "both null")


def kind(gold: dict | None, pred: dict | None) -> str:
    if gold is None:
        return "both null" if pred is None else "spurious"
    if pred is None:
        return "missed"
    if (gold["start"], gold["end"]) == (pred["start"], pred["end"]):
        return "exact"
    return "boundary" if gold["start"] < pred["end"] and pred["start"] < gold["end"] else "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(REPO / "infer" / "default_model"))
    ap.add_argument("--splits", nargs="+", default=["dev", "test"])
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "span_errors.json"))
    args = ap.parse_args()
    from infer.predict import Tasrih

    model = Tasrih.from_pretrained(args.model)
    result = {"command": "python bench/span_errors.py " + " ".join(sys.argv[1:]), "model": args.model, "splits": {}}
    for split in args.splits:
        gold = [json.loads(line) for line in (REPO / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        pred = model.predict([g["text"] for g in gold])
        right = [(g, p) for g, p in zip(gold, pred) if g["label"] != "none" and g["label"] == p["label"]]
        result["splits"][split] = {
            "claims": sum(g["label"] != "none" for g in gold), "label_right": len(right),
            **{field: dict(Counter(kind(g[field], p[field]) for g, p in right)) for field in ("actor", "target")}}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| split | span | claims with the right label | " + " | ".join(KINDS) + " |")
    print("|---|---|---|" + "---|" * len(KINDS))
    for split, r in result["splits"].items():
        for field in ("actor", "target"):
            print(f"| {split} | {field} | {r['label_right']} of {r['claims']} | "
                  + " | ".join(str(r[field].get(k, 0)) for k in KINDS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
