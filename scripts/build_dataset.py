"""Assemble the splits in data/ from the annotators' files, and measure their agreement.

    python scripts/build_dataset.py disagreements --out FILE   # the disagreements no third pass has settled yet
    python scripts/build_dataset.py build                      # write the splits and data/annotation/agreement.json
    python scripts/build_dataset.py corrected FILE...          # how many records third-pass files correct, by split

Every candidate is annotated once in data/annotation/raw/batch_*.jsonl; some are annotated a second
time, independently, in double_*.jsonl (11% in the first round, 16% in the second). Where the two
differ, the third pass (data/annotation/adjudicated*.jsonl) decides; it also holds the corrections
that re-reading under settled rules made (review/rule_review.jsonl, applied in
review/applied_round1.jsonl).

Splits: the first round (batches 0-14) made train, dev (alyaum) and test (alwatan, SPA). The second
round (batches 20 on) makes the new dev (almadina) and test (alwatan, alyaum, SPA) and adds to train;
the first round's dev and test stay, frozen, as dev_v1 and test_v1, and its almadina train sentences
become dev_cue, so that train shares no outlet with dev (data/README.md).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from annotations import SPLITS, cohen_kappa, load_candidates, read_annotations, span_f1

ROOT = Path("data")
RAW = ROOT / "annotation" / "raw"
ROUND2 = 20  # the first batch of the second round
# In this order: a later file wins over an earlier one for the same sentence (the reviews re-read
# records under rules settled after their adjudication).
THIRD_PASS = ["annotation/adjudicated.jsonl", "annotation/adjudicated_round2.jsonl",
              "annotation/adjudicated_topup2.jsonl",
              "annotation/review/applied_round1.jsonl", "annotation/review/applied_round2_old_rules_a.jsonl",
              "annotation/review/applied_round2_old_rules_b.jsonl", "annotation/review/applied_round2_new_rules.jsonl",
              "annotation/review/applied_audit.jsonl", "annotation/review/applied_second_read.jsonl",
              "annotation/review/applied_rule77.jsonl", "annotation/review/applied_audit2.jsonl",
              "annotation/review/applied_rule75_79.jsonl", "annotation/review/applied_recheck.jsonl",
              "annotation/review/applied_recheck2.jsonl", "annotation/review/applied_rules81_86.jsonl",
              "annotation/review/applied_audit3.jsonl", "annotation/review/applied_reannot.jsonl",
              "annotation/review/applied_rules88_95.jsonl", "annotation/review/applied_audit4.jsonl",
              "annotation/review/applied_evalread.jsonl", "annotation/review/applied_audit5.jsonl"]


def final_split(cand: dict) -> str:
    if cand["batch"] >= ROUND2:
        return cand["split"]
    if cand["split"] in ("dev", "test"):
        return cand["split"] + "_v1"
    return "dev_cue" if cand["source"] == "almadina" else "train"


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


def write_disagreements(first, second, cands, out: Path, settled: dict) -> None:
    lines = ["# Disagreements between the two independent annotations", "",
             "For each sentence decide the final annotation per ANNOTATION.md (A and B are two annotators).", ""]
    n = 0
    for i in sorted(set(first) & set(second)):
        what = differs(first[i], second[i])
        if not what or i in settled:
            continue
        n += 1
        a, b = first[i], second[i]
        lines += [f"## [{i}] differs in: {', '.join(what)}", cands[i]["text"], ""]
        for name, r in (("A", a), ("B", b)):
            lines.append(f"- {name}: {r['label']} also={r['also']} actor={fmt_span(r['actor'])} "
                         f"resolved={r['actor_resolved']} target={fmt_span(r['target'])}")
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"{n} disagreements written to {out}")


def sort_key(rec: dict):
    m = re.search(r"-s(\d+)$", rec["id"])
    return rec["doc"], int(m.group(1)) if m else 0


def third_pass(cands) -> dict:
    """Every third-pass decision; a later file wins over an earlier one for the same sentence."""
    adjudicated = {}
    for name in THIRD_PASS:
        if (ROOT / name).exists():
            recs, errs = read_annotations(ROOT / name, cands)
            if errs:
                raise SystemExit("\n".join(errs))
            adjudicated.update({r["id"]: r for r in recs})
    return adjudicated


def build(first, second, cands) -> None:
    adjudicated = third_pass(cands)
    final = {}
    for i, rec in first.items():
        if i in second and differs(rec, second[i]) and i not in adjudicated:
            raise SystemExit(f"{i}: the two annotations differ and there is no adjudication for it")
        # The third pass wins: it settles disagreements and corrects records that break a settled rule.
        final[i] = adjudicated.get(i, rec)
    missing = set(cands) - set(final)
    if missing:
        raise SystemExit(f"{len(missing)} candidates have no annotation, e.g. {sorted(missing)[:3]}")
    for split in SPLITS:
        rows = sorted((r for i, r in final.items() if final_split(cands[i]) == split), key=sort_key)
        with open(ROOT / f"{split}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(split, len(rows), dict(Counter(r["label"] for r in rows)))
    stats = agreement(first, second)
    stats["adjudicated_disagreements"] = sum(1 for i in second if i in first and differs(first[i], second[i]))
    stats["third_pass_decisions"] = len(adjudicated)
    for name, lo, hi in (("round1", 0, ROUND2), ("round2", ROUND2, 10**6)):
        ids = {i for i in second if lo <= cands[i]["batch"] < hi}
        stats[name] = agreement({i: first[i] for i in ids}, {i: second[i] for i in ids})
        if name == "round2":  # reported batch by batch (issue 10): each batch's doubles against its first pass
            stats[name]["per_batch"] = {
                f"batch_{b:02d}": agreement({i: first[i] for i in ids if cands[i]["batch"] == b},
                                            {i: second[i] for i in ids if cands[i]["batch"] == b})
                for b in sorted({cands[i]["batch"] for i in ids})}
    (ROOT / "annotation" / "agreement.json").write_text(json.dumps(stats, indent=2), encoding="utf-8")
    print(json.dumps(stats))


def markdown_stats(cands: dict) -> str:
    """Tables for the data card: label and outlet counts per split, and how sentences were chosen."""
    from infer.labels import LABELS

    rows = {s: [json.loads(line) for line in open(ROOT / f"{s}.jsonl", encoding="utf-8")] for s in SPLITS}
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
    out += ["", "| split | genre | sentences | " + " | ".join(LABELS) + " |", "|---" * (3 + len(LABELS)) + "|"]
    for s, rs in rows.items():
        by = {}
        for r in rs:
            by.setdefault(genre(cands[r["id"]]), []).append(r)
        for g, grs in sorted(by.items()):
            c = Counter(r["label"] for r in grs)
            out.append(f"| {s} | {g} | {len(grs)} | " + " | ".join(str(c[lab]) for lab in LABELS) + " |")
    out += ["", "| split | how chosen | sentences | claims |", "|---|---|---|---|"]
    for s, rs in rows.items():
        sel = Counter(cands[r["id"]]["selection"].split(":")[0] for r in rs)
        for k, n in sorted(sel.items()):
            claims = sum(1 for r in rs if cands[r["id"]]["selection"].split(":")[0] == k and r["label"] != "none")
            out.append(f"| {s} | {k} | {n} | {claims} |")
    total = sum(len(v) for v in rows.values())
    whole = sum(1 for rs in rows.values() for r in rs if cands[r["id"]]["selection"].startswith("whole"))
    out += ["", f"Whole-article sentences: {whole} of {total} ({100 * whole / total:.0f}%)."]
    return "\n".join(out)


def genre(cand: dict) -> str:
    """news or opinion where the draw recorded it (second round: alwatan's opinion section by URL)."""
    sel = cand["selection"]
    if sel.startswith("whole:"):
        return sel.split(":")[1]
    return "news and opinion, not told apart" if sel == "whole" else "single sentences (cue)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["disagreements", "build", "stats", "corrected"])
    ap.add_argument("--out", type=Path, default=ROOT / "annotation" / "disagreements.md",
                    help="disagreements: where to write them")
    ap.add_argument("files", nargs="*", type=Path,
                    help="corrected: third-pass files (review/applied_*.jsonl) whose records to count by split")
    args = ap.parse_args()
    cands = load_candidates()
    if args.action == "stats":
        print(markdown_stats(cands))
        return
    if args.action == "corrected":
        ids = {json.loads(line)["id"] for f in args.files for line in f.read_text(encoding="utf-8").splitlines() if line}
        print(f"{len(ids)} records:", dict(Counter(final_split(cands[i]) for i in ids).most_common()))
        return
    first = read_all("batch_*.jsonl", cands)
    second = read_all("double_*.jsonl", cands)
    if args.action == "disagreements":
        write_disagreements(first, second, cands, args.out, third_pass(cands))
    else:
        build(first, second, cands)


if __name__ == "__main__":
    main()
