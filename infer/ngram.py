"""The classical baseline's label model run on numpy alone, as a second opinion for a transformer.

bench/quality.py found that averaging the transformer's label probabilities with those of the
classical baseline (hashed character and word n-grams, TF-IDF, logistic regression) wins on dev.
The baseline runs on scikit-learn, which the shipped model must not need, so `tasrih export
--ngram-labels DIR` converts its label model to arrays (``ngram_labels.safetensors``) and this
module computes the same probabilities from them: scikit-learn's analyzers and hashing are
re-implemented here exactly (MurmurHash3, as sklearn.utils.murmurhash3_32), the weights are
stored in float16.

The file is written by the safetensors package at export (the `train` extra) and read with a small
reader of our own (the format is a JSON header and raw little-endian arrays), so inference needs
neither pickle nor the safetensors package.
"""

from __future__ import annotations

import json
import math
import re
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

from infer.labels import LABELS
from infer.normalize import basic_normalize
from infer.predictor import ModelLoadError

FILE = "ngram_labels.safetensors"
_DTYPES = {"F16": np.float16, "F32": np.float32}
_WHITE_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32, signed: what scikit-learn's HashingVectorizer hashes each n-gram with."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed
    n = len(data)
    end = n - n % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = data[end:]
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


@lru_cache(maxsize=1 << 18)
def _bucket(feature: str, n_features: int) -> int:
    h = murmurhash3_32(feature.encode("utf-8"))
    if h == -(1 << 31):  # abs() would overflow in scikit-learn's C code; it special-cases this value
        return (2147483647 - (n_features - 1)) % n_features
    return abs(h) % n_features


def char_wb_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """scikit-learn's analyzer="char_wb": n-grams inside each space-padded word."""
    out = []
    for w in _WHITE_SPACES.sub(" ", text).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:  # a word shorter than n counts once
                break
    return out


def word_ngrams(text: str, lo: int, hi: int) -> list[str]:
    """scikit-learn's analyzer="word" with its default token pattern."""
    tokens = _TOKEN.findall(text)
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), hi + 1):
        out += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return out


ANALYZERS = {"char_wb": char_wb_ngrams, "word": word_ngrams}


def tfidf_rows(texts: list[str], analyzer: str, lo: int, hi: int, n_features: int, idf: np.ndarray
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per text, (bucket indices, values): hashed counts, 1 + log(count), times idf, L2-normalised."""
    rows = []
    for text in texts:
        counts: dict[int, int] = {}
        for g in ANALYZERS[analyzer](text.lower(), lo, hi):
            b = _bucket(g, n_features)
            counts[b] = counts.get(b, 0) + 1
        idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
        val = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[idx]
        norm = math.sqrt(float(val @ val))
        rows.append((idx, val / norm if norm else val))
    return rows


class NgramLabels:
    """Label probabilities (in LABELS order) from the converted baseline label model."""

    def __init__(self, spec: dict, arrays: dict[str, np.ndarray]):
        self.spec = spec
        self.features = [(a, int(lo), int(hi), int(n)) for a, lo, hi, n in spec["features"]]
        self.idf = [arrays[f"idf_{i}"].astype(np.float64) for i in range(len(self.features))]
        self.coef = arrays["coef"].astype(np.float32)  # (labels, sum of n_features), LABELS order
        self.intercept = arrays["intercept"].astype(np.float64)
        self.temperature = float(spec.get("temperature", 1.0))
        self.weight = float(spec["weight"])
        # Averaging two calibrated distributions flattens them; this temperature, fitted on dev at
        # export (`--calibrate`), makes the averaged scores honest probabilities again.
        self.mix_temperature = float(spec.get("mix_temperature", 1.0))

    @classmethod
    def load(cls, path: Path, spec: dict) -> NgramLabels:
        """``spec`` is config.json's "ngram_labels"; the arrays are ``path / FILE``."""
        f = path / FILE
        arrays = read_safetensors(f)
        try:
            model = cls(spec, arrays)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelLoadError(f"{f}: not the n-gram label model config.json describes ({e})") from None
        width = sum(n for *_, n in model.features)
        if model.coef.shape != (len(LABELS), width) or model.intercept.shape != (len(LABELS),) or any(
                idf.shape != (n,) for idf, (*_, n) in zip(model.idf, model.features)):
            raise ModelLoadError(f"{f}: array shapes do not match the n-gram features config.json describes")
        if not 0 < model.weight <= 1:
            raise ModelLoadError(f"{path / 'config.json'}: ngram_labels.weight is {model.weight}, expected (0, 1]")
        return model

    def logits(self, sentences: list[str]) -> np.ndarray:
        texts = [basic_normalize(s) for s in sentences]  # the baseline was trained on this form
        out = np.tile(self.intercept, (len(texts), 1))
        offset = 0
        for (analyzer, lo, hi, n), idf in zip(self.features, self.idf):
            for r, (idx, val) in enumerate(tfidf_rows(texts, analyzer, lo, hi, n, idf)):
                out[r] += self.coef[:, offset + idx] @ val
            offset += n
        return out

    def blend(self, transformer_p: np.ndarray, ngram_p: np.ndarray) -> np.ndarray:
        """The averaged label probabilities, calibrated with the mixture's temperature."""
        p = (1 - self.weight) * transformer_p + self.weight * ngram_p
        if self.mix_temperature == 1.0:
            return p
        z = np.log(np.clip(p, 1e-12, 1.0)) / self.mix_temperature
        z -= z.max(-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(-1, keepdims=True)

    def probs(self, sentences: list[str]) -> np.ndarray:
        z = self.logits(sentences) / self.temperature
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(1, keepdims=True)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file (F16/F32 only): an 8-byte header length, a JSON header, data."""
    try:
        raw = path.read_bytes()
        (size,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + size])
        data = memoryview(raw)[8 + size:]
        out = {}
        for name, t in header.items():
            if name == "__metadata__":
                continue
            start, end = t["data_offsets"]
            out[name] = np.frombuffer(data[start:end], dtype=np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<")
                                      ).reshape(t["shape"])
        return out
    except OSError as e:
        raise ModelLoadError(f"{path}: missing or unreadable ({e.strerror})") from None
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(f"{path}: not a safetensors file of float16/float32 arrays ({e})") from None


def from_baseline(baseline: Path, weight: float = 0.5) -> tuple[dict, dict[str, np.ndarray]]:
    """(config.json's "ngram_labels", the arrays) converted from a classical baseline directory.

    Reads its skops file, so it needs scikit-learn and skops (the `train` extra); the result does not.
    """
    from infer.baseline import load_skops
    from infer.predictor import json_object

    try:
        model = load_skops(baseline / "label_model.skops")
    except ImportError:
        raise ModelLoadError(f"{baseline}: converting its label model needs scikit-learn and skops: "
                             f"pip install scikit-learn skops") from None
    config = json_object(baseline / "config.json")
    features, arrays = [], {}
    for i, (_, pipe) in enumerate(model["vectorizer"].transformer_list):
        hasher, tfidf = pipe.steps[0][1], pipe.steps[1][1]
        p, t = hasher.get_params(), tfidf.get_params()
        # The re-implementation covers the configuration train/baseline.py uses, and refuses others.
        expected = {"alternate_sign": False, "norm": None, "lowercase": True, "preprocessor": None, "tokenizer": None,
                    "stop_words": None, "strip_accents": None, "binary": False, "token_pattern": _TOKEN.pattern}
        wrong = {k: p[k] for k, v in expected.items() if p[k] != v}
        if wrong or p["analyzer"] not in ANALYZERS or t != {"norm": "l2", "smooth_idf": t["smooth_idf"],
                                                             "sublinear_tf": True, "use_idf": True}:
            raise ModelLoadError(f"{baseline}: a vectorizer this converter does not reproduce "
                                 f"({wrong or p['analyzer']})")
        features.append([p["analyzer"], p["ngram_range"][0], p["ngram_range"][1], p["n_features"]])
        arrays[f"idf_{i}"] = tfidf.idf_.astype(np.float16)
    clf = model["label"]
    order = [list(clf.classes_).index(lab) for lab in LABELS]
    arrays["coef"] = clf.coef_[order].astype(np.float16)
    arrays["intercept"] = clf.intercept_[order].astype(np.float32)
    spec = {"weight": weight, "temperature": float(config.get("temperature", 1.0)), "features": features,
            "source": str(baseline)}
    return spec, arrays
