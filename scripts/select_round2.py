"""Draw the second annotation round (issue 10) and write it as annotation batches.

    PYTHONPATH=.:scripts python scripts/select_round2.py --corpus ../shared/corpus --out data/annotation
    PYTHONPATH=.:scripts python scripts/select_round2.py --corpus ../shared/corpus --top-up 1000 --first-batch 52

The split follows the plan in data/README.md ("Plan for the next round"):

- test: whole articles from alwatan (news and opinion columns), alyaum and was (SPA), outlets that
  train never uses;
- dev: whole articles from almadina, an outlet that test does not use;
- train: whole articles and cue-selected single sentences from aljazirah, aleqtisadiya, alweeam and
  asharq_alawsat.

Cue words only pre-select candidates (rare classes would otherwise be too few to learn); every label
is decided by an annotator reading the sentence in its article. For test and dev, cue words choose
*articles*, never sentences: every sentence of a chosen article is annotated, in order. Half of the
test articles are drawn among those with a denial cue, because denial is 3% of news sentences and
test needs 60 of them; the data card says so.

Everything already annotated (documents and sentence texts) is excluded. Appends to
candidates.jsonl and writes batches/batch_NN.md and batches/double_NN.md from --first-batch on.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
from collections import Counter
from pathlib import Path

from select_candidates import (CUES, MAX_CHARS, MIN_CHARS, POLITICAL, STRONG_CUES, load_gsr, render,
                               sentences_of)

SPLIT_OF_OUTLET = {
    "alwatan": "test", "alyaum": "test", "was": "test",
    "almadina": "dev",
    "aljazirah": "train", "aleqtisadiya": "train", "alweeam": "train", "asharq_alawsat": "train",
}
# Sentences of whole articles to draw, per (split, outlet, kind).
WHOLE = {
    ("test", "alwatan", "opinion"): 380,
    ("test", "alwatan", "news"): 420,
    ("test", "alyaum", "news"): 650,
    ("test", "was", "news"): 250,
    ("dev", "almadina", "news"): 900,
    ("train", "aljazirah", "news"): 450,
    ("train", "aleqtisadiya", "news"): 450,
    ("train", "alweeam", "news"): 300,
}
# Cue-selected single train sentences per class. Denial takes every candidate left (several per
# article); the others one per article.
CUE_QUOTA = {"denial": 10_000, "accusation": 1100, "agreement": 1000, "demand": 900}
CUE_OF = {"denial": CUES["denial"], "accusation": CUES["accusation"],
          "agreement": STRONG_CUES["agreement"], "demand": CUES["demand"]}


def load_articles(path: Path) -> list[dict]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            if a["source"] not in SPLIT_OF_OUTLET:
                continue
            text = (a["title"] or "").strip() + "\n" + a["content"].strip()
            opinion = a["source"] == "alwatan" and "/Articles/" in a["url"]
            docs.append({"doc": a["id"], "source": a["source"], "text": text, "title": a["title"],
                         "kind": "opinion" if opinion else "news"})
    return docs


def eligible(d: dict, sents: list[dict]) -> bool:
    """The filter the first round's dev and test articles were drawn with."""
    if not d["title"] or not 5 <= len(sents) <= 24:
        return False
    classes = {k for s in sents for k, rx in CUES.items() if re.search(rx, s["text"])}
    return len(classes) >= 2 and bool(re.search(POLITICAL, d["text"]))


def draw_whole(docs, rng, used_docs, used_texts):
    chosen = []
    for (split, outlet, kind), quota in WHOLE.items():
        pool = [d for d in docs if d["source"] == outlet and d["kind"] == kind and d["doc"] not in used_docs]
        rng.shuffle(pool)
        with_denial, total_denial, total = [], 0, 0
        for d in pool:
            sents = sentences_of(d)
            # A text may repeat only inside the evaluation side (SPA's «// انتهى //» sign-off).
            if not eligible(d, sents) or any(used_texts.get(s["text"], split) != split for s in sents):
                continue
            has_denial = any(re.search(STRONG_CUES["denial"], s["text"]) for s in sents)
            # Test: half its sentences from articles with a denial cue, half from any article
            # (not for SPA, whose short wire reports seldom deny anything).
            if split == "test" and outlet != "was" and not has_denial and total - total_denial >= quota / 2:
                continue
            for s in sents:
                used_texts[s["text"]] = split
                s.update(selection=f"whole:{kind}", split=split)
            used_docs.add(d["doc"])
            with_denial.append(has_denial)
            total += len(sents)
            total_denial += len(sents) * has_denial
            chosen.append((d, sents))
            if total >= quota:
                break
        print(f"{split} {outlet} {kind}: {sum(1 for c in chosen if c[0]['source'] == outlet and c[0]['kind'] == kind)}"
              f" articles, {total} sentences ({total_denial} in articles with a denial cue)")
    return chosen


def draw_cues(docs, rng, used_docs, used_texts):
    picked = {k: [] for k in CUE_QUOTA}
    rng.shuffle(docs)
    for d in docs:
        if SPLIT_OF_OUTLET[d["source"]] != "train" or d["doc"] in used_docs:
            continue
        taken_other = False
        for s in sentences_of(d):
            if not MIN_CHARS <= len(s["text"]) <= MAX_CHARS or s["text"] in used_texts:
                continue
            for cls, rx in CUE_OF.items():
                if not re.search(rx, s["text"]) or len(picked[cls]) >= CUE_QUOTA[cls]:
                    continue
                if cls != "denial" and taken_other:
                    continue
                s.update(selection="cue4:" + cls, split="train")
                picked[cls].append((d, s))
                used_texts[s["text"]] = "train"
                taken_other = taken_other or cls != "denial"
                break
    print("cue sentences:", {k: len(v) for k, v in picked.items()})
    return [("single", d, [s]) for v in picked.values() for d, s in v]


# The top-up (train short of 700 denials after the first pass of this round): denial wording that the
# first cue list misses, from train-outlet articles of any kind, including those already used in train.
DENIAL_TOP_UP = (r"غير صحيح|عار[يٍ]? (?:عن|من) الصحة|لا أساس|شائع[ةا]ت|إشاع[ةا]ت|مزاعم|ادعاءات|اعترض|يعترض|اعتراض|"
                 r"عارض|يعارض|تعارض|معارضت|تحفظ|امتنع|يمتنع|رفضه|رفضها|رفضهم|مرفوض|فند|دحض|نفي|استنكر|"
                 r"لم يتم|ليس صحيحا|لا يمكن القبول|لن يقبل|لا نقبل")


def top_up_denial(args, rng) -> None:
    cands = [json.loads(line) for line in open(args.out / "candidates.jsonl", encoding="utf-8")]
    used_texts = {c["text"] for c in cands}
    # The first round cut some articles with an older splitter: the same -sNN can name another sentence.
    used_ids = {c["id"] for c in cands}
    eval_docs = {c["doc"] for c in cands if c["split"] != "train" or c["source"] == "almadina"}
    per_doc = Counter(c["doc"] for c in cands)
    docs = load_articles(args.corpus / "saudinewsnet" / "articles.jsonl.gz")
    docs += [d | {"kind": "news"} for d in load_gsr(args.corpus / "arabic_event_gsr")]
    rng.shuffle(docs)
    picked = []
    for d in docs:
        if SPLIT_OF_OUTLET[d["source"]] != "train" or d["doc"] in eval_docs:
            continue
        for s in sentences_of(d):
            if len(picked) >= args.top_up or per_doc[d["doc"]] >= 3:
                break
            if MIN_CHARS <= len(s["text"]) <= MAX_CHARS and s["text"] not in used_texts and s["id"] not in used_ids \
                    and re.search(DENIAL_TOP_UP, s["text"]):
                s.update(selection="cue5:denial", split="train")
                picked.append(("single", d, [s]))
                used_texts.add(s["text"])
                per_doc[d["doc"]] += 1
    write_round(args, rng, picked)
    print(f"{len(picked)} denial top-up sentences")


def write_round(args, rng, units) -> list:
    """Batches of about --batch-size sentences from --first-batch on, each with its double."""
    batches, cur, size = [], [], 0
    for u in units:
        if size >= args.batch_size:
            batches.append(cur)
            cur, size = [], 0
        cur.append(u)
        size += len(u[2])
    batches.append(cur)
    with open(args.out / "candidates.jsonl", "a", encoding="utf-8") as f:
        for k, items in enumerate(batches):
            b = args.first_batch + k
            render(args.out / "batches" / f"batch_{b:02d}.md", f"Annotation batch {b:02d}", items)
            for _, d, sents in items:
                for s in sents:
                    f.write(json.dumps({x: s[x] for x in ("id", "doc", "source", "text", "selection", "split")}
                                       | {"batch": b}, ensure_ascii=False) + "\n")
            # The second, independent annotation: whole units, about --double of the batch.
            order = sorted(items, key=lambda _: rng.random())
            picked, total = [], 0
            for u in order:
                if total >= args.double * sum(len(x[2]) for x in items):
                    break
                picked.append(u)
                total += len(u[2])
            render(args.out / "batches" / f"double_{b:02d}.md",
                   f"Second annotation {b:02d} (from batch {b:02d})", picked)
    return batches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("data/annotation"))
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--first-batch", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=250)
    ap.add_argument("--double", type=float, default=0.16, help="share of each batch annotated a second time")
    ap.add_argument("--top-up", type=int, default=0,
                    help="instead: draw this many more train sentences with denial wording (see DENIAL_TOP_UP)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    if args.top_up:
        top_up_denial(args, rng)
        return
    old = [json.loads(line) for line in open(args.out / "candidates.jsonl", encoding="utf-8")]
    # The first round's test becomes test_v1, on the same (evaluation) side as the new test.
    used_texts = {c["text"]: c["split"] for c in old}
    used_docs = {c["doc"] for c in old}

    docs = load_articles(args.corpus / "saudinewsnet" / "articles.jsonl.gz")
    gsr = [d | {"kind": "news"} for d in load_gsr(args.corpus / "arabic_event_gsr")]
    whole = [("article", d, s) for d, s in draw_whole(docs, rng, used_docs, used_texts)]
    singles = draw_cues(docs + gsr, rng, used_docs, used_texts)

    # Batches: test and dev articles first (so their figures exist early), then train; each batch
    # keeps whole articles intact.
    units = ([u for u in whole if u[2][0]["split"] != "train"]
             + sorted([u for u in whole if u[2][0]["split"] == "train"] + singles, key=lambda _: rng.random()))
    batches = write_round(args, rng, units)
    n = Counter(s["split"] for _, _, ss in whole + singles for s in ss)
    print(f"{sum(n.values())} sentences in {len(batches)} batches "
          f"({args.first_batch:02d}..{args.first_batch + len(batches) - 1:02d}):", dict(n),
          "sizes", [sum(len(u[2]) for u in b) for b in batches], f"~{math.ceil(sum(n.values()) * args.double)} double")


if __name__ == "__main__":
    main()
