"""A whole archive on Ray against one process: `tasrih classify-corpus` with 1 and 2 model actors
against plain `tasrih classify`, on the same articles, the shipped model.

    python bench/corpus.py --corpus ../shared/corpus --articles 2000     # the issue's check (long)
    python bench/corpus.py --articles 200                                 # articles from data/ (quick)

Articles: with --corpus, the first N SaudiNewsNet articles of its political outlets (the corpus the
data was drawn from); else the whole articles of data/{dev,test}.jsonl, their sentences joined.
Every contender is a fresh command, timed from start to exit (imports, Ray start, model loads and
writing included). The Ray runs must give exactly the rows of `tasrih classify` (every field, up to
the order of rows); the bench stops if they do not. Writes bench/results/corpus.json and prints a
table: articles/s, sentences/s, Ray's overhead over one process, peak memory per model actor.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "train.cli"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def corpus_articles(corpus: Path, n: int) -> list[dict]:
    out = []
    with gzip.open(corpus / "saudinewsnet" / "articles.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            if a["source"] in ("arreyadi", "arriyadiyah") or not a["content"].strip():
                continue
            out.append({"id": a["id"], "text": (a["title"] or "").strip() + "\n" + a["content"].strip(),
                        "source": a["source"], "url": a["url"]})
            if len(out) == n:
                break
    return out


def data_articles(n: int) -> list[dict]:
    docs = defaultdict(list)
    for split in ("dev", "test"):
        for line in open(REPO / "data" / f"{split}.jsonl", encoding="utf-8"):
            r = json.loads(line)
            docs[r["doc"]].append(r["text"])
    return [{"id": d, "text": "\n\n".join(s)} for d, s in list(docs.items())[:n]]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0


def rows_of(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for f in sorted(out.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def compare(corpus_rows: list[dict], single: list[dict]) -> int:
    """Rows of the single run that the Ray run does not reproduce exactly (every field), plus count errors."""
    key = lambda r: (r["doc"], r["sentence_index"])  # noqa: E731
    by_key = {key(r): r for r in corpus_rows}
    bad = abs(len(by_key) - len(corpus_rows)) + abs(len(corpus_rows) - len(single))
    for r in single:
        got = by_key.get(key(r))
        bad += got is None or any(got.get(k) != v for k, v in r.items())
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="the raw corpus folder (../shared/corpus); else data/")
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--block-size", type=int, default=50)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "corpus.json")
    args = ap.parse_args()
    arts = corpus_articles(args.corpus, args.articles) if args.corpus else data_articles(args.articles)
    tmp = Path(tempfile.mkdtemp(prefix="tasrih-corpus-bench-"))
    try:
        src = tmp / "articles.jsonl"
        src.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in arts), encoding="utf-8")
        log(f"{len(arts)} articles; tasrih classify (one process)")
        single_s = timed([*CLI, "classify", str(src), "-o", str(tmp / "single.jsonl")])
        single = [json.loads(line) for line in open(tmp / "single.jsonl", encoding="utf-8")]
        results = {"articles": len(arts), "sentences": len(single),
                   "source": "corpus (SaudiNewsNet)" if args.corpus else "data/{dev,test}.jsonl",
                   "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
                   "runs": [{"how": "tasrih classify (one process)", "seconds": round(single_s, 1),
                             "articles_per_s": round(len(arts) / single_s, 2),
                             "sentences_per_s": round(len(single) / single_s, 2)}]}
        for n in args.actors:
            out = tmp / f"ray{n}"
            log(f"tasrih classify-corpus --actors {n}")
            secs = timed([*CLI, "classify-corpus", str(src), "--out", str(out), "--actors", str(n),
                          "--block-size", str(args.block_size)])
            summary = json.loads((out / "_SUMMARY.json").read_text())
            bad = compare(rows_of(out), single)
            if bad:
                sys.exit(f"{bad} rows of the Ray run with {n} actors differ from tasrih classify")
            results["runs"].append({"how": f"classify-corpus, {n} actor{'s' if n > 1 else ''}",
                                    "seconds": round(secs, 1), "articles_per_s": round(len(arts) / secs, 2),
                                    "sentences_per_s": round(len(single) / secs, 2),
                                    "overhead_vs_one_process": round(secs / single_s - 1, 3) if n == 1 else None,
                                    "speedup_vs_one_process": round(single_s / secs, 2),
                                    "actor_peak_rss_mb": summary["actor_peak_rss_mb"],
                                    "rows_equal_to_classify": True})
        results["load_after"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"{results['articles']} articles, {results['sentences']} sentences ({results['source']})")
    print(f"{'how':<34} {'seconds':>8} {'articles/s':>11} {'sentences/s':>12} {'peak MiB/actor':>15}")
    for r in results["runs"]:
        print(f"{r['how']:<34} {r['seconds']:>8.1f} {r['articles_per_s']:>11.2f} {r['sentences_per_s']:>12.2f} "
              f"{r.get('actor_peak_rss_mb') or '-':>15}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
