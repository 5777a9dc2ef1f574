"""Write what an evaluation leaves behind: metrics.json, report.md, a confusion matrix PNG per split
(confusion_matrix_<split>.png, and confusion_matrix.png for the first split), predictions.jsonl.

Reports and plots are titled with the model's name (``cfg.name``, saved with the model), never with the
timestamp of the run directory that holds it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from infer.labels import LABELS, SPAN_ROLES


def shown(path: Path) -> str:
    """A path as reports print it: relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# outputs/<name>/2024-05-01_12-30-00, multirun/<name>/2024-05-01_12-30-00/3: Hydra's run directories.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[_T ]\d{2}[-:]\d{2}(?:[-:]\d{2}(?:\.\d+)?)?)?|\d+")


def looks_like_timestamp(name: str) -> bool:
    """True for the names Hydra gives run directories (a date and time, or a sweep job number)."""
    return bool(_TIMESTAMP.fullmatch(name.strip()))


def _saved_name(model_dir: Path) -> str | None:
    """``name`` as the model directory's config.yaml (the run's cfg) or config.json records it."""
    try:
        import yaml

        cfg = yaml.safe_load((model_dir / "config.yaml").read_text(encoding="utf-8"))
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
            return cfg["name"]
    except Exception:  # noqa: BLE001  (no config.yaml, or not YAML: try the next source)
        pass
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
            return cfg["name"]
    except Exception:  # noqa: BLE001
        pass
    return None


def model_name(model_dir: Path | None = None, model=None) -> str:
    """The model's name for titles: the ``cfg.name`` saved with it, else its directory's name.

    A run directory named by its timestamp (outputs/tiny/2024-05-01_12-30-00) is named by the folder
    above it (tiny). ``model``, a loaded predictor, is asked too: the baseline keeps config.json's name.
    """
    candidates: list[str | None] = []
    if model_dir is not None:
        model_dir = Path(model_dir)
        candidates.append(_saved_name(model_dir))
    config = getattr(model, "config", None)
    candidates.append(config.get("name") if isinstance(config, dict) else getattr(config, "name", None))
    if model_dir is not None:
        resolved = model_dir.resolve()
        candidates += [resolved.name, *(p.name for p in list(resolved.parents)[:2])]
    candidates.append(getattr(model, "name", None))
    for name in candidates:
        if isinstance(name, str) and name.strip() and not looks_like_timestamp(name):
            return name.strip()
    return next((n for n in candidates if isinstance(n, str) and n.strip()), "model")


def report_title(title: str, model=None, model_dir: Path | None = None) -> str:
    """``title`` ("tasrih <name>"), its name replaced by the model's when it is a run's timestamp."""
    prefix, _, name = title.rpartition(" ")
    if model_dir is None and not looks_like_timestamp(name):
        return title
    better = model_name(model_dir, model)
    if looks_like_timestamp(better):
        return title
    return f"{prefix} {better}" if prefix else better


def split_filename(split: str) -> str:
    """The confusion matrix PNG of one split."""
    return f"confusion_matrix_{re.sub(r'[^0-9A-Za-z_.-]', '_', split)}.png"


def write_predictions(path: Path, gold: list[dict], pred: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for g, p in zip(gold, pred):
            row = {"id": g.get("id"), "doc": g.get("doc"), **p, "gold_label": g["label"],
                   "gold_actor": g.get("actor"), "gold_target": g.get("target")}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def plot_confusion(path: Path, matrix: list[list[int]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=30, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = max(max(r) for r in matrix) or 1
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Title": title})  # the title, readable without looking
    plt.close(fig)


def markdown(metrics: dict, title: str) -> str:
    lines = [f"# {title}", ""]
    for split, m in metrics["splits"].items():
        lines += [f"## {split} ({m['n_examples']} sentences, `{m['file']}`)", "",
                  f"- **macro-F1 (5 labels): {m['macro_f1']:.3f}**",
                  f"- accuracy: {m['accuracy']:.3f}"]
        if "ece" in m:
            lines.append(f"- expected calibration error: {m['ece']:.3f}")
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab in LABELS:
            c = m["per_class"][lab]
            lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
        lines += ["", "| span | exact P | exact R | exact F1 | overlap F1 | gold spans |", "|---|---|---|---|---|---|"]
        for role in SPAN_ROLES:
            s = m[role]
            lines.append(f"| {role} | {s['exact']['precision']:.3f} | {s['exact']['recall']:.3f} | "
                         f"{s['exact']['f1']:.3f} | {s['overlap']['f1']:.3f} | {s['gold']} |")
        lines += ["", "Confusion matrix (rows gold, columns predicted, order " + ", ".join(LABELS) + "):", ""]
        lines += ["    " + " ".join(f"{v:5d}" for v in row) for row in m["confusion_matrix"]]
        lines += ["", f"![confusion matrix, {split}]({split_filename(split)})", ""]
    return "\n".join(lines)


def write_report(out: Path, metrics: dict, gold: list[dict], pred: list[dict], title: str) -> None:
    """metrics.json, report.md and a confusion matrix per split; the first split's predictions too.

    confusion_matrix.png is the first split's, as before the per-split files existed.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(markdown(metrics, title), encoding="utf-8")
    write_predictions(out / "predictions.jsonl", gold, pred)
    for k, (split, m) in enumerate(metrics["splits"].items()):
        plot_confusion(out / split_filename(split), m["confusion_matrix"], f"{title}: {split}")
        if k == 0:
            plot_confusion(out / "confusion_matrix.png", m["confusion_matrix"], f"{title}: {split}")
