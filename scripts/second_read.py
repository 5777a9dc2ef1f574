"""A second reading of the records that only one annotator read, and the adjudication of its changes.

The first audit (data/annotation/audit/) found the errors of the dataset concentrated in
single-annotated claim records: false accusations, spans on the wrong occurrence or leaving out a
coordinated party, targets taken from a later claim (5 of its 7 wrong labels and 8 of its 10
wrong actor spans were on claim records). This re-reads, sentence by sentence in its article,
every single-annotated claim record of train, dev and test.

    python scripts/second_read.py make --reviewers 8          # review sheets in data/annotation/second_read/
    python scripts/second_read.py check [--sheet NN]          # every decision file complete and well formed
    python scripts/second_read.py proposals                   # the proposed changes, for the adjudicators
    python scripts/second_read.py apply                       # adjudicated changes -> review/applied_second_read.jsonl

A reviewer writes one JSON object per record of the sheet to `decisions_NN.jsonl`:
`{"id", "decision": "keep"}` or `{"id", "decision": "change", <the annotators' fields>, "rule", "note"}`.
An adjudicator writes one object per proposal to `adjudicated_NN.jsonl`: `{"id", "verdict":
"accept" | "reject" | "amend", <the fields, for amend>, "note"}`. Only accepted or amended changes
reach the dataset, as a third pass that scripts/build_dataset.py applies.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from annotations import (adjudicated_row, dataset_records, load_candidates, read_annotations, read_jsonl, show,
                         to_record)

DATA = Path("data")
OUT = DATA / "annotation" / "second_read"
APPLIED = DATA / "annotation" / "review" / "applied_second_read.jsonl"


def ids_in(pattern: str) -> set[str]:
    return {r["id"] for f in DATA.glob(pattern) for r in read_jsonl(f)}


def to_select() -> list[dict]:
    """Single-annotated records (no double annotation, no third-pass record yet) that this pass re-reads."""
    seen_twice = ids_in("annotation/raw/double_*.jsonl") | ids_in("annotation/adjudicated*.jsonl") \
        | ids_in("annotation/review/applied_*.jsonl")
    picked = []
    for split in ("train", "dev", "test"):
        for r in read_jsonl(DATA / f"{split}.jsonl"):
            if r["id"] in seen_twice:
                continue
            if r["label"] != "none":
                picked.append({**r, "split": split})
    return picked


def context(cands_by_doc: dict[str, list[dict]], rec: dict, before: int = 1, after: int = 1) -> tuple[list, list]:
    sents = cands_by_doc[rec["doc"]]
    i = next(k for k, c in enumerate(sents) if c["id"] == rec["id"])
    return sents[max(0, i - before):i], sents[i + 1:i + 1 + after]


def make(reviewers: int, seed: int) -> None:
    records = to_select()
    cands = load_candidates()
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for c in cands.values():
        by_doc[c["doc"]].append(c)
    for sents in by_doc.values():
        sents.sort(key=lambda c: c["id"])
    # Whole articles stay on one sheet (the context is read once); articles are dealt out at random.
    docs: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        docs[r["doc"]].append(r)
    order = sorted(docs)
    random.Random(seed).shuffle(order)
    sheets: list[list[str]] = [[] for _ in range(reviewers)]
    for doc in order:
        min(sheets, key=len).extend(r["id"] for r in docs[doc])
    by_id = {r["id"]: r for r in records}
    OUT.mkdir(parents=True, exist_ok=True)
    for n, ids in enumerate(sheets):
        lines = [f"# Second reading, sheet {n:02d}: {len(ids)} records", ""]
        last_doc = None
        for i in ids:
            r = by_id[i]
            if r["doc"] != last_doc:
                lines += [f"## doc {r['doc']} ({r['source']}, {r['split']})", ""]
                last_doc = r["doc"]
            prev, nxt = context(by_doc, r)
            lines.append(f"### [{i}]")
            lines += [f"> before: {c['text']}" for c in prev]
            lines.append(f"**{r['text']}**")
            lines += [f"> after: {c['text']}" for c in nxt]
            lines += [f"- now: {show(r)}", ""]
        (OUT / f"sheet_{n:02d}.md").write_text("\n".join(lines), encoding="utf-8")
        (OUT / f"sheet_{n:02d}.ids.json").write_text(json.dumps(ids), encoding="utf-8")
    count = Counter((r["split"], r["label"] != "none") for r in records)
    print(f"{len(records)} records on {reviewers} sheets:",
          ", ".join(f"{s} {'claims' if c else 'none'} {n}" for (s, c), n in sorted(count.items())))


def decisions(cands: dict, sheet: str = "*") -> tuple[dict[str, dict], list[str]]:
    """Every reviewer's decisions, checked: each sheet id decided once, each change a valid record."""
    out, errors = {}, []
    for ids_file in sorted(OUT.glob(f"sheet_{sheet}.ids.json")):
        n = ids_file.name.split("_")[1].split(".")[0]
        wanted = json.loads(ids_file.read_text(encoding="utf-8"))
        path = OUT / f"decisions_{n}.jsonl"
        got = {d["id"]: d for d in read_jsonl(path)} if path.exists() else {}
        missing = [i for i in wanted if i not in got]
        if missing:
            errors.append(f"{path}: {len(missing)} of {len(wanted)} records undecided, e.g. {missing[0]}")
        for i, d in got.items():
            if d.get("decision") not in ("keep", "change"):
                errors.append(f"{path}: {i}: decision must be keep or change")
                continue
            if d["decision"] == "change":
                try:
                    to_record(d, cands[i])
                except (ValueError, KeyError) as e:
                    errors.append(f"{path}: {i}: {e}")
            out[i] = {**d, "sheet": n}
    return out, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["make", "check", "proposals", "apply"])
    ap.add_argument("--reviewers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--sheet", default="*", help="check: only this sheet (e.g. 03)")
    args = ap.parse_args()
    if args.action == "make":
        make(args.reviewers, args.seed)
        return
    cands = load_candidates()
    dec, errors = decisions(cands, args.sheet if args.action == "check" else "*")
    if errors:
        raise SystemExit("\n".join(errors))
    current = dataset_records(("train", "dev", "test"))
    changes = {i: d for i, d in dec.items() if d["decision"] == "change"}
    if args.action == "check":
        print(f"{len(dec)} decisions, {len(changes)} proposed changes")
        return
    if args.action == "proposals":
        lines = ["# Second reading: proposed changes to adjudicate", ""]
        for i, d in sorted(changes.items(), key=lambda kv: kv[1]["sheet"]):
            r = current[i]
            new = to_record(d, cands[i])
            lines += [f"## [{i}] ({r['split']}, {r['source']}, sheet {d['sheet']})", r["text"], "",
                      f"- now: {show(r)}", f"- proposed: {show(new)}",
                      f"- reviewer: rule {d.get('rule')}: {d.get('note')}", ""]
        (OUT / "proposals.md").write_text("\n".join(lines), encoding="utf-8")
        print(f"{len(changes)} proposals in {OUT / 'proposals.md'}")
        return
    verdicts = {v["id"]: v for f in sorted(OUT.glob("adjudicated_*.jsonl")) for v in read_jsonl(f)}
    undecided = sorted(set(changes) - set(verdicts))
    if undecided:
        raise SystemExit(f"{len(undecided)} proposals have no verdict, e.g. {undecided[0]}")
    applied, table = [], Counter()
    for i, d in sorted(changes.items()):
        v = verdicts[i]
        r = current[i]
        row = adjudicated_row(d, v)
        table[(r["split"], r["label"], v["verdict"])] += 1
        if row:
            applied.append(row)
    APPLIED.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in applied), encoding="utf-8")
    recs, errs = read_annotations(APPLIED, cands)
    if errs:
        raise SystemExit("\n".join(errs))
    kept = Counter((current[i]["split"], current[i]["label"]) for i, d in dec.items() if d["decision"] == "keep")
    print("| split | label now | read | kept | proposed | accepted | amended | rejected |")
    print("|---|---|---|---|---|---|---|---|")
    for split, label in sorted({(s, lab) for s, lab in kept} | {(s, lab) for s, lab, _ in table}):
        a, m, j = (table[(split, label, v)] for v in ("accept", "amend", "reject"))
        print(f"| {split} | {label} | {kept[(split, label)] + a + m + j} | {kept[(split, label)]} | {a + m + j} | {a} | {m} | {j} |")
    kinds = Counter()
    for r in recs:
        old = current[r["id"]]
        kinds.update(k for k in ("label", "also", "actor", "target", "actor_resolved")
                     if (r[k] if k not in ("actor", "target") else r[k] and (r[k]["start"], r[k]["end"]))
                     != (old[k] if k not in ("actor", "target") else old[k] and (old[k]["start"], old[k]["end"])))
    print(f"{len(applied)} corrected records in {APPLIED}; fields changed: {dict(kinds)}")


if __name__ == "__main__":
    main()
