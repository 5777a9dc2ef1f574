"""Turn annotators' files into dataset records, and compare two annotators.

Annotators write one JSON object per sentence with spans as *strings*
(offsets are computed here, so nobody counts characters by hand):

    {"id": "...", "label": "demand", "also": [], "actor": "الوزارة", "actor_occ": 1,
     "actor_resolved": "الخارجية الروسية", "actor_code": "RUSGOV",
     "target": "المجموعة الدولية لدعم سورية"}

``actor_occ`` / ``target_occ`` (1-based, default 1) pick the occurrence when the
string appears more than once in the sentence (ANNOTATION.md 9.9).

    python scripts/annotations.py check data/annotation/raw/batch_00.a.jsonl
    python scripts/annotations.py agree FILE_A FILE_B
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

LABELS = ("none", "accusation", "denial", "agreement", "demand")
# Run from the repository root, as the data card says.
CANDIDATES = Path("data/annotation/candidates.jsonl")
SPLITS = ("train", "dev", "test", "test_v1", "dev_v1", "dev_cue")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dataset_records(splits=SPLITS) -> dict[str, dict]:
    """Every record of data/<split>.jsonl by id, with its split."""
    return {r["id"]: {**r, "split": s} for s in splits for r in read_jsonl(Path("data") / f"{s}.jsonl")}


def load_candidates(path: Path = CANDIDATES) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {c["id"]: c for c in map(json.loads, f)}


def locate(text: str, span: str | None, occ: int) -> dict | None:
    if span is None:
        return None
    start = -1
    for _ in range(occ):
        start = text.find(span, start + 1)
        if start < 0:
            raise ValueError(f"span {span!r} (occurrence {occ}) is not in the sentence")
    return {"start": start, "end": start + len(span), "text": span}


def to_record(ann: dict, cand: dict) -> dict:
    label = ann.get("label")
    if label not in LABELS:
        raise ValueError(f"label {label!r} is not one of {', '.join(LABELS)}")
    also = [a for a in ann.get("also") or [] if a != label]
    for a in also:
        if a not in LABELS[1:]:
            raise ValueError(f"also holds {a!r}, not a claim label")
    text = cand["text"]
    strip = lambda v: v.strip() if isinstance(v, str) and v.strip() else None  # noqa: E731
    rec = {
        "id": cand["id"], "doc": cand["doc"], "source": cand["source"], "text": text,
        "label": label, "also": list(dict.fromkeys(also)),
        "actor": None, "actor_resolved": None, "actor_code": None, "target": None,
    }
    if label != "none":
        rec["actor"] = locate(text, strip(ann.get("actor")), int(ann.get("actor_occ") or 1))
        rec["actor_resolved"] = strip(ann.get("actor_resolved"))
        rec["actor_code"] = strip(ann.get("actor_code"))
        rec["target"] = locate(text, strip(ann.get("target")), int(ann.get("target_occ") or 1))
    return rec


ANNOTATION_FIELDS = ("label", "also", "actor", "actor_occ", "actor_resolved", "actor_code", "target", "target_occ")


def show(r: dict) -> str:
    """A record on one line, as review sheets and proposal lists print it."""
    def span(s):
        return "null" if s is None else f"«{s['text']}»@{s['start']}"
    return (f"label={r['label']} also={r['also']} actor={span(r['actor'])} "
            f"actor_resolved={r['actor_resolved']!r} actor_code={r['actor_code']!r} target={span(r['target'])}")


def adjudicated_row(change: dict, verdict: dict) -> dict | None:
    """The third-pass record an adjudicator's verdict on a proposed change leaves: the proposal when
    accepted, the adjudicator's annotation when amended, None when rejected."""
    if verdict["verdict"] not in ("accept", "reject", "amend"):
        raise SystemExit(f"{change['id']}: verdict must be accept, reject or amend")
    if verdict["verdict"] == "reject":
        return None
    src = change if verdict["verdict"] == "accept" else verdict
    row = {k: src.get(k) for k in ANNOTATION_FIELDS if src.get(k) is not None}
    row.update(id=change["id"], label=src["label"], also=src.get("also") or [],
               rule=src.get("rule") or change.get("rule"),
               note=verdict.get("note") or change.get("note") or change.get("reason"))
    return row


def read_annotations(path: Path, candidates: dict[str, dict]) -> tuple[list[dict], list[str]]:
    records, errors = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                ann = json.loads(line)
                cand = candidates.get(ann.get("id"))
                if cand is None:
                    raise ValueError(f"unknown id {ann.get('id')!r}")
                records.append(to_record(ann, cand))
            except (ValueError, TypeError, json.JSONDecodeError) as e:
                errors.append(f"{path}:{n}: {e}")
    return records, errors


def cohen_kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in set(a) | set(b))
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


def span_f1(a: list[dict | None], b: list[dict | None]) -> float:
    """Exact-match F1 of spans, treating annotator A as reference (symmetric anyway)."""
    sa = {(i, s["start"], s["end"]) for i, s in enumerate(a) if s}
    sb = {(i, s["start"], s["end"]) for i, s in enumerate(b) if s}
    if not sa and not sb:
        return 1.0
    tp = len(sa & sb)
    return 2 * tp / (len(sa) + len(sb))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="report every problem in annotation files")
    c.add_argument("files", nargs="+", type=Path)
    g = sub.add_parser("agree", help="agreement between two annotators on shared ids")
    g.add_argument("a", type=Path)
    g.add_argument("b", type=Path)
    args = ap.parse_args()
    cands = load_candidates()
    if args.cmd == "check":
        bad = 0
        for f in args.files:
            recs, errs = read_annotations(f, cands)
            for e in errs:
                print(e)
            bad += len(errs)
            print(f"{f}: {len(recs)} records ok, {len(errs)} errors", file=sys.stderr)
        sys.exit(1 if bad else 0)
    ra, ea = read_annotations(args.a, cands)
    rb, eb = read_annotations(args.b, cands)
    ia, ib = {r["id"]: r for r in ra}, {r["id"]: r for r in rb}
    ids = sorted(set(ia) & set(ib))
    print(json.dumps({
        "n": len(ids),
        "kappa_label": round(cohen_kappa([ia[i]["label"] for i in ids], [ib[i]["label"] for i in ids]), 4),
        "actor_exact_f1": round(span_f1([ia[i]["actor"] for i in ids], [ib[i]["actor"] for i in ids]), 4),
    }))


if __name__ == "__main__":
    main()
