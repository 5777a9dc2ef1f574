"""Write what an evaluation leaves behind: metrics.json, report.md, confusion_matrix.png, predictions.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from infer.labels import LABELS, SPAN_ROLES


def shown(path: Path) -> str:
    """A path as reports print it: relative to the working directory when it lies below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
    fig.savefig(path, dpi=120)
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
        lines.append("")
    return "\n".join(lines)


def write_report(out: Path, metrics: dict, gold: list[dict], pred: list[dict], title: str) -> None:
    """Everything for the first evaluated split goes beside metrics.json."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(markdown(metrics, title), encoding="utf-8")
    first = next(iter(metrics["splits"]))
    write_predictions(out / "predictions.jsonl", gold, pred)
    plot_confusion(out / "confusion_matrix.png", metrics["splits"][first]["confusion_matrix"],
                   f"{title}: {first}")
