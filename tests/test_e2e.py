"""End to end on the real pieces: local BERT -> Hydra-configured training -> save -> load -> classify -> evaluate."""

import json
import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from infer.labels import LABELS
from infer.predict import Tasrih
from train.cli import CONF_DIR
from train.config import register
from train.loop import train
from tests.conftest import REPO, SEED_GOLD, SEED_TEXT, read_jsonl

DATA = {s: REPO / "data" / f"{s}.jsonl" for s in ("train", "dev", "test")}


def compose_cfg(overrides):
    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def test_default_config_is_the_real_arabert():
    cfg = compose_cfg([])
    assert cfg.model.name_or_path == "aubmindlab/bert-base-arabertv02"
    assert cfg.model.normalizer == "arabert:aubmindlab/bert-base-arabertv02"


def test_misspelled_key_fails_with_its_name():
    with pytest.raises(ConfigCompositionException) as e:
        compose_cfg(["model=tiny", "trainer.lrr=3e-5"])
    assert "Key 'lrr' not in 'TrainerConfig'" in str(e.value.__cause__)


@pytest.fixture(scope="module")
def run_dir(tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = compose_cfg(["experiment=smoke", f"model.name_or_path={tiny_bert}", f"output_dir={out}",
                       "trainer.max_steps=3", "data.eval_splits=[dev]",
                       *(f"data.{s}={p}" for s, p in DATA.items())])
    metrics = train(cfg)
    assert metrics["train_steps"] == 3
    assert 0.0 <= metrics["dev/macro_f1"] <= 1.0
    return out


def test_run_directory_holds_the_deliverables(run_dir):
    for name in ("model.safetensors", "config.json", "tokenizer.json", "README.md", "config.yaml",
                 "metrics.json", "report.md", "confusion_matrix.png", "predictions.jsonl"):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(5)] == list(LABELS)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    dev = metrics["splits"]["dev"]
    assert dev["split"] == "dev" and dev["n_examples"] == len(read_jsonl(DATA["dev"]))
    assert set(dev["per_class"]) == set(LABELS)
    assert {"exact", "overlap"} <= set(dev["actor"])
    assert len(read_jsonl(run_dir / "predictions.jsonl")) == dev["n_examples"]
    assert not list(run_dir.glob("*.bin")) and not list(run_dir.glob("*.pt"))  # nothing pickled
    umask = os.umask(0)
    os.umask(umask)
    # safetensors writes 0600 whatever the umask; the run directory is meant to be shared
    assert (run_dir / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask


def test_saved_run_classifies_the_seed_article(run_dir):
    model = Tasrih.from_pretrained(run_dir)
    rows = list(model.classify_text(SEED_TEXT.read_text(encoding="utf-8"), doc="seed"))
    assert [r["sentence_index"] for r in rows] == list(range(12))
    for r in rows:
        assert r["label"] in LABELS and set(r["scores"]) == set(LABELS)
        for role in ("actor", "target"):
            if r[role]:
                assert r["text"][r[role]["start"]:r[role]["end"]] == r[role]["text"]


def test_cli_classify_and_evaluate_a_saved_run(run_dir, tmp_path):
    cmd = [sys.executable, "-m", "train.cli"]
    r = subprocess.run([*cmd, "classify", str(SEED_TEXT), "--model", str(run_dir)], capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(rows) == 12 and rows[0]["doc"] == SEED_TEXT.stem
    r = subprocess.run([*cmd, "evaluate", "--model", str(run_dir), "--data", str(SEED_GOLD), "--out", str(tmp_path)],
                       capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["splits"]["seed"]["n_examples"] == 12
    assert (tmp_path / "report.md").read_text().startswith("# tasrih")


def test_sweep_runs_one_job_per_seed(tiny_bert, seed_splits, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "train.cli", "train", "-m", "experiment=smoke", "seed=1,2",
         f"model.name_or_path={tiny_bert}", f"hydra.sweep.dir={tmp_path}",
         *(f"data.{s}={p}" for s, p in seed_splits.items())],
        capture_output=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    seeds = sorted(json.loads((tmp_path / str(i) / "metrics.json").read_text())["train"]["seed"] for i in (0, 1))
    assert seeds == [1, 2]
