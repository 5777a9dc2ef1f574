"""The backends a transformer model runs on, and `tasrih export`, which writes the ONNX graphs.

Backends (``Tasrih.from_pretrained(path, backend=...)``, ``tasrih classify --backend ...``):

  auto        onnx-int8 when the directory has model.int8.onnx (the shipped model), else torch
  torch       the PyTorch model in float32 (the reference)
  int8        the recommended int8 variant, today ``onnx-int8`` (see docs/speed.md)
  onnx-int8   ONNX Runtime on ``model.int8.onnx``: the graph with fused BERT operators (attention,
              embeddings + layer norm, bias + GELU, skip + layer norm), its weights quantised to
              int8 per output channel (dynamic quantisation: activations are quantised per batch
              at run time)
  onnx        ONNX Runtime on ``model.onnx``: the same fused graph in float32
  torch-int8  PyTorch dynamic quantisation of every nn.Linear, done when the model is loaded
              (a few seconds); nothing to export, and no extra dependency

The ONNX files are written by ``tasrih export --model DIR [--int8]``; they carry the SHA-256
of the model.safetensors they were exported from, and a stale file (the model was retrained
since) is refused rather than silently run. Artifacts are .onnx only: never pickles.

The ONNX backends run on onnxruntime and numpy alone (infer/transformer.py); torch, onnx and
transformers are imported here only when a model is exported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

from infer.threads import physical_cores  # noqa: F401  (bench/throughput.py reads it from here)
from infer.transformer import ARTIFACTS, OUTPUTS, WEIGHTS_KEY

# auto: the exported int8 graph when the directory has one (the shipped model), else PyTorch.
BACKENDS = ("auto", "torch", "int8", "onnx-int8", "onnx", "torch-int8")
# What `int8` means: the int8 variant chosen by measurement (docs/speed.md, bench/throughput.py).
INT8 = "onnx-int8"
# Files copied with the model when `tasrih export --out` writes elsewhere: data formats only, never pickles.
SAFE_SUFFIXES = (".json", ".safetensors", ".txt", ".md", ".yaml")

log = logging.getLogger("tasrih.fast")


def resolve_backend(backend: str) -> str:
    return INT8 if backend == "int8" else backend


def weights_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


# ---- export ------------------------------------------------------------------------------------

def _logits_module(model):
    """TasrihModel with plain tensor outputs, the form the ONNX exporter traces."""
    from torch import nn

    class Logits(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return out.label_logits, out.also_logits, out.span_logits

    return Logits().eval()


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's, optimiser's and quantiser's warnings and chatter."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def half_weights(graph, min_size: int = 4096) -> None:
    """Store the large float32 weights of ``graph`` in float16, each behind a Cast back to float32.

    ONNX Runtime folds the Casts when it loads the graph, so the model computes in float32 exactly as
    before (the weights differ by float16 rounding only) from a file half the size.
    """
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for init in list(graph.graph.initializer):
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_size:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + ".fp16")
            graph.graph.initializer.remove(init)
            graph.graph.initializer.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + ".cast"))
    for node in reversed(casts):
        graph.graph.node.insert(0, node)


def quantise_dynamic(fp32: Path, out: Path, per_channel: bool = True, exclude: list[str] | None = None,
                     unsigned: bool = False, reduce_range: bool = False) -> Path:
    """Dynamic int8 quantisation of a fused float32 graph: int8 weights (one scale per output channel, or
    per matrix), activations scaled per batch at run time. ``exclude``: node names left in float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
                     per_channel=per_channel, reduce_range=reduce_range, nodes_to_exclude=exclude or [],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


def export(model_dir: str | Path, out: str | Path | None = None, int8: bool = True,
           per_channel: bool = True, opset: int = 17, weights: bool = True, fp16_weights: bool = False,
           ngram_labels: str | Path | None = None, ngram_weight: float = 0.5,
           calibrate_on: str | Path | None = None) -> Path:
    """Write model.int8.onnx (or model.onnx without ``int8``) for the model in ``model_dir``.

    ``out`` (default: ``model_dir``) receives the file; when it is another directory, the
    model's config, tokenizer and safetensors weights are copied there too, so that it is a
    complete model directory for ``Tasrih.from_pretrained(out, backend=...)``. Without
    ``weights`` the safetensors file stays behind: ``out`` is then the ONNX-only form that
    ships (runs with onnxruntime, no torch). ``fp16_weights`` (float32 graph only) stores the
    weights in float16 and computes in float32: half the file, the same predictions.
    ``ngram_labels``: a classical baseline directory whose label model is converted to arrays
    (infer/ngram.py) and averaged into the label probabilities with ``ngram_weight``. ``calibrate_on``
    (an annotated JSONL file, dev) fits the span thresholds of the exported graph, and the temperature
    of the averaged probabilities (``calibrate``).
    """
    import onnx
    import torch
    from onnxruntime.transformers import optimizer
    from transformers.utils import logging as hf_logging

    from infer.model import TasrihModel
    from infer.torch_backend import check_model_dir

    hf_logging.disable_progress_bar()
    model_dir = Path(model_dir)
    check_model_dir(model_dir)
    out = Path(out) if out is not None else model_dir
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != model_dir.resolve():
        for f in sorted(model_dir.iterdir()):
            if f.is_file() and f.suffix in SAFE_SUFFIXES and (weights or f.suffix != ".safetensors"):
                shutil.copy2(f, out / f.name)
    digest = weights_digest(model_dir)
    name = ARTIFACTS["onnx-int8" if int8 else "onnx"]
    if ngram_labels is not None:
        add_ngram_labels(out, Path(ngram_labels), ngram_weight)

    # Eager attention traces to the MatMul/Softmax pattern that ORT's BERT fuser recognises.
    model = TasrihModel.from_pretrained(str(model_dir), attn_implementation="eager").to("cpu").eval()
    cfg = model.config
    ids = torch.full((2, 16), cfg.pad_token_id or 0, dtype=torch.long)
    ids[:, 1:-1] = torch.randint(5, cfg.vocab_size, (2, 14))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "label_logits": {0: "batch"}, "also_logits": {0: "batch"}, "span_logits": {0: "batch", 1: "tokens"}}
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp, _quiet():
        tmp = Path(tmp)
        # The TorchScript exporter (dynamo=False) needs no onnxscript and gives the classic BERT graph.
        torch.onnx.export(_logits_module(model), (ids, mask), str(tmp / "traced.onnx"), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True)
        fused = optimizer.optimize_model(str(tmp / "traced.onnx"), model_type="bert",
                                         num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size,
                                         opt_level=0)  # graph fusions only; ORT's own are applied at load
        stats = fused.get_fused_operator_statistics()
        fused.save_model_to_file(str(tmp / "fused.onnx"))
        del fused
        final = tmp / "fused.onnx"
        if int8:
            final = quantise_dynamic(tmp / "fused.onnx", tmp / "int8.onnx", per_channel=per_channel)
        graph = onnx.load(str(final))
        if fp16_weights and not int8:
            half_weights(graph)
        meta = {WEIGHTS_KEY: digest, "tasrih.backend": "onnx-int8" if int8 else "onnx",
                "tasrih.per_channel": str(per_channel), "tasrih.torch": torch.__version__,
                "tasrih.weights_stored_as": "float16" if fp16_weights and not int8 else "as computed"}
        for key, value in meta.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, str(tmp / name))  # one self-contained file (a BERT-base graph is far below 2 GB)
        del graph
        os.replace(tmp / name, out / name)
    if not weights and (out / "README.md").is_file():  # the model card says what this directory is
        form = ("int8 weights (dynamic quantisation)" if int8 else
                "weights stored in float16, computed in float32" if fp16_weights else "float32")
        card = (out / "README.md").read_text(encoding="utf-8")
        if "## This directory" not in card:
            (out / "README.md").write_text(card.rstrip() + f"\n\n## This directory\n\nThe model above exported by "
                                           f"`tasrih export` to `{name}` ({form}), with its tokenizer and config and "
                                           f"without its safetensors weights: it runs on onnxruntime, tokenizers and "
                                           f"numpy, no torch.\n", encoding="utf-8")
    if not stats.get("Attention"):
        log.warning("attention was not fused (%s); the graph runs, but slower", stats)
    if calibrate_on is not None:
        calibrate(out, "onnx-int8" if int8 else "onnx", Path(calibrate_on))
    return out / name


def add_ngram_labels(out: Path, baseline: Path, weight: float) -> None:
    """Convert ``baseline``'s label model into ``out`` and name it in out/config.json and its card."""
    from safetensors.numpy import save_file

    from infer.ngram import FILE, from_baseline

    spec, arrays = from_baseline(baseline, weight)
    save_file(arrays, str(out / FILE))
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    config["ngram_labels"] = spec
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    card = out / "README.md"
    if card.is_file() and "## Label probabilities" not in card.read_text(encoding="utf-8"):
        card.write_text(card.read_text(encoding="utf-8").rstrip() + (
            f"\n\n## Label probabilities\n\nThe label probabilities are {1 - weight:g} times this transformer's "
            f"plus {weight:g} times those of the classical baseline `{baseline}` (hashed character and word "
            f"n-grams, TF-IDF, logistic regression), converted by `tasrih export --ngram-labels` to `{FILE}` and "
            f"computed on numpy (infer/ngram.py), then calibrated with a temperature fitted on dev when exported with "
            f"`--calibrate` (config.json: `ngram_labels.mix_temperature`). The actor, target and `also` come from "
            f"the transformer.\n"),
            encoding="utf-8")


def calibrate(out: Path, backend: str, data: Path) -> dict:
    """Fit on ``data`` (dev) what the exported model decides with: the span thresholds, and the temperature
    of the averaged label probabilities when an n-gram model is averaged in; written to config.json."""
    from infer.labels import LABELS
    from infer.transformer import load_onnx
    from train.metrics import fit_span_thresholds, fit_temperature

    with open(data, encoding="utf-8") as f:
        gold = [json.loads(line) for line in f if line.strip()]
    model = load_onnx(out, backend)
    rows = model.predict([g["text"] for g in gold], span_scores=True)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    fitted = {}
    if model.ngram is not None:
        # The temperature changes no label, so the spans below are those of the calibrated model too.
        t = fit_temperature([[r["scores"][lab] for lab in LABELS] for r in rows], [LABELS.index(g["label"]) for g in gold])
        config["ngram_labels"]["mix_temperature"] = fitted["mix_temperature"] = t
    config["span_thresholds"] = fitted["span_thresholds"] = fit_span_thresholds(gold, rows)
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    card = out / "README.md"
    if card.is_file():  # the section says this directory's thresholds: one copied from the run is replaced
        text = re.sub(r"\n## Span thresholds\n.*?(?=\n## |\Z)", "", card.read_text(encoding="utf-8"), flags=re.S)
        card.write_text(text.rstrip() + (
            f"\n\n## Span thresholds\n\nAn actor or target span is given only when the mean probability of its "
            f"words' tags reaches the threshold fitted on `{data.name}` for exact-match F1 (config.json: "
            f"`span_thresholds`: {json.dumps(config['span_thresholds'])}); below it the model was more often wrong "
            f"than right.\n"), encoding="utf-8")
    log.info("fitted on %s: %s", data, fitted)
    return fitted
