"""Load a saved tasrih model and classify sentences and articles.

    from infer.predict import Tasrih
    model = Tasrih.from_pretrained()            # the shipped model; or a run directory
    for row in model.classify_text(open("article.txt").read(), doc="article"):
        print(row["label"], row["actor"])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

from infer.document import DocumentContext
from infer.fast import BACKENDS as FAST_BACKENDS
from infer.features import Segment, encode, first_token_positions, spans_from_tags
from infer.labels import CLAIMS, LABELS, SPAN_TAGS
from infer.model import TasrihConfig, TasrihModel
from infer.normalize import Normalizer
from infer.text import split_sentences

# The model that ships with the package, used when no --model is given.
DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"


def make_runner(backend: str, path: Path, model: TasrihModel):
    """The callable that turns (input_ids, attention_mask) into (label, also, span) logits."""
    if backend == "torch":
        return TorchRunner(model)
    from infer.fast import make_runner as make_fast_runner  # int8 and ONNX Runtime backends

    return make_fast_runner(backend, path, model)


class ModelLoadError(Exception):
    """A model directory that cannot be used; the message names the file at fault."""


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def _json_object(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{path}: not valid JSON ({_first_line(e)})") from None
    except OSError as e:
        raise ModelLoadError(f"{path}: cannot be read ({e.strerror})") from None
    if not isinstance(obj, dict):
        raise ModelLoadError(f"{path}: not a JSON object")
    return obj


# Floating-point dtypes as safetensors names them; anything else in a model file has been tampered with.
_FLOAT_DTYPES = {"F64", "F32", "F16", "BF16"}


BASELINE_TYPE = "tasrih-baseline"


def _model_type(path: Path) -> str | None:
    """The model_type a directory declares, or None when there is nothing readable to ask."""
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None  # check_model_dir gives the precise message


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
    cfg = _json_object(config)
    if cfg.get("model_type") == BASELINE_TYPE:
        _check_baseline_dir(path, cfg)
        return
    if cfg.get("model_type") != "tasrih":
        raise ModelLoadError(f"{config}: model_type is {cfg.get('model_type')!r}, not 'tasrih' "
                             f"(a plain encoder must be fine-tuned with `tasrih train` first)")
    id2label = cfg.get("id2label")
    if not isinstance(id2label, dict):
        raise ModelLoadError(f"{config}: id2label is {type(id2label).__name__}, expected an object "
                             f"{{\"0\": \"none\", ...}} of {len(LABELS)} labels")
    labels = [id2label.get(str(i)) for i in range(len(id2label))]
    if labels != list(LABELS):
        raise ModelLoadError(f"{config}: id2label is {labels}, expected {list(LABELS)}")
    for key, want in (("claims", list(CLAIMS)), ("span_tags", list(SPAN_TAGS))):
        if cfg.get(key, want) != want:
            raise ModelLoadError(f"{config}: {key} is {cfg.get(key)}, expected {want}")
    norm = cfg.get("normalizer", "basic")
    if not isinstance(norm, str) or not (norm == "basic" or norm.startswith("arabert:")):
        raise ModelLoadError(f"{config}: normalizer is {norm!r}, expected 'basic' or 'arabert:<model name>'")
    seq = cfg.get("max_seq_length", 128)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 3:
        raise ModelLoadError(f"{config}: max_seq_length is {seq!r}, expected an integer of at least 3")

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
        raise ModelLoadError(f"{weights}: corrupt or truncated ({_first_line(e)})") from None
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
        raise ModelLoadError(f"{config}: not a usable tasrih configuration ({_first_line(e)})") from None
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


def _check_baseline_dir(path: Path, cfg: dict) -> None:
    """The classical baseline: its label set, its skops file and its CRF weights (JSON)."""
    config = path / "config.json"
    id2label = cfg.get("id2label")
    labels = [id2label.get(str(i)) for i in range(len(id2label))] if isinstance(id2label, dict) else id2label
    if labels != list(LABELS):
        raise ModelLoadError(f"{config}: id2label is {labels}, expected {list(LABELS)}")
    skops_file = path / "label_model.skops"
    if not skops_file.is_file():
        raise ModelLoadError(f"{skops_file}: missing; a baseline model directory needs it")
    crf = _json_object(path / "crf.json") if (path / "crf.json").is_file() else None
    if crf is None or not {"tags", "state", "transitions"} <= set(crf):
        raise ModelLoadError(f"{path / 'crf.json'}: missing or not the CRF weights of a baseline model")


def _check_tokenizer(path: Path, vocab_size: int) -> None:
    """The tokenizer files parse, name the special tokens inference needs, and give no id past the embeddings."""
    tok_json, tok_cfg, vocab_txt = path / "tokenizer.json", path / "tokenizer_config.json", path / "vocab.txt"
    if tok_json.is_file():
        tj = _json_object(tok_json)
        model = tj.get("model")
        vocab = model.get("vocab") if isinstance(model, dict) else None
        added = tj.get("added_tokens") or []
        if not isinstance(vocab, dict) or not isinstance(added, list) \
                or not all(isinstance(a, dict) and "content" in a and "id" in a for a in added):
            raise ModelLoadError(f"{tok_json}: holds no token vocabulary (model.vocab, added_tokens)")
        ids = {**vocab, **{a["content"]: a["id"] for a in added}}
        source = tok_json
    elif vocab_txt.is_file():
        try:
            ids = {t: i for i, t in enumerate(vocab_txt.read_text(encoding="utf-8").splitlines())}
        except UnicodeDecodeError as e:
            raise ModelLoadError(f"{vocab_txt}: not UTF-8 text ({_first_line(e)})") from None
        source = vocab_txt
    else:
        raise ModelLoadError(f"{tok_json}: missing; the tokenizer must be saved with the model")
    if not tok_cfg.is_file():
        raise ModelLoadError(f"{tok_cfg}: missing; the tokenizer must be saved with the model")
    tc = _json_object(tok_cfg)
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


def pick_device(device: str | None = None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class TorchRunner:
    """Runs a batch through the PyTorch model; other backends (infer/fast.py) offer the same call."""

    def __init__(self, model: TasrihModel):
        self.model = model.eval()

    @torch.inference_mode()
    def __call__(self, ids: torch.Tensor, mask: torch.Tensor):
        out = self.model(input_ids=ids.to(self.model.device), attention_mask=mask.to(self.model.device))
        return out.label_logits, out.also_logits, out.span_logits


# torch (float32), int8 (the recommended int8 variant), onnx-int8, onnx, torch-int8: see infer/fast.py.
BACKENDS = FAST_BACKENDS


def check_sentences(sentences: list[str]) -> None:
    """The Python API refuses what the CLI and the server refuse: a sentence must hold some text."""
    for i, s in enumerate(sentences):
        if not isinstance(s, str) or not s.strip():
            raise ValueError(f"sentence {i} is {'empty' if isinstance(s, str) else type(s).__name__}: "
                             f"there is nothing to classify")


class Predictor:
    """What every tasrih model offers on top of ``predict``: documents in, classify rows out."""

    name = "tasrih"
    backend = "torch"

    def predict(self, sentences: list[str], batch_size: int = 32) -> list[dict]:
        raise NotImplementedError

    def classify_sentences(self, sentences: Iterable[str], doc: str = "input", batch_size: int = 32,
                           chunk: int = 256) -> Iterator[dict]:
        """Classify the sentences of one document in order, streaming in chunks to bound memory."""
        context = DocumentContext(doc)
        buf: list[str] = []
        for s in sentences:
            buf.append(s)
            if len(buf) >= chunk:
                yield from map(context.row, self.predict(buf, batch_size))
                buf = []
        if buf:
            yield from map(context.row, self.predict(buf, batch_size))

    def classify_text(self, text: str, doc: str = "input", batch_size: int = 32) -> Iterator[dict]:
        """Split an article into sentences (ANNOTATION.md section 1) and classify each."""
        return self.classify_sentences((p.text for p in split_sentences(text)), doc, batch_size)


class Tasrih(Predictor):
    """A trained tasrih model with its tokenizer, normaliser and the backend that runs it.

    ``Tasrih.from_pretrained`` is the one entry point for every saved model: a
    directory of the classical baseline loads as ``infer.baseline.BaselineModel``.
    """

    def __init__(self, model: TasrihModel, tokenizer, name: str = "tasrih", runner=None, backend: str = "torch"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.backend = backend
        self.runner = runner or TorchRunner(self.model)
        self.config: TasrihConfig = model.config
        self.normalizer = Normalizer(self.config.normalizer)
        self.max_length = min(self.config.max_seq_length, self.config.max_position_embeddings)
        # Fitted on dev after training (train/metrics.py): makes the label scores honest probabilities.
        self.temperature = float(getattr(self.config, "label_temperature", 1.0) or 1.0)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = None,
                        backend: str = "torch") -> Predictor:
        """Load a saved model; ``backend`` picks how a transformer model runs (see BACKENDS)."""
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # loading a small model needs no progress bar on stderr
        if backend not in BACKENDS:
            raise ModelLoadError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        path = Path(path) if path is not None else DEFAULT_MODEL
        if _model_type(path) == BASELINE_TYPE:
            from infer.baseline import BaselineModel

            if backend != "torch":
                raise ModelLoadError(f"{path}: backend {backend!r} is for transformer models; this is the "
                                     f"classical baseline, which runs as it is")
            return BaselineModel.load(path)
        check_model_dir(path)
        try:
            model = TasrihModel.from_pretrained(str(path))
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        except (OSError, ValueError, RuntimeError) as e:
            raise ModelLoadError(f"{path}: cannot be loaded ({str(e).splitlines()[0]})") from None
        model = model.to(pick_device(device))
        return cls(model, tokenizer, name=path.name, runner=make_runner(backend, path, model), backend=backend)

    def _forward(self, segments: list[Segment], batch_size: int):
        """Run segments through the model, shortest first so each batch pads little."""
        order = sorted(range(len(segments)), key=lambda i: len(segments[i].input_ids))
        results: list = [None] * len(segments)
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            width = max(len(segments[i].input_ids) for i in idx)
            ids = torch.full((len(idx), width), self.tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                n = len(segments[i].input_ids)
                ids[r, :n] = torch.tensor(segments[i].input_ids)
                mask[r, :n] = 1
            label_logits, also_logits, span_logits = self.runner(ids, mask)
            label_p = (label_logits.float() / self.temperature).softmax(-1).cpu()
            also_p = also_logits.float().sigmoid().cpu()
            span_p = span_logits.float().softmax(-1).cpu()
            for r, i in enumerate(idx):
                results[i] = (label_p[r], also_p[r], span_p[r])
        return results

    def predict(self, sentences: list[str], batch_size: int = 32) -> list[dict]:
        """Label, `also`, scores and spans for each sentence (no document context)."""
        if not sentences:
            return []
        check_sentences(sentences)
        words, segments = encode(self.tokenizer, self.normalizer, sentences, self.max_length)
        outputs = self._forward(segments, batch_size)
        per_sentence: list[list[int]] = [[] for _ in sentences]
        for i, seg in enumerate(segments):
            per_sentence[seg.sentence].append(i)
        tags = self.config.span_tags
        rows = []
        for si, text in enumerate(sentences):
            segs = per_sentence[si]
            # A sentence longer than the model's window is read in several windows: average their votes.
            label_p = torch.stack([outputs[i][0] for i in segs]).mean(0)
            also_p = torch.stack([outputs[i][1] for i in segs]).amax(0)
            word_tags = ["O"] * len(words[si])
            word_prob = [0.0] * len(words[si])
            for i in segs:
                span_p = outputs[i][2]
                for w, pos in first_token_positions(segments[i]).items():
                    p, t = span_p[pos].max(-1)
                    word_tags[w], word_prob[w] = tags[int(t)], float(p)
            label = LABELS[int(label_p.argmax())]
            row = {
                "text": text,
                "label": label,
                "scores": {name: round(float(p), 4) for name, p in zip(LABELS, label_p)},
                "also": [] if label == "none" else
                [c for c, p in zip(CLAIMS, also_p) if p >= 0.5 and c != label],
                "actor": None,
                "target": None,
                "windows": len(segs),
            }
            if label != "none":  # ANNOTATION.md 4: a sentence with no claim has no actor or target
                row["actor"] = spans_from_tags(word_tags, word_prob, words[si], text, "actor")
                row["target"] = spans_from_tags(word_tags, word_prob, words[si], text, "target")
            rows.append(row)
        return rows

