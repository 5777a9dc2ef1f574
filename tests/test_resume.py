"""Training that survives a kill: checkpoints every N steps, resume, and half-written checkpoints never used.

The main test is what a user lives through: `tasrih train` (a real subprocess) is SIGKILLed after its
first checkpoint, resumed with trainer.resume=true, and must end where an uninterrupted run with the
same seed ends: the same step count, the same metrics, the same weights.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import REPO

STEPS, EVERY = 40, 10
# 6 training sentences, batch 2: 3 steps an epoch, so step 10 falls inside an epoch (epoch 3, batch 1)
# and the run ends inside one (epoch 13): the data position must survive across epochs, not only at
# their ends. One thread: faster on a small shared machine, and the same arithmetic in every run.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def overrides(tiny_bert: Path, splits: dict, out: Path, *extra: str) -> list[str]:
    return ["experiment=smoke", f"model.name_or_path={tiny_bert}", f"trainer.max_steps={STEPS}",
            f"trainer.checkpoint_every={EVERY}", "trainer.batch_size=2", "trainer.num_threads=1",
            "data.eval_splits=[dev]", f"output_dir={out}", *(f"data.{s}={p}" for s, p in splits.items()), *extra]


def train_cmd(tiny_bert: Path, splits: dict, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "train.cli", "train", *overrides(tiny_bert, splits, out, *extra)]


def train_in_process(tiny_bert: Path, splits: dict, out: Path, *extra: str) -> dict:
    """The same training through the Python API (no process start-up: the tests stay short)."""
    from hydra import compose, initialize_config_dir

    from train.cli import CONF_DIR
    from train.config import register
    from train.loop import train

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides(tiny_bert, splits, out, *extra))
    return train(cfg)


@pytest.fixture(scope="module", autouse=True)
def restore_threads():
    """The in-process runs set trainer.num_threads=1, for this process: give the other tests theirs back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def weights_diff(a: Path, b: Path) -> float:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    return max((wa[k] - wb[k]).abs().max().item() for k in wa)


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))


def same_result(a: Path, b: Path) -> None:
    ma, mb = metrics(a), metrics(b)
    assert ma["train"]["steps"] == mb["train"]["steps"] == STEPS
    for key in ("macro_f1", "accuracy"):
        assert mb["splits"]["dev"][key] == pytest.approx(ma["splits"]["dev"][key], abs=1e-6)
    for role in ("actor", "target"):
        assert mb["splits"]["dev"][role]["exact"]["f1"] == pytest.approx(ma["splits"]["dev"][role]["exact"]["f1"],
                                                                         abs=1e-6)
    assert weights_diff(a, b) < 1e-5
    assert (a / "predictions.jsonl").read_bytes() == (b / "predictions.jsonl").read_bytes()


@pytest.fixture(scope="module")
def full_run(tiny_bert, seed_splits, tmp_path_factory) -> Path:
    """The reference: the same command, never interrupted."""
    out = tmp_path_factory.mktemp("full")
    assert train_in_process(tiny_bert, seed_splits, out)["train_steps"] == STEPS
    return out


def test_checkpoints_are_complete_and_only_the_last_ones_are_kept(full_run):
    ckpts = sorted(p.name for p in (full_run / "checkpoints").iterdir())
    assert ckpts == ["step-00000030", "step-00000040"]  # keep_checkpoints=2, no temporary directory left
    last = full_run / "checkpoints" / "step-00000040"
    state = json.loads((last / "state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (40, 13, 1)
    assert state["total"] == STEPS and state["batch_size"] == 2 and state["seed"] == 42
    assert {p.name for p in last.iterdir()} >= {"model.safetensors", "config.json", "tokenizer.json", "state.json",
                                                 "trainer_state.safetensors", "trainer_state.json"}
    # Nothing pickled: optimizer, scheduler and RNG states are safetensors + JSON.
    assert not [p for p in last.iterdir() if p.suffix in (".pt", ".bin", ".pkl", ".pickle")]
    tree = json.loads((last / "trainer_state.json").read_text())
    assert {k for k, _ in tree["$dict"]} == {"optimizer", "scheduler", "scaler", "rng"}
    assert metrics(full_run)["train"]["steps"] == STEPS


def test_a_killed_run_resumes_to_the_same_result(tiny_bert, seed_splits, full_run, tmp_path):
    out = tmp_path / "run"
    cmd = train_cmd(tiny_bert, seed_splits, out)
    proc = subprocess.Popen(cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = out / "checkpoints" / f"step-{EVERY:08d}" / "state.json"
    deadline = time.time() + 240
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "metrics.json").exists() and not (out / "model.safetensors").exists()

    ckpts = out / "checkpoints"
    done = sorted(p.name for p in ckpts.iterdir() if p.name.startswith("step-"))
    latest = done[-1]  # step-00000010, or a later one if the kill came after the next save
    # What a kill in the middle of a save leaves, made worse: a temporary directory that looks complete
    # (state.json and all), and a step directory of a higher step without its state.json and with a
    # truncated model. Neither may be picked up.
    shutil.copytree(ckpts / latest, ckpts / f".tmp-step-{STEPS - 1:08d}-99999")
    half = ckpts / f"step-{STEPS - 5:08d}"
    shutil.copytree(ckpts / latest, half)
    (half / "state.json").unlink()
    (half / "model.safetensors").write_bytes((half / "model.safetensors").read_bytes()[:1000])
    from train.loop import latest_checkpoint

    assert latest_checkpoint(ckpts).name == latest

    r = run([*cmd, "trainer.resume=true"])
    step = int(latest.split("-")[1])
    assert f"resumed from {ckpts / latest} at step {step}" in r.stdout
    same_result(full_run, out)
    # The leftovers are gone; the last two real checkpoints stay.
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000030", "step-00000040"]
    assert metrics(out)["train"]["seconds"] > 0


def test_resume_from_a_checkpoint_path(tiny_bert, seed_splits, full_run, tmp_path, caplog):
    """trainer.resume_from=PATH: continue another run's checkpoint in a new run directory."""
    out = tmp_path / "from"
    ckpt = full_run / "checkpoints" / "step-00000030"
    with caplog.at_level("INFO", logger="tasrih.train"):
        assert train_in_process(tiny_bert, seed_splits, out, f"trainer.resume_from={ckpt}")["train_steps"] == STEPS
    assert f"resumed from {ckpt} at step 30 (epoch 9, batch 3)" in caplog.text
    same_result(full_run, out)


def test_resume_refuses_a_checkpoint_of_other_data_or_settings(tiny_bert, seed_splits, full_run, tmp_path):
    from train.loop import CheckpointError

    ckpt = full_run / "checkpoints" / "step-00000030"
    with pytest.raises(CheckpointError) as e:
        train_in_process(tiny_bert, seed_splits, tmp_path / "x", f"trainer.resume_from={ckpt}", "trainer.batch_size=3")
    assert str(e.value) == (f"{ckpt / 'state.json'}: written by a run with other data or settings (batch_size 2 "
                            f"there, 3 here); resume with the same ones or use a fresh output_dir")
    with pytest.raises(CheckpointError) as e:  # refused before any model is loaded
        train_in_process(tiny_bert, seed_splits, tmp_path / "y", f"trainer.resume_from={tmp_path / 'nope'}")
    assert str(e.value) == f"{tmp_path / 'nope'}: no such checkpoint directory"


# ---- in-process: the checkpoint functions on the real model, optimizer and scheduler ----------------

def make_trainer(tiny_bert: Path):
    from transformers import AutoTokenizer

    from infer.labels import LABEL2ID
    from infer.model import TasrihConfig, TasrihModel

    config = TasrihConfig.from_pretrained(tiny_bert, id2label=dict(enumerate(LABEL2ID)), label2id=dict(LABEL2ID))
    config.model_type = "tasrih"
    model = TasrihModel.from_pretrained(tiny_bert, config=config)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return model, AutoTokenizer.from_pretrained(tiny_bert), opt, sched


def step_once(model, opt, sched) -> None:
    ids = torch.randint(5, 100, (2, 8))
    loss = model(input_ids=ids, labels=torch.tensor([0, 1])).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_checkpoint_round_trip_restores_every_state(tiny_bert, tmp_path):
    from train.loop import load_checkpoint, save_checkpoint

    model, tok, opt, sched = make_trainer(tiny_bert)
    step_once(model, opt, sched)
    state = {"step": 1, "epoch": 0, "batch_in_epoch": 1}
    path = save_checkpoint(tmp_path, 1, model, tok, opt, sched, state, keep=2)
    rng = torch.get_rng_state()
    after = torch.rand(3)  # what the next dropout mask would draw from

    model2, _, opt2, sched2 = make_trainer(tiny_bert)
    torch.manual_seed(1234)
    assert load_checkpoint(path, model2, opt2, sched2) == state
    assert torch.equal(torch.get_rng_state(), rng) and torch.equal(torch.rand(3), after)
    assert sched2.state_dict() == sched.state_dict()
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"] and s1["state"].keys() == s2["state"].keys()
    for k in s1["state"]:
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(s1["state"][k][name], s2["state"][k][name])
    for (n, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        assert torch.equal(a, b), n


def test_half_written_and_stale_directories_are_never_picked_and_get_cleaned(tiny_bert, tmp_path):
    from train.loop import latest_checkpoint, save_checkpoint

    model, tok, opt, sched = make_trainer(tiny_bert)
    assert latest_checkpoint(tmp_path / "nothing") is None
    for s in (1, 2, 3):
        save_checkpoint(tmp_path, s, model, tok, opt, sched, {"step": s, "epoch": 0, "batch_in_epoch": s}, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000002", "step-00000003"]
    # A temporary directory of a later step (killed before its rename), complete in every file.
    shutil.copytree(tmp_path / "step-00000003", tmp_path / ".tmp-step-00000009-4242")
    # A later step directory without its state.json (the completion mark), and an empty one.
    shutil.copytree(tmp_path / "step-00000003", tmp_path / "step-00000008")
    (tmp_path / "step-00000008" / "state.json").unlink()
    (tmp_path / "step-00000007").mkdir()
    # A directory half removed by an interrupted clean-up.
    shutil.copytree(tmp_path / "step-00000003", tmp_path / ".trash-step-00000001-4242")
    assert latest_checkpoint(tmp_path).name == "step-00000003"

    save_checkpoint(tmp_path, 4, model, tok, opt, sched, {"step": 4, "epoch": 0, "batch_in_epoch": 4}, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000003", "step-00000004"]


def test_resume_from_an_older_checkpoint_drops_the_abandoned_later_ones(tiny_bert, tmp_path):
    from train.loop import latest_checkpoint, save_checkpoint

    model, tok, opt, sched = make_trainer(tiny_bert)
    for s in (10, 20, 30):
        save_checkpoint(tmp_path, s, model, tok, opt, sched, {"step": s, "epoch": 0, "batch_in_epoch": s}, keep=0)
    # resumed from step 10: the next save is step 20 of the new trajectory; 30 belongs to the old one.
    save_checkpoint(tmp_path, 20, model, tok, opt, sched, {"step": 20, "epoch": 0, "batch_in_epoch": 20}, keep=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000010", "step-00000020"]
    assert latest_checkpoint(tmp_path).name == "step-00000020"


def test_a_bad_checkpoint_is_refused_naming_the_file_and_never_unpickled(tiny_bert, tmp_path):
    from infer.predict import ModelLoadError
    from train.loop import CheckpointError, load_checkpoint, save_checkpoint

    model, tok, opt, sched = make_trainer(tiny_bert)
    path = save_checkpoint(tmp_path, 5, model, tok, opt, sched, {"step": 5, "epoch": 0, "batch_in_epoch": 5}, keep=2)
    marker = tmp_path / "unpickled"
    # A pickle that would leave a marker file if anything ever unpickled it.
    torch.save(PickleBomb(marker), path / "trainer_state.pt")

    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "step-00000099", model, opt, sched)
    assert str(e.value) == f"{tmp_path / 'step-00000099'}: no such checkpoint directory"

    st = path / "trainer_state.safetensors"
    good = st.read_bytes()
    st.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, model, opt, sched)
    assert str(e.value).startswith(f"{st}: corrupt or truncated (")
    st.write_bytes(good)

    (path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelLoadError) as e:  # the model's own check names the file
        load_checkpoint(path, model, opt, sched)
    assert str(e.value) == (f"{path / 'model.safetensors'}: corrupt or truncated "
                            f"(Error while deserializing header: header too small)")

    (path / "state.json").unlink()
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, model, opt, sched)
    assert str(e.value) == f"{path / 'state.json'}: missing; step-00000005 is not a complete checkpoint"
    assert not marker.exists()


class PickleBomb:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))
