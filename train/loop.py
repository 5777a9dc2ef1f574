"""The training loop: fine-tune encoder + heads jointly, checkpoint, evaluate, save.

``train(cfg)`` returns the metrics dict, so a Hydra sweep needs no glue.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from infer.features import encode, first_token_positions
from infer.labels import CLAIMS, LABEL2ID, TAG2ID
from infer.model import TasrihConfig, TasrihModel
from infer.normalize import Normalizer
from infer.predict import Tasrih, pick_device
from train.data import Dataset, load_splits
from train.evaluate import evaluate_splits

log = logging.getLogger("tasrih.train")
CKPT = re.compile(r"^step-(\d{8})$")


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def featurize(ds: Dataset, tokenizer, normalizer: Normalizer, max_length: int) -> list[dict]:
    """One training example per window of each sentence; only a word's first token carries its tag."""
    recs = [r.data for r in ds.records]
    words, segments = encode(tokenizer, normalizer, [r["text"] for r in recs], max_length)
    examples = []
    for seg in segments:
        rec = recs[seg.sentence]
        tags = word_tags(rec, words[seg.sentence])
        token_tags = [-100] * len(seg.input_ids)
        for w, pos in first_token_positions(seg).items():
            token_tags[pos] = tags[w]
        examples.append({"input_ids": seg.input_ids, "span_tags": token_tags, "labels": LABEL2ID[rec["label"]],
                         "also": [1.0 if c in rec["also"] else 0.0 for c in CLAIMS]})
    return examples


def collate(batch: list[dict], pad_id: int) -> dict:
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    tags = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        tags[i, :n] = torch.tensor(b["span_tags"])
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "span_tags": tags,
            "labels": torch.tensor([b["labels"] for b in batch]),
            "also": torch.tensor([b["also"] for b in batch])}


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


def load_encoder(cfg: DictConfig) -> tuple[TasrihModel, object]:
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the "newly initialized heads" table is expected here, not news
    m = cfg.model
    source = m.name_or_path
    if m.local_size:
        path = resolve(source)
        if not (path / "config.json").exists():
            from train.local_model import build_local_model

            log.info("building the local %s BERT in %s (first use)", m.local_size, path)
            build_local_model(m.local_size, path)
        source = str(path)
    config = TasrihConfig.from_pretrained(
        source, normalizer=m.normalizer, max_seq_length=m.max_seq_length, classifier_dropout_prob=m.dropout,
        span_loss_weight=m.span_loss_weight, also_loss_weight=m.also_loss_weight,
        id2label=dict(enumerate(LABEL2ID)), label2id=dict(LABEL2ID))
    config.model_type = "tasrih"
    model = TasrihModel.from_pretrained(source, config=config)
    tokenizer = AutoTokenizer.from_pretrained(source)
    return model, tokenizer


# ---- checkpoints -------------------------------------------------------------------------------

def latest_checkpoint(root: Path) -> Path | None:
    """The newest *complete* checkpoint; a half-written one (no rename yet) is never picked."""
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if CKPT.match(p.name) and (p / "state.json").is_file()]
    return max(done, key=lambda p: int(CKPT.match(p.name).group(1)), default=None)


def save_checkpoint(root: Path, step: int, model, tokenizer, optimizer, scheduler, state: dict, keep: int) -> Path:
    """Write to a temporary directory, then rename: a kill at any moment leaves no partial checkpoint."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
               tmp / "trainer_state.pt")
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    olds = sorted((p for p in root.iterdir() if CKPT.match(p.name)), key=lambda p: p.name)
    for p in olds[:-keep] if keep > 0 else []:
        shutil.rmtree(p, ignore_errors=True)
    return final


def load_checkpoint(path: Path, model, optimizer, scheduler) -> dict:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path / "model.safetensors")), strict=False)
    # Our own file, and weights_only refuses anything but tensors and plain containers.
    st = torch.load(path / "trainer_state.pt", weights_only=True)
    optimizer.load_state_dict(st["optimizer"])
    scheduler.load_state_dict(st["scheduler"])
    torch.set_rng_state(st["torch_rng"])
    if st["cuda_rng"]:
        torch.cuda.set_rng_state_all(st["cuda_rng"])
    return json.loads((path / "state.json").read_text(encoding="utf-8"))


# ---- the loop ----------------------------------------------------------------------------------

def autocast_for(device: torch.device, precision: str):
    if device.type != "cuda" or precision == "fp32":
        return None, False
    if precision == "bf16" or (precision == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16, False
    return torch.float16, True  # fp16 needs loss scaling


def train(cfg: DictConfig) -> dict:
    """Train one model as configured; leave the run directory of DESIGN.md; return its metrics."""
    if cfg.model.kind == "baseline":
        from train.baseline import train_baseline

        return train_baseline(cfg)
    out = output_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    set_seed(cfg.seed)
    t = cfg.trainer
    if t.num_threads:
        torch.set_num_threads(t.num_threads)

    paths = {"train": resolve(cfg.data.train), **{s: resolve(cfg.data[s]) for s in cfg.data.eval_splits}}
    splits = load_splits(paths)  # refuses bad data before any time is spent
    train_ds = subsample(splits["train"], cfg.data.train_fraction, cfg.seed)
    log.info("train %d sentences %s", len(train_ds), dict(train_ds.labels))

    device = pick_device(t.device)
    model, tokenizer = load_encoder(cfg)
    model.to(device)
    normalizer = Normalizer(model.config.normalizer)
    max_len = min(model.config.max_seq_length, model.config.max_position_embeddings)
    examples = featurize(train_ds, tokenizer, normalizer, max_len)

    steps_per_epoch = math.ceil(len(examples) / t.batch_size)
    total = t.max_steps if t.max_steps > 0 else steps_per_epoch * t.epochs
    head_params = [p for n, p in model.named_parameters() if not n.startswith("bert.")]
    enc_params = [p for n, p in model.named_parameters() if n.startswith("bert.")]
    optimizer = torch.optim.AdamW([{"params": enc_params, "lr": t.lr},
                                   {"params": head_params, "lr": t.head_lr or t.lr}],
                                  weight_decay=t.weight_decay)
    warmup = int(total * t.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, (total - s) / max(1, total - warmup)))
    dtype, scaled = autocast_for(device, t.precision)
    scaler = torch.amp.GradScaler("cuda") if scaled else None

    ckpt_root = out / "checkpoints"
    step, epoch, batch_in_epoch = 0, 0, 0
    resume_path = Path(resolve(t.resume_from)) if t.resume_from else (latest_checkpoint(ckpt_root) if t.resume else None)
    if resume_path:
        state = load_checkpoint(resume_path, model, optimizer, scheduler)
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        log.info("resumed from %s at step %d", resume_path, step)

    started = time.time()
    model.train()
    bar = tqdm(total=total, initial=step, desc="training", unit="step", disable=None)
    running = None
    while step < total:
        # The order of an epoch depends on the seed and the epoch only, so a resumed run sees the same batches.
        order = np.random.default_rng(cfg.seed * 1000 + epoch).permutation(len(examples))
        for b in range(batch_in_epoch, steps_per_epoch):
            if step >= total:
                break
            batch = collate([examples[i] for i in order[b * t.batch_size:(b + 1) * t.batch_size]],
                            tokenizer.pad_token_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = model(**batch).loss
            optimizer.zero_grad(set_to_none=True)
            if scaler:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            step += 1
            running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}", epoch=epoch)
            if bar.disable and step % t.log_every == 0:  # no progress bar in a log file: say it in lines
                log.info("step %d/%d epoch %d loss %.4f", step, total, epoch, running)
            if t.checkpoint_every and step % t.checkpoint_every == 0:
                save_checkpoint(ckpt_root, step, model, tokenizer, optimizer, scheduler,
                                {"step": step, "epoch": epoch, "batch_in_epoch": b + 1}, t.keep_checkpoints)
        else:
            epoch += 1
            batch_in_epoch = 0
            continue
        break
    bar.close()
    train_seconds = time.time() - started

    model.eval()
    model.save_pretrained(out)  # safetensors, id2label with the real names
    tokenizer.save_pretrained(out)
    predictor = Tasrih(model, tokenizer, name=cfg.experiment)
    metrics = evaluate_splits(
        predictor, {s: (paths[s], splits[s]) for s in cfg.data.eval_splits}, out, title=f"tasrih {cfg.experiment}",
        batch_size=t.eval_batch_size,
        extra={"train": {"steps": step, "seconds": round(train_seconds, 1), "examples": len(train_ds),
                         "file": str(paths["train"]), "device": str(device), "seed": cfg.seed}})
    write_model_card(out, cfg, metrics)
    log.info("run directory: %s", out)
    return flat_metrics(metrics)


def flat_metrics(metrics: dict) -> dict:
    flat = {"train_steps": metrics["train"]["steps"]}
    for split, m in metrics["splits"].items():
        flat[f"{split}/macro_f1"] = m["macro_f1"]
        flat[f"{split}/accuracy"] = m["accuracy"]
        flat[f"{split}/actor_exact_f1"] = m["actor"]["exact"]["f1"]
        flat[f"{split}/target_exact_f1"] = m["target"]["exact"]["f1"]
    return flat


def write_model_card(out: Path, cfg: DictConfig, metrics: dict) -> None:
    lines = [f"---\nlanguage: ar\nlibrary_name: transformers\ntags: [tasrih, token-classification, "
             f"text-classification]\n---\n", f"# tasrih model: {cfg.experiment}", "",
             f"Encoder `{cfg.model.name_or_path}` with a sentence head (label, `also`) and a BIO span head "
             f"(actor, target), fine-tuned jointly by `tasrih train` for {metrics['train']['steps']} steps "
             f"on `{metrics['train']['file']}` ({metrics['train']['examples']} sentences).", "",
             "Labels: none, accusation, denial, agreement, demand (see ANNOTATION.md).", "", "## Evaluation", ""]
    for split, m in metrics["splits"].items():
        lines.append(f"- {split} ({m['n_examples']} sentences): macro-F1 {m['macro_f1']:.3f}, accuracy "
                     f"{m['accuracy']:.3f}, actor exact F1 {m['actor']['exact']['f1']:.3f}, target exact F1 "
                     f"{m['target']['exact']['f1']:.3f}")
    lines += ["", "## Limits", "",
              "Trained on Saudi and pan-Arab news of 2007-2015; other dialects, genres and periods will score lower. "
              "Spans are predicted per word: a clitic conjunction fused to a name is kept in the span.", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
