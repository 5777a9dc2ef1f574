"""The fast CPU backends with real components: a local BERT, a real ONNX export, real ONNX Runtime."""

import gzip
import json

import numpy as np
import pytest
import torch

from infer.model import TasrihModel
from infer.predict import BACKENDS, ModelLoadError, Tasrih
from infer.text import split_sentences
from tests.conftest import REPO, SEED_TEXT
from train.cli import main

pytest.importorskip("onnxruntime")

SAFE = {".onnx", ".json", ".safetensors", ".txt", ".md", ".yaml"}


@pytest.fixture(scope="module")
def model_dir(fast_model_dir):
    return fast_model_dir


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    """`tasrih export --int8 --out DIR`, run as the command line runs it."""
    out = tmp_path_factory.mktemp("fast-export")
    assert main(["export", "--model", str(model_dir), "--int8", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sentences():
    sents = [p.text for p in split_sentences(SEED_TEXT.read_text(encoding="utf-8"))]
    with gzip.open(REPO / "data" / "unlabeled" / "news_sentences.txt.gz", "rt", encoding="utf-8") as f:
        sents += [line.strip() for _, line in zip(range(150), f) if line.strip()]
    return sents


def span(s):
    return (s["start"], s["end"]) if s else None


def key(row):
    return row["label"], span(row["actor"]), span(row["target"])


def test_export_writes_only_safe_files_and_a_complete_model_dir(model_dir, exported):
    files = sorted(p.name for p in exported.rglob("*"))
    assert "model.int8.onnx" in files
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files)
    assert all(p.is_file() and p.suffix in SAFE for p in exported.rglob("*")), files  # no pickles, no temp dirs
    assert not any(p.name.startswith(".export-") for p in model_dir.iterdir())


def test_int8_agrees_with_float32(exported, sentences):
    fp32 = Tasrih.from_pretrained(exported, device="cpu", backend="torch")
    int8 = Tasrih.from_pretrained(exported, device="cpu", backend="int8")
    a, b = fp32.predict(sentences), int8.predict(sentences)
    assert [r["text"] for r in a] == [r["text"] for r in b]
    labels = sum(x["label"] == y["label"] for x, y in zip(a, b)) / len(a)
    full = sum(key(x) == key(y) for x, y in zip(a, b)) / len(a)
    # Random weights, tiny model: the bound is loose; a trained model agrees on >= 99% (docs/speed.md).
    assert labels >= 0.95 and full >= 0.9, (labels, full)
    assert len({r["label"] for r in a}) > 1  # the check is not won by a model that says `none` to everything
    for r in b:  # spans from the int8 backend still point into the raw text
        for role in ("actor", "target"):
            if r[role]:
                assert r["text"][r[role]["start"]:r[role]["end"]] == r[role]["text"]


def test_onnx_float32_matches_torch_and_torch_int8_runs(model_dir, tmp_path, sentences):
    assert main(["export", "--model", str(model_dir), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "model.onnx").is_file() and not (tmp_path / "model.int8.onnx").exists()
    ref = Tasrih.from_pretrained(tmp_path, device="cpu", backend="torch")
    onnx = Tasrih.from_pretrained(tmp_path, device="cpu", backend="onnx")
    ids = np.array([[2, 100, 200, 300, 3], [2, 400, 3, 0, 0]])
    mask = (ids != 0).astype(np.int64)
    for x, y in zip(ref.runner(ids, mask), onnx.runner(ids, mask)):
        assert np.allclose(x, y, atol=1e-4)
    q = Tasrih.from_pretrained(tmp_path, device="cpu", backend="torch-int8")  # quantised at load, no file
    a, b = ref.predict(sentences[:60]), q.predict(sentences[:60])
    assert sum(x["label"] == y["label"] for x, y in zip(a, b)) / len(a) >= 0.9


def test_missing_or_stale_artifact_is_refused_with_the_fix(model_dir, exported, tmp_path):
    with pytest.raises(ModelLoadError, match=r"model\.int8\.onnx: missing; .*tasrih export --model .* --int8"):
        Tasrih.from_pretrained(model_dir, backend="int8")
    stale = tmp_path / "stale"
    stale.mkdir()
    for f in exported.iterdir():
        (stale / f.name).write_bytes(f.read_bytes())
    model = TasrihModel.from_pretrained(stale)
    with torch.no_grad():
        model.label_head.bias.add_(1.0)
    model.save_pretrained(stale)  # retrained since the export
    with pytest.raises(ModelLoadError, match="exported from other weights"):
        Tasrih.from_pretrained(stale, backend="int8")


def test_unknown_backend_is_one_line(model_dir, capsys):
    with pytest.raises(ModelLoadError) as e:
        Tasrih.from_pretrained(model_dir, backend="tensorrt")
    assert "\n" not in str(e.value) and all(b in str(e.value) for b in BACKENDS)
    assert main(["classify", str(SEED_TEXT), "--model", str(model_dir), "--backend", "tensorrt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tasrih: error: unknown backend 'tensorrt'") and "\n" not in err


def test_classify_backend_on_the_command_line(exported, capsys):
    capsys.readouterr()
    assert main(["classify", str(SEED_TEXT), "--model", str(exported), "--backend", "int8"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["classify", str(SEED_TEXT), "--model", str(exported), "--backend", "torch"]) == 0
    ref = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(ref) > 5
    assert [r["text"] for r in rows] == [r["text"] for r in ref]
    assert sum(a["label"] == b["label"] for a, b in zip(rows, ref)) / len(ref) >= 0.9
