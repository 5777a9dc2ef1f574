"""Load a saved tasrih model and classify sentences and articles.

    from infer.predict import Tasrih
    model = Tasrih.from_pretrained("models/default")
    for row in model.classify_text(open("article.txt").read(), doc="article"):
        print(row["label"], row["actor"])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

from infer.features import Segment, encode, first_token_positions, spans_from_tags
from infer.labels import CLAIMS, LABELS
from infer.model import TasrihConfig, TasrihModel
from infer.normalize import Normalizer
from infer.text import split_sentences

# The model that ships with the package, used when no --model is given.
DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"


def make_runner(backend: str, path: Path, model: TasrihModel):
    """The callable that turns (input_ids, attention_mask) into (label, also, span) logits."""
    return TorchRunner(model)


class ModelLoadError(Exception):
    """A model directory that cannot be used; the message names the file at fault."""


def check_model_dir(path: Path) -> None:
    """Fail early, with the file at fault, on a missing, truncated or tampered model directory."""
    if not path.is_dir():
        raise ModelLoadError(f"{path}: no such model directory (train one with `tasrih train` "
                             f"or build one with `tasrih build-local-model`)")
    config = path / "config.json"
    if not config.is_file():
        raise ModelLoadError(f"{config}: missing; a model directory needs config.json")
    try:
        cfg = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{config}: not valid JSON ({e})") from None
    if cfg.get("model_type") != "tasrih":
        raise ModelLoadError(f"{config}: model_type is {cfg.get('model_type')!r}, not 'tasrih' "
                             f"(a plain encoder must be fine-tuned with `tasrih train` first)")
    labels = [cfg.get("id2label", {}).get(str(i)) for i in range(len(cfg.get("id2label", {})))]
    if labels != list(LABELS):
        raise ModelLoadError(f"{config}: id2label is {labels}, expected {list(LABELS)}")
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelLoadError(f"{weights}: missing; weights are loaded from safetensors only, never pickles")
    try:
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            for key in f.keys():  # reading every tensor header catches truncation
                f.get_slice(key)
    except Exception as e:  # safetensors raises several kinds for a corrupt file
        raise ModelLoadError(f"{weights}: corrupt or truncated ({e})") from None
    if not (path / "tokenizer.json").is_file() and not (path / "vocab.txt").is_file():
        raise ModelLoadError(f"{path / 'tokenizer.json'}: missing; the tokenizer must be saved with the model")


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


BACKENDS = ("torch",)


class Tasrih:
    """A trained tasrih model with its tokenizer, normaliser and the backend that runs it."""

    def __init__(self, model: TasrihModel, tokenizer, name: str = "tasrih", runner=None, backend: str = "torch"):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.backend = backend
        self.runner = runner or TorchRunner(self.model)
        self.config: TasrihConfig = model.config
        self.normalizer = Normalizer(self.config.normalizer)
        self.max_length = min(self.config.max_seq_length, self.config.max_position_embeddings)

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = None,
                        backend: str = "torch") -> Tasrih:
        """Load a saved model; ``backend`` picks how it runs (see BACKENDS)."""
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # loading a small model needs no progress bar on stderr
        if backend not in BACKENDS:
            raise ModelLoadError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        path = Path(path) if path is not None else DEFAULT_MODEL
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
            label_p = label_logits.float().softmax(-1).cpu()
            also_p = also_logits.float().sigmoid().cpu()
            span_p = span_logits.float().softmax(-1).cpu()
            for r, i in enumerate(idx):
                results[i] = (label_p[r], also_p[r], span_p[r])
        return results

    def predict(self, sentences: list[str], batch_size: int = 32) -> list[dict]:
        """Label, `also`, scores and spans for each sentence (no document context)."""
        if not sentences:
            return []
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
            also_p = torch.stack([outputs[i][1] for i in segs]).max(0).values
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

    def classify_sentences(self, sentences: Iterable[str], doc: str = "input", batch_size: int = 32,
                           chunk: int = 256) -> Iterator[dict]:
        """Classify sentences of one document in order, streaming in chunks to bound memory.

        `actor_resolved` follows the document: a claim whose actor is only a
        pronoun or the verb's person takes the last actor named before it.
        """
        last_actor = None
        index = 0
        buf: list[str] = []

        def flush():
            nonlocal last_actor, index
            for row in self.predict(buf, batch_size):
                resolved = None
                if row["label"] != "none":
                    resolved = row["actor"]["text"] if row["actor"] else last_actor
                    if row["actor"]:
                        last_actor = row["actor"]["text"]
                yield {"doc": doc, "sentence_index": index, "text": row["text"], "label": row["label"],
                       "scores": row["scores"], "also": row["also"], "actor": row["actor"],
                       "actor_resolved": resolved, "actor_code": None, "target": row["target"],
                       "windows": row["windows"]}
                index += 1
            buf.clear()

        for s in sentences:
            buf.append(s)
            if len(buf) >= chunk:
                yield from flush()
        if buf:
            yield from flush()

    def classify_text(self, text: str, doc: str = "input", batch_size: int = 32) -> Iterator[dict]:
        """Split an article into sentences (ANNOTATION.md section 1) and classify each."""
        return self.classify_sentences((p.text for p in split_sentences(text)), doc, batch_size)
