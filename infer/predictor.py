"""The one interface every tasrih model offers, and what all of them share. Imports no torch.

    predictor.predict(sentences)            -> one dict per sentence (label, scores, also, spans)
    predictor.classify_text(text, doc=...)  -> classify rows of an article (infer/document.py)

Three kinds of predictor implement it: the transformer on ONNX Runtime or PyTorch
(``infer.transformer.Tasrih``, the runner decides which) and the classical baseline
(``infer.baseline.BaselineModel``). ``infer.predict.Tasrih.from_pretrained`` picks one for a
directory; the CLI, the server and evaluation only ever see this interface.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from infer.document import DocumentContext
from infer.text import split_sentences

# The model that ships with the package, used when no --model is given.
DEFAULT_MODEL = Path(__file__).resolve().parent / "default_model"
BASELINE_TYPE = "tasrih-baseline"


class ModelLoadError(Exception):
    """A model directory that cannot be used; the message names the file at fault."""


def first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def json_object(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{path}: not valid JSON ({first_line(e)})") from None
    except OSError as e:
        raise ModelLoadError(f"{path}: cannot be read ({e.strerror})") from None
    if not isinstance(obj, dict):
        raise ModelLoadError(f"{path}: not a JSON object")
    return obj


def model_type(path: Path) -> str | None:
    """The model_type a directory declares, or None when there is nothing readable to ask."""
    try:
        return json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None  # the loaders give the precise message


def check_sentences(sentences) -> list[str]:
    """The Python API refuses what the CLI and the server refuse: a sentence must hold some text.

    One string is one sentence (not a sequence of characters); returns the list to classify.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    elif isinstance(sentences, (bytes, bytearray)) or not isinstance(sentences, Iterable):
        raise TypeError(f"predict() takes a sentence (str) or a list of sentences, not {type(sentences).__name__}")
    sentences = list(sentences)
    for i, s in enumerate(sentences):
        if not isinstance(s, str) or not s.strip():
            raise ValueError(f"sentence {i} is {'empty' if isinstance(s, str) else type(s).__name__}: "
                             f"there is nothing to classify")
    return sentences


class Predictor:
    """What every tasrih model offers on top of ``predict``: documents in, classify rows out."""

    name = "tasrih"
    backend = "none"

    def predict(self, sentences: list[str] | str, batch_size: int = 32) -> list[dict]:
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
        """Split an article into sentences (ANNOTATION.md section 1) and classify each.

        Refuses text with nothing to classify (ValueError), as the CLI and ``predict`` do.
        """
        if not isinstance(text, str):
            raise TypeError(f"classify_text() takes the article as a str, not {type(text).__name__}")
        if not text.strip():
            raise ValueError("the text is empty: there is nothing to classify")
        return self.classify_sentences((p.text for p in split_sentences(text)), doc, batch_size)
