"""Speed as a user meets it: the whole `tasrih classify` job against a transformers pipeline job.

    python bench/whole_job.py                     # 2,000 news sentences, both models (about 15 minutes)
    python bench/whole_job.py --sentences 500 --models shipped

Each contender is a fresh process that loads its model and labels every sentence, timed from
start to exit (imports, model load, tokenisation, the encoder, decoding, writing the output):
  tasrih     `tasrih classify --sentences FILE --model DIR -o OUT` (ONNX Runtime int8, auto backend)
  pipeline   a Python process: transformers.pipeline("text-classification", model, batch_size=32) over
             the same sentences, the same encoder as a BertForSequenceClassification in float32
Models:
  shipped    infer/default_model (e5-small fine-tuned, int8) against the pipeline on e5-small
  base       a BERT-base-shaped model (12 x 768, AraBERT's shape; bench/throughput.py builds it),
             exported with `tasrih export --int8`, against the pipeline on the same encoder
The contenders take turns (tasrih first in odd rounds, the pipeline first in even ones), so the
load of this shared machine falls on both; the load average is recorded. Writes
bench/results/whole_job.json and prints a table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEWS = REPO / "data" / "unlabeled" / "news_sentences.txt.gz"

PIPELINE = """
import sys
from transformers import AutoTokenizer, BertForSequenceClassification, pipeline
from transformers.utils import logging
logging.set_verbosity_error(); logging.disable_progress_bar()
model_dir, sentences = sys.argv[1], open(sys.argv[2], encoding="utf-8").read().splitlines()
model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=5).eval()
pipe = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(model_dir), device=-1)
out = pipe(sentences, batch_size=32, truncation=True, max_length=128)
print(len(out))
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_sentences(n: int, seed: int = 0) -> list[str]:
    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        lines = list(dict.fromkeys(line.strip() for line in f if line.strip()))
    return random.Random(seed).sample(lines, n)


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return seconds


def base_model(work: Path) -> tuple[Path, Path]:
    """The BERT-base-shaped encoder and its tasrih model exported to int8 (as bench/throughput.py builds them)."""
    from throughput import build_models  # bench/throughput.py: this script's folder is on sys.path

    from infer.fast import export

    bert, tasrih = build_models(work)
    if not (tasrih / "model.int8.onnx").is_file():
        export(tasrih, int8=True)
    return bert, tasrih


def shipped_model(work: Path) -> tuple[Path, Path]:
    """The shipped model and, for the pipeline, its encoder: e5-small with the same pruned vocabulary."""
    from train.encoder import build_encoder  # needs the train extra

    enc = work / "e5-small-pruned"
    if not (enc / "config.json").is_file():
        texts = [REPO / "data" / f"{s}.jsonl" for s in ("train", "dev", "test")] + [NEWS]
        build_encoder("e5-small", enc, prune_text=texts)
    return enc, REPO / "infer" / "default_model"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["shipped", "base"], choices=["shipped", "base"])
    ap.add_argument("--work", default=str(REPO / "local" / "bench"))
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "whole_job.json"))
    args = ap.parse_args()
    work = Path(args.work)
    sentences = load_sentences(args.sentences)
    results = {"command": "python bench/whole_job.py " + " ".join(sys.argv[1:]), "sentences": len(sentences),
               "mean_words": round(sum(len(s.split()) for s in sentences) / len(sentences), 1),
               "cpus": os.cpu_count(), "load_before": os.getloadavg(), "models": {}}
    with tempfile.TemporaryDirectory(prefix="tasrih-job-") as tmp:
        text = Path(tmp) / "sentences.txt"
        text.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        for name in args.models:
            encoder, model = shipped_model(work) if name == "shipped" else base_model(work)
            cmds = {"tasrih": [sys.executable, "-m", "train.cli", "classify", "--sentences", str(text),
                               "--model", str(model), "-o", str(Path(tmp) / "out.jsonl")],
                    "pipeline": [sys.executable, "-c", PIPELINE, str(encoder), str(text)]}
            seconds: dict[str, list[float]] = {k: [] for k in cmds}
            for r in range(args.rounds):
                for who in (("tasrih", "pipeline") if r % 2 == 0 else ("pipeline", "tasrih")):
                    seconds[who].append(round(timed(cmds[who]), 2))
                    log(f"{name} round {r + 1}: {who} {seconds[who][-1]:.1f} s")
            rows = len((Path(tmp) / "out.jsonl").read_text(encoding="utf-8").splitlines())
            if rows != len(sentences):
                raise SystemExit(f"tasrih wrote {rows} rows for {len(sentences)} sentences")
            best = {k: min(v) for k, v in seconds.items()}
            results["models"][name] = {
                "model": str(model.relative_to(REPO) if model.is_relative_to(REPO) else model), "seconds": seconds,
                "sentences_per_second": {k: round(len(sentences) / v, 1) for k, v in best.items()},
                "speedup": round(best["pipeline"] / best["tasrih"], 2)}
    results["load_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'model':<8} {'tasrih s/s':>11} {'pipeline s/s':>13} {'speed-up':>9}   ({len(sentences)} sentences, "
          f"whole job, load included; best of {args.rounds})")
    for name, m in results["models"].items():
        sps = m["sentences_per_second"]
        print(f"{name:<8} {sps['tasrih']:>11} {sps['pipeline']:>13} {m['speedup']:>8}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
