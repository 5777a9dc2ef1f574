"""Choose the sentences to annotate and write them as annotation batches.

Run once from the repository root with the raw corpus beside the checkout:

    python scripts/select_candidates.py --corpus ../shared/corpus --out data/annotation

Cue words only *pre-select* candidates so that rare classes are found; every
label is decided by an annotator reading the sentence in its article. Whole
articles (every sentence, in order) make up dev, test and part of train, so
`none` and unexpected claims appear as often as they do in real news.

Outlets are split so that test (alwatan, was) and dev (alyaum) use outlets
that train does not.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import random
import re
from collections import defaultdict
from pathlib import Path

from infer.text import split_sentences

SPLIT_OF_OUTLET = {
    "alwatan": "test", "was": "test",
    "alyaum": "dev",
    "aljazirah": "train", "aleqtisadiya": "train", "almadina": "train", "alweeam": "train",
    "asharq_alawsat": "train",
}
# Pre-selection cues (ANNOTATION.md section 2); a hit makes a sentence a candidate, nothing more.
CUES = {
    "accusation": r"اتهم|يتهم|تتهم|اتهام|حمّل|حمل .{0,30}مسؤولية|يحمل .{0,30}مسؤولية|يقف وراء|تقف وراء|يقفون وراء|نسب إلى|زعم|ادعى|تورط|انتهاك|جرائم",
    "denial": r"نفى|نفت|ينفي|تنفي|رفض|يرفض|ترفض|لا صحة|عن الصحة|كذب|استبعد|لن نقبل",
    "agreement": r"اتفق|اتفاق|وافق|يوافق|رحب|رحّب|يرحب|أيد|أيّد|يؤيد|وقّع|وقع|صادق|أقر|دعم",
    "demand": r"طالب|يطالب|دعا|تدعو|يدعو|دعت|حث|ناشد|ضرورة|يجب على|طلب من|أهمية",
}
POLITICAL = r"وزير|الرئيس|الحكومة|الخارجية|مجلس|الأمم المتحدة|الحوثي|إيران|اليمن|سوري|العراق|الاحتلال|المعارضة|حزب|الجيش|التحالف|فلسطين|إسرائيل"
# Sentences too short to carry a claim or too long to read well are left out of cue sampling.
MIN_CHARS, MAX_CHARS = 25, 600


def load_saudinewsnet(path: Path) -> list[dict]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            if a["source"] not in SPLIT_OF_OUTLET:
                continue  # sports outlets: almost no claims
            text = (a["title"] or "").strip() + "\n" + a["content"].strip()
            docs.append({"doc": a["id"], "source": a["source"], "text": text, "title": a["title"]})
    return docs


def load_gsr(folder: Path) -> list[dict]:
    """Asharq Al-Awsat sentences of the PLOVER GSR; each is its own one-sentence document."""
    docs, seen = [], set()
    for name in ("assault_gsr.csv", "protest_gsr.csv"):
        with open(folder / name, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                text = row["text"].strip()
                if text in seen:
                    continue
                seen.add(text)
                docs.append({"doc": "gsr-" + row["id"][-24:], "source": "asharq_alawsat",
                             "text": text, "title": "", "orig_id": row["id"]})
    return docs


def sentences_of(doc: dict) -> list[dict]:
    out = []
    for i, s in enumerate(split_sentences(doc["text"])):
        out.append({"id": f"{doc['doc']}-s{i:02d}", "doc": doc["doc"], "source": doc["source"],
                    "text": s.text, "index": i})
    return out


def cue_classes(text: str) -> list[str]:
    return [k for k, r in CUES.items() if re.search(r, text)]


def pick_whole_articles(docs, split, n_sentences, rng, used_texts):
    pool = [d for d in docs if SPLIT_OF_OUTLET[d["source"]] == split and d["title"]]
    rng.shuffle(pool)
    chosen, total = [], 0
    for d in pool:
        sents = sentences_of(d)
        if not 5 <= len(sents) <= 24:
            continue
        classes = {c for s in sents for c in cue_classes(s["text"])}
        if len(classes) < 2 or not re.search(POLITICAL, d["text"]):
            continue
        if any(s["text"] in used_texts for s in sents):
            continue
        for s in sents:
            used_texts.add(s["text"])
            s["selection"] = "whole"
            s["split"] = split
        chosen.append((d, sents))
        total += len(sents)
        if total >= n_sentences:
            break
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--second-wave", action="store_true",
                    help="append stricter-cue train candidates for the classes still short of 250")
    ap.add_argument("--third-wave", action="store_true", help="append explicit-denial train candidates")
    args = ap.parse_args()
    if args.third_wave:
        second_wave(args.corpus, args.out, {"denial": 90}, first_batch=14, n_batches=1, seed=args.seed + 2,
                    cues=STRICT_DENIAL)
        return
    if args.second_wave:
        second_wave(args.corpus, args.out, {"denial": 420, "agreement": 260, "accusation": 220},
                    first_batch=args.batches, n_batches=6, seed=args.seed + 1)
        return
    rng = random.Random(args.seed)

    snn = load_saudinewsnet(args.corpus / "saudinewsnet" / "articles.jsonl.gz")
    gsr = load_gsr(args.corpus / "arabic_event_gsr")
    used: set[str] = set()

    whole = (pick_whole_articles(snn, "test", 700, rng, used)
             + pick_whole_articles(snn, "dev", 480, rng, used)
             + pick_whole_articles(snn, "train", 300, rng, used))
    whole_docs = {d["doc"] for d, _ in whole}

    # Cue-selected train sentences, at most two per article so no story dominates.
    per_class = {"accusation": 460, "denial": 400, "agreement": 360, "demand": 360}
    buckets = defaultdict(list)
    plain = []
    for d in snn + gsr:
        if SPLIT_OF_OUTLET[d["source"]] != "train" or d["doc"] in whole_docs:
            continue
        sents = [s for s in sentences_of(d) if MIN_CHARS <= len(s["text"]) <= MAX_CHARS]
        rng.shuffle(sents)
        taken = 0
        for s in sents:
            if taken == 2 or s["text"] in used:
                break
            classes = cue_classes(s["text"])
            if classes:
                # The rarest class a sentence may hold decides its bucket (CUES is ordered rarest first).
                buckets[classes[0]].append((d, s))
                taken += 1
            elif rng.random() < 0.02:
                plain.append((d, s))
                taken += 1
    cue_items = []
    for cls, n in per_class.items():
        rng.shuffle(buckets[cls])
        for d, s in buckets[cls]:
            if len([1 for _, x in cue_items if x["selection"] == "cue:" + cls]) >= n:
                break
            if s["text"] in used:
                continue
            used.add(s["text"])
            s.update(selection="cue:" + cls, split="train")
            cue_items.append((d, s))
    rng.shuffle(plain)
    for d, s in plain[:160]:
        if s["text"] not in used:
            used.add(s["text"])
            s.update(selection="random", split="train")
            cue_items.append((d, s))

    write_batches(args.out, whole, cue_items, args.batches, rng)


def context_before(doc: dict, index: int, k: int = 2, width: int = 250) -> list[str]:
    """The sentences just before a candidate: enough to resolve a pronoun actor."""
    sents = split_sentences(doc["text"])
    return [p.text[:width] + ("…" if len(p.text) > width else "") for p in sents[max(0, index - k):index]]


def write_batches(out: Path, whole, cue_items, n_batches: int, rng) -> None:
    """Spread the work evenly; each batch mixes whole articles and single sentences."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "batches").mkdir(exist_ok=True)
    units = [("article", d, sents) for d, sents in whole]
    units += [("single", d, [s]) for d, s in cue_items]
    rng.shuffle(units)
    batches = [[] for _ in range(n_batches)]
    sizes = [0] * n_batches
    for unit in sorted(units, key=lambda u: -len(u[2])):
        i = sizes.index(min(sizes))
        batches[i].append(unit)
        sizes[i] += len(unit[2])
    manifest = []
    for b, items in enumerate(batches):
        rng.shuffle(items)
        render(out / "batches" / f"batch_{b:02d}.md", f"Annotation batch {b:02d}", items)
        for kind, d, sents in items:
            for s in sents:
                manifest.append({k: s[k] for k in ("id", "doc", "source", "text", "selection", "split")}
                                | {"batch": b})
    # The second, independent annotation: about 11% of each batch, read by another annotator.
    for b, items in enumerate(batches):
        source_items = batches[(b + 1) % n_batches]
        picked, total = [], 0
        for unit in source_items:
            if total + len(unit[2]) <= 46:
                picked.append(unit)
                total += len(unit[2])
        render(out / "batches" / f"double_{b:02d}.md",
               f"Second annotation {b:02d} (from batch {(b + 1) % n_batches:02d})", picked)
    with open(out / "candidates.jsonl", "w", encoding="utf-8") as f:
        for m in manifest:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    print(f"{len(manifest)} sentences in {n_batches} batches: sizes {sizes}")


def render(path: Path, heading: str, items) -> None:
    lines = [f"# {heading}: {sum(len(u[2]) for u in items)} sentences", ""]
    for kind, d, sents in items:
            lines.append(f"## doc {d['doc']} ({d['source']})" + (f" — {d['title']}" if d["title"] else ""))
            if kind == "single":
                ctx = context_before(d, sents[0]["index"])
                for c in ctx:
                    lines.append(f"  (context) {c}")
            for s in sents:
                lines.append(f"[{s['id']}] {s['text']}")
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


# ---- second wave --------------------------------------------------------------------------------
# After the first pass, denial, agreement and accusation were short of 250 in train. These stricter
# cues pre-select more candidates of those kinds from train outlets only; annotators still decide.
STRONG_CUES = {
    "denial": r"\bنفى|\bنفت|\bينفي|\bتنفي|لا صحة|عن الصحة|كذّب|\bرفض|\bيرفض|\bترفض|\bرفضت|تحفظ",
    "agreement": r"اتفق|وقّع|وقع(?:ت|ا)? (?:على )?(?:اتفاق|مذكرة)|وافق|رحّب|رحب|أيّد|أيد|يؤيد|صادق|أقر|اعتمد",
    "accusation": r"اتهم|يتهم|تتهم|اتهامات|حمّل|حمل\S* .{0,30}مسؤولية|يقف وراء|تقف وراء",
}


# Third wave: denial was still short of 250 in train; only explicit denial verbs this time.
STRICT_DENIAL = {"denial": r"(?:^|\s)[وف]?(?:نفى|نفت|ينفي|تنفي|نفوا|كذّب|كذبت)(?:\s|$)|لا صحة|عن الصحة"}


def second_wave(corpus: Path, out: Path, per_class: dict[str, int], first_batch: int, n_batches: int,
                seed: int, cues: dict[str, str] = STRONG_CUES) -> None:
    rng = random.Random(seed)
    old = [json.loads(line) for line in open(out / "candidates.jsonl", encoding="utf-8")]
    used = {c["text"] for c in old}
    used_docs = {c["doc"] for c in old}
    docs = load_saudinewsnet(corpus / "saudinewsnet" / "articles.jsonl.gz") + load_gsr(corpus / "arabic_event_gsr")
    rng.shuffle(docs)
    picked = {k: [] for k in per_class}
    for d in docs:
        if SPLIT_OF_OUTLET[d["source"]] != "train" or d["doc"] in used_docs:
            continue
        for s in sentences_of(d):
            if not MIN_CHARS <= len(s["text"]) <= MAX_CHARS or s["text"] in used:
                continue
            for cls, rx in cues.items():
                if len(picked[cls]) < per_class[cls] and re.search(rx, s["text"]):
                    s.update(selection="cue2:" + cls if cues is STRONG_CUES else "cue3:" + cls, split="train")
                    picked[cls].append((d, s))
                    used.add(s["text"])
                    break
            else:
                continue
            break  # one sentence per article keeps the stories varied
    items = [("single", d, [s]) for v in picked.values() for d, s in v]
    rng.shuffle(items)
    size = math.ceil(len(items) / n_batches)
    with open(out / "candidates.jsonl", "a", encoding="utf-8") as f:
        for k in range(n_batches):
            b = first_batch + k
            chunk = items[k * size:(k + 1) * size]
            render(out / "batches" / f"batch_{b:02d}.md", f"Annotation batch {b:02d}", chunk)
            for _, d, sents in chunk:
                for s in sents:
                    f.write(json.dumps({k2: s[k2] for k2 in ("id", "doc", "source", "text", "selection", "split")}
                                       | {"batch": b}, ensure_ascii=False) + "\n")
    print({k: len(v) for k, v in picked.items()}, f"in batches {first_batch}..{first_batch + n_batches - 1}")


if __name__ == "__main__":
    main()
