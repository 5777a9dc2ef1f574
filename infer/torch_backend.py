"""The PyTorch side of inference: load a safetensors model, check it, and run it in float32 or int8.

Imported only when a torch backend is asked for (``--backend torch`` or ``torch-int8``, or a
model directory that has no exported ONNX graph), so that the shipped model, which runs on
ONNX Runtime, never pays for importing torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from infer.model import TasrihConfig, TasrihModel
from infer.predictor import BASELINE_TYPE, ModelLoadError, first_line, json_object
from infer.transformer import read_config



def pick_device(device: str | None = None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class TorchRunner:
    """Runs a batch through the PyTorch model: numpy ids and mask in, numpy logits out."""

    def __init__(self, model: TasrihModel):
        self.model = model.eval()

    @torch.inference_mode()
    def __call__(self, ids, mask):
        device = self.model.device
        out = self.model(input_ids=torch.as_tensor(ids, device=device), attention_mask=torch.as_tensor(mask, device=device))
        return tuple(o.float().cpu().numpy() for o in (out.label_logits, out.also_logits, out.span_logits))


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
    def __call__(self, ids, mask):
        out = self.model(input_ids=torch.as_tensor(ids), attention_mask=torch.as_tensor(mask))
        return tuple(o.float().numpy() for o in (out.label_logits, out.also_logits, out.span_logits))



def load_torch(path: Path, device: str | None, backend: str):
    """The float32 model of ``path`` and its runner for backend torch or torch-int8."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # loading a small model needs no progress bar on stderr
    # The directory was checked by infer.predict.check_model (check_model_dir) before this is called.
    try:
        model = TasrihModel.from_pretrained(str(path))
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"{path}: cannot be loaded ({str(e).splitlines()[0]})") from None
    model = model.to(pick_device(device))
    runner = TorchInt8Runner(model) if backend == "torch-int8" else TorchRunner(model)
    return model, tokenizer, runner


# Floating-point dtypes as safetensors names them; anything else in a model file has been tampered with.
_FLOAT_DTYPES = {"F64", "F32", "F16", "BF16"}


def check_model_dir(path: Path) -> None:
    """Fail early, with the file at fault, on a missing, truncated or tampered model directory.

    Every check reads JSON or the safetensors header only (nothing is unpickled, no weight is
    loaded): the config must describe a tasrih model with the real label set, the weights must be
    exactly the tensors (names, shapes) that config builds, and the tokenizer must fit the model.
    Each failure is one line that starts with the path of the file at fault.
    """
    if not path.is_dir():
        raise ModelLoadError(f"{path}: no such model directory (train one with `tasrih train` "
                             f"or build one with `tasrih build-local-model`)")
    config = path / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"{config}: missing; a model directory needs config.json")
    cfg = json_object(config)
    if cfg.get("model_type") == BASELINE_TYPE:
        from infer.baseline import check_baseline_dir

        check_baseline_dir(path)
        return
    cfg = vars(read_config(path))  # labels, tags, normaliser, sizes: the checks every backend makes

    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelLoadError(f"{weights}: missing; weights are loaded from safetensors only, never pickles")
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:  # checks that the header covers the file exactly
            found = {}
            for key in f.keys():
                sl = f.get_slice(key)
                found[key] = (list(sl.get_shape()), sl.get_dtype())
    except Exception as e:  # safetensors raises several kinds for a corrupt file
        raise ModelLoadError(f"{weights}: corrupt or truncated ({first_line(e)})") from None
    odd = sorted(k for k, (_, dtype) in found.items() if dtype not in _FLOAT_DTYPES)
    if odd:
        raise ModelLoadError(f"{weights}: {odd[0]} holds {found[odd[0]][1]}, not floating-point weights")
    layers = {k.split(".")[3] for k in found if k.startswith("bert.encoder.layer.")}
    if cfg.get("num_hidden_layers") != len(layers):
        raise ModelLoadError(f"{weights}: holds {len(layers)} encoder layers, {config.name} says "
                             f"num_hidden_layers={cfg.get('num_hidden_layers')!r}")
    try:  # the tensors this config builds, on the meta device: no memory, no weights
        with torch.device("meta"):
            expected = {k: list(v.shape) for k, v in TasrihModel(TasrihConfig.from_dict(cfg)).state_dict().items()}
    except Exception as e:
        raise ModelLoadError(f"{config}: not a usable tasrih configuration ({first_line(e)})") from None
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        what = (f"lacks {', '.join(missing[:3])}" if missing else f"has unknown tensors {', '.join(extra[:3])}")
        more = len(missing or extra) - 3
        raise ModelLoadError(f"{weights}: {what}{f' (and {more} more)' if more > 0 else ''}: "
                             f"not the weights of the model {config.name} describes")
    for key, shape in expected.items():
        if found[key][0] != shape:
            raise ModelLoadError(f"{weights}: {key} has shape {found[key][0]}, {config.name} expects {shape}")

    _check_tokenizer(path, cfg["vocab_size"])


def _check_tokenizer(path: Path, vocab_size: int) -> None:
    """The tokenizer files parse, name the special tokens inference needs, and give no id past the embeddings."""
    tok_json, tok_cfg, vocab_txt = path / "tokenizer.json", path / "tokenizer_config.json", path / "vocab.txt"
    if tok_json.is_file():
        tj = json_object(tok_json)
        model = tj.get("model")
        vocab = model.get("vocab") if isinstance(model, dict) else None
        added = tj.get("added_tokens") or []
        if isinstance(vocab, list):  # a unigram model (SentencePiece): [[piece, score], ...] in id order
            vocab = {p[0]: i for i, p in enumerate(vocab) if isinstance(p, list) and p}
        if not isinstance(vocab, dict) or not isinstance(added, list) \
                or not all(isinstance(a, dict) and "content" in a and "id" in a for a in added):
            raise ModelLoadError(f"{tok_json}: holds no token vocabulary (model.vocab, added_tokens)")
        ids = {**vocab, **{a["content"]: a["id"] for a in added}}
        source = tok_json
    elif vocab_txt.is_file():
        try:
            ids = {t: i for i, t in enumerate(vocab_txt.read_text(encoding="utf-8").splitlines())}
        except UnicodeDecodeError as e:
            raise ModelLoadError(f"{vocab_txt}: not UTF-8 text ({first_line(e)})") from None
        source = vocab_txt
    else:
        raise ModelLoadError(f"{tok_json}: missing; the tokenizer must be saved with the model")
    if not tok_cfg.is_file():
        raise ModelLoadError(f"{tok_cfg}: missing; the tokenizer must be saved with the model")
    tc = json_object(tok_cfg)
    bad = [i for i in ids.values() if not isinstance(i, int) or isinstance(i, bool)]
    top = max((i for i in ids.values() if i not in bad), default=-1)
    if bad or top >= vocab_size:
        raise ModelLoadError(f"{source}: has token ids up to {bad[0] if bad else top}, but the model embeds only "
                             f"{vocab_size} (a tokenizer from another model?)")
    for role, default in (("unk_token", "[UNK]"), ("cls_token", "[CLS]"), ("sep_token", "[SEP]"),
                          ("pad_token", "[PAD]")):
        tok = tc.get(role, default)
        tok = tok.get("content") if isinstance(tok, dict) else tok
        if tok not in ids:
            raise ModelLoadError(f"{tok_cfg}: {role} {tok!r} is not in the vocabulary of {source.name}")
