"""Annotate whole batches afresh, twice in part, where the first round's doubles fell below the bar.

    python scripts/reannotate.py sample data/annotation/reannot --batches 21,32,33,47,53,56,58
    # blind annotators write DIR/first_NN_K.jsonl (the whole batch, in parts by article)
    # and DIR/second_NN.jsonl (a random --double share of the batch, read by someone else)
    python scripts/reannotate.py extend data/annotation/reannot --batch 53   # where the drawn share is too thin
    python scripts/reannotate.py differences data/annotation/reannot
    # adjudicators settle every record where the dataset, first and second differ (DIR/differences_K.md,
    # the ones still unsettled each time) into DIR/adjudicated_*.jsonl
    python scripts/reannotate.py figures data/annotation/reannot
    python scripts/reannotate.py apply data/annotation/reannot --to data/annotation/review/applied_reannot.jsonl

Issue 10 asks for kappa and actor exact F1 >= 0.85 between two independent annotations in every
batch. Seven second-round batches missed it on their first annotation, and no later pass can change
that figure. This round reads those batches again from scratch under the rules as they stand now:
new annotators, who never annotated the batch, annotate every sentence blind, and another new
annotator reads a random share of it blind too. The batch's figure is then first against second of
this round; the first round's figure stays in the data card beside it. Every record where the
dataset, the first or the second reading differ is adjudicated, and the dataset takes the verdict.

An adjudicated line: {"id", "verdict": "dataset" | "first" | "second" | "new", "correct": {...} (only
with "new": the annotators' format), "rule", "note"}.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import Counter
from pathlib import Path

import audit
from annotations import (
    ANNOTATION_FIELDS,
    dataset_records,
    load_candidates,
    read_annotations,
    read_jsonl,
    span_f1,
    to_record,
)

READINGS = ("dataset", "first", "second")


def parts_of(ids: list[str], cands: dict, size: int) -> list[list[str]]:
    """The batch cut into about len/size parts of whole articles, in batch order."""
    docs: dict[str, list[str]] = {}
    for i in ids:
        docs.setdefault(cands[i]["doc"], []).append(i)
    n = max(1, round(len(ids) / size))
    target = len(ids) / n
    parts: list[list[str]] = [[]]
    for sents in docs.values():
        if len(parts[-1]) >= target and len(parts) < n:
            parts.append([])
        parts[-1] += sents
    return parts


def sheet(title: str, ids: list[str], cands: dict, records: dict) -> str:
    lines = [f"# {title}: {len(ids)} sentences, annotate blind", ""]
    doc = None
    for i in ids:
        c = cands[i]
        if c["doc"] != doc:
            doc = c["doc"]
            lines += ["", f"## doc {doc} ({c['source']})"]
        lines.append(f"[{i}] ({records[i]['split']}) {c['text']}")
    return "\n".join(lines) + "\n"


def sample(out: Path, batches: list[int], double: float, size: int, seed: int) -> None:
    rng = random.Random(seed)
    cands = load_candidates()
    current = dataset_records()
    out.mkdir(parents=True, exist_ok=True)
    plan, snapshot = {"seed": seed, "double": double, "batches": {}}, []
    for b in batches:
        ids = [i for i, c in cands.items() if c["batch"] == b]
        parts = parts_of(ids, cands, size)
        drawn = set(rng.sample(ids, math.ceil(double * len(ids))))
        second = [i for i in ids if i in drawn]
        for k, part in enumerate(parts, 1):
            (out / f"sheet_first_{b:02d}_{k}.md").write_text(
                sheet(f"Batch {b}, part {k} of {len(parts)}", part, cands, current), encoding="utf-8")
        (out / f"sheet_second_{b:02d}.md").write_text(
            sheet(f"Batch {b}, a random {double:.0%}", second, cands, current), encoding="utf-8")
        plan["batches"][str(b)] = {"first": parts, "second": second}
        snapshot += [{**current[i], "batch": b} for i in ids]
        print(f"batch {b}: {len(ids)} sentences in {len(parts)} parts ({', '.join(str(len(p)) for p in parts)}), "
              f"{len(second)} read twice")
    (out / "plan.json").write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    (out / "dataset_at_sample.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in snapshot), encoding="utf-8")


def load(d: Path) -> tuple[dict, dict[str, dict[str, dict]], dict[str, dict[str, dict]]]:
    """The plan, the three readings as dataset records by id, and the two new ones as written."""
    plan = json.loads((d / "plan.json").read_text(encoding="utf-8"))
    cands = load_candidates()
    readings = {"dataset": {r["id"]: r for r in read_jsonl(d / "dataset_at_sample.jsonl")}, "first": {}, "second": {}}
    written: dict[str, dict[str, dict]] = {"first": {}, "second": {}}
    for reading in ("first", "second"):
        for f in sorted(d.glob(f"{reading}_*.jsonl")):
            recs, errors = read_annotations(f, cands)
            if errors:
                raise SystemExit("\n".join(errors))
            readings[reading].update({r["id"]: r for r in recs})
            written[reading].update({a["id"]: a for a in read_jsonl(f)})
    for b, p in plan["batches"].items():
        for reading, ids in (("first", [i for part in p["first"] for i in part]),
                             ("second", p["second"] + p.get("second_extra", []))):
            missing = [i for i in ids if i not in readings[reading]]
            if missing:
                raise SystemExit(f"batch {b}: {len(missing)} sentences have no {reading} reading yet, e.g. {missing[0]}")
    return plan, readings, written


def disputes(plan: dict, readings: dict) -> list[str]:
    """Ids where any two of the readings differ in label, actor span or target span."""
    out = []
    for p in plan["batches"].values():
        for i in (i for part in p["first"] for i in part):
            rs = [readings[k][i] for k in READINGS if i in readings[k]]
            if any(audit.differing(a, b) for a in rs for b in rs):
                out.append(i)
    return out


def differences(d: Path) -> None:
    """differences_K.md: the disputes no verdict settles yet (all of them the first time, K = 1)."""
    plan, readings, _ = load(d)
    every = disputes(plan, readings)
    settled = verdicts(d)
    ids = [i for i in every if i not in settled]
    (d / "disputes.json").write_text(json.dumps(every, indent=0) + "\n", encoding="utf-8")
    if not ids:
        print(f"{len(every)} of {len(readings['dataset'])} records differ, every one settled")
        return
    lines = ["# Re-annotation: where the dataset, the first and the second reading differ", "",
             ("For each sentence give the right annotation under the rules: the verdict names the reading that "
              "is right in every field (dataset, first or second), or is new, with the annotation in `correct`."), ""]
    for i in ids:
        rs = {k: readings[k][i] for k in READINGS if i in readings[k]}
        fields = sorted({f for a in rs.values() for b in rs.values() for f in audit.differing(a, b)})
        lines += [f"## [{i}] ({rs['dataset']['split']}) differs in: {', '.join(fields)}", rs["dataset"]["text"], ""]
        lines += [f"- {k}: {audit.shown(r)}" for k, r in rs.items()] + [""]
    sheet_file = d / f"differences_{len(list(d.glob('differences_*.md'))) + 1}.md"
    sheet_file.write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(every)} of {len(readings['dataset'])} records differ, {len(ids)} with no verdict yet: "
          f"{sheet_file}")


def extend(d: Path, batch: int, parts: int) -> None:
    """Read the rest of a batch a second time too, where its drawn share gave too few claims to judge it
    by; the figures give the drawn share and the whole batch apart."""
    plan = json.loads((d / "plan.json").read_text(encoding="utf-8"))
    p = plan["batches"][str(batch)]
    cands, current = load_candidates(), dataset_records()
    rest = [i for part in p["first"] for i in part if i not in set(p["second"])]
    size = math.ceil(len(rest) / parts)
    p["second_extra"] = rest
    for k in range(parts):
        chunk = rest[k * size:(k + 1) * size]
        (d / f"sheet_second_{batch:02d}_extra_{k + 1}.md").write_text(
            sheet(f"Batch {batch}, the rest of the batch, part {k + 1} of {parts}", chunk, cands, current),
            encoding="utf-8")
    (d / "plan.json").write_text(json.dumps(plan, indent=1) + "\n", encoding="utf-8")
    print(f"batch {batch}: {len(rest)} more sentences to read a second time, in {parts} sheets")


def agreement(a: dict, b: dict, ids: list[str]) -> dict:
    """audit.agreement (n, kappa, actor F1) with the target's exact F1 too."""
    return {**audit.agreement(a, b, ids),
            "target_exact_f1": round(span_f1([a[i]["target"] for i in ids], [b[i]["target"] for i in ids]), 3)}


def verdicts(d: Path) -> dict[str, dict]:
    out = {v["id"]: v for f in sorted(d.glob("adjudicated_*.jsonl")) for v in read_jsonl(f)}
    for v in out.values():
        if v.get("verdict") not in (*READINGS, "new"):
            raise SystemExit(f"{v['id']}: verdict must be dataset, first, second or new, not {v.get('verdict')!r}")
        if v["verdict"] == "new" and not v.get("correct"):
            raise SystemExit(f"{v['id']}: a new verdict needs the annotation in 'correct'")
    return out


def final(v: dict, written: dict) -> dict | None:
    """The verdict's annotation in the annotators' format; None when the dataset stays."""
    if v["verdict"] == "dataset":
        return None
    src = v["correct"] if v["verdict"] == "new" else written[v["verdict"]][v["id"]]
    return {"id": v["id"], **{k: src.get(k) for k in ANNOTATION_FIELDS if src.get(k) is not None},
            "also": src.get("also") or [], "rule": v.get("rule"), "note": v.get("note")}


def corrections(readings: dict, written: dict, settled: dict[str, dict]) -> list[dict]:
    """The records whose verdict changes the dataset (label, also, spans or actor_resolved)."""
    cands, rows = load_candidates(), []
    for i, v in settled.items():
        row = final(v, written)
        if row is None:
            continue
        new, old = to_record(row, cands[i]), readings["dataset"][i]
        if any(new[k] != old[k] for k in ("label", "also", "actor", "target", "actor_resolved")):
            rows.append(row)
    return rows


def unsettled(plan: dict, readings: dict, settled: dict[str, dict]) -> list[str]:
    return [i for i in disputes(plan, readings) if i not in settled]


def figures(d: Path) -> None:
    plan, readings, written = load(d)
    settled = verdicts(d)
    ds, first, second = readings["dataset"], readings["first"], readings["second"]
    result: dict = {"per_batch": {}}
    for b, p in plan["batches"].items():
        every = [i for part in p["first"] for i in part]
        result["per_batch"][f"batch_{int(b):02d}"] = {
            "sentences": len(every), "first_vs_second": agreement(first, second, p["second"]),
            "first_vs_dataset": agreement(first, ds, every)}
        if p.get("second_extra"):
            result["per_batch"][f"batch_{int(b):02d}"]["first_vs_second_whole_batch"] = agreement(
                first, second, p["second"] + p["second_extra"])
    doubled = [i for p in plan["batches"].values() for i in p["second"]]
    every = [i for p in plan["batches"].values() for part in p["first"] for i in part]
    result["all"] = {"sentences": len(every), "first_vs_second": agreement(first, second, doubled),
                     "first_vs_dataset": agreement(first, ds, every)}
    pending = unsettled(plan, readings, settled)
    if pending:
        print(f"{len(pending)} differences have no verdict yet: no adjudication figures")
    else:
        changed = {r["id"]: r for r in corrections(readings, written, settled)}
        cands = load_candidates()
        per_label: dict[str, Counter] = {}
        for i in every:
            c = per_label.setdefault(ds[i]["label"], Counter())
            c["records"] += 1
            if i in changed:
                new = to_record(changed[i], cands[i])
                for k in ("label", "actor", "target"):
                    c[k] += new[k] != ds[i][k]
        result["adjudication"] = {"disputed": len(settled), "dataset_changed": len(changed),
                                  "verdicts": dict(Counter(v["verdict"] for v in settled.values())),
                                  "dataset_errors_by_label": {k: dict(v) for k, v in sorted(per_label.items())}}
    (d / "figures.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| batch | sentences | read twice | kappa | actor F1 | target F1 | first vs dataset: kappa | actor F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for b, a in [*result["per_batch"].items(), ("all", result["all"])]:
        t = a["first_vs_dataset"]
        for s in (a["first_vs_second"], a.get("first_vs_second_whole_batch")):
            if s:
                print(f"| {b} | {a['sentences']} | {s['n']} | {s['kappa_label']} | {s['actor_exact_f1']} | "
                      f"{s['target_exact_f1']} | {t['kappa_label']} | {t['actor_exact_f1']} |")
    if "adjudication" in result:
        print(json.dumps(result["adjudication"], ensure_ascii=False))


def apply(d: Path, to: Path) -> None:
    plan, readings, written = load(d)
    settled = verdicts(d)
    pending = unsettled(plan, readings, settled)
    if pending:
        raise SystemExit(f"{len(pending)} differences have no verdict, e.g. {pending[0]}")
    audit.write_third_pass(corrections(readings, written, settled), to)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["sample", "extend", "differences", "figures", "apply"])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--batches", type=lambda v: [int(b) for b in v.split(",")], help="sample: the batches to read again")
    ap.add_argument("--double", type=float, default=0.2, help="sample: the share of each batch read a second time")
    ap.add_argument("--part-size", type=int, default=130, help="sample: about this many sentences per annotator")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--batch", type=int, help="extend: the batch to read a second time in full")
    ap.add_argument("--parts", type=int, default=2, help="extend: sheets to cut the rest of the batch into")
    ap.add_argument("--to", type=Path, help="apply: the third-pass file to write")
    args = ap.parse_args()
    if args.action == "sample" and not args.batches:
        ap.error("sample needs --batches, e.g. --batches 21,47")
    {"sample": lambda: sample(args.dir, args.batches, args.double, args.part_size, args.seed),
     "extend": lambda: extend(args.dir, args.batch, args.parts), "differences": lambda: differences(args.dir), "figures": lambda: figures(args.dir),
     "apply": lambda: apply(args.dir, args.to)}[args.action]()


if __name__ == "__main__":
    main()
