"""Assemble data/{train,dev,test}.jsonl from the annotators' files, and measure their agreement.

    python scripts/build_dataset.py disagreements   # write data/annotation/disagreements.md for the third pass
    python scripts/build_dataset.py build           # write the splits and data/annotation/agreement.json

Every candidate is annotated once in data/annotation/raw/batch_*.jsonl; about
11% are annotated a second time, independently, in double_*.jsonl. Where the
two differ, the third pass (data/annotation/adjudicated.jsonl) decides.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from annotations import cohen_kappa, load_candidates, read_annotations, span_f1

ROOT = Path("data")
RAW = ROOT / "annotation" / "raw"


def read_all(pattern: str, cands: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in sorted(RAW.glob(pattern)):
        recs, errs = read_annotations(f, cands)
        if errs:
            raise SystemExit("\n".join(errs))
        for r in recs:
            out[r["id"]] = r
    return out


def differs(a: dict, b: dict) -> list[str]:
    what = []
    if a["label"] != b["label"]:
        what.append("label")
    for k in ("actor", "target"):
        sa = (a[k]["start"], a[k]["end"]) if a[k] else None
        sb = (b[k]["start"], b[k]["end"]) if b[k] else None
        if sa != sb:
            what.append(k)
    return what


def agreement(first: dict, second: dict) -> dict:
    ids = sorted(set(first) & set(second))
    return {
        "n_sentences": len(ids),
        "cohen_kappa_label": round(cohen_kappa([first[i]["label"] for i in ids], [second[i]["label"] for i in ids]), 4),
        "raw_label_agreement": round(sum(first[i]["label"] == second[i]["label"] for i in ids) / len(ids), 4),
        "actor_exact_f1": round(span_f1([first[i]["actor"] for i in ids], [second[i]["actor"] for i in ids]), 4),
        "target_exact_f1": round(span_f1([first[i]["target"] for i in ids], [second[i]["target"] for i in ids]), 4),
        "disagreements": {k: sum(k in differs(first[i], second[i]) for i in ids) for k in ("label", "actor", "target")},
    }


def fmt_span(s):
    return f"«{s['text']}»@{s['start']}" if s else "null"


def write_disagreements(first, second, cands) -> None:
    lines = ["# Disagreements between the two independent annotations", "",
             "For each sentence decide the final annotation per ANNOTATION.md (A and B are two annotators).", ""]
    n = 0
    for i in sorted(set(first) & set(second)):
        what = differs(first[i], second[i])
        if not what:
            continue
        n += 1
        a, b = first[i], second[i]
        lines += [f"## [{i}] differs in: {', '.join(what)}", cands[i]["text"], ""]
        for name, r in (("A", a), ("B", b)):
            lines.append(f"- {name}: {r['label']} also={r['also']} actor={fmt_span(r['actor'])} "
                         f"resolved={r['actor_resolved']} target={fmt_span(r['target'])}")
        lines.append("")
    (ROOT / "annotation" / "disagreements.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"{n} disagreements written to data/annotation/disagreements.md")


def sort_key(rec: dict):
    m = re.search(r"-s(\d+)$", rec["id"])
    return rec["doc"], int(m.group(1)) if m else 0


def build(first, second, cands) -> None:
    adjudicated = {}
    adj_file = ROOT / "annotation" / "adjudicated.jsonl"
    if adj_file.exists():
        adjudicated = {r["id"]: r for r in read_annotations(adj_file, cands)[0]}
    final = {}
    for i, rec in first.items():
        if i in second and differs(rec, second[i]) and i not in adjudicated:
            raise SystemExit(f"{i}: the two annotations differ and there is no adjudication for it")
        # The third pass wins: it settles disagreements and corrects records that break a settled rule.
        final[i] = adjudicated.get(i, rec)
    missing = set(cands) - set(final)
    if missing:
        raise SystemExit(f"{len(missing)} candidates have no annotation, e.g. {sorted(missing)[:3]}")
    for split in ("train", "dev", "test"):
        rows = sorted((r for i, r in final.items() if cands[i]["split"] == split), key=sort_key)
        with open(ROOT / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(split, len(rows), dict(Counter(r["label"] for r in rows)))
    stats = agreement(first, second)
    stats["adjudicated_disagreements"] = sum(1 for i in second if i in first and differs(first[i], second[i]))
    stats["third_pass_decisions"] = len(adjudicated)
    (ROOT / "annotation" / "agreement.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    print(json.dumps(stats))


def markdown_stats(cands: dict) -> str:
    """Tables for the data card: label and outlet counts per split, and how sentences were chosen."""
    from infer.labels import LABELS

    rows = {s: [json.loads(line) for line in open(ROOT / f"{s}.jsonl", encoding="utf-8")]
            for s in ("train", "dev", "test")}
    out = ["| split | sentences | documents | " + " | ".join(LABELS) + " |", "|---" * (3 + len(LABELS)) + "|"]
    for s, rs in rows.items():
        c = Counter(r["label"] for r in rs)
        out.append(f"| {s} | {len(rs)} | {len({r['doc'] for r in rs})} | "
                   + " | ".join(f"{c[lab]} ({100 * c[lab] / len(rs):.0f}%)" for lab in LABELS) + " |")
    out += ["", "| split | outlet | sentences | claims |", "|---|---|---|---|"]
    for s, rs in rows.items():
        for src, n in sorted(Counter(r["source"] for r in rs).items()):
            claims = sum(1 for r in rs if r["source"] == src and r["label"] != "none")
            out.append(f"| {s} | {src} | {n} | {claims} |")
    out += ["", "| split | how chosen | sentences | claims |", "|---|---|---|---|"]
    for s, rs in rows.items():
        sel = Counter(cands[r["id"]]["selection"].split(":")[0] for r in rs)
        for k, n in sorted(sel.items()):
            claims = sum(1 for r in rs if cands[r["id"]]["selection"].split(":")[0] == k and r["label"] != "none")
            out.append(f"| {s} | {k} | {n} | {claims} |")
    total = sum(len(v) for v in rows.values())
    whole = sum(1 for rs in rows.values() for r in rs if cands[r["id"]]["selection"] == "whole")
    out += ["", f"Whole-article sentences: {whole} of {total} ({100 * whole / total:.0f}%)."]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["disagreements", "build", "stats"])
    args = ap.parse_args()
    cands = load_candidates()
    if args.action == "stats":
        print(markdown_stats(cands))
        return
    first = read_all("batch_*.jsonl", cands)
    second = read_all("double_*.jsonl", cands)
    if args.action == "disagreements":
        write_disagreements(first, second, cands)
    else:
        build(first, second, cands)


if __name__ == "__main__":
    main()
