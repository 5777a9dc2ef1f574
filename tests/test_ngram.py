"""The baseline's label model on numpy (infer/ngram.py), against scikit-learn itself, and the transformer
exported with it averaged in (`tasrih export --ngram-labels`): real baseline, real export, real ONNX Runtime."""

import json

import numpy as np
import pytest

from infer.labels import LABELS
from safetensors.numpy import save_file

from infer.ngram import FILE, NgramLabels, from_baseline, murmurhash3_32, read_safetensors
from infer.predict import ModelLoadError, Tasrih
from tests.conftest import REPO, read_jsonl
from train.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("onnxruntime")

DEV = [r["text"] for r in read_jsonl(REPO / "data" / "dev.jsonl")[:200]]


def test_murmurhash_is_scikit_learns():
    from sklearn.utils import murmurhash3_32 as sk

    words = ["", "a", "ab", "abc", "abcd", "abcde", " ال", "الحكومة ", "نقابة الصحافيين", "x" * 33, "é"]
    words += [t[i:i + n] for t in DEV[:20] for n in (2, 3, 5) for i in range(0, len(t) - n, 7)]
    assert [murmurhash3_32(w.encode("utf-8")) for w in words] == [sk(w.encode("utf-8"), seed=0) for w in words]


def test_numpy_labels_match_the_baseline_on_scikit_learn(baseline_model, tmp_path):
    from infer.baseline import BaselineModel

    spec, arrays = from_baseline(baseline_model)
    save_file(arrays, str(tmp_path / FILE))
    ours = NgramLabels.load(tmp_path, spec).probs(DEV)
    theirs, _ = BaselineModel.load(baseline_model).label_probs(DEV)
    assert ours.shape == (len(DEV), len(LABELS))
    assert np.abs(ours - theirs).max() < 2e-3  # the weights are stored in float16
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.99


def test_the_reader_reads_what_safetensors_writes_and_a_broken_file_is_one_line(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([1.5, -2], dtype=np.float32)}
    save_file(arrays, str(tmp_path / "x.safetensors"))
    back = read_safetensors(tmp_path / "x.safetensors")
    assert all(np.array_equal(back[k], v) and back[k].dtype == v.dtype for k, v in arrays.items())
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelLoadError, match=r"bad\.safetensors: not a safetensors file"):
        read_safetensors(tmp_path / "bad.safetensors")


def test_export_averages_the_baseline_labels_into_the_transformer(fast_model_dir, baseline_model, tmp_path):
    plain, ens = tmp_path / "plain", tmp_path / "ens"
    assert main(["export", "--model", str(fast_model_dir), "--out", str(plain), "--no-weights"]) == 0
    assert main(["export", "--model", str(fast_model_dir), "--out", str(ens), "--no-weights",
                 "--ngram-labels", str(baseline_model), "--ngram-weight", "0.3"]) == 0
    config = json.loads((ens / "config.json").read_text(encoding="utf-8"))
    assert config["ngram_labels"]["weight"] == 0.3 and (ens / FILE).is_file()
    a = Tasrih.from_pretrained(plain, backend="onnx").predict(DEV[:40])
    b = Tasrih.from_pretrained(ens, backend="onnx").predict(DEV[:40])
    ngram = NgramLabels.load(ens, config["ngram_labels"]).probs(DEV[:40])
    for x, y, n in zip(a, b, ngram):
        want = 0.7 * np.array([x["scores"][lab] for lab in LABELS]) + 0.3 * n
        assert np.allclose([y["scores"][lab] for lab in LABELS], want, atol=2e-4)
        assert y["label"] == LABELS[int(want.argmax())]
        if y["label"] == x["label"] != "none":  # the spans are the transformer's
            assert (y["actor"], y["target"]) == (x["actor"], x["target"])


def test_calibrate_fits_the_mixture_temperature_and_keeps_every_label(fast_model_dir, baseline_model, seed_splits,
                                                                      tmp_path, capsys):
    plain, cal = tmp_path / "plain", tmp_path / "cal"
    for out, extra in ((plain, []), (cal, ["--calibrate", str(seed_splits["dev"])])):
        assert main(["export", "--model", str(fast_model_dir), "--out", str(out), "--no-weights",
                     "--ngram-labels", str(baseline_model), *extra]) == 0
    assert "mix_temperature" in json.loads((cal / "config.json").read_text(encoding="utf-8"))["ngram_labels"]
    a = Tasrih.from_pretrained(plain, backend="onnx").predict(DEV[:40])
    b = Tasrih.from_pretrained(cal, backend="onnx").predict(DEV[:40])
    assert [r["label"] for r in a] == [r["label"] for r in b]  # a temperature moves no argmax
    gold = read_jsonl(seed_splits["dev"])

    def nll(model_dir):  # on the calibration data the fitted temperature can only lower it
        rows = Tasrih.from_pretrained(model_dir, backend="onnx").predict([g["text"] for g in gold])
        return -np.mean([np.log(max(r["scores"][g["label"]], 1e-4)) for r, g in zip(rows, gold)])
    assert nll(cal) <= nll(plain) + 1e-3
    capsys.readouterr()
    assert main(["export", "--model", str(fast_model_dir), "--out", str(tmp_path / "y"),
                 "--calibrate", str(tmp_path / "no_such.jsonl")]) == 2
    assert "no_such.jsonl: no such file; give an annotated JSONL file (data/dev.jsonl)" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()  # refused before anything was written


def test_calibrate_alone_fits_the_span_thresholds(fast_model_dir, seed_splits, tmp_path):
    """Without an n-gram model --calibrate still fits the thresholds that drop the spans the model is unsure of."""
    out = tmp_path / "cal"
    assert main(["export", "--model", str(fast_model_dir), "--out", str(out), "--no-weights",
                 "--calibrate", str(seed_splits["dev"])]) == 0
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert "ngram_labels" not in config and set(config["span_thresholds"]) == {"actor", "target"}
    model = Tasrih.from_pretrained(out, backend="onnx")
    assert model.span_thresholds == config["span_thresholds"]
    scored = model.predict(DEV[:40], span_scores=True)
    for kept, every in zip(model.predict(DEV[:40]), scored):
        for role in ("actor", "target"):
            span = every[role]
            want = span if span and span["score"] >= config["span_thresholds"][role] else None
            assert kept[role] == ({k: span[k] for k in ("start", "end", "text")} if want else None)


def test_export_refuses_what_is_not_a_baseline(fast_model_dir, tmp_path, capsys):
    assert main(["export", "--model", str(fast_model_dir), "--out", str(tmp_path / "x"),
                 "--ngram-labels", str(fast_model_dir)]) == 2
    assert "--ngram-labels needs a classical baseline directory" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before anything was written


def test_a_missing_ngram_file_is_refused_with_its_name(fast_model_dir, baseline_model, tmp_path):
    out = tmp_path / "ens"
    assert main(["export", "--model", str(fast_model_dir), "--out", str(out), "--no-weights",
                 "--ngram-labels", str(baseline_model)]) == 0
    (out / FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"ngram_labels\.safetensors: missing; config\.json averages"):
        Tasrih.from_pretrained(out)
