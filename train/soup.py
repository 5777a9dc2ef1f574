"""Average the weights of fine-tunes of one encoder ("model soup"): `tasrih soup A B [C ...] --weights ... --out DIR`.

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


def average_weights(runs: list[Path], weights: list[float], out: Path) -> Path:
    """The sum of ``weights[i]`` times ``runs[i]``'s weights, saved in ``out`` with the first run's config
    (less what was fitted for that run alone) and tokenizer. The weights are shares: each from 0 to 1,
    summing to 1."""
    from safetensors.torch import load_file, save_file

    runs, weights = [Path(r) for r in runs], [float(w) for w in weights]
    if len(runs) < 2:
        raise SoupError("give at least two training runs to average")
    if len(weights) != len(runs):
        raise SoupError(f"{len(weights)} weights for {len(runs)} runs: give one share per run")
    for w in weights:
        if not 0 <= w <= 1:
            raise SoupError(f"--weight is {w:g}: give the first run's share, from 0 to 1" if len(runs) == 2 else
                            f"a weight is {w:g}: give each run's share, from 0 to 1")
    if abs(sum(weights) - 1) > 1e-6:
        raise SoupError(f"the weights add up to {sum(weights):g}: give shares that add up to 1")
    for run in runs:
        if not (run / "model.safetensors").is_file():
            raise SoupError(f"{run}: no model.safetensors; give training runs of `tasrih train`")
    first = runs[0]
    for other in runs[1:]:
        if (first / "tokenizer.json").read_bytes() != (other / "tokenizer.json").read_bytes():
            raise SoupError(f"{first} and {other} have different vocabularies: their weights cannot be averaged")
    tensors = [load_file(str(run / "model.safetensors")) for run in runs]
    for other, b in zip(runs[1:], tensors[1:]):
        differ = sorted(set(tensors[0]) ^ set(b)) or [k for k in b if tensors[0][k].shape != b[k].shape]
        if differ:
            raise SoupError(f"{first} and {other} are not the same architecture ({differ[0]} differs)")
    if out.resolve() in {run.resolve() for run in runs}:
        raise SoupError(f"--out {out}: write the soup to a new directory, not over a run")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in COPIED:
        if (first / name).is_file():
            shutil.copy2(first / name, out / name)
    # Each run's resolved training configuration, so the soup says how every part was trained.
    for i, run in enumerate(runs, 1):
        if (run / "config.yaml").is_file():
            shutil.copy2(run / "config.yaml", out / f"config_run{i}.yaml")
    parts = [f"{w:g} times the weights of `{run}`" for w, run in zip(weights, runs)]
    card = out / "README.md"
    if card.is_file():  # the card above describes the first run: say what these weights are
        card.write_text(card.read_text(encoding="utf-8").rstrip() + (
            f"\n\n## Weights\n\nA soup (`tasrih soup`): {' plus '.join(parts)}, fine-tunes of the same "
            f"encoder; the figures of the Evaluation section are those of the run above until the soup is "
            f"scored (`tasrih evaluate --card`).\n"), encoding="utf-8")
    config = json.loads((first / "config.json").read_text(encoding="utf-8"))
    for key in PER_RUN:
        config.pop(key, None)
    config["soup"] = {"runs": [str(run) for run in runs], "weights": [round(w, 6) for w in weights]}
    # What reports and the card are titled with (train/report.py reads config.json's name).
    names = [model_name(run) for run in runs]
    shares = f"{weights[0]:g}" if len(runs) == 2 else "/".join(f"{w:g}" for w in weights)
    config["name"] = f"soup-{shares} of {', '.join(names[:-1])} and {names[-1]}"
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    mean = {k: sum(w * t[k].float() for w, t in zip(weights, tensors)).to(v.dtype).contiguous()
            for k, v in tensors[0].items()}
    save_file(mean, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out
