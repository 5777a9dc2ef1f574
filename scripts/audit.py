"""A blind audit of the dataset: draw the sample, list where the auditor differs, count the errors.

    python scripts/audit.py sample data/annotation/audit2 --exclude data/annotation/audit/sample_ids.json
    python scripts/audit.py differences data/annotation/audit2   # after DIR/audit_blind.jsonl is written
    python scripts/audit.py figures data/annotation/audit2       # after DIR/adjudicated.jsonl is written
    python scripts/audit.py apply data/annotation/audit2 --to data/annotation/review/applied_audit2.jsonl

`sample` draws 150 records stratified by label (62 none and 22 of each claim, as the first audit)
and, within each label, by split (test, dev and train in the proportion 2:1:2). It writes the
auditor's sheet (`sample.md`: the sentences only, no annotation), the ids, and the records as the
dataset holds them at that moment (`dataset_at_sample.jsonl`), so that the figures stay those of
the dataset that was audited after its errors are corrected.

The auditor annotates every sentence blind, in its article, into `audit_blind.jsonl` (the
annotators' format). `differences` writes `differences.md`: every record where the audit and the
dataset differ in label, actor span or target span. An adjudicator decides each field in dispute
into `adjudicated.jsonl`: `{"id", "label", "actor", "target", "rule", "note"}` with "D" (the dataset
was right), "E" (the auditor was right), "N" (neither) or null (not in dispute). A dataset error is a
field whose verdict is E or N; the adjudicator then gives the right annotation in `correct`.
`figures` prints kappa, span agreement and the error table and writes `figures.json`; `apply`
writes the corrections as third-pass records for scripts/build_dataset.py.

A re-check of the batches whose double annotation fell below the agreement bar (issue 10: kappa and
actor F1 >= 0.85 per batch) uses the same steps with another sample:

    python scripts/audit.py sample data/annotation/recheck --below 0.85 --per-batch 40

draws, in every second-round batch below the bar in `data/annotation/agreement.json`, --per-batch
sentences that only one annotator has read, at random. A batch still below the bar on its re-check is
annotated a second time in full (`--batches 21,47 --per-batch 0`, excluding the re-check's ids). They are annotated blind as above; `figures`
then also gives, per batch, kappa and actor F1 of the new annotation against the batch's first
annotation (`raw/batch_NN.jsonl`): a second independent annotation, as the doubles are.

A blind second reading of whole evaluation splits uses the same steps once more:

    python scripts/audit.py sample data/annotation/evalread --splits dev,test

takes every record of those splits in article order (no draw), so that readers given ranges of
lines read whole articles.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from annotations import LABELS, cohen_kappa, dataset_records, load_candidates, read_annotations, read_jsonl, span_f1

DATA = Path("data")
SPLIT_WEIGHTS = {"test": 2, "dev": 1, "train": 2}
QUOTA = {"none": 62, "accusation": 22, "denial": 22, "agreement": 22, "demand": 22}


def quotas(total: int) -> dict[str, int]:
    """``total`` shared among the splits by SPLIT_WEIGHTS, largest remainders first."""
    weight = sum(SPLIT_WEIGHTS.values())
    exact = {s: total * w / weight for s, w in SPLIT_WEIGHTS.items()}
    out = {s: int(v) for s, v in exact.items()}
    for s in sorted(exact, key=lambda s: exact[s] - out[s], reverse=True)[: total - sum(out.values())]:
        out[s] += 1
    return out


def stratified(skip: set[str], rng: random.Random) -> list[dict]:
    """QUOTA records per label, shared among the splits by SPLIT_WEIGHTS."""
    picked = []
    for label, total in QUOTA.items():
        for split, n in quotas(total).items():
            pool = [r for r in read_jsonl(DATA / f"{split}.jsonl") if r["label"] == label and r["id"] not in skip]
            picked += [{**r, "split": split} for r in rng.sample(pool, n)]
    return picked


def batches_below(bar: float) -> list[int]:
    """Second-round batches whose doubles gave kappa or actor F1 under ``bar`` (agreement.json)."""
    stats = json.loads((DATA / "annotation" / "agreement.json").read_text(encoding="utf-8"))
    return [int(name.split("_")[1]) for name, a in stats["round2"]["per_batch"].items()
            if a["cohen_kappa_label"] < bar or a["actor_exact_f1"] < bar]


def single_read(batches: list[int], per_batch: int, skip: set[str], rng: random.Random) -> list[dict]:
    """``per_batch`` sentences of each batch that no second annotator has read, at random (0: all)."""
    doubled = {r["id"] for f in (DATA / "annotation" / "raw").glob("double_*.jsonl") for r in read_jsonl(f)}
    cands = load_candidates()
    current = dataset_records()
    picked = []
    for b in batches:
        pool = sorted(i for i, c in cands.items() if c["batch"] == b and i not in doubled and i not in skip)
        n = min(per_batch or len(pool), len(pool))
        picked += [{**current[i], "batch": b} for i in rng.sample(pool, n)]
    return picked


def whole_splits(splits: list[str]) -> list[dict]:
    """Every record of these splits, article by article in reading order (the evaluation splits are
    whole articles, so a reader of a range of lines reads whole articles)."""
    return [{**r, "split": s} for s in splits for r in read_jsonl(DATA / f"{s}.jsonl")]


def ids_in(path: Path) -> set[str]:
    """The ids an --exclude file names: an ids list (sample_ids.json) or records / hits (a .jsonl with "id")."""
    if path.suffix == ".jsonl":
        return {r["id"] for r in read_jsonl(path)}
    return set(json.loads(path.read_text(encoding="utf-8")))


def sample(out: Path, exclude: list[Path], seed: int, below: float | None = None, per_batch: int = 40,
           batches: list[int] | None = None, splits: list[str] | None = None) -> None:
    skip = {i for f in exclude for i in ids_in(f)}
    rng = random.Random(seed)
    if splits:
        picked = whole_splits(splits)
    elif below is None and not batches:
        picked = stratified(skip, rng)
    else:
        if not batches:
            batches = batches_below(below)
            print(f"batches below {below}: {', '.join(map(str, batches))}")
        picked = single_read(batches, per_batch, skip, rng)
    if not splits:
        rng.shuffle(picked)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sample_ids.json").write_text(json.dumps([r["id"] for r in picked], indent=0), encoding="utf-8")
    (out / "dataset_at_sample.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
    lines = [f"# Audit: {len(picked)} records, annotate blind", "",
             ("Each line: [ID] (split) sentence. Find the sentence's article context by grepping its id in "
              "data/annotation/batches/*.md or its doc in data/annotation/candidates.jsonl (text only)."), ""]
    lines += [f"[{r['id']}] ({r['split']}) {r['text']}" for r in picked]
    (out / "sample.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(picked)} records:", dict(Counter(r["split"] for r in picked)), dict(Counter(r["label"] for r in picked)))


def span(s: dict | None) -> tuple | None:
    return (s["start"], s["end"]) if s else None


def shown(r: dict) -> str:
    def sp(s):
        return "null" if s is None else f"«{s['text']}»@{s['start']}"
    return f"{r['label']} also={r['also']} actor={sp(r['actor'])} resolved={r['actor_resolved']} target={sp(r['target'])}"


def load_pair(d: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """(the dataset as audited, the blind audit) by id."""
    cands = load_candidates()
    blind, errors = read_annotations(d / "audit_blind.jsonl", cands)
    if errors:
        raise SystemExit("\n".join(errors))
    dataset = {r["id"]: r for r in read_jsonl(d / "dataset_at_sample.jsonl")}
    audit = {r["id"]: r for r in blind}
    missing = sorted(set(dataset) - set(audit))
    if missing:
        raise SystemExit(f"{len(missing)} sampled records are not in {d / 'audit_blind.jsonl'}, e.g. {missing[0]}")
    return dataset, audit


def differing(a: dict, b: dict) -> list[str]:
    return [k for k, same in (("label", a["label"] == b["label"]), ("actor", span(a["actor"]) == span(b["actor"])),
                              ("target", span(a["target"]) == span(b["target"]))) if not same]


def differences(d: Path) -> None:
    dataset, audit = load_pair(d)
    lines = ["# Audit: where the blind re-annotation (E) differs from the dataset (D)", "",
             ("For each sentence decide which is right under the rules: D (the dataset), E (the auditor), or N "
              "(neither). Judge each field in dispute separately."), ""]
    n = 0
    for i, r in dataset.items():
        fields = differing(r, audit[i])
        if fields:
            n += 1
            lines += [f"## [{i}] ({r['split']}) differs in: {', '.join(fields)}", r["text"], "",
                      f"- D: {shown(r)}", f"- E: {shown(audit[i])}", ""]
    (d / "differences.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"{n} of {len(dataset)} records differ: {d / 'differences.md'}")


def figures(d: Path) -> None:
    dataset, audit = load_pair(d)
    ids = list(dataset)
    verdicts = {v["id"]: v for v in read_jsonl(d / "adjudicated.jsonl")}
    unsettled = [i for i in ids if differing(dataset[i], audit[i]) and i not in verdicts]
    if unsettled:
        raise SystemExit(f"{len(unsettled)} differences have no verdict, e.g. {unsettled[0]}")
    rows: dict[str, Counter] = {lab: Counter() for lab in LABELS}
    for i in ids:
        lab, v = dataset[i]["label"], verdicts.get(i, {})
        wrong = {k for k in ("label", "actor", "target") if v.get(k) in ("E", "N")}
        rows[lab]["records"] += 1
        rows[lab].update(sorted(wrong))  # sorted: figures.json the same from run to run
        rows[lab]["any"] += bool(wrong)
    total = sum(rows.values(), Counter())
    result = {
        "records": len(ids), "split": dict(Counter(dataset[i]["split"] for i in ids)),
        "kappa_label": round(cohen_kappa([dataset[i]["label"] for i in ids], [audit[i]["label"] for i in ids]), 3),
        "actor_exact_f1": round(span_f1([dataset[i]["actor"] for i in ids], [audit[i]["actor"] for i in ids]), 3),
        "target_exact_f1": round(span_f1([dataset[i]["target"] for i in ids], [audit[i]["target"] for i in ids]), 3),
        "errors": {lab: dict(c) for lab, c in [*rows.items(), ("all", total)]},
        "error_rate": {k: round(total[k] / len(ids), 4) for k in ("label", "actor", "target", "any")},
    }
    if any("batch" in dataset[i] for i in ids):
        result["per_batch"] = against_first_pass(dataset, audit)
    (d / "figures.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"kappa {result['kappa_label']}, actor span F1 {result['actor_exact_f1']}, "
          f"target span F1 {result['target_exact_f1']} ({len(ids)} records: {result['split']})")
    print("| dataset label | records | wrong label | wrong actor span | wrong target span | any error |")
    print("|---|---|---|---|---|---|")
    for lab, c in [*rows.items(), ("all", total)]:
        cells = [f"{c[k]} ({100 * c[k] / c['records']:.1f}%)" if lab == "all" else str(c[k])
                 for k in ("label", "actor", "target", "any")]
        print(f"| {lab} | {c['records']} | " + " | ".join(cells) + " |")
    if "per_batch" in result:
        print("\n| batch | re-checked | kappa | actor F1 | read twice in all | kappa | actor F1 | "
              "against the dataset: kappa | actor F1 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for b, a in result["per_batch"].items():
            t, d = a["all_second_readings"], a["against_dataset"]
            print(f"| {b} | {a['n']} | {a['kappa_label']} | {a['actor_exact_f1']} | {t['n']} | {t['kappa_label']} | "
                  f"{t['actor_exact_f1']} | {d['kappa_label']} | {d['actor_exact_f1']} |")


def second_readings(cands: dict) -> dict[str, dict]:
    """Every blind second annotation there is: the doubles and the re-checks (recheck*/audit_blind.jsonl)."""
    out = {}
    for f in [*sorted((DATA / "annotation" / "raw").glob("double_*.jsonl")),
              *sorted((DATA / "annotation").glob("recheck*/audit_blind.jsonl"))]:
        recs, errors = read_annotations(f, cands)
        if errors:
            raise SystemExit("\n".join(errors))
        out.update({r["id"]: r for r in recs})
    return out


def agreement(first: dict, second: dict, ids: list[str]) -> dict:
    return {"n": len(ids),
            "kappa_label": round(cohen_kappa([first[i]["label"] for i in ids], [second[i]["label"] for i in ids]), 3),
            "actor_exact_f1": round(span_f1([first[i]["actor"] for i in ids], [second[i]["actor"] for i in ids]), 3)}


def against_first_pass(dataset: dict[str, dict], audit: dict[str, dict]) -> dict:
    """Per batch, against the batch's first annotation (two independent readings): the blind annotation
    of this sample, and every second reading of the batch so far (its doubles and all re-checks); and
    the blind annotation against the dataset as sampled (the first annotation after every later pass)."""
    cands = load_candidates()
    every = second_readings(cands)
    out = {}
    for b in sorted({r["batch"] for r in dataset.values()}):
        first, errors = read_annotations(DATA / "annotation" / "raw" / f"batch_{b:02d}.jsonl", cands)
        if errors:
            raise SystemExit("\n".join(errors))
        first = {r["id"]: r for r in first}
        ids = [i for i, r in dataset.items() if r["batch"] == b]
        out[f"batch_{b:02d}"] = {**agreement(first, audit, ids),
                                 "all_second_readings": agreement(first, every, sorted(set(first) & set(every))),
                                 "against_dataset": agreement(dataset, audit, ids)}
    return out


def apply(d: Path, to: Path, defer_to: list[Path] = ()) -> None:
    """The corrections of DIR's adjudication; a record that a later-built pass in --defer-to adjudicated
    (an audit's DIR/adjudicated.jsonl) keeps that pass's verdict and is left out here."""
    deferred = {i for f in defer_to for i in ids_in(f)}
    rows = []
    for v in read_jsonl(d / "adjudicated.jsonl"):
        if v["id"] in deferred:
            print(f"{v['id']}: left to {', '.join(map(str, defer_to))}")
            continue
        if any(v.get(k) in ("E", "N") for k in ("label", "actor", "target")):
            if not v.get("correct"):
                raise SystemExit(f"{v['id']}: the dataset is wrong but the verdict gives no correct annotation")
            rows.append({"id": v["id"], **v["correct"], "rule": v.get("rule"), "note": v.get("note")})
    write_third_pass(rows, to)


def write_third_pass(rows: list[dict], to: Path) -> None:
    """The corrections as third-pass records for scripts/build_dataset.py, each checked against its sentence."""
    to.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    _, errors = read_annotations(to, load_candidates())
    if errors:
        raise SystemExit("\n".join(errors))
    print(f"{len(rows)} corrected records -> {to}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["sample", "differences", "figures", "apply"])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--exclude", type=Path, nargs="*", default=[],
                    help="sample: ids files of earlier audits (sample_ids.json), or .jsonl files of records or hits")
    ap.add_argument("--defer-to", type=Path, nargs="*", default=[],
                    help="apply: adjudication files (.jsonl) whose records keep their verdict and are left out")
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--to", type=Path, help="apply: the third-pass file to write")
    ap.add_argument("--below", type=float,
                    help="sample: re-check the second-round batches whose kappa or actor F1 is under this bar")
    ap.add_argument("--per-batch", type=int, default=40, help="sample with --below or --batches: sentences per batch (0: all)")
    ap.add_argument("--batches", type=lambda v: [int(b) for b in v.split(",")],
                    help="sample: re-check these batches (e.g. 21,47), not the ones --below picks")
    ap.add_argument("--splits", type=lambda v: v.split(","),
                    help="sample: every record of these splits, in article order (e.g. dev,test), not a random draw")
    args = ap.parse_args()
    {"sample": lambda: sample(args.dir, args.exclude, args.seed, args.below, args.per_batch, args.batches,
                              args.splits), "differences": lambda: differences(args.dir),
     "figures": lambda: figures(args.dir), "apply": lambda: apply(args.dir, args.to, args.defer_to)}[args.action]()


if __name__ == "__main__":
    main()
