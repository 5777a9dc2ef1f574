"""Average the weights of two fine-tunes of one encoder ("model soup"): `tasrih soup A B --weight W --out DIR`.

Two runs fine-tuned from the same pretrained encoder with the same seed and data order stay close
enough in weight space that their weighted mean is a model of the same size and speed that keeps
much of what each learned (bench/soup.py: e5_small finds more actors, e5_small_spans more targets).
Averaging their outputs instead would need both encoders at inference.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from train.report import model_name

# Fitted on dev for one run; a soup's are fitted again (`tasrih export --calibrate`), not inherited.
PER_RUN = ("span_thresholds",)
COPIED = ("tokenizer.json", "tokenizer_config.json", "README.md")


class SoupError(ValueError):
    """Two runs whose weights cannot be averaged; the message says why."""


def average_weights(first: Path, second: Path, weight: float, out: Path) -> Path:
    """``weight`` times ``first``'s weights plus ``1 - weight`` times ``second``'s, saved in ``out`` with
    ``first``'s config (less what was fitted for that run alone) and tokenizer."""
    from safetensors.torch import load_file, save_file

    if not 0 <= weight <= 1:
        raise SoupError(f"--weight is {weight}: give the first run's share, from 0 to 1")
    for run in (first, second):
        if not (run / "model.safetensors").is_file():
            raise SoupError(f"{run}: no model.safetensors; give two training runs of `tasrih train`")
    if (first / "tokenizer.json").read_bytes() != (second / "tokenizer.json").read_bytes():
        raise SoupError(f"{first} and {second} have different vocabularies: their weights cannot be averaged")
    a, b = load_file(str(first / "model.safetensors")), load_file(str(second / "model.safetensors"))
    differ = sorted(set(a) ^ set(b)) or [k for k in a if a[k].shape != b[k].shape]
    if differ:
        raise SoupError(f"{first} and {second} are not the same architecture ({differ[0]} differs)")
    if out.resolve() in (first.resolve(), second.resolve()):
        raise SoupError(f"--out {out}: write the soup to a new directory, not over a run")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in COPIED:
        if (first / name).is_file():
            shutil.copy2(first / name, out / name)
    # Each run's resolved training configuration, so the soup says how both halves were trained.
    for i, run in enumerate((first, second), 1):
        if (run / "config.yaml").is_file():
            shutil.copy2(run / "config.yaml", out / f"config_run{i}.yaml")
    card = out / "README.md"
    if card.is_file():  # the card above describes the first run: say what these weights are
        card.write_text(card.read_text(encoding="utf-8").rstrip() + (
            f"\n\n## Weights\n\nA soup (`tasrih soup`): {weight:g} times the weights of `{first}` plus "
            f"{1 - weight:g} times those of `{second}`, two fine-tunes of the same encoder; the figures of the "
            f"Evaluation section are those of the run above until the soup is scored (`tasrih evaluate --card`).\n"),
            encoding="utf-8")
    config = json.loads((first / "config.json").read_text(encoding="utf-8"))
    for key in PER_RUN:
        config.pop(key, None)
    config["soup"] = {"runs": [str(first), str(second)], "weights": [weight, round(1 - weight, 6)]}
    # What reports and the card are titled with (train/report.py reads config.json's name).
    config["name"] = f"soup-{weight:g} of {model_name(first)} and {model_name(second)}"
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    save_file({k: (weight * a[k].float() + (1 - weight) * b[k].float()).to(a[k].dtype).contiguous() for k in a},
              str(out / "model.safetensors"), metadata={"format": "pt"})
    return out
