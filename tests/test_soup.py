"""`tasrih soup`: the weighted mean of two runs' weights, as a model that loads and predicts."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from infer.predict import Tasrih
from train.cli import main


@pytest.fixture
def two_runs(fast_model_dir, tmp_path):
    """The trained tiny model and a second run of it whose every weight is moved by +1."""
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(fast_model_dir, first)
    shutil.copytree(fast_model_dir, second)
    weights = load_file(str(second / "model.safetensors"))
    save_file({k: (v + 1).contiguous() for k, v in weights.items()}, str(second / "model.safetensors"),
              metadata={"format": "pt"})
    config = json.loads((first / "config.json").read_text(encoding="utf-8"))
    config["span_thresholds"] = {"actor": 0.9, "target": 0.9}
    (first / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (first / "README.md").write_text("# tasrih model: first\n", encoding="utf-8")  # the card training writes
    for run in (first, second):
        (run / "config.yaml").write_text(f"name: {run.name}\n", encoding="utf-8")  # the resolved Hydra config
    return first, second


def test_the_soup_is_the_weighted_mean_and_predicts(two_runs, tmp_path):
    first, second = two_runs
    out = tmp_path / "soup"
    assert main(["soup", str(first), str(second), "--weight", "0.25", "--out", str(out)]) == 0
    a, b, s = (load_file(str(d / "model.safetensors")) for d in (first, second, out))
    for k in a:
        assert torch.allclose(s[k], 0.25 * a[k] + 0.75 * b[k], atol=1e-6), k
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert "span_thresholds" not in config  # fitted for the first run alone: the soup's are fitted at export
    assert config["soup"]["weights"] == [0.25, 0.75]
    assert config["name"] == "soup-0.25 of first and second"  # the names the runs saved (config.yaml)
    assert [(out / f"config_run{i}.yaml").read_text(encoding="utf-8") for i in (1, 2)] == ["name: first\n",
                                                                                         "name: second\n"]
    assert f"A soup (`tasrih soup`): 0.25 times the weights of `{first}` plus 0.75 times" in (
        (out / "README.md").read_text(encoding="utf-8"))
    (row,) = Tasrih.from_pretrained(out, backend="torch").predict(["نفت الوزارة الاتهامات"])
    assert row["label"] in row["scores"]


def test_runs_with_other_vocabularies_are_refused(two_runs, tmp_path, capsys):
    first, second = two_runs
    tok = json.loads((second / "tokenizer.json").read_text(encoding="utf-8"))
    tok["model"]["vocab"]["ضضض"] = len(tok["model"]["vocab"])
    (second / "tokenizer.json").write_text(json.dumps(tok), encoding="utf-8")
    assert main(["soup", str(first), str(second), "--out", str(tmp_path / "soup")]) == 2
    assert f"{first} and {second} have different vocabularies: their weights cannot be averaged" in (
        capsys.readouterr().err)
    assert not (tmp_path / "soup").exists()


def test_a_weight_outside_0_1_is_refused(two_runs, tmp_path, capsys):
    first, second = two_runs
    assert main(["soup", str(first), str(second), "--weight", "1.5", "--out", str(tmp_path / "soup")]) == 2
    assert "--weight is 1.5: give the first run's share, from 0 to 1" in capsys.readouterr().err


def test_three_runs_average_with_their_shares(two_runs, tmp_path):
    first, second = two_runs
    third = tmp_path / "third"
    shutil.copytree(second, third)
    weights = load_file(str(second / "model.safetensors"))
    save_file({k: (v + 2).contiguous() for k, v in weights.items()}, str(third / "model.safetensors"),
              metadata={"format": "pt"})
    (third / "config.yaml").write_text("name: third\n", encoding="utf-8")
    out = tmp_path / "soup3"
    assert main(["soup", str(first), str(second), str(third), "--weights", "0.25", "0.5", "0.25",
                 "--out", str(out)]) == 0
    a, b, c, s = (load_file(str(d / "model.safetensors")) for d in (first, second, third, out))
    for k in a:
        assert torch.allclose(s[k], 0.25 * a[k] + 0.5 * b[k] + 0.25 * c[k], atol=1e-5), k
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["soup"] == {"runs": [str(first), str(second), str(third)], "weights": [0.25, 0.5, 0.25]}
    assert config["name"] == "soup-0.25/0.5/0.25 of first, second and third"
    assert (out / "config_run3.yaml").read_text(encoding="utf-8") == "name: third\n"


def test_shares_must_add_up_to_one_and_match_the_runs(two_runs, tmp_path, capsys):
    first, second = two_runs
    out = str(tmp_path / "soup")
    assert main(["soup", str(first), str(second), "--weights", "0.5", "0.6", "--out", out]) == 2
    assert "the weights add up to 1.1: give shares that add up to 1" in capsys.readouterr().err
    assert main(["soup", str(first), str(second), "--weights", "1", "--out", out]) == 2
    assert "1 weights for 2 runs: give one share per run" in capsys.readouterr().err
    assert main(["soup", str(first), str(second), str(first), "--weight", "0.3", "--out", out]) == 2
    assert "3 runs: give each one's share with --weights W1 W2 ... (--weight is for two)" in capsys.readouterr().err
    assert not (tmp_path / "soup").exists()
