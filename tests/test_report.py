"""The evaluation report: titled with the model's name, one confusion matrix per split (issue 11 E)."""

import json
import shutil

from PIL import Image

from train.cli import main
from train.report import looks_like_timestamp, model_name, split_filename
from tests.conftest import REPO, SEED_GOLD, read_jsonl, write_jsonl

SHIPPED = REPO / "infer" / "default_model"
# The name `tasrih soup` gave it (config.json): what reports are titled with.
SHIPPED_NAME = json.loads((SHIPPED / "config.json").read_text(encoding="utf-8"))["name"]


def png_title(path) -> str:
    with Image.open(path) as im:
        return im.text["Title"]


def test_evaluating_a_run_directory_titles_everything_with_the_model_name(tmp_path):
    """A model where training leaves it, outputs/<name>/<timestamp>/, evaluated on two splits."""
    run = tmp_path / "outputs" / "baseline" / "2024-05-01_12-30-00"
    shutil.copytree(SHIPPED, run)
    rows = read_jsonl(SEED_GOLD)
    dev = write_jsonl(tmp_path / "dev.jsonl", rows[:7])
    test = write_jsonl(tmp_path / "test.jsonl", [dict(r, doc="seed-000-b") for r in rows[7:]])
    out = tmp_path / "eval"
    assert main(["evaluate", "--model", str(run), "--data", str(dev), str(test), "--out", str(out)]) == 0

    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.splitlines()[0] == f"# tasrih {SHIPPED_NAME}"  # the name saved with the model (cfg.name)
    assert "2024-05-01" not in report
    assert json.loads((out / "metrics.json").read_text())["model"] == f"tasrih {SHIPPED_NAME}"
    # one confusion matrix per split, each linked from its section; confusion_matrix.png is the first split's
    assert png_title(out / "confusion_matrix_dev.png") == f"tasrih {SHIPPED_NAME}: dev"
    assert png_title(out / "confusion_matrix_test.png") == f"tasrih {SHIPPED_NAME}: test"
    assert png_title(out / "confusion_matrix.png") == f"tasrih {SHIPPED_NAME}: dev"
    assert "](confusion_matrix_dev.png)" in report and "](confusion_matrix_test.png)" in report
    assert len(read_jsonl(out / "predictions.jsonl")) == 7  # the first split's, as before


def test_the_model_name_comes_from_the_saved_config_else_the_folder_above_a_timestamp(tmp_path):
    run = tmp_path / "outputs" / "tiny" / "2024-05-01_12-30-00"
    run.mkdir(parents=True)
    assert model_name(run) == "tiny"  # nothing saved: the folder Hydra named after cfg.name
    (run / "config.yaml").write_text("model:\n  name: tiny\nname: tiny_mlm_seed3\nseed: 3\n", encoding="utf-8")
    assert model_name(run) == "tiny_mlm_seed3"
    job = tmp_path / "multirun" / "small" / "2024-05-01_12-30-00" / "3"
    job.mkdir(parents=True)
    assert model_name(job) == "small"
    assert model_name(SHIPPED) == SHIPPED_NAME
    named = tmp_path / "my-model"
    named.mkdir()
    assert model_name(named) == "my-model"


def test_timestamps_and_file_names():
    for name in ("2024-05-01_12-30-00", "2024-05-01", "2024-05-01T12:30:00", "3"):
        assert looks_like_timestamp(name), name
    for name in ("baseline", "tiny_mlm", "default_model", "e5_small_main", "run-2024"):
        assert not looks_like_timestamp(name), name
    assert split_filename("dev") == "confusion_matrix_dev.png"
    assert split_filename("news 2016/ar") == "confusion_matrix_news_2016_ar.png"


def test_evaluate_card_writes_the_figures_into_the_model_directory(tmp_path):
    """`--card`: after relabelling, what ships with a model (metrics.json, report.md, its card) describes it."""
    model = tmp_path / "model"
    shutil.copytree(SHIPPED, model)
    dev = write_jsonl(tmp_path / "dev.jsonl", read_jsonl(SEED_GOLD))
    assert main(["evaluate", "--model", str(model), "--data", str(dev), "--out", str(tmp_path / "eval"), "--card"]) == 0
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    assert list(metrics["splits"]) == ["dev"] and metrics["splits"]["dev"]["n_examples"] == 12
    card = (model / "README.md").read_text(encoding="utf-8")
    section = card[card.index("## Evaluation"):card.index("## Limits")]
    assert f"- dev (`{dev}`, 12 sentences): macro-F1 {metrics['splits']['dev']['macro_f1']:.3f}" in section
    assert "test_v1" not in section and card.count("## Evaluation") == 1
    assert (model / "report.md").read_text(encoding="utf-8") == (tmp_path / "eval" / "report.md").read_text(
        encoding="utf-8")
