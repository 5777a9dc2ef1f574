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


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


@pytest.mark.parametrize("arg, message", [
    ("+trainer.lrr=1", "tasrih: error: +trainer.lrr=1: trainer has no key 'lrr' (did you mean trainer.lr?); the "
                       "keys are fixed by train/config.py, so + cannot add one"),
    ("++model.nme=x", "tasrih: error: ++model.nme=x: model has no key 'nme' (did you mean model.name?); the keys "
                      "are fixed by train/config.py, so + cannot add one"),
    ("+sed=3", "tasrih: error: +sed=3: the configuration has no key 'sed' (did you mean seed?); the keys are fixed "
               "by train/config.py, so + cannot add one"),
    ("+trainer.lrr=1,2", "tasrih: error: +trainer.lrr=1,2: trainer has no key 'lrr' (did you mean trainer.lr?); "
                         "the keys are fixed by train/config.py, so + cannot add one"),
])
def test_adding_an_unknown_key_is_refused_in_one_line(arg, message, capsys, tmp_path, monkeypatch):
    """Hydra suggests `+trainer.lrr=1` after the typo `trainer.lrr=1`; that must not train on silently."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "model=tiny", arg]) == 2
    assert capsys.readouterr().err.strip() == message
    assert list(tmp_path.iterdir()) == []  # refused before Hydra made a run directory


# ---- offline, the hub model fails at once and leaves nothing behind ------------------------------------

@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "unreachable"])
def test_offline_the_default_model_fails_at_once_and_leaves_no_run_directory(offline, tmp_path, seed_splits):
    cache = tmp_path / "hf-cache"
    env = {**ENV, "HF_HUB_CACHE": str(cache)}
    if offline == "HF_HUB_OFFLINE":
        env["HF_HUB_OFFLINE"] = "1"
        reason = "HF_HUB_OFFLINE is set"
    else:
        env["HF_ENDPOINT"] = endpoint = f"http://127.0.0.1:{closed_port()}"
        reason = f"the Hugging Face hub {endpoint} cannot be reached: Connection refused"
    work = tmp_path / "work"
    work.mkdir()
    r = train_cmd(*data_args(seed_splits), cwd=work, env=env)  # the default config: AraBERT from the hub
    assert r.returncode == 2
    assert r.stderr.strip() == (f"tasrih: error: {ARABERT}: cannot load the encoder ({reason}, and the Hugging "
                                f"Face cache {cache} does not hold it); offline, train model=tiny or model=baseline, "
                                f"or fetch {ARABERT} once where the Hugging Face hub is reachable")
    assert r.stdout == ""
    assert list(work.iterdir()) == []  # no outputs/arabert/<time>/


def test_a_hub_model_in_the_cache_is_used_without_asking_the_unreachable_hub(tmp_path, tiny_bert, seed_splits):
    """The cached copy loads at once: no retries against a hub that cannot answer."""
    snapshot = tmp_path / "hf-cache" / "models--some-org--tiny-bert" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_bert, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    env = {**ENV, "HF_HUB_CACHE": str(tmp_path / "hf-cache"), "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    out = tmp_path / "run"
    r = train_cmd("experiment=smoke", "model.name_or_path=some-org/tiny-bert", "model.local_size=null",
                  f"output_dir={out}", *data_args(seed_splits), cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "model.safetensors").is_file()
    assert "Retrying" not in r.stderr and "thrown while requesting" not in r.stderr


def test_a_run_refused_for_its_data_leaves_no_run_directory(tmp_path, seed_splits):
    bad = tmp_path / "train.jsonl"
    bad.write_text(seed_splits["train"].read_text(encoding="utf-8").replace('"label": "none"', '"label": "blame"', 1),
                   encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    r = train_cmd("model=baseline", *data_args({**seed_splits, "train": bad}), cwd=work)
    assert r.returncode == 2
    assert r.stderr.strip().startswith(f"tasrih: error: {bad}:")
    assert list(work.iterdir()) == []


# ---- a sweep ends with a summary ----------------------------------------------------------------------

def test_a_sweep_ends_with_a_table_of_its_runs(tmp_path, seed_splits):
    sweep = tmp_path / "sweep"
    r = train_cmd("-m", "model=baseline", "seed=1,2", f"hydra.sweep.dir={sweep}", *data_args(seed_splits),
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    table = lines[lines.index("sweep: 2 runs") + 1:]
    keys = [f"{s}/{m}" for s in ("dev", "test") for m in ("macro_f1", "accuracy", "actor_exact_f1", "target_exact_f1")]
    assert table[0] == "  #  run     " + "  ".join(keys) + "  directory"
    assert len(table) == 3
    for num, line in enumerate(table[1:]):
        splits = json.loads((sweep / str(num) / "metrics.json").read_text())["splits"]
        figures = {"macro_f1": lambda m: m["macro_f1"], "accuracy": lambda m: m["accuracy"],
                   "actor_exact_f1": lambda m: m["actor"]["exact"]["f1"],
                   "target_exact_f1": lambda m: m["target"]["exact"]["f1"]}
        cells = "  ".join(f"{figures[k.split('/')[1]](splits[k.split('/')[0]]):>{len(k)}.3f}" for k in keys)
        assert line == f"{num:>3}  seed={num + 1}  {cells}  {sweep / str(num)}"


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


def test_help_lists_the_choices_conf_holds_and_no_schema(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    choices = "|".join(sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml")))
    assert f"groups: model={choices}\n" in out
    assert "schema" not in out
