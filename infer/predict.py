"""Load any saved tasrih model and classify sentences and articles.

    from infer.predict import Tasrih
    model = Tasrih.from_pretrained()            # the shipped model; or a run directory
    for row in model.classify_text(open("article.txt").read(), doc="article"):
        print(row["label"], row["actor"])

``Tasrih.from_pretrained`` reads the directory and returns the predictor that runs it: the
transformer on ONNX Runtime (the shipped form: no torch), the transformer on PyTorch (a
training run's safetensors), or the classical baseline. All share ``infer.predictor.Predictor``.
"""

from __future__ import annotations

from pathlib import Path

from infer import transformer
from infer.fast import BACKENDS, resolve_backend, weights_digest
from infer.predictor import (  # noqa: F401
    BASELINE_TYPE,
    DEFAULT_MODEL,
    ModelLoadError,
    Predictor,
    check_sentences,
    json_object,
    model_type,
)

__all__ = ["BACKENDS", "DEFAULT_MODEL", "ModelLoadError", "Predictor", "Tasrih", "check_model", "check_sentences"]


def pick_backend(path: Path, backend: str) -> str:
    """What ``auto`` means for this directory: its int8 graph when it has one, else PyTorch."""
    backend = resolve_backend(backend)
    if backend != "auto":
        return backend
    if (path / transformer.ARTIFACTS["onnx-int8"]).is_file():
        return "onnx-int8"
    if (path / transformer.ARTIFACTS["onnx"]).is_file() and not (path / "model.safetensors").is_file():
        return "onnx"
    return "torch"


def check_model(path: Path, backend: str = "auto") -> None:
    """Cheap checks (JSON and file headers, no weights loaded) that ``from_pretrained`` would pass.

    The server runs them before it starts listening; each failure is one line naming the file.
    """
    if not path.is_dir():
        raise ModelLoadError(f"{path}: no such model directory (train one with `tasrih train` "
                             f"or build one with `tasrih build-local-model`)")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path / 'config.json'}: missing; a model directory needs config.json")
    if model_type(path) == BASELINE_TYPE:
        if resolve_backend(backend) not in ("auto", "torch"):
            raise ModelLoadError(f"{path}: backend {backend!r} is for transformer models; this is the "
                                 f"classical baseline, which runs as it is")
        from infer.baseline import check_baseline_dir

        check_baseline_dir(path)
        return
    chosen = pick_backend(path, backend)
    # An ONNX backend never reads the safetensors weights (load_onnx checks only their digest), so their
    # header check, which imports torch (6 s on a cold start), is the torch backend's alone.
    if chosen in transformer.ARTIFACTS:
        transformer.ngram_spec(path, transformer.read_config(path))
        if (path / "model.safetensors").is_file():  # a training run: a missing graph is one export away
            transformer.check_onnx_files(path, chosen)
            return
        for f in (transformer.ARTIFACTS[chosen], "tokenizer.json"):
            if not (path / f).is_file():
                raise ModelLoadError(f"{path / f}: missing; an exported model directory needs it")
        return
    from infer.torch_backend import check_model_dir  # the safetensors header against the config

    check_model_dir(path)


class Tasrih(transformer.Tasrih):
    """A trained tasrih transformer; ``from_pretrained`` is the one entry point for every saved model."""

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = None,
                        backend: str = "auto") -> Predictor:
        """Load a saved model; ``backend`` picks how a transformer model runs (see BACKENDS)."""
        if backend not in BACKENDS:
            raise ModelLoadError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        path = Path(path) if path is not None else DEFAULT_MODEL
        check_model(path, backend)
        if model_type(path) == BASELINE_TYPE:
            from infer.baseline import BaselineModel

            return BaselineModel.load(path)
        chosen = pick_backend(path, backend)
        if chosen in transformer.ARTIFACTS:
            has_weights = (path / "model.safetensors").is_file()
            model = transformer.load_onnx(path, chosen, weights_digest(path) if has_weights else None)
            return cls(model.config, model.tokenizer, model.runner, name=path.name, backend=chosen,
                       ngram=model.ngram)
        from infer.torch_backend import load_torch

        model, tokenizer, runner = load_torch(path, device, chosen)
        return cls(model.config, tokenizer, runner, name=path.name, backend=chosen,
                   ngram=transformer.load_ngram(path, model.config))
