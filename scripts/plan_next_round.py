"""Figures for the next annotation round (issue 10, part 2): the corpus by outlet and the claim rates
of the current splits, from which data/README.md ("Plan for the next round") sizes the new splits.

    PYTHONPATH=.:scripts python scripts/plan_next_round.py --corpus ../shared/corpus

Prints markdown tables; reads nothing but the corpus and data/, writes nothing.

- Articles per outlet, and how many no split uses yet.
- Eligible whole articles: the filter the current dev and test were drawn with
  (select_candidates.pick_whole_articles: a headline, 5 to 24 sentences, cue words of two classes,
  a political keyword), among the unused articles; their sentences.
- Claim-cue sentences: unused sentences (25 to 600 characters) with a first-pass cue word of each
  class (select_candidates.CUES); a rough measure of how many candidates each outlet can give.
- Opinion columns: by URL where the outlet has an opinion section (alwatan /Articles/, aljazirah
  ar*.htm); elsewhere a rough guess (no dateline or reporting verb at the start, first-person
  plural or singular words in the body), checked against alwatan's URLs.
- Claim rates of the current data: by selection method and, for whole articles, by outlet.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from select_candidates import CUES, MAX_CHARS, MIN_CHARS, POLITICAL, STRICT_DENIAL, STRONG_CUES, load_gsr

from infer.text import split_sentences

LABELS = ("accusation", "denial", "agreement", "demand")
OUTLETS = ("aljazirah", "aleqtisadiya", "almadina", "alweeam", "alyaum", "alwatan", "was", "arreyadi", "arriyadiyah")
FIRST_PERSON = re.compile(r"(?:^|\s)(?:نحن|إننا|إنني|أنني|انني|لنا|علينا|لدينا|أرى|أعتقد|أظن|نرى|نحتاج|أقول|نقول|"
                          r"مجتمعنا|بلادنا|وطننا|شبابنا|أبنائنا)(?=\s|$|[،,.])")
NEWS_START = re.compile(r"واس|رويترز|أ ف ب|فرانس برس|\S+ ?- |قال|أكد|أعلن|كشف|أوضح|أفاد|ذكر|صرح|أشار|بحث|استقبل|"
                        r"تسلم|وقع|شهد|يشهد|انطلق|افتتح|دشن|عقد|تمكن|أصدر|قرر|نفى|طالب|دعا|رفض|وافق")


def is_opinion(a: dict) -> bool | None:
    """True/False from the URL where the outlet marks its opinion section; else the text guess."""
    url = a["url"]
    if a["source"] == "alwatan":
        return "/Articles/" in url
    if a["source"] == "aljazirah":
        return bool(re.search(r"/ar\d+\.htm$", url))
    return guess_opinion(a)


def guess_opinion(a: dict) -> bool:
    body = a["content"].strip()
    return not NEWS_START.search(body[:120]) and len(FIRST_PERSON.findall(body)) >= 2


def cue_classes(text: str) -> list[str]:
    return [k for k, r in CUES.items() if re.search(r, text)]


def load_data(data: Path) -> tuple[list[dict], dict[str, dict]]:
    recs = []
    for split in ("train", "dev", "test"):
        with open(data / f"{split}.jsonl", encoding="utf-8") as f:
            recs += [json.loads(line) | {"split": split} for line in f if line.strip()]
    cands = {}
    with open(data / "annotation" / "candidates.jsonl", encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            cands[c["id"]] = c
    return recs, cands


def claim_rates(recs: list[dict], cands: dict[str, dict]) -> None:
    print("### Claim rates of the current data (label; `also` not counted)\n")
    groups = defaultdict(Counter)
    for r in recs:
        sel = cands.get(r["id"], {}).get("selection", "?")
        sel = sel.split(":")[0] + (":" + sel.split(":")[1] if ":" in sel else "")
        groups[("selection", sel)][r["label"]] += 1
        if sel == "whole":
            groups[("whole", r["source"])][r["label"]] += 1
            groups[("whole", "all")][r["label"]] += 1
    for r in recs:
        groups[(r["split"] + " by outlet", r["source"])][r["label"]] += 1
    print("| group | sentences | " + " | ".join(LABELS) + " | any claim |")
    print("|---|---|" + "---|" * (len(LABELS) + 1))
    for key in sorted(groups):
        c = groups[key]
        n = sum(c.values())
        cells = " | ".join(f"{c[k]} ({c[k] / n:.1%})" for k in LABELS)
        print(f"| {key[0]}: {key[1]} | {n} | {cells} | {(n - c['none']) / n:.1%} |")
    print()


def corpus_table(corpus: Path, used_docs: set[str]) -> None:
    print("### The SaudiNewsNet outlets\n")
    stats = defaultdict(Counter)
    opinion_check = Counter()
    with gzip.open(corpus / "saudinewsnet" / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            o = a["source"]
            s = stats[o]
            s["articles"] += 1
            if a["source"] == "alwatan":
                opinion_check[("url", "/Articles/" in a["url"], "guess", guess_opinion(a))] += 1
            if a["id"] in used_docs:
                s["used"] += 1
                continue
            text = (a["title"] or "").strip() + "\n" + a["content"].strip()
            sents = [p.text for p in split_sentences(text)]
            op = bool(is_opinion(a))
            s["opinion"] += op
            s["sentences"] += len(sents)
            for st in sents:
                if MIN_CHARS <= len(st) <= MAX_CHARS:
                    cls = cue_classes(st)
                    if cls:
                        s["cue"] += 1
                    for k in cls:
                        s["cue:" + k] += 1
                    for k, rx in STRONG_CUES.items():
                        s["strong:" + k] += bool(re.search(rx, st))
                    s["strict:denial"] += bool(re.search(STRICT_DENIAL["denial"], st))
            classes = {k for st in sents for k in cue_classes(st)}
            sampled = {k for st in sents if MIN_CHARS <= len(st) <= MAX_CHARS for k in cue_classes(st)}
            for k in sampled:
                s["articles_with_cue:" + k] += 1
            if a["title"] and 5 <= len(sents) <= 24 and len(classes) >= 2 and re.search(POLITICAL, text):
                s["eligible"] += 1
                s["eligible_sents"] += len(sents)
                s["eligible_opinion"] += op
                s["eligible_opinion_sents"] += len(sents) * op
    head = ("| outlet | articles | unused | opinion (unused) | eligible whole articles | their sentences "
            "| of them opinion | cue sentences | accusation cue | denial cue | agreement cue | demand cue |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    total = Counter()
    for o in OUTLETS:
        s = stats[o]
        total.update(s)
        unused = s["articles"] - s["used"]
        print(f"| {o} | {s['articles']} | {unused} | {s['opinion']} | {s['eligible']} | {s['eligible_sents']} "
              f"| {s['eligible_opinion_sents']} | {s['cue']} | {s['cue:accusation']} | {s['cue:denial']} "
              f"| {s['cue:agreement']} | {s['cue:demand']} |")
    print(f"| all | {total['articles']} | {total['articles'] - total['used']} | {total['opinion']} | "
          f"{total['eligible']} | {total['eligible_sents']} | {total['eligible_opinion_sents']} | {total['cue']} "
          f"| {total['cue:accusation']} | {total['cue:denial']} | {total['cue:agreement']} | {total['cue:demand']} |")
    print()
    print("Stricter cues (second and third passes), unused sentences:\n")
    print("| outlet | strong accusation | strong denial | strong agreement | explicit denial verb "
          "| unused articles with a cue of: accusation | denial | agreement | demand |")
    print("|---|---|---|---|---|---|---|---|---|")
    for o in OUTLETS:
        s = stats[o]
        print(f"| {o} | {s['strong:accusation']} | {s['strong:denial']} | {s['strong:agreement']} "
              f"| {s['strict:denial']} | " + " | ".join(str(s["articles_with_cue:" + k]) for k in LABELS) + " |")
    print()
    print("Opinion guess against alwatan's URL section (url, guess): "
          + ", ".join(f"{k[1]}/{k[3]}: {v}" for k, v in sorted(opinion_check.items())))
    print()


def other_sources(corpus: Path, used_ids: set[str]) -> None:
    gsr = load_gsr(corpus / "arabic_event_gsr")
    unused = sum(1 for d in gsr if d["doc"] + "-s00" not in used_ids)
    cue = sum(1 for d in gsr if d["doc"] + "-s00" not in used_ids and cue_classes(d["text"]))
    n_fane = 0
    with gzip.open(corpus / "newsfane" / "NewsFANE_Gold_2014.txt.gz", "rt", encoding="utf-8") as f:
        in_sent = False
        for line in f:
            if line.strip():
                in_sent = True
            elif in_sent:
                n_fane += 1
                in_sent = False
        n_fane += in_sent
    left = [d["text"] for d in gsr if d["doc"] + "-s00" not in used_ids]
    strict = sum(bool(re.search(STRICT_DENIAL["denial"], t)) for t in left)
    strong = {k: sum(bool(re.search(rx, t)) for t in left) for k, rx in STRONG_CUES.items()}
    first = {k: sum(k in cue_classes(t) for t in left) for k in LABELS}
    print(f"asharq_alawsat (arabic_event_gsr): {len(gsr)} distinct sentences, {unused} unused, {cue} of them with "
          f"a cue word (" + ", ".join(f"{k} {v}" for k, v in first.items()) + "; strong: " + ", ".join(f"{k} {v}" for k, v in strong.items())
          + f"; explicit denial verb {strict}); single sentences, no articles.")
    print(f"NewsFANE: {n_fane} sentences, no article boundaries, normalised spelling.")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    ap.add_argument("--data", type=Path, default=Path("data"))
    args = ap.parse_args()
    recs, cands = load_data(args.data)
    claim_rates(recs, cands)
    corpus_table(args.corpus, {r["doc"] for r in recs} | {c["doc"] for c in cands.values()})
    other_sources(args.corpus, {r["id"] for r in recs})


if __name__ == "__main__":
    main()
