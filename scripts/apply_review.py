"""Turn a rule-conflict review into third-pass records: list its proposed changes, then apply the
verdicts an adjudicator gave on them.

    python scripts/apply_review.py proposals data/annotation/review/rule_review_75_79_*.jsonl \
        --out data/annotation/review/proposals_75_79.md
    python scripts/apply_review.py apply data/annotation/review/rule_review_75_79_*.jsonl \
        --verdicts data/annotation/review/adjudicated_75_79.jsonl --to data/annotation/review/applied_rule75_79.jsonl

A review file holds one decision per hit of scripts/find_rule_conflicts.py: `{"id", "split",
"rule", "decision": "keep" | "change", "reason"}`, and for a change the complete corrected
annotation (the annotators' fields). One record may have two hits; their changes must agree. The
verdicts file holds `{"id", "verdict": "accept" | "reject" | "amend", <the fields, for amend>,
"note"}` per changed record. Only accepted or amended changes reach the dataset, as a third pass
that scripts/build_dataset.py applies (add the file to its THIRD_PASS).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from annotations import (ANNOTATION_FIELDS, adjudicated_row, dataset_records, load_candidates, read_annotations,
                         read_jsonl, show, to_record)


def changes(reviews: list[Path], cands: dict) -> tuple[list[dict], dict[str, dict]]:
    """Every decision, and the proposed change of each changed record (checked against its sentence)."""
    decisions = [d for f in reviews for d in read_jsonl(f)]
    out: dict[str, dict] = {}
    for d in decisions:
        if d.get("decision") not in ("keep", "change"):
            raise SystemExit(f"{d.get('id')}: decision must be keep or change")
        if d["decision"] != "change":
            continue
        to_record(d, cands[d["id"]])  # raises on a span that is not in the sentence
        earlier = out.get(d["id"])
        if earlier and any(earlier.get(k) != d.get(k) for k in ANNOTATION_FIELDS):
            raise SystemExit(f"{d['id']}: two hits of this record propose different changes")
        out[d["id"]] = d
    return decisions, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["proposals", "apply"])
    ap.add_argument("reviews", type=Path, nargs="+", help="the review files (one decision per hit)")
    ap.add_argument("--out", type=Path, help="proposals: the list to write for the adjudicator")
    ap.add_argument("--verdicts", type=Path, help="apply: the adjudicator's verdicts")
    ap.add_argument("--to", type=Path, help="apply: the third-pass file to write")
    args = ap.parse_args()
    cands = load_candidates()
    current = dataset_records()
    decisions, proposed = changes(args.reviews, cands)
    if args.action == "proposals":
        if not args.out:
            raise SystemExit("proposals needs --out FILE")
        lines = [f"# Proposed changes to adjudicate ({', '.join(str(f) for f in args.reviews)})", ""]
        for i, d in proposed.items():
            r = current[i]
            lines += [f"## [{i}] ({r['split']}, {r['source']}, rule {d['rule']})", r["text"], "",
                      f"- now: {show(r)}", f"- proposed: {show(to_record(d, cands[i]))}",
                      f"- reviewer: {d.get('reason') or d.get('note')}", ""]
        args.out.write_text("\n".join(lines), encoding="utf-8")
        print(f"{len(proposed)} proposals in {args.out}")
        return
    if not (args.verdicts and args.to):
        raise SystemExit("apply needs --verdicts FILE and --to FILE")
    verdicts = {v["id"]: v for v in read_jsonl(args.verdicts)}
    undecided = sorted(set(proposed) - set(verdicts))
    if undecided:
        raise SystemExit(f"{len(undecided)} proposals have no verdict, e.g. {undecided[0]}")
    rows = [row for i, d in proposed.items() if (row := adjudicated_row(d, verdicts[i]))]
    args.to.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    _, errors = read_annotations(args.to, cands)
    if errors:
        raise SystemExit("\n".join(errors))
    by_rule = Counter((d["rule"], d["decision"]) for d in decisions)
    print("| rule | hits | keep | change |\n|---|---|---|---|")
    for rule in sorted({r for r, _ in by_rule}, key=lambda r: float(r)):
        keep, change = by_rule[(rule, "keep")], by_rule[(rule, "change")]
        print(f"| {rule} | {keep + change} | {keep} | {change} |")
    verdict_count = Counter(verdicts[i]["verdict"] for i in proposed)
    print(f"{len(proposed)} records proposed: {dict(verdict_count)}; {len(rows)} corrected records -> {args.to}; "
          f"by split: {dict(Counter(current[r['id']]['split'] for r in rows))}")


if __name__ == "__main__":
    main()
