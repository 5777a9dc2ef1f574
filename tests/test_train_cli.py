"""`tasrih train` as a new user meets it (issue 11): the real command, real Hydra, real files."""

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from omegaconf import OmegaConf

from train.cli import CONF_DIR, main
from train.config import register
from tests.conftest import REPO

ARABERT = "aubmindlab/bert-base-arabertv02"
# No variable that could let a test reach the real hub, or find a real cache.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_")) and "proxy" not in k.lower()}


def train_cmd(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "train.cli", "train", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env or ENV)


def data_args(splits: dict[str, Path]) -> list[str]:
    return [f"data.{s}={p}" for s, p in splits.items()]


def compose_cfg(overrides: list[str]):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


# ---- the schema is not a choice ----------------------------------------------------------------------

def test_schema_nodes_are_not_offered_as_choices(tmp_path):
    r = train_cmd("model=model_schema", cwd=tmp_path)
    assert r.returncode == 1
    assert "AssertionError" not in r.stderr and "exception formatting" not in r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == "In 'config': Could not find 'model/model_schema'"
    options = lines[lines.index("Available options in 'model':") + 1:]
    options = [o.strip() for o in options[:next(i for i, o in enumerate(options) if not o.startswith("\t"))]]
    assert options == sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))
    assert not (tmp_path / "outputs").exists()
    for group in ("model", "trainer", "data"):
        with pytest.raises(MissingConfigException):
            compose_cfg([f"{group}={group}_schema"])


def test_every_group_file_is_still_checked_against_its_schema():
    for group in ("model", "trainer", "data"):
        for f in sorted((CONF_DIR / group).glob("*.yaml")):
            cfg = compose_cfg([f"{group}={f.stem}"])
            assert dataclasses.is_dataclass(OmegaConf.get_type(cfg[group])), f  # typed: a typo fails at once


# ---- offline, the hub model fails at once and leaves nothing behind ------------------------------------

# ---- a sweep ends with a summary ----------------------------------------------------------------------

# ---- each local model trains with settings that suit it ------------------------------------------------

@pytest.mark.parametrize("model", ["tiny", "small", "tiny_mlm"])
def test_local_models_get_the_trainer_for_training_from_scratch(model):
    """tiny/small/tiny_mlm start from random (or MLM-only) weights: trainer=default's 3 epochs at lr 5e-5,
    meant for fine-tuning AraBERT, left tiny at dev macro-F1 0.162 (every sentence none)."""
    cpu_fast = compose_cfg(["trainer=cpu_fast"]).trainer
    cfg = compose_cfg([f"model={model}"])
    assert cfg.trainer == cpu_fast and cfg.trainer.lr == 1e-3 and cfg.trainer.epochs == 15
    # An explicit choice still wins, and so do single settings and experiments.
    assert compose_cfg([f"model={model}", "trainer=default"]).trainer.lr == 5e-5
    assert compose_cfg([f"model={model}", "trainer.epochs=10"]).trainer.epochs == 10


def test_pretrained_models_keep_the_fine_tuning_trainer():
    for model in ("arabert", "baseline"):
        assert compose_cfg([f"model={model}"]).trainer.lr == 5e-5
    smoke = compose_cfg(["experiment=smoke"])
    assert (smoke.model.name, smoke.trainer.max_steps, smoke.trainer.batch_size) == ("tiny", 2, 4)
