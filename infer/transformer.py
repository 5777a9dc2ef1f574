"""The transformer predictor: tokenise, run the encoder through a runner, decode labels and spans.

It works on numpy arrays: a *runner* maps (input_ids, attention_mask) to (label, also, span)
logits. ``OrtRunner`` (here) runs an exported ONNX graph with onnxruntime, which is how the
shipped model runs: no torch. The PyTorch runners live in infer/torch_backend.py and are
imported only when a torch backend is asked for.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from infer.features import Segment, encode, first_token_positions, spans_from_tags
from infer.labels import CLAIMS, LABELS, SPAN_ROLES, SPAN_TAGS
from infer.ngram import FILE as NGRAM_FILE
from infer.ngram import NgramLabels
from infer.normalize import Normalizer
from infer.predictor import ModelLoadError, Predictor, check_sentences, first_line, json_object

OUTPUTS = ("label_logits", "also_logits", "span_logits")
ARTIFACTS = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
WEIGHTS_KEY = "tasrih.weights_sha256"


class Tokenizer:
    """tokenizer.json (the `tokenizers` library) with the few calls infer/features.py makes.

    Loads in milliseconds and needs no transformers; the special tokens come from
    tokenizer_config.json, as transformers reads them.
    """

    def __init__(self, path: Path):
        from tokenizers import Tokenizer as HFTokenizer

        self._tok = HFTokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.no_truncation()
        roles = json_object(path / "tokenizer_config.json") if (path / "tokenizer_config.json").is_file() else {}
        for role, default in (("unk", "[UNK]"), ("cls", "[CLS]"), ("sep", "[SEP]"), ("pad", "[PAD]")):
            tok = roles.get(f"{role}_token", default)
            tok = tok.get("content") if isinstance(tok, dict) else tok
            tid = self._tok.token_to_id(tok)
            if tid is None:
                raise ModelLoadError(f"{path / 'tokenizer_config.json'}: {role}_token {tok!r} is not in the "
                                     f"vocabulary of tokenizer.json")
            setattr(self, f"{role}_token_id", tid)

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def __call__(self, texts: list[str], add_special_tokens: bool = False) -> dict:
        if isinstance(texts, str):
            return {"input_ids": self._tok.encode(texts, add_special_tokens=add_special_tokens).ids}
        encs = self._tok.encode_batch(texts, add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encs]}


class OrtRunner:
    """ONNX Runtime on the CPU, one intra-op thread per physical core."""

    def __init__(self, onnx_path: Path, threads: int | None = None, spinning: bool = False):
        import onnxruntime as ort

        from infer.threads import physical_cores

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
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, ids: np.ndarray, mask: np.ndarray):
        feed = {"input_ids": np.asarray(ids, dtype=np.int64), "attention_mask": np.asarray(mask, dtype=np.int64)}
        return tuple(self.session.run(list(OUTPUTS), feed))


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


class Tasrih(Predictor):
    """A trained tasrih transformer: its tokenizer, normaliser and the runner that computes logits.

    ``config`` is the model's config.json (an object with attributes: a TasrihConfig or the
    parsed JSON). ``infer.predict.Tasrih.from_pretrained`` builds one for a directory.
    """

    def __init__(self, config, tokenizer, runner, name: str = "tasrih", backend: str = "onnx-int8",
                 ngram: NgramLabels | None = None):
        self.config = config
        # A second opinion on the label (infer/ngram.py): its probabilities are averaged in.
        self.ngram = ngram
        self.tokenizer = tokenizer
        self.runner = runner
        self.name = name
        self.backend = backend
        self.normalizer = Normalizer(getattr(config, "normalizer", "basic"))
        self.max_length = min(getattr(config, "max_seq_length", 128), config.max_position_embeddings)
        self.prefix = getattr(config, "text_prefix", "") or ""
        self.span_tags = list(getattr(config, "span_tags", SPAN_TAGS))
        # Fitted on dev after training (train/metrics.py): makes the label scores honest probabilities.
        self.temperature = float(getattr(config, "label_temperature", 1.0) or 1.0)
        # Also fitted on dev: a span whose mean tag probability is below its role's threshold is dropped.
        self.span_thresholds = dict(getattr(config, "span_thresholds", None) or {})

    def _forward(self, segments: list[Segment], batch_size: int):
        """Run segments through the model, shortest first so each batch pads little."""
        order = sorted(range(len(segments)), key=lambda i: len(segments[i].input_ids))
        results: list = [None] * len(segments)
        pad = self.tokenizer.pad_token_id
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            width = max(len(segments[i].input_ids) for i in idx)
            ids = np.full((len(idx), width), pad, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(segments[i].input_ids)
                ids[r, :n] = segments[i].input_ids
                mask[r, :n] = 1
            label_logits, also_logits, span_logits = (np.asarray(o, dtype=np.float32) for o in self.runner(ids, mask))
            label_p = _softmax(label_logits / self.temperature)
            also_p = 1 / (1 + np.exp(-also_logits))
            span_p = _softmax(span_logits)
            best_tag, best_p = span_p.argmax(-1), span_p.max(-1)
            for r, i in enumerate(idx):
                results[i] = (label_p[r], also_p[r], best_tag[r], best_p[r])
        return results

    def predict(self, sentences: list[str] | str, batch_size: int = 32, span_scores: bool = False) -> list[dict]:
        """Label, `also`, scores and spans for each sentence (no document context).

        One string is one sentence; an empty list gives an empty list. ``span_scores`` gives every
        span whatever its score, with the score (how the thresholds are fitted on dev).
        """
        sentences = check_sentences(sentences)
        if not sentences:
            return []
        words, segments = encode(self.tokenizer, self.normalizer, sentences, self.max_length, self.prefix)
        outputs = self._forward(segments, batch_size)
        ngram_p = self.ngram.probs(sentences) if self.ngram is not None else None
        per_sentence: list[list[int]] = [[] for _ in sentences]
        for i, seg in enumerate(segments):
            per_sentence[seg.sentence].append(i)
        tags = self.span_tags
        rows = []
        for si, text in enumerate(sentences):
            segs = per_sentence[si]
            # A sentence longer than the model's window is read in several windows: average their votes.
            label_p = outputs[segs[0]][0] if len(segs) == 1 else np.mean([outputs[i][0] for i in segs], 0)
            if ngram_p is not None:
                label_p = self.ngram.blend(label_p, ngram_p[si])
            label = LABELS[int(label_p.argmax())]
            row = {"text": text, "label": label,
                   "scores": {name: round(float(p), 4) for name, p in zip(LABELS, label_p)},
                   "also": [], "actor": None, "target": None, "windows": len(segs)}
            if label != "none":  # ANNOTATION.md 4: a sentence with no claim has no actor, target or `also`
                also_p = np.max([outputs[i][1] for i in segs], 0)
                row["also"] = [c for c, p in zip(CLAIMS, also_p) if p >= 0.5 and c != label]
                word_tags = ["O"] * len(words[si])
                word_prob = [0.0] * len(words[si])
                for i in segs:
                    _, _, best_tag, best_p = outputs[i]
                    for w, pos in first_token_positions(segments[i]).items():
                        word_tags[w], word_prob[w] = tags[int(best_tag[pos])], float(best_p[pos])
                for role in SPAN_ROLES:
                    row[role] = spans_from_tags(word_tags, word_prob, words[si], text, role, with_score=span_scores,
                                                min_score=0.0 if span_scores else self.span_thresholds.get(role, 0.0))
            rows.append(row)
        return rows


def read_config(path: Path) -> SimpleNamespace:
    """config.json of a tasrih transformer, checked enough to run it (labels, tags, sizes)."""
    config = path / "config.json"
    cfg = json_object(config)
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
    thresholds = cfg.get("span_thresholds") or {}
    if not isinstance(thresholds, dict) or not all(
            role in SPAN_ROLES and isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t <= 1
            for role, t in thresholds.items()):
        raise ModelLoadError(f"{config}: span_thresholds is {thresholds!r}, expected an object of numbers from 0 "
                             f"to 1 for {' and '.join(SPAN_ROLES)}")
    norm = cfg.get("normalizer", "basic")
    if not isinstance(norm, str) or not (norm == "basic" or norm.startswith("arabert:")):
        raise ModelLoadError(f"{config}: normalizer is {norm!r}, expected 'basic' or 'arabert:<model name>'")
    for key, default in (("max_seq_length", 128), ("max_position_embeddings", 512)):
        seq = cfg.get(key, default)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 3:
            raise ModelLoadError(f"{config}: {key} is {seq!r}, expected an integer of at least 3")
        cfg[key] = seq
    return SimpleNamespace(**cfg)


def ngram_spec(path: Path, config) -> dict | None:
    """config.json's "ngram_labels", checked, with its arrays file present (None when it names none)."""
    spec = getattr(config, "ngram_labels", None)
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("features"), list):
        raise ModelLoadError(f"{path / 'config.json'}: ngram_labels is {spec!r}, expected the object "
                             f"`tasrih export --ngram-labels` writes")
    if not (path / NGRAM_FILE).is_file():
        raise ModelLoadError(f"{path / NGRAM_FILE}: missing; config.json averages the labels with it")
    return spec


def load_ngram(path: Path, config) -> NgramLabels | None:
    """The n-gram label model that config.json's "ngram_labels" names (None when it names none)."""
    spec = ngram_spec(path, config)
    return NgramLabels.load(path, spec) if spec is not None else None


def check_onnx_files(path: Path, backend: str) -> None:
    """The graph of ``backend`` and the tokenizer are in ``path``; a missing graph names the export to run."""
    onnx_path = path / ARTIFACTS[backend]
    flag = " --int8" if backend == "onnx-int8" else ""
    if not onnx_path.is_file():
        raise ModelLoadError(f"{onnx_path}: missing; backend {backend!r} runs the exported graph: "
                             f"run `tasrih export --model {path}{flag}` first")
    if not (path / "tokenizer.json").is_file():
        raise ModelLoadError(f"{path / 'tokenizer.json'}: missing; the tokenizer must be saved with the model")


def load_onnx(path: Path, backend: str, digest: str | None = None) -> Tasrih:
    """A predictor on the ONNX graph of ``backend`` in ``path``.

    ``digest``: the SHA-256 of the directory's model.safetensors, when it has one; a graph
    exported from other weights (the model was retrained since) is refused, not silently run.
    A directory with the graph and no safetensors (the shipped form) runs the graph as it is.
    """
    config = read_config(path)
    check_onnx_files(path, backend)
    onnx_path = path / ARTIFACTS[backend]
    flag = " --int8" if backend == "onnx-int8" else ""
    try:
        tokenizer = Tokenizer(path)
    except ModelLoadError:
        raise
    except Exception as e:  # the tokenizers library's own parse errors
        raise ModelLoadError(f"{path / 'tokenizer.json'}: not a usable tokenizer ({first_line(e)})") from None
    try:
        runner = OrtRunner(onnx_path)
    except ImportError:
        raise ModelLoadError(f"backend {backend!r} needs onnxruntime: pip install onnxruntime") from None
    except Exception as e:  # onnxruntime's own errors (InvalidProtobuf, InvalidGraph, Fail, ...)
        raise ModelLoadError(f"{onnx_path}: onnxruntime cannot load it ({first_line(e)})") from None
    if digest is not None and runner.metadata.get(WEIGHTS_KEY) != digest:
        raise ModelLoadError(f"{onnx_path}: exported from other weights than {path / 'model.safetensors'} "
                             f"(retrained since?); run `tasrih export --model {path}{flag}` again")
    vocab = tokenizer.vocab_size
    if vocab > config.vocab_size:
        raise ModelLoadError(f"{path / 'tokenizer.json'}: has token ids up to {vocab - 1}, but the model embeds "
                             f"only {config.vocab_size} (a tokenizer from another model?)")
    return Tasrih(config, tokenizer, runner, name=path.name, backend=backend, ngram=load_ngram(path, config))
