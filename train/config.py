"""Structured schema of the Hydra configuration in conf/.

Registered with Hydra's ConfigStore, so a key that is not declared here
(a typo such as ``trainer.lrr=3e-5``) fails at once with a message that
names the key, instead of being ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf


@dataclass
class BaselineConfig:
    C: float = 1.0  # inverse regularisation of the logistic regressions
    crf_c1: float = 0.05
    crf_c2: float = 0.05
    crf_iterations: int = 150


@dataclass
class ModelConfig:
    # "tasrih" = the BERT encoder with sentence and span heads; "baseline" = TF-IDF + CRF.
    kind: str = "tasrih"
    name: str = MISSING
    # A hub id (aubmindlab/bert-base-arabertv02) or a local directory saved with save_pretrained.
    name_or_path: str = MISSING
    # "basic" or "arabert:<model name>" (ArabertPreprocessor), applied word by word.
    normalizer: str = "basic"
    max_seq_length: int = 128
    # When set and name_or_path does not exist, build the local BERT of this size there first.
    local_size: str | None = None
    # With local_size: masked-language-model steps on data/unlabeled before fine-tuning (0 = none).
    local_mlm_steps: int = 0
    # A pretrained encoder built from a PyPI package (train/encoder.py, e.g. "e5-small") into
    # name_or_path on first use; None = name_or_path is a hub id or a saved directory.
    encoder: str | None = None
    # With encoder: keep only the vocabulary pieces our text uses (data/ and data/unlabeled).
    prune_vocab: bool = False
    # Keep the word embeddings fixed: pieces unseen in train keep their pretrained vectors in step.
    freeze_word_embeddings: bool = False
    # Keep the whole encoder fixed and train the heads only: "frozen encoder + linear heads".
    freeze_encoder: bool = False
    pooling: str = "cls"  # "cls" or "mean" (the sentence head's input)
    text_prefix: str = ""  # put before every sentence ("query: " for e5)
    # "none" or "sqrt_inv": label loss weights proportional to 1/sqrt(label frequency in train).
    class_weights: str = "none"
    # The same for the span tags (O is 96% of the words: unweighted, the span head learns to say O).
    span_class_weights: str = "none"
    dropout: float = 0.1
    # Dropout inside the encoder (hidden and attention); None keeps the encoder's own (0.1 in BERT).
    encoder_dropout: float | None = None
    span_loss_weight: float = 1.0
    also_loss_weight: float = 0.5
    baseline: BaselineConfig = field(default_factory=BaselineConfig)


@dataclass
class DataConfig:
    train: str = "data/train.jsonl"
    dev: str = "data/dev.jsonl"
    test: str = "data/test.jsonl"
    # The first round's test and dev, frozen, so results stay comparable with earlier runs; and the
    # cue-selected sentences of dev's outlet, a denser check of the rare classes (data/README.md).
    test_v1: str = "data/test_v1.jsonl"
    dev_v1: str = "data/dev_v1.jsonl"
    dev_cue: str = "data/dev_cue.jsonl"
    # Splits evaluated after training; the first one also gets predictions.jsonl and report.md.
    # experiment=default_model adds test_v1.
    eval_splits: list[str] = field(default_factory=lambda: ["dev", "test"])
    # Train on this share of train (documents kept whole), for learning curves.
    train_fraction: float = 1.0


@dataclass
class TrainerConfig:
    lr: float = 5e-5
    head_lr: float | None = None  # heads learn faster than a pretrained encoder; None = lr
    epochs: int = 3
    max_steps: int = -1  # > 0 stops after this many optimiser steps (smoke tests, sweeps)
    batch_size: int = 16
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    device: str = "auto"  # auto = cuda when present, else cpu
    precision: str = "auto"  # auto = bf16/fp16 autocast on cuda, fp32 on cpu
    num_threads: int = 0  # 0 = torch's default
    # > 1: train on that many processes with DistributedDataParallel (torchrun; one per GPU, or shares of
    # the CPU); the global batch stays batch_size. train/distributed.py.
    devices: int = 1
    log_every: int = 20
    # Batches of sentences of similar length (shuffled in pools of 50 batches): less padding, same data.
    length_buckets: bool = False
    checkpoint_every: int = 0  # 0 = no mid-run checkpoints
    keep_checkpoints: int = 2
    resume: bool = False  # continue from the latest complete checkpoint in the output dir
    resume_from: str | None = None  # or from this checkpoint directory


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    name: str = "default"
    seed: int = 42
    # Where the run directory goes; empty = Hydra's output dir for this run.
    output_dir: str = ""


def register() -> None:
    # ${run_dir:${output_dir},<default>}: a run given an output_dir keeps Hydra's files there too.
    OmegaConf.register_new_resolver("run_dir", lambda given, default: given or default, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    # The group schemas live in their own group, schema/, not in model/, trainer/ and data/: there Hydra
    # would offer them as choices (model=model_schema), which compose to nothing usable. Each file of
    # those groups extends its schema with `- /schema/<group>@_here_` in its defaults list.
    cs.store(group="schema", name="model", node=ModelConfig)
    cs.store(group="schema", name="trainer", node=TrainerConfig)
    cs.store(group="schema", name="data", node=DataConfig)
