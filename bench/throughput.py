"""CPU throughput and latency of tasrih's backends against a plain transformers pipeline, in one run.

    python bench/throughput.py                    # the full run: 2,000 sentences (about 10 minutes on 2 cores)
    python bench/throughput.py --sentences 200    # a quick check
    python bench/throughput.py --agreement-model outputs/run   # also: int8 vs float32 on a trained model

The model is BERT-base shaped (12 layers, hidden 768, 12 heads, 64k WordPiece vocabulary): the
local stand-in for AraBERT from `train.local_model.build_local_model("base", ...)`, wrapped as a
TasrihModel with fresh heads, and, for the baseline, as a BertForSequenceClassification with the same
encoder weights. Its weights are random, which changes nothing about speed.

Contenders, all on the same sentences (real news sentences from data/unlabeled):
  pipeline     transformers.pipeline("text-classification", device=-1), batch_size 32: the baseline
  torch        Tasrih float32 (PyTorch), length-sorted batches
  int8         Tasrih with the recommended int8 backend (ONNX Runtime, fused graph, int8 weights)
  torch-int8   Tasrih with PyTorch dynamic quantisation of nn.Linear (--variants to choose)
  onnx         Tasrih with ONNX Runtime, fused graph in float32 (--variants to choose)

The machine is shared and noisy, so the contenders take turns: the sentences are cut into rounds, and
each round is run by every contender in a rotating order. Slow-downs from other processes then fall on
all of them alike and the ratios hold even when the absolute figures move. Single-sentence latency is
measured the same way, request by request. Prints a table and writes bench/results/throughput.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without `pip install -e .` too

import torch

NEWS = REPO / "data" / "unlabeled" / "news_sentences.txt.gz"
VARIANTS = ("pipeline", "torch", "int8", "torch-int8", "onnx")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct news sentences, a fixed random sample of the 40,000 in data/unlabeled."""
    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        lines = list(dict.fromkeys(line.strip() for line in f if line.strip()))
    if n > len(lines):
        raise SystemExit(f"--sentences {n}: only {len(lines)} sentences in {NEWS}")
    return random.Random(seed).sample(lines, n)


def build_models(work: Path) -> tuple[Path, Path]:
    """The BERT-base encoder (for the pipeline) and a TasrihModel on it with fresh heads; cached in ``work``."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from infer.labels import LABELS
    from infer.model import TasrihConfig, TasrihModel
    from train.local_model import build_local_model

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert, tasrih = work / "bert-base", work / "tasrih-base"
    if not (bert / "model.safetensors").is_file():
        log(f"building the BERT-base encoder in {bert}")
        build_local_model("base", bert, text=NEWS)
    if not (tasrih / "model.safetensors").is_file():
        config = TasrihConfig.from_pretrained(str(bert), id2label=dict(enumerate(LABELS)),
                                              label2id={label: i for i, label in enumerate(LABELS)})
        config.model_type = "tasrih"
        torch.manual_seed(0)
        TasrihModel.from_pretrained(str(bert), config=config).save_pretrained(tasrih)
        AutoTokenizer.from_pretrained(str(bert)).save_pretrained(tasrih)
    return bert, tasrih


def encoder_flops(n_tokens: list[int], layers: int, hidden: int, inter: int) -> float:
    """Multiply-adds x 2 of the encoder for sequences of these lengths (heads and embeddings are negligible)."""
    per_token = layers * 2 * (4 * hidden * hidden + 2 * hidden * inter)  # Q, K, V, O and the two FFN matrices
    return float(sum(per_token * t + layers * 4 * t * t * hidden for t in n_tokens))  # + QK^T and AV


def gemm_rate(seconds: float = 1.5) -> dict:
    """Attainable GEMM rate here and now: float32 torch.mm and an int8 dynamic-quantised Linear (BERT shapes)."""
    torch.manual_seed(0)
    x = torch.randn(512, 768)
    w = torch.randn(3072, 768)
    flop = 2 * 512 * 768 * 3072
    lin = torch.nn.Linear(768, 3072)
    lin.weight.data = w
    with torch.inference_mode():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qlin = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear},
                                                          dtype=torch.qint8)
        out = {}
        for name, fn in (("fp32_gemm_gflops", lambda: x @ w.T), ("int8_dynamic_linear_gops", lambda: qlin(x))):
            fn()
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                fn()
                n += 1
            out[name] = round(n * flop / (time.perf_counter() - t0) / 1e9, 1)
    return out


class Contender:
    def __init__(self, name: str, run_batch, run_one):
        self.name, self.run_batch, self.run_one = name, run_batch, run_one
        self.seconds = 0.0
        self.counting = False
        self.model_seconds = 0.0  # tasrih: the part spent in the backend's runner (the rest: tokens, spans)
        self.latencies: list[float] = []
        self.rows: list = []


def timed(runner, c: Contender):
    def run(ids, mask):
        t0 = time.perf_counter()
        out = runner(ids, mask)
        if c.counting:
            c.model_seconds += time.perf_counter() - t0
        return out

    return run


def make_contenders(names: list[str], bert: Path, tasrih: Path, batch_size: int) -> list[Contender]:
    from transformers import AutoTokenizer, BertForSequenceClassification, pipeline
    from transformers.utils import logging as hf_logging

    from infer.predict import Tasrih

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    out = []
    for name in names:
        if name == "pipeline":
            tok = AutoTokenizer.from_pretrained(str(bert))
            torch.manual_seed(0)
            model = BertForSequenceClassification.from_pretrained(str(bert), num_labels=5).eval()
            pipe = pipeline("text-classification", model=model, tokenizer=tok, device=-1)
            kw = {"truncation": True, "max_length": 128}  # tasrih's window: longer input is read in pieces there
            out.append(Contender(name, lambda s, p=pipe, kw=kw: p(s, batch_size=32, **kw),
                                 lambda s, p=pipe, kw=kw: p([s], batch_size=1, **kw)))
        else:
            t = Tasrih.from_pretrained(tasrih, device="cpu", backend=name)
            c = Contender(name, lambda s, t=t: t.predict(s, batch_size=batch_size),
                          lambda s, t=t: t.predict([s], batch_size=1))
            t.runner = timed(t.runner, c)
            out.append(c)
    return out


def agreement(a: list[dict], b: list[dict]) -> dict:
    """Share of sentences where b's label, actor and target equal a's."""
    def span(s):
        return (s["start"], s["end"]) if s else None

    def key(r):
        return r["label"], span(r["actor"]), span(r["target"])

    n = len(a)
    return {"sentences": n,
            "label": round(sum(x["label"] == y["label"] for x, y in zip(a, b)) / n, 4),
            "label_and_spans": round(sum(key(x) == key(y) for x, y in zip(a, b)) / n, 4)}


def test_sentences() -> tuple[list[str], str]:
    """data/test.jsonl when it exists, else the seed article and data/seed.jsonl."""
    from infer.text import split_sentences

    test = REPO / "data" / "test.jsonl"
    if test.is_file():
        rows = [json.loads(line) for line in test.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r["text"] for r in rows], "data/test.jsonl"
    sents = [p.text for f in sorted((REPO / "seeds").glob("*.txt"))
             for p in split_sentences(f.read_text(encoding="utf-8"))]
    seed = REPO / "data" / "seed.jsonl"
    sents += [json.loads(line)["text"] for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(sents)), "seeds/*.txt + data/seed.jsonl"


def trained_agreement(model_dir: Path, news: list[str]) -> dict:
    """int8 vs float32 on a trained model: the test split (or seeds), and the benchmark's news sentences."""
    from infer.fast import INT8, export
    from infer.predict import Tasrih

    with tempfile.TemporaryDirectory(prefix="tasrih-agree-") as tmp:
        log(f"exporting {model_dir} to int8 and to float32 with float16-stored weights (a temporary copy)")
        export(model_dir, tmp, int8=True)
        export(model_dir, tmp, int8=False, fp16_weights=True)
        fp32 = Tasrih.from_pretrained(model_dir, device="cpu", backend="torch")
        tests, source = test_sentences()
        out = {"model": str(model_dir), "test_source": source}
        refs = {source: fp32.predict(tests), "news sample": fp32.predict(news)}
        out["labels_predicted_fp32"] = {name: dict(sorted(Counter(r["label"] for r in rows).items()))
                                        for name, rows in refs.items()}
        for backend in (INT8, "onnx", "torch-int8"):  # onnx: the float16-stored float32 graph (the shipped form)
            other = Tasrih.from_pretrained(tmp, device="cpu", backend=backend)
            out[backend] = {name: agreement(rows, other.predict(tests if name == source else news))
                            for name, rows in refs.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=2000, help="how many sentences (default 2000)")
    ap.add_argument("--latency-requests", type=int, default=100,
                    help="single-sentence requests per contender for p50/p95 (default 100)")
    ap.add_argument("--batch-size", type=int, default=32, help="tasrih's batch size (default 32)")
    ap.add_argument("--variants", default="pipeline,torch,int8,torch-int8",
                    help=f"comma-separated, from {', '.join(VARIANTS)} (default: all but onnx)")
    ap.add_argument("--rounds", type=int, default=8, help="turns the contenders take (default 8)")
    ap.add_argument("--work", default=str(REPO / "local" / "bench"), help="where the models are built and kept")
    ap.add_argument("--agreement-model", help="a trained model directory: also measure int8 vs float32 on it")
    ap.add_argument("--agreement-only", action="store_true",
                    help="with --agreement-model: measure only that, into bench/results/agreement.json")
    ap.add_argument("--torch-threads", type=int,
                    help="torch.set_num_threads for the PyTorch contenders (default: torch's own, one per core); "
                         "TASRIH_THREADS sets ONNX Runtime's")
    ap.add_argument("--budget-minutes", type=float, default=14.0,
                    help="stop taking rounds (and latency requests) when the run would pass this (default 14)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "throughput.json"))
    args = ap.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in names if v not in VARIANTS]
    if bad:
        ap.error(f"unknown variant {bad[0]!r}: choose from {', '.join(VARIANTS)}")
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    started = time.perf_counter()
    load_before = os.getloadavg()

    from infer.fast import ARTIFACTS, INT8, export, physical_cores, resolve_backend, weights_digest
    from infer.transformer import OrtRunner

    sentences = load_sentences(args.sentences)
    if args.agreement_only:
        if not args.agreement_model:
            ap.error("--agreement-only needs --agreement-model DIR")
        result = trained_agreement(Path(args.agreement_model), sentences)
        out = REPO / "bench" / "results" / "agreement.json"
        out.write_text(json.dumps({"command": "python bench/throughput.py " + shlex.join(sys.argv[1:] if argv is None
                                                                                         else argv), **result},
                                  indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=2))
        return 0
    work = Path(args.work)
    bert, tasrih = build_models(work)
    for name in names:
        backend = resolve_backend(name)
        if backend in ARTIFACTS:
            try:  # exported before from these very weights, and as export does today?
                meta = OrtRunner(tasrih / ARTIFACTS[backend]).metadata
                if meta.get("tasrih.weights_sha256") == weights_digest(tasrih) and (
                        backend == "onnx" or meta.get("tasrih.per_channel") == "True"):
                    continue
            except Exception:  # missing or unreadable: export it
                pass
            t0 = time.perf_counter()
            path = export(tasrih, int8=backend == "onnx-int8")
            log(f"exported {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s")
    # Before the clock starts on the rounds, so that the time budget below accounts for it.
    trained = trained_agreement(Path(args.agreement_model), sentences) if args.agreement_model else None
    contenders = make_contenders(names, bert, tasrih, args.batch_size)

    rate_start = gemm_rate()
    log("warming up")
    for c in contenders:
        c.run_batch(sentences[:16])
        c.run_one(sentences[0])

    budget = 60 * args.budget_minutes
    # The time kept after the rounds for the latency requests and the GEMM probe.
    reserve = 90
    rounds = [sentences[i::args.rounds] for i in range(args.rounds)]
    measured: list[str] = []
    for r, chunk in enumerate(rounds):
        elapsed = time.perf_counter() - started
        per_round = sum(c.seconds for c in contenders) / r if r else 0.0
        if r and elapsed + per_round + reserve > budget:
            log(f"stopping after {r} of {args.rounds} rounds to stay within {args.budget_minutes:g} minutes")
            break
        measured += chunk
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            c.counting = True
            t0 = time.perf_counter()
            rows = c.run_batch(chunk)
            c.seconds += time.perf_counter() - t0
            c.counting = False
            c.rows.append(rows)
        log(f"round {r + 1}/{args.rounds}, seconds so far: "
            + "  ".join(f"{c.name} {c.seconds:.0f}" for c in contenders))

    picks = random.Random(1).sample(sentences, min(args.latency_requests, len(sentences)))
    for i, s in enumerate(picks):
        if i >= 20 and time.perf_counter() - started + 15 > budget:
            log(f"stopping latency after {i} requests to stay within {args.budget_minutes:g} minutes")
            picks = picks[:i]
            break
        k = i % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            t0 = time.perf_counter()
            c.run_one(s)
            c.latencies.append(time.perf_counter() - t0)
    log("latency done")

    # The useful work: tasrih's windows of the sentences (the same token count for every contender).
    from transformers import AutoTokenizer

    from infer.features import encode
    from infer.normalize import Normalizer

    tok = AutoTokenizer.from_pretrained(str(tasrih))
    cfg = json.loads((tasrih / "config.json").read_text())
    _, segs = encode(tok, Normalizer(cfg.get("normalizer", "basic")), measured, cfg["max_seq_length"])
    lengths = [len(s.input_ids) for s in segs]
    flops = encoder_flops(lengths, cfg["num_hidden_layers"], cfg["hidden_size"], cfg["intermediate_size"])
    rate_end = gemm_rate()
    rate = {k: max(rate_start[k], rate_end[k]) for k in rate_start}  # the best this machine gave during the run
    load_after = os.getloadavg()

    base = next((c for c in contenders if c.name == "pipeline"), None)
    results = {}
    for c in contenders:
        lat = sorted(c.latencies)
        sps = len(measured) / c.seconds
        results[c.name] = {
            "sentences_per_s": round(sps, 2),
            "seconds": round(c.seconds, 2),
            "speedup_vs_pipeline": round(base.seconds / c.seconds, 2) if base else None,
            "latency_ms_p50": round(1000 * statistics.median(lat), 1),
            "latency_ms_p95": round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
            "effective_gflops": round(flops * sps / len(measured) / 1e9, 1),
            "model_share": round(c.model_seconds / c.seconds, 3) if c.model_seconds else None,
        }
    agree = {}
    if "torch" in names:
        ref = [r for rows in next(c for c in contenders if c.name == "torch").rows for r in rows]
        for c in contenders:
            if c.name not in ("torch", "pipeline"):
                agree[c.name] = agreement(ref, [r for rows in c.rows for r in rows])

    def v(pkg):
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                     platform.processor())
    command = shlex.join(["python", *(sys.argv if argv is None else [__file__, *argv])])
    if os.environ.get("TASRIH_THREADS"):  # ONNX Runtime's threads: part of the command as run
        command = f"TASRIH_THREADS={shlex.quote(os.environ['TASRIH_THREADS'])} {command}"
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "machine": {"cpu_count": os.cpu_count(), "physical_cores": physical_cores(), "cpu": cpu_model,
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after]},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "torch_threads": torch.get_num_threads(), "ort_threads": physical_cores(),
                     "transformers": v("transformers"),
                     "onnxruntime": v("onnxruntime"), "onnx": v("onnx")},
        "model": {"shape": "BERT-base: 12 layers, hidden 768, 12 heads, FFN 3072",
                  "vocab_size": cfg["vocab_size"], "max_seq_length": cfg["max_seq_length"],
                  "int8_backend": INT8},
        "workload": {"sentences": len(sentences), "sentences_measured": len(measured),
                     "source": str(NEWS.relative_to(REPO)) + " (seeded sample)",
                     "windows": len(segs), "tokens_mean": round(sum(lengths) / len(lengths), 1),
                     "tokens_max": max(lengths), "tasrih_batch_size": args.batch_size, "pipeline_batch_size": 32,
                     "rounds": args.rounds, "latency_requests": len(picks)},
        "compute": {"encoder_gflop_per_sentence": round(flops / len(measured) / 1e9, 2), **rate,
                    "fp32_bound_sentences_per_s": round(rate["fp32_gemm_gflops"] * 1e9 * len(measured) / flops, 1),
                    "int8_bound_sentences_per_s":
                        round(rate["int8_dynamic_linear_gops"] * 1e9 * len(measured) / flops, 1)},
        "results": results,
        "agreement_with_torch_fp32_random_heads": agree,
        "agreement_trained_model": trained,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    comp = report["compute"]
    print(f"\n{len(measured)} sentences ({report['workload']['tokens_mean']} tokens a window on average), "
          f"BERT-base shape, {os.cpu_count()} CPUs ({physical_cores()} physical cores), "
          f"load average {load_before[0]:.1f} -> {load_after[0]:.1f}")
    print(f"{'contender':<12} {'sent/s':>8} {'x pipeline':>10} {'p50 ms':>8} {'p95 ms':>8} {'GFLOP/s':>8} "
          f"{'in model':>8}")
    for name, r in results.items():
        sp = f"{r['speedup_vs_pipeline']:.2f}" if r["speedup_vs_pipeline"] else "-"
        share = f"{r['model_share']:.0%}" if r["model_share"] else "-"
        print(f"{name:<12} {r['sentences_per_s']:>8.1f} {sp:>10} {r['latency_ms_p50']:>8.1f} "
              f"{r['latency_ms_p95']:>8.1f} {r['effective_gflops']:>8.1f} {share:>8}")
    print(f"compute limit: {comp['encoder_gflop_per_sentence']} GFLOP a sentence; this machine's attainable "
          f"float32 GEMM {comp['fp32_gemm_gflops']} GFLOP/s -> at most {comp['fp32_bound_sentences_per_s']} "
          f"sentences/s in float32; int8 Linear {comp['int8_dynamic_linear_gops']} GOP/s -> at most "
          f"{comp['int8_bound_sentences_per_s']} sentences/s")
    for name, a in agree.items():
        print(f"agreement with torch float32 (random heads): {name} label {a['label']:.2%}, "
              f"label+spans {a['label_and_spans']:.2%}")
    if trained:
        for backend in (INT8, "onnx", "torch-int8"):  # onnx: the float16-stored float32 graph (the shipped form)
            for key, a in trained[backend].items():
                print(f"trained model {trained['model']}, {backend} vs torch on {key}: label {a['label']:.2%}, "
                      f"label+spans {a['label_and_spans']:.2%} of {a['sentences']} sentences")
    print(f"wrote {out} (wall {report['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
