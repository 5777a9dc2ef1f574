"""Fast CPU inference: int8 and ONNX Runtime backends for Tasrih, and `tasrih export`.

Backends (``Tasrih.from_pretrained(path, backend=...)``, ``tasrih classify --backend ...``):

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

This module imports onnx and onnxruntime only when an ONNX backend is used or exported.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

BACKENDS = ("torch", "int8", "onnx-int8", "onnx", "torch-int8")
# What `int8` means: the int8 variant chosen by measurement (docs/speed.md, bench/throughput.py).
INT8 = "onnx-int8"
ARTIFACTS = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
OUTPUTS = ("label_logits", "also_logits", "span_logits")
WEIGHTS_KEY = "tasrih.weights_sha256"
# Files copied with the model when `tasrih export --out` writes elsewhere: data formats only, never pickles.
SAFE_SUFFIXES = (".json", ".safetensors", ".txt", ".md")

log = logging.getLogger("tasrih.fast")


def resolve_backend(backend: str) -> str:
    return INT8 if backend == "int8" else backend


def physical_cores() -> int:
    """Cores this process may run on, counting hyper-threads once (TASRIH_THREADS overrides)."""
    env = os.environ.get("TASRIH_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for c in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{c}/topology")
        try:
            cores.add(f"{(topo / 'physical_package_id').read_text().strip()}:{(topo / 'core_id').read_text().strip()}")
        except OSError:
            cores.add(f"cpu{c}")
    return max(1, len(cores))


def weights_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _load_error(msg: str) -> Exception:
    from infer.predict import ModelLoadError

    return ModelLoadError(msg)


# ---- runners: (input_ids, attention_mask) -> (label_logits, also_logits, span_logits) -------------

class TorchInt8Runner:
    """PyTorch dynamic quantisation: nn.Linear weights to int8, activations quantised per batch."""

    def __init__(self, model: nn.Module):
        model.to("cpu").eval()  # the quantised kernels are CPU kernels
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the torch.ao -> torchao deprecation notice
            # In place: the float32 Linear weights are freed, the Tasrih object runs the quantised model.
            torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
        self.model = model

    @torch.inference_mode()
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor):
        out = self.model(input_ids=ids.cpu(), attention_mask=mask.cpu())
        return out.label_logits, out.also_logits, out.span_logits


class OrtRunner:
    """ONNX Runtime on the CPU, one intra-op thread per physical core."""

    def __init__(self, onnx_path: Path, threads: int | None = None, spinning: bool = False):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.intra_op_num_threads = threads or physical_cores()
        so.inter_op_num_threads = 1
        # Busy-waiting threads only pay on an idle machine; on a shared one they steal the cores they wait for.
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.path = onnx_path
        self.metadata: dict[str, str] = {}

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor):
        feed = {"input_ids": ids.cpu().numpy().astype("int64", copy=False),
                "attention_mask": mask.cpu().numpy().astype("int64", copy=False)}
        return tuple(torch.from_numpy(o) for o in self.session.run(list(OUTPUTS), feed))


def load_artifact(path: Path, backend: str) -> OrtRunner:
    """A runner on the ONNX file of ``backend`` in ``path``; refused when missing or exported from other weights."""
    onnx_path = path / ARTIFACTS[backend]
    flag = " --int8" if backend == "onnx-int8" else ""
    if not onnx_path.is_file():
        raise _load_error(f"{onnx_path}: missing; backend {backend!r} runs the exported graph: "
                          f"run `tasrih export --model {path}{flag}` first")
    try:
        runner = OrtRunner(onnx_path)
    except ImportError:
        raise _load_error(f"backend {backend!r} needs onnxruntime: pip install onnxruntime") from None
    except Exception as e:  # onnxruntime's own errors (InvalidProtobuf, InvalidGraph, Fail, ...)
        raise _load_error(f"{onnx_path}: onnxruntime cannot load it ({str(e).strip().splitlines()[0]})") from None
    runner.metadata = dict(runner.session.get_modelmeta().custom_metadata_map)
    if runner.metadata.get(WEIGHTS_KEY) != weights_digest(path):
        raise _load_error(f"{onnx_path}: exported from other weights than {path / 'model.safetensors'} "
                          f"(retrained since?); run `tasrih export --model {path}{flag}` again")
    return runner


def make_runner(backend: str, path: Path, model: nn.Module):
    """The runner for ``backend``; ``model`` is the loaded float32 TasrihModel."""
    backend = resolve_backend(backend)
    if backend == "torch":
        from infer.predict import TorchRunner

        return TorchRunner(model)
    if backend == "torch-int8":
        return TorchInt8Runner(model)
    if backend in ARTIFACTS:
        return load_artifact(Path(path), backend)
    raise _load_error(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")


# ---- export ------------------------------------------------------------------------------------

class _Logits(nn.Module):
    """TasrihModel with plain tensor outputs, the form the ONNX exporter traces."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask)
        return out.label_logits, out.also_logits, out.span_logits


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


def export(model_dir: str | Path, out: str | Path | None = None, int8: bool = True,
           per_channel: bool = True, opset: int = 17) -> Path:
    """Write model.int8.onnx (or model.onnx without ``int8``) for the model in ``model_dir``.

    ``out`` (default: ``model_dir``) receives the file; when it is another directory, the
    model's config, tokenizer and safetensors weights are copied there too, so that it is a
    complete model directory for ``Tasrih.from_pretrained(out, backend=...)``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers.utils import logging as hf_logging

    from infer.model import TasrihModel
    from infer.predict import check_model_dir

    hf_logging.disable_progress_bar()
    model_dir = Path(model_dir)
    check_model_dir(model_dir)
    out = Path(out) if out is not None else model_dir
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() != model_dir.resolve():
        for f in sorted(model_dir.iterdir()):
            if f.is_file() and f.suffix in SAFE_SUFFIXES:
                shutil.copy2(f, out / f.name)
    digest = weights_digest(model_dir)
    name = ARTIFACTS["onnx-int8" if int8 else "onnx"]

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
        torch.onnx.export(_Logits(model).eval(), (ids, mask), str(tmp / "traced.onnx"), dynamo=False,
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
            quantize_dynamic(str(tmp / "fused.onnx"), str(tmp / "int8.onnx"), weight_type=QuantType.QInt8,
                             per_channel=per_channel, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            final = tmp / "int8.onnx"
        graph = onnx.load(str(final))
        meta = {WEIGHTS_KEY: digest, "tasrih.backend": "onnx-int8" if int8 else "onnx",
                "tasrih.per_channel": str(per_channel), "tasrih.torch": torch.__version__}
        for key, value in meta.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, str(tmp / name))  # one self-contained file (a BERT-base graph is far below 2 GB)
        del graph
        os.replace(tmp / name, out / name)
    if not stats.get("Attention"):
        log.warning("attention was not fused (%s); the graph runs, but slower", stats)
    return out / name
