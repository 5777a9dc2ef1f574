"""Train and evaluate every candidate model on the same splits; draw the learning curve of the best.

    python bench/quality.py                      # all candidates (about two hours on a 2-core CPU)
    python bench/quality.py --candidates baseline e5_small --no-curve

Writes bench/results/quality.json, bench/results/quality.md and
bench/results/learning_curve.png; each run's directory goes to bench/runs/.
Every candidate is trained with the same code path as `tasrih train model=<name>`; the
ensembles average the calibrated label probabilities of two trained candidates and are scored by
the same evaluation. An ensemble with the baseline is built as it would ship (`tasrih export
--ngram-labels --calibrate`: the baseline's label model on numpy, spans from the transformer with
thresholds fitted on dev); e5_small+e5_frozen averages two predictors in this script (spans from the
member that predicted the label).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from infer.fast import calibrate, export
from infer.labels import LABELS
from infer.predict import Tasrih
from infer.predictor import Predictor
from train.cli import CONF_DIR
from train.config import register
from train.data import load
from train.evaluate import evaluate_splits, records_digest
from train.loop import train

# name -> Hydra overrides: the same `tasrih train` command a user would type.
CANDIDATES = {
    "baseline": ["model=baseline"],
    "e5_frozen": ["model=e5_frozen", "trainer.head_lr=2e-3"],
    "e5_small": ["model=e5_small"],
    # The same with the (pruned) word embeddings trained and the span loss counted twice: for the targets.
    "e5_small_spans": ["model=e5_small", "model.freeze_word_embeddings=false", "model.span_loss_weight=2.0"],
    # The span loss counted three times: a third ingredient for the soup (bench/soup.py --members).
    "e5_small_spans3": ["model=e5_small", "model.freeze_word_embeddings=false", "model.span_loss_weight=3.0"],
    "tiny": ["model=tiny", "trainer.epochs=10"],
    "tiny_mlm": ["model=tiny_mlm", "trainer.epochs=10"],
}
# Ensembles: the mean of their members' label probabilities. One with the baseline is exported as it
# would ship: the transformer with the baseline's n-gram label model (infer/ngram.py); the others
# average predictors here.
ENSEMBLES = {"e5_small+baseline": ("e5_small", "baseline"), "e5_small+e5_frozen": ("e5_small", "e5_frozen"),
             "e5_small_spans+baseline": ("e5_small_spans", "baseline"),
             "e5_small_spans3+baseline": ("e5_small_spans3", "baseline")}
RESULTS = Path("bench/results")
RUNS = Path("bench/runs")


def run(name: str, overrides: list[str], fraction: float = 1.0, reuse: bool = False) -> dict:
    out = RUNS / (name if fraction == 1.0 else f"{name}-{int(fraction * 100)}")
    if reuse and (out / "metrics.json").is_file():  # a finished run of an earlier invocation
        return {"dir": str(out), "wall_seconds": None, "metrics": reevaluate(out)}
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*overrides, f"output_dir={out}", f"name={name}",
                                                        f"data.train_fraction={fraction}"])
    started = time.time()
    train(cfg)
    wall = time.time() - started
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {"dir": str(out), "wall_seconds": round(wall, 1), "metrics": metrics}


def load_splits(names) -> dict:
    """name -> (path, dataset) for data/<name>.jsonl, as evaluate_splits takes them."""
    return {s: (Path(f"data/{s}.jsonl"), load([Path(f"data/{s}.jsonl")])) for s in names}


def reevaluate(out: Path) -> dict:
    """A reused run scored again on the splits as they are now, if they changed since it was scored (a
    later review may have corrected their labels); its training figures are kept. Rewrites its
    metrics.json and report."""
    old = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    splits = load_splits(old["splits"])
    if all(old["splits"][s].get("sha256") == records_digest(ds) for s, (_, ds) in splits.items()) and not (
            needs_thresholds(out)):
        return old  # scored on the splits as they are, decoded as a run trained now would be
    extra = {k: v for k, v in old.items() if k not in ("model", "splits")}
    return evaluate_splits(load_model(str(out)), splits, out, title=old["model"], extra=extra, model_dir=out)


class Ensemble(Predictor):
    """The mean of its members' calibrated label probabilities; actor, target and `also` from the first
    member that predicted the winning label (members in order of preference)."""

    backend = "ensemble"

    def __init__(self, members: list[Predictor], name: str):
        self.members, self.name = members, name

    def predict(self, sentences, batch_size: int = 32) -> list[dict]:
        outputs = [m.predict(sentences, batch_size) for m in self.members]
        rows = []
        for parts in zip(*outputs):
            scores = {lab: round(sum(p["scores"][lab] for p in parts) / len(parts), 4) for lab in LABELS}
            label = max(LABELS, key=lambda lab: scores[lab])
            source = next((p for p in parts if p["label"] == label), None)
            rows.append({**parts[0], "label": label, "scores": scores,
                         "also": source["also"] if source else [], "actor": source["actor"] if source else None,
                         "target": source["target"] if source else None})
        return rows


def needs_thresholds(run_dir: Path) -> bool:
    """A transformer run trained before training fitted span thresholds on dev (train/loop.py)."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    return config.get("model_type") == "tasrih" and "span_thresholds" not in config


def load_model(run_dir: str) -> Predictor:
    """The saved model as it would ship: a transformer is exported to ONNX (float16-stored weights) first,
    and a run trained before span thresholds existed gets them fitted on dev, as training now does."""
    path = Path(run_dir)
    if not (path / "model.safetensors").is_file():
        return Tasrih.from_pretrained(path)  # the classical baseline
    if not (path / "model.onnx").is_file():
        export(path, int8=False, fp16_weights=True)
    if needs_thresholds(path):
        calibrate(path, "onnx", Path("data/dev.jsonl"))
    return Tasrih.from_pretrained(path, backend="onnx")


def shipped_form(transformer_dir: str, baseline_dir: str, out: Path) -> Predictor:
    """The transformer exported with the baseline's label model averaged in, as `make default-model` ships it."""
    if out.exists():
        shutil.rmtree(out)
    export(transformer_dir, out, int8=False, fp16_weights=True, weights=False, ngram_labels=baseline_dir,
           calibrate_on="data/dev.jsonl")
    return Tasrih.from_pretrained(out, backend="onnx")


def evaluate_ensemble(name: str, members: list[str], results: dict) -> dict:
    out = RUNS / name
    if members[1] == "baseline":
        model = shipped_form(results[members[0]]["dir"], results[members[1]]["dir"], out)
    else:
        model = Ensemble([load_model(results[m]["dir"]) for m in members], name)
    splits = load_splits(("dev", "test"))
    seconds = sum(results[m]["metrics"]["train"]["seconds"] for m in members)
    evaluate_splits(model, splits, out, title=f"tasrih {name}",
                    extra={"train": {"steps": 0, "seconds": seconds, "examples": None, "members": members}})
    return {"dir": str(out), "wall_seconds": None, "metrics": json.loads((out / "metrics.json").read_text()),
            "model": model}


def speed(run_dir: str | Predictor, sentences: list[str]) -> float:
    """Sentences per second of the saved model classifying the test sentences (after one warm-up)."""
    model = run_dir if isinstance(run_dir, Predictor) else load_model(run_dir)
    model.predict(sentences[:32])
    started = time.perf_counter()
    model.predict(sentences)
    return round(len(sentences) / (time.perf_counter() - started), 1)


def summary(name: str, result: dict, sps: float) -> dict:
    m = result["metrics"]
    row = {"candidate": name, "train_seconds": m["train"]["seconds"], "sentences_per_second": sps}
    for split in ("dev", "test"):
        s = m["splits"][split]
        row[split] = {"macro_f1": round(s["macro_f1"], 6), "accuracy": round(s["accuracy"], 6),
                      "per_class_f1": {lab: round(s["per_class"][lab]["f1"], 6) for lab in LABELS},
                      "actor_exact_f1": round(s["actor"]["exact"]["f1"], 6),
                      "actor_overlap_f1": round(s["actor"]["overlap"]["f1"], 6),
                      "target_exact_f1": round(s["target"]["exact"]["f1"], 6),
                      "target_overlap_f1": round(s["target"]["overlap"]["f1"], 6),
                      "ece": round(s.get("ece", float("nan")), 6), "n_examples": s["n_examples"]}
    return row


def markdown(rows: list[dict], curve: dict, command: str) -> str:
    head = ("| candidate | dev macro-F1 | test macro-F1 | " + " | ".join(f"test F1 {lab}" for lab in LABELS)
            + " | test actor exact F1 | test target exact F1 | test ECE | train s | sentences/s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: -r["dev"]["macro_f1"]):
        t = r["test"]
        lines.append(f"| {r['candidate']} | {r['dev']['macro_f1']:.3f} | {t['macro_f1']:.3f} | "
                     + " | ".join(f"{t['per_class_f1'][lab]:.3f}" for lab in LABELS)
                     + f" | {t['actor_exact_f1']:.3f} | {t['target_exact_f1']:.3f} | {t['ece']:.3f} | "
                       f"{r['train_seconds']:.0f} | {r['sentences_per_second']:.0f} |")
    if curve:
        lines += ["", "Learning curve (dev macro-F1 by share of train):", "",
                  "| candidate | " + " | ".join(f"{int(f * 100)}%" for f in sorted(next(iter(curve.values())))) + " |",
                  "|---" * (1 + len(next(iter(curve.values())))) + "|"]
        for name, points in curve.items():
            lines.append(f"| {name} | " + " | ".join(f"{points[f]:.3f}" for f in sorted(points)) + " |")
    lines += ["", f"Command: `{command}`", ""]
    return "\n".join(lines)


def plot_curve(curve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, points in curve.items():
        xs = sorted(points)
        ax.plot([x * 100 for x in xs], [points[x] for x in xs], marker="o", label=name)
    ax.set_xlabel("share of train used (%)")
    ax.set_ylabel("dev macro-F1")
    ax.set_title("Learning curve")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    ap.add_argument("--no-curve", action="store_true", help="skip the learning curve")
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.25, 0.5])
    ap.add_argument("--curve", nargs="+", default=["e5_small", "baseline"], choices=list(CANDIDATES),
                    help="the candidates whose learning curve is drawn")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse finished runs in bench/runs/ instead of training them again")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    test_sentences = [r.data["text"] for r in load([Path("data/test.jsonl")]).records]
    rows, results = [], {}
    for name in args.candidates:
        print(f"== {name}", flush=True)
        results[name] = run(name, CANDIDATES[name], reuse=args.reuse)
        rows.append(summary(name, results[name], speed(results[name]["dir"], test_sentences)))
        print(json.dumps(rows[-1]), flush=True)
    for name, members in ENSEMBLES.items():
        if all(m in results for m in members):
            print(f"== {name}", flush=True)
            res = evaluate_ensemble(name, list(members), results)
            rows.append(summary(name, res, speed(res.pop("model"), test_sentences)))
            print(json.dumps(rows[-1]), flush=True)
    curve: dict[str, dict[float, float]] = {}
    if not args.no_curve:
        for r in [r for r in rows if r["candidate"] in args.curve]:
            name = r["candidate"]
            curve[name] = {1.0: r["dev"]["macro_f1"]}
            for f in args.fractions:
                print(f"== {name} on {int(f * 100)}% of train", flush=True)
                res = run(name, CANDIDATES[name], fraction=f, reuse=args.reuse)
                curve[name][f] = round(res["metrics"]["splits"]["dev"]["macro_f1"], 4)
        plot_curve(curve, RESULTS / "learning_curve.png")
    command = "python bench/quality.py " + " ".join(sys.argv[1:])
    report = {"command": command.strip(), "machine": {"cpus": torch.get_num_threads(), "python": platform.python_version(),
                                                      "torch": torch.__version__},
              "candidates": rows, "learning_curve": {k: {str(f): v for f, v in p.items()} for k, p in curve.items()},
              "winner_on_dev": max(rows, key=lambda r: r["dev"]["macro_f1"])["candidate"]}
    (RESULTS / "quality.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    (RESULTS / "quality.md").write_text(markdown(rows, curve, command.strip()), encoding="utf-8")
    print(markdown(rows, curve, command.strip()))


if __name__ == "__main__":
    main()
