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
from infer.predict import ModelLoadError, Tasrih
from infer.torch_backend import TorchRunner, check_model_dir, pick_device
from train import distributed
from train.data import Dataset, load_splits
from train.run import (flat_metrics, output_dir, resolve, set_seed, share_files, subsample, word_tags,
                       write_model_card)
from train.evaluate import evaluate_splits
from train.metrics import fit_span_thresholds, fit_temperature
from train.report import shown

log = logging.getLogger("tasrih.train")
CKPT = re.compile(r"^step-(\d{8})$")


def featurize(ds: Dataset, tokenizer, normalizer: Normalizer, max_length: int, prefix: str = "") -> list[dict]:
    """One training example per window of each sentence; only a word's first token carries its tag."""
    recs = [r.data for r in ds.records]
    words, segments = encode(tokenizer, normalizer, [r["text"] for r in recs], max_length, prefix)
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


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int, buckets: bool) -> list[list[int]]:
    """The batches of one epoch; they depend on the seed and the epoch only, so a resumed run sees the same.

    With ``buckets``, the shuffled examples are taken in pools of 50 batches, each pool is sorted by
    length and cut into batches, and the batches are shuffled: similar lengths share a batch, so a
    batch pads little, while every epoch still mixes the data.
    """
    rng = np.random.default_rng(seed * 1000 + epoch)
    order = rng.permutation(len(lengths))
    if not buckets:
        return [order[b:b + batch_size].tolist() for b in range(0, len(order), batch_size)]
    pool = batch_size * 50
    batches = []
    for p in range(0, len(order), pool):
        chunk = sorted(order[p:p + pool].tolist(), key=lambda i: lengths[i])
        batches += [chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def label_weights(ds: Dataset, scheme: str) -> list[float] | None:
    """Per-label loss weights: ``sqrt_inv`` = 1/sqrt(frequency), scaled to average 1 over the examples."""
    return sqrt_inv_weights([ds.labels.get(lab, 0) for lab in LABEL2ID], scheme, "class_weights")


def span_weights(examples: list[dict], scheme: str) -> list[float] | None:
    """Per-tag loss weights of the span head, from the tags of the training windows."""
    counts = np.bincount([t for e in examples for t in e["span_tags"] if t >= 0], minlength=len(TAG2ID))
    return sqrt_inv_weights(counts.tolist(), scheme, "span_class_weights")


def sqrt_inv_weights(counts: list[int], scheme: str, key: str) -> list[float] | None:
    if scheme == "none":
        return None
    if scheme != "sqrt_inv":
        raise ValueError(f"model.{key} is {scheme!r}: use 'none' or 'sqrt_inv'")
    counts = [max(1, c) for c in counts]
    raw = [1 / math.sqrt(c) for c in counts]
    mean = sum(w * c for w, c in zip(raw, counts)) / sum(counts)
    return [round(w / mean, 4) for w in raw]


def load_encoder(cfg: DictConfig) -> tuple[TasrihModel, object]:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the "newly initialized heads" table is expected here, not news
    source = prepare_encoder(cfg)
    try:
        return _load_encoder(source, cfg.model)
    except OSError as e:  # no network and not cached, or a path that is not a model
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"{source}: cannot load the encoder ({first}); offline, train model=tiny or "
                             f"model=baseline, or fetch {source} once where the Hugging Face hub is reachable") from None


def prepare_encoder(cfg: DictConfig) -> str:
    """Where the encoder loads from: a hub name, or a local directory built here on first use."""
    m = cfg.model
    source = m.name_or_path
    if m.encoder:
        path = resolve(source)
        if not (path / "config.json").exists():
            from train.encoder import build_encoder

            texts = [resolve(cfg.data[s]) for s in ("train", "dev", "test", "test_v1", "dev_v1", "dev_cue")]
            texts.append(resolve("data/unlabeled/news_sentences.txt.gz"))
            log.info("building the %s encoder in %s (first use)%s", m.encoder, path,
                     ", vocabulary pruned to the pieces of data/" if m.prune_vocab else "")
            build_encoder(m.encoder, path, prune_text=[t for t in texts if t.exists()] if m.prune_vocab else None)
        source = str(path)
    elif m.local_size:
        path = resolve(source)
        if not (path / "config.json").exists():
            from train.local_model import build_local_model
            from train.pretrain import pretrain

            if m.local_mlm_steps:
                log.info("building the local %s BERT in %s and pretraining it for %d MLM steps (first use)",
                         m.local_size, path, m.local_mlm_steps)
                pretrain(m.local_size, path, steps=m.local_mlm_steps)
            else:
                log.info("building the local %s BERT in %s (first use)", m.local_size, path)
                build_local_model(m.local_size, path)
        source = str(path)
    return source


def _load_encoder(source: str, m) -> tuple[TasrihModel, object]:
    from transformers import AutoTokenizer

    config = TasrihConfig.from_pretrained(
        source, normalizer=m.normalizer, max_seq_length=m.max_seq_length, classifier_dropout_prob=m.dropout,
        span_loss_weight=m.span_loss_weight, also_loss_weight=m.also_loss_weight, pooling=m.pooling,
        text_prefix=m.text_prefix, id2label=dict(enumerate(LABEL2ID)), label2id=dict(LABEL2ID),
        **({} if m.encoder_dropout is None else
           {"hidden_dropout_prob": m.encoder_dropout, "attention_probs_dropout_prob": m.encoder_dropout}))
    config.model_type = "tasrih"
    model = TasrihModel.from_pretrained(source, config=config)
    tokenizer = AutoTokenizer.from_pretrained(source)
    return model, tokenizer


# ---- checkpoints -------------------------------------------------------------------------------
#
# A checkpoint is a directory step-<8 digits>/ holding the model and tokenizer (save_pretrained),
# trainer_state.safetensors + trainer_state.json (optimizer, scheduler, loss scaler and every RNG,
# tensors in safetensors and the rest in JSON: nothing is pickled) and, written last, state.json
# (step, epoch, batch within the epoch, and what the run was trained on). It is written under a
# temporary name and renamed, and removed by renaming it away first, so a kill at any moment
# leaves either a complete checkpoint or none under a step-* name.

CHECKPOINT_FILES = ("model.safetensors", "trainer_state.safetensors", "trainer_state.json", "state.json")


class CheckpointError(ModelLoadError):
    """A checkpoint that cannot be resumed from; the message names the file at fault."""


def is_complete(path: Path) -> bool:
    return bool(CKPT.match(path.name)) and path.is_dir() and all((path / f).is_file() for f in CHECKPOINT_FILES)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest *complete* checkpoint; a half-written one (no rename yet) is never picked."""
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if is_complete(p)]
    return max(done, key=lambda p: int(CKPT.match(p.name).group(1)), default=None)


def _encode(obj, tensors: dict, key: str):
    """A JSON tree for ``obj`` with its tensors moved into ``tensors`` (stored with safetensors)."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {"$tensor": key}
    if isinstance(obj, np.ndarray):
        return {"$ndarray": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"cannot store a dict with keys {list(obj)[:3]} in a checkpoint")
        return {"$dict": [[k, _encode(v, tensors, f"{key}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, tensors, f"{key}/{i}") for i, v in enumerate(obj)]
        return {"$tuple": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint")


def _decode(obj, tensors: dict):
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "$tensor" in obj:
        return tensors[obj["$tensor"]]
    if "$ndarray" in obj:
        return np.array(obj["$ndarray"], dtype=obj["dtype"])
    if "$tuple" in obj:
        return tuple(_decode(v, tensors) for v in obj["$tuple"])
    return {k: _decode(v, tensors) for k, v in obj["$dict"]}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    """Remove a checkpoint directory: renamed away first, so a kill half-way leaves no partial step-*."""
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}")
    shutil.rmtree(trash, ignore_errors=True)
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def save_checkpoint(root: Path, step: int, model, tokenizer, optimizer, scheduler, state: dict, keep: int,
                    scaler=None) -> Path:
    """Write to a temporary directory, then rename: a kill at any moment leaves no partial checkpoint."""
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    trainer = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
               "scaler": scaler.state_dict() if scaler else None,
               "rng": {"torch": torch.get_rng_state(),
                       "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                       "python": random.getstate(), "numpy": np.random.get_state()}}
    tensors: dict = {}
    tree = _encode(trainer, tensors, "t")
    save_file(tensors, str(tmp / "trainer_state.safetensors"))
    (tmp / "trainer_state.json").write_text(json.dumps(tree), encoding="utf-8")
    (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")  # last: marks the checkpoint complete
    share_files(tmp)
    for f in tmp.iterdir():  # on disk before the rename, so a power cut cannot leave a complete-looking stub
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if final.exists():
        _discard(final)
    os.replace(tmp, final)
    _fsync_dir(root)
    # Keep the newest `keep`. Leftovers of killed runs (temporary or half-removed directories, step
    # directories without their files) and checkpoints past this step (from a trajectory abandoned by
    # resume_from) go too: nothing but this run's complete checkpoints stays under a step-* name.
    mine = os.getpid()
    for p in root.iterdir():
        if p.name.startswith((".tmp-step-", ".trash-")) and not p.name.endswith(f"-{mine}"):
            shutil.rmtree(p, ignore_errors=True)
        elif CKPT.match(p.name) and p != final and (not is_complete(p) or int(CKPT.match(p.name).group(1)) > step):
            log.info("removing %s (%s)", p, "incomplete" if not is_complete(p) else "past the resumed step")
            _discard(p)
    done = sorted((p for p in root.iterdir() if is_complete(p)), key=lambda p: int(CKPT.match(p.name).group(1)))
    for p in done[:-keep] if keep > 0 else []:
        _discard(p)
    return final


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler=None) -> dict:
    """Restore model, optimizer, scheduler, scaler and RNG states; return state.json. Nothing is unpickled."""
    from safetensors.torch import load_file

    require_complete(path)
    check_model_dir(path)  # names the file at fault in a truncated or tampered model
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        for k in ("step", "epoch", "batch_in_epoch"):
            if not isinstance(state.get(k), int):
                raise ValueError(f"no integer {k!r}")
    except (ValueError, UnicodeDecodeError, AttributeError) as e:
        raise CheckpointError(f"{path / 'state.json'}: not a checkpoint state ({str(e).splitlines()[0]})") from None
    try:
        tensors = load_file(str(path / "trainer_state.safetensors"))
    except Exception as e:  # safetensors raises several kinds for a corrupt file
        raise CheckpointError(f"{path / 'trainer_state.safetensors'}: corrupt or truncated "
                              f"({str(e).splitlines()[0]})") from None
    try:
        trainer = _decode(json.loads((path / "trainer_state.json").read_text(encoding="utf-8")), tensors)
        model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
        optimizer.load_state_dict(trainer["optimizer"])
        scheduler.load_state_dict(trainer["scheduler"])
        if scaler and trainer["scaler"]:
            scaler.load_state_dict(trainer["scaler"])
        rng = trainer["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
    except (ValueError, KeyError, TypeError, RuntimeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path / 'trainer_state.json'}: does not fit this model and optimizer "
                              f"({str(e).splitlines()[0][:300]})") from None
    return state


def require_complete(path: Path) -> None:
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint directory")
    for f in CHECKPOINT_FILES:
        if not (path / f).is_file():
            raise CheckpointError(f"{path / f}: missing; {path.name} is not a complete checkpoint")


def resume_point(t, ckpt_root: Path) -> Path | None:
    """The checkpoint to resume from: trainer.resume_from, else the latest in the run directory.

    resume_from may name a checkpoint (.../checkpoints/step-00000100), or a run directory or its
    checkpoints/ folder, which stand for the latest complete checkpoint in them.
    """
    if t.resume_from:
        path = resolve(t.resume_from)
        if path.is_dir() and not CKPT.match(path.name):
            path = latest_checkpoint(path) or latest_checkpoint(path / "checkpoints") or path
        require_complete(path)
        return path
    if not t.resume:
        return None
    path = latest_checkpoint(ckpt_root)
    if path is None:
        log.warning("trainer.resume=true but no complete checkpoint in %s: starting from step 0 "
                    "(give the output_dir of the run to resume)", ckpt_root)
    return path


def check_resumable(path: Path, state: dict, expected: dict, total: int) -> None:
    """Refuse a checkpoint of a run on other data or settings: its data position would mean nothing."""
    differ = [f"{k} {state.get(k)} there, {v} here" for k, v in expected.items() if state.get(k, v) != v]
    if differ:
        raise CheckpointError(f"{path / 'state.json'}: written by a run with other data or settings "
                              f"({'; '.join(differ)}); resume with the same ones or use a fresh output_dir")
    if state.get("total", total) != total:
        log.warning("the checkpoint's run was to stop at step %s, this one stops at %d: the learning-rate "
                    "schedule changes from here", state.get("total"), total)


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
    t = cfg.trainer
    world = distributed.world_from_env()
    if t.devices > 1 and world.size == 1:
        raise ValueError(f"trainer.devices={t.devices} needs one process per device: run `tasrih train "
                         f"trainer.devices={t.devices} ...`, which starts them with torchrun")
    device = pick_device(t.device)
    if world.size > 1:
        device = distributed.setup(world, device)
    out = distributed.share(output_dir(cfg), world)  # rank 0's: the others only read checkpoints there
    if world.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    set_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    if t.num_threads:
        torch.set_num_threads(t.num_threads)

    paths = {"train": resolve(cfg.data.train), **{s: resolve(cfg.data[s]) for s in cfg.data.eval_splits}}
    splits = load_splits(paths)  # refuses bad data before any time is spent
    train_ds = subsample(splits["train"], cfg.data.train_fraction, cfg.seed)
    log.info("train %d sentences %s", len(train_ds), dict(train_ds.labels))
    ckpt_root = out / "checkpoints"
    resume_path = resume_point(t, ckpt_root)  # a bad resume_from fails here, before the model is loaded

    if world.size > 1:  # rank 0 builds an encoder used for the first time; the others wait, then load it
        if world.main:
            prepare_encoder(cfg)
        torch.distributed.barrier()
    model, tokenizer = load_encoder(cfg)
    model.to(device)
    model.config.label_weights = label_weights(train_ds, cfg.model.class_weights)
    if cfg.model.freeze_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    if cfg.model.freeze_encoder:
        model.bert.requires_grad_(False)
    normalizer = Normalizer(model.config.normalizer)
    max_len = min(model.config.max_seq_length, model.config.max_position_embeddings)
    examples = featurize(train_ds, tokenizer, normalizer, max_len, model.config.text_prefix)
    model.config.span_weights = span_weights(examples, cfg.model.span_class_weights)

    steps_per_epoch = math.ceil(len(examples) / t.batch_size)
    total = t.max_steps if t.max_steps > 0 else steps_per_epoch * t.epochs
    head_params = [p for n, p in model.named_parameters() if not n.startswith("bert.") and p.requires_grad]
    enc_params = [p for n, p in model.named_parameters() if n.startswith("bert.") and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": enc_params, "lr": t.lr},
                                   {"params": head_params, "lr": t.head_lr or t.lr}],
                                  weight_decay=t.weight_decay)
    warmup = int(total * t.warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, (total - s) / max(1, total - warmup)))
    dtype, scaled = autocast_for(device, t.precision)
    scaler = torch.amp.GradScaler("cuda") if scaled else None

    step, epoch, batch_in_epoch, seconds_before, running = 0, 0, 0, 0.0, None
    # What the data position of a checkpoint refers to: a run on other data or settings cannot resume from it.
    run_key = {"train_sentences": len(train_ds), "windows": len(examples), "batch_size": t.batch_size,
               "seed": cfg.seed, "length_buckets": t.length_buckets}
    if resume_path:
        state = load_checkpoint(resume_path, model, optimizer, scheduler, scaler)
        check_resumable(resume_path, state, run_key, total)
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        seconds_before, running = state.get("seconds", 0.0), state.get("running_loss")
        log.info("resumed from %s at step %d (epoch %d, batch %d)", resume_path, step, epoch, batch_in_epoch)

    net = model
    if world.size > 1:  # after the checkpoint is loaded: DDP starts every process from rank 0's weights
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    started = time.time()
    model.train()
    bar = tqdm(total=total, initial=step, desc="training", unit="step", disable=None if world.main else True)
    while step < total:
        # The order of an epoch depends on the seed and the epoch only, so a resumed run sees the same batches.
        batches = epoch_batches([len(e["input_ids"]) for e in examples], t.batch_size, cfg.seed, epoch,
                                t.length_buckets)
        for b in range(batch_in_epoch, steps_per_epoch):
            if step >= total:
                break
            mine, weight = distributed.rank_share(batches[b], world)
            batch = collate([examples[i] for i in mine], tokenizer.pad_token_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = net(**batch).loss
            objective = loss * weight if world.size > 1 else loss
            optimizer.zero_grad(set_to_none=True)
            if scaler:
                scaler.scale(objective).backward()
                scaler.unscale_(optimizer)
            else:
                objective.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            scheduler.step()
            step += 1
            value = distributed.batch_mean(objective.detach(), world) if world.size > 1 else loss.item()
            running = value if running is None else 0.9 * running + 0.1 * value
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}", epoch=epoch)
            if world.main and bar.disable and step % t.log_every == 0:  # no progress bar in a log file: say it in lines
                log.info("step %d/%d epoch %d loss %.4f", step, total, epoch, running)
            if world.main and t.checkpoint_every and step % t.checkpoint_every == 0:
                save_checkpoint(ckpt_root, step, model, tokenizer, optimizer, scheduler,
                                {"step": step, "epoch": epoch, "batch_in_epoch": b + 1, "total": total,
                                 "seconds": seconds_before + time.time() - started, "running_loss": running,
                                 **run_key}, t.keep_checkpoints, scaler)
        else:
            epoch += 1
            batch_in_epoch = 0
            continue
        break
    bar.close()
    train_seconds = seconds_before + time.time() - started  # a resumed run counts the time before the kill
    distributed.barrier_and_leave(world)
    if not world.main:
        return {}

    model.eval()
    predictor = Tasrih(model.config, tokenizer, TorchRunner(model), name=cfg.name, backend="torch")
    if "dev" in splits:  # calibrate the label scores and the span thresholds on dev, never on test
        dev = splits["dev"].records
        # Every span with its score; the temperature changes no label, so these are the spans to threshold.
        rows = predictor.predict([r.data["text"] for r in dev], batch_size=t.eval_batch_size, span_scores=True)
        model.config.label_temperature = predictor.temperature = fit_temperature(
            [[row["scores"][lab] for lab in LABEL2ID] for row in rows], [LABEL2ID[r.data["label"]] for r in dev])
        model.config.span_thresholds = predictor.span_thresholds = fit_span_thresholds([r.data for r in dev], rows)
        log.info("fitted on dev: label temperature %.2f, span thresholds %s", predictor.temperature,
                 predictor.span_thresholds)
    model.save_pretrained(out)  # safetensors, id2label with the real names
    tokenizer.save_pretrained(out)
    share_files(out)
    metrics = evaluate_splits(
        predictor, {s: (paths[s], splits[s]) for s in cfg.data.eval_splits}, out, title=f"tasrih {cfg.name}",
        batch_size=t.eval_batch_size,
        extra={"train": {"steps": step, "seconds": round(train_seconds, 1), "examples": len(train_ds),
                         "loss": round(running, 6) if running is not None else None, "processes": world.size,
                         "file": shown(paths["train"]), "device": str(device), "seed": cfg.seed}})
    write_model_card(out, cfg, metrics)
    log.info("run directory: %s", out)
    return flat_metrics(metrics)
