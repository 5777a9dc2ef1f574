"""How often the gazetteer's actor_code is right: precision and coverage on the annotated splits.

    python bench/actor_code.py                          # data/dev.jsonl data/test.jsonl
    python bench/actor_code.py --data data/dev.jsonl --out /tmp/actor_code.json

The input is the gold actor, not a model's, so that the figures are the gazetteer's alone: for each
record, ``infer.gazetteer.actor_code`` of its gold ``actor_resolved`` (the string the document context
feeds it, ANNOTATION.md 4), compared with the record's gold ``actor_code``.

  coded records   records whose gold actor_code is set (the population the figures are about)
  emitted         of those, how many get a code; coverage = emitted / coded records
  correct         codes equal to the gold code; precision = correct / emitted
  all actors      the same over every record with a gold actor_resolved, a code where the gold
                  one is null counting as wrong (the annotators leave it null where unsure)

Writes bench/results/actor_code.json. Needs no model and no torch; runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without `pip install -e .` too

from infer.gazetteer import actor_code  # noqa: E402


def score(records: list[dict]) -> dict:
    coded = [r for r in records if r.get("actor_resolved") and r.get("actor_code")]
    actors = [r for r in records if r.get("actor_resolved")]

    def figures(rows: list[dict]) -> dict:
        emitted = correct = country = 0
        wrong: Counter = Counter()
        for r in rows:
            code = actor_code(r["actor_resolved"])
            if code is None:
                continue
            emitted += 1
            gold = r.get("actor_code")
            correct += code == gold
            country += bool(gold) and code[:3] == gold[:3]
            if code != gold:
                wrong[f"{r['actor_resolved']} -> {code} (gold {gold})"] += 1
        return {"records": len(rows), "emitted": emitted, "correct": correct,
                "precision": round(correct / emitted, 3) if emitted else None,
                "country_precision": round(country / emitted, 3) if emitted else None,
                "coverage": round(emitted / len(rows), 3) if rows else None,
                "recall": round(correct / len(rows), 3) if rows else None,
                "wrong": dict(wrong.most_common())}

    return {"coded_records": figures(coded), "all_actors": figures(actors)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", nargs="+", default=["data/dev.jsonl", "data/test.jsonl"])
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "actor_code.json"))
    args = ap.parse_args(argv)
    result = {"what": "infer.gazetteer.actor_code on the gold actor_resolved of each record vs. the gold "
                      "actor_code (see the docstring of bench/actor_code.py)",
              "splits": {}}
    for path in args.data:
        p = Path(path) if Path(path).is_absolute() else REPO / path
        records = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        result["splits"][Path(path).stem] = s = score(records)
        c, a = s["coded_records"], s["all_actors"]
        print(f"{Path(path).stem}: records with a gold actor_code {c['records']}: precision {c['precision']} "
              f"({c['correct']}/{c['emitted']}), coverage {c['coverage']}, recall {c['recall']} | "
              f"all {a['records']} resolved actors: precision {a['precision']} ({a['correct']}/{a['emitted']}), "
              f"coverage {a['coverage']}")
    result.update(command="python bench/actor_code.py " + " ".join(sys.argv[1:] if argv is None else argv),
                  machine=platform.platform(), date=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
