"""Evaluate a saved model on dataset files: `tasrih evaluate --model DIR --data FILE`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from infer.predictor import Predictor
from train.data import Dataset
from train.metrics import evaluate_predictions
from train.report import report_title, shown, write_report


def records_digest(ds: Dataset) -> str:
    """Which version of a split was scored: the digest of its records (bench/quality.py --reuse)."""
    h = hashlib.sha256()
    for r in ds.records:
        h.update(json.dumps(r.data, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


def predict_records(model: Predictor, ds: Dataset, batch_size: int = 64) -> list[dict]:
    return model.predict([r.data["text"] for r in ds.records], batch_size=batch_size)


def evaluate_splits(model: Predictor, splits: dict[str, tuple[Path, Dataset]], out: Path, title: str,
                    batch_size: int = 64, extra: dict | None = None, model_dir: Path | None = None) -> dict:
    """Metrics per split, the report and a confusion matrix per split, the first split's predictions.

    ``title`` names the model; when it holds a run's timestamp instead (a model directory named by
    Hydra), or ``model_dir`` is given, the name saved with the model is used (train/report.py).
    """
    title = report_title(title, model, model_dir)
    metrics = {"model": title, **(extra or {}), "splits": {}}
    first = None
    for name, (path, ds) in splits.items():
        gold = [r.data for r in ds.records]
        pred = predict_records(model, ds, batch_size)
        m = evaluate_predictions(gold, pred)
        metrics["splits"][name] = {"split": name, "file": shown(path), "sha256": records_digest(ds), **m}
        if first is None:
            first = (gold, pred)
    write_report(out, metrics, *first, title=title)
    return metrics
