"""Classify one very long article in bounded memory: peak RSS of `tasrih classify` vs. loading the model alone.

    python bench/long_article.py                       # 50,000 words, the shipped model (else a local one)
    python bench/long_article.py --model DIR --threads 1 --scale 5000,200000

Builds the article from data/unlabeled/news_sentences.txt.gz (real news sentences, in file order,
six to a paragraph) and runs each measurement as its own process, read with os.wait4 so that
each peak RSS (ru_maxrss) is that process's alone:

  load_only       python -c "Tasrih.from_pretrained(MODEL)": imports + the model, the baseline
  classify N      tasrih classify article.txt --model MODEL -o out.jsonl (the real command; rows stream to
                  the file and classify_sentences reads the sentences in chunks of 256)
  all_at_once N   Tasrih.predict(all sentences) in one call: what the chunking saves

The article is classified at --words and at each --scale size: a flat peak across sizes is what
"bounded" means. Every row of the output is checked (one per sentence of the splitter, in order).
Writes bench/results/long_article.json with the figures, the machine and the exact commands.

Without --model, uses infer/default_model when it is there, else builds a tasrih model from the local
tiny BERT (random weights: the memory and speed figures hold, the labels mean nothing).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without `pip install -e .` too

from infer.text import split_sentences  # noqa: E402  (light: no torch)

TEXT = REPO / "data" / "unlabeled" / "news_sentences.txt.gz"
DEFAULT_MODEL = REPO / "infer" / "default_model"

LOAD_ONLY = "import sys; from infer.predict import Tasrih; Tasrih.from_pretrained(sys.argv[1], device='cpu')"
ALL_AT_ONCE = """
import sys
from infer.cli import release_freed_memory
from infer.predict import Tasrih
from infer.text import split_sentences
release_freed_memory()  # as tasrih classify does: the difference is the chunking alone
m = Tasrih.from_pretrained(sys.argv[1], device='cpu')
rows = m.predict([p.text for p in split_sentences(open(sys.argv[2], encoding='utf-8').read())])
print(len(rows))
"""


def build_article(words: int, path: Path) -> dict:
    """Real news sentences in file order, each ending with a terminator, six to a paragraph."""
    paragraphs, para, count, sentences = [], [], 0, 0
    with gzip.open(TEXT, "rt", encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s:
                continue
            if s[-1] not in ".!?؟…»\"":
                s += "."
            para.append(s)
            sentences += 1
            count += len(s.split())
            if len(para) == 6:
                paragraphs.append(" ".join(para))
                para = []
            if count >= words:
                break
    if count < words:
        raise SystemExit(f"{TEXT} holds only {count} words; ask for fewer")
    if para:
        paragraphs.append(" ".join(para))
    text = "\n\n".join(paragraphs) + "\n"
    path.write_text(text, encoding="utf-8")
    return {"words": count, "characters": len(text), "bytes": len(text.encode()), "paragraphs": len(paragraphs),
            "sentences_in_source": sentences, "sentences_split": len(split_sentences(text))}


def build_local_tasrih(out: Path) -> Path:
    """A tasrih model directory around the local tiny BERT, saved as `tasrih train` saves one."""
    from transformers import AutoTokenizer

    from infer.labels import LABEL2ID
    from infer.model import TasrihConfig, TasrihModel
    from train.local_model import build_local_model

    bert = build_local_model("tiny", out / "bert", text=TEXT, max_sentences=5000)
    config = TasrihConfig.from_pretrained(bert, id2label=dict(enumerate(LABEL2ID)), label2id=dict(LABEL2ID))
    config.model_type = "tasrih"
    model = TasrihModel.from_pretrained(bert, config=config)
    model.save_pretrained(out / "model")
    AutoTokenizer.from_pretrained(bert).save_pretrained(out / "model")
    return out / "model"


def measure(cmd: list[str], env: dict) -> dict:
    """Run one process to its end; its own peak RSS (MiB), wall time and exit status."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{stderr[-2000:]}")
    return {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "seconds": round(seconds, 2),
            "command": shlex.join(cmd)}


def check_output(out: Path, article: Path) -> int:
    """Every sentence of the splitter, in order, one row each."""
    expected = [p.text for p in split_sentences(article.read_text(encoding="utf-8"))]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    if [r["text"] for r in rows] != expected or [r["sentence_index"] for r in rows] != list(range(len(rows))):
        raise SystemExit(f"{out}: the rows are not the sentences of {article}")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--words", type=int, default=50_000, help="words in the article (default 50,000)")
    ap.add_argument("--scale", default="5000,200000",
                    help="other sizes to classify, comma-separated, to show the peak does not grow (default "
                         "5000,200000; '' for none)")
    ap.add_argument("--model", help="model directory (default: infer/default_model, else a local tiny one)")
    ap.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the measured processes (default: unset)")
    ap.add_argument("--no-all-at-once", action="store_true", help="skip the unchunked comparison")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "long_article.json"))
    args = ap.parse_args(argv)

    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO)}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory(prefix="tasrih-long-") as tmp:
        tmp = Path(tmp)
        if args.model:
            model, model_note = Path(args.model).resolve(), "given with --model"
        elif DEFAULT_MODEL.is_dir():
            model, model_note = DEFAULT_MODEL, "the shipped model (infer/default_model)"
        else:
            model = build_local_tasrih(tmp)
            model_note = "local tiny BERT (2 layers, hidden 128) with untrained heads: infer/default_model absent"
        py = sys.executable
        results: dict = {"load_only": measure([py, "-c", LOAD_ONLY, str(model)], env)}
        print(f"load only: peak RSS {results['load_only']['peak_rss_mib']} MiB", flush=True)
        sizes = [args.words] + [int(s) for s in args.scale.split(",") if s.strip()]
        runs = []
        for words in sorted(set(sizes)):
            article = tmp / f"article-{words}.txt"
            info = build_article(words, article)
            out = tmp / f"out-{words}.jsonl"
            r = measure([py, "-m", "train.cli", "classify", str(article), "--model", str(model), "-o", str(out)], env)
            r.update(info, rows=check_output(out, article),
                     over_load_only_mib=round(r["peak_rss_mib"] - results["load_only"]["peak_rss_mib"], 1))
            if not args.no_all_at_once:
                a = measure([py, "-c", ALL_AT_ONCE, str(model), str(article)], env)
                r["all_at_once"] = {**a, "over_load_only_mib": round(a["peak_rss_mib"] -
                                                                     results["load_only"]["peak_rss_mib"], 1)}
            runs.append(r)
            print(f"{words:>7} words, {r['rows']:>6} sentences: classify peak RSS {r['peak_rss_mib']} MiB "
                  f"(+{r['over_load_only_mib']} over load only) in {r['seconds']} s"
                  + (f"; all at once {r['all_at_once']['peak_rss_mib']} MiB" if "all_at_once" in r else ""),
                  flush=True)
        main_run = next(r for r in runs if r["words"] >= args.words)
        import torch

        results.update({
            "what": "peak RSS (ru_maxrss of each process, via os.wait4) of `tasrih classify` on one long article, "
                    "vs. a process that only loads the model",
            "model": str(model), "model_note": model_note,
            "article": {"source": str(TEXT.relative_to(REPO)), "words": main_run["words"],
                        "sentences": main_run["rows"], "bytes": main_run["bytes"]},
            "classify": runs,
            "headline": {"words": main_run["words"], "sentences": main_run["rows"],
                         "load_only_peak_rss_mib": results["load_only"]["peak_rss_mib"],
                         "classify_peak_rss_mib": main_run["peak_rss_mib"],
                         "over_load_only_mib": main_run["over_load_only_mib"], "seconds": main_run["seconds"]},
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "torch": torch.__version__, "omp_num_threads": env.get("OMP_NUM_THREADS", "unset"),
                        "load_average": list(os.getloadavg())},
            "command": shlex.join([py, *sys.argv]) if argv is None else shlex.join([py, __file__, *argv]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    h = results["headline"]
    print(f"{h['words']} words / {h['sentences']} sentences: peak RSS {h['classify_peak_rss_mib']} MiB vs "
          f"{h['load_only_peak_rss_mib']} MiB for loading the model alone (+{h['over_load_only_mib']} MiB), "
          f"{h['seconds']} s; wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
