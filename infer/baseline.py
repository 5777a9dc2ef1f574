"""The classical candidate: TF-IDF + logistic regression for labels, a linear-chain CRF for spans.

Nothing here is unpickled: the scikit-learn part is stored with skops (types
checked against an allow-list before loading) and the CRF as plain JSON
weights decoded with our own Viterbi, so a model directory is data, not code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from infer.gazetteer import gazetteer_stems, stem
from infer.features import spans_from_tags
from infer.labels import CLAIMS, LABELS
from infer.normalize import basic_normalize
from infer.predictor import BASELINE_TYPE, ModelLoadError, Predictor, check_sentences, json_object
from infer.text import Piece, split_words

MODEL_TYPE = BASELINE_TYPE
SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def sentence_features(words: list[Piece]) -> list[list[str]]:
    """CRF attributes of each word: its form, affixes, gazetteer hit and neighbours.

    Forms and stems are computed once per word, not once per neighbour that looks at them.
    """
    gaz = gazetteer_stems()
    forms = [basic_normalize(w.text) for w in words]
    stems = [stem(w.text) for w in words]

    def form(j: int) -> str:
        return "<s>" if j < 0 else "</s>" if j >= len(words) else forms[j]

    out = []
    for i, (w, s) in enumerate(zip(forms, stems)):
        feats = [f"w={w}", f"s={s}", f"p2={w[:2]}", f"p3={w[:3]}", f"x2={w[-2:]}", f"x3={w[-3:]}",
                 f"w-1={form(i - 1)}", f"w+1={form(i + 1)}", f"w-2={form(i - 2)}", f"w+2={form(i + 2)}",
                 f"s-1={stems[i - 1] if i else '<s>'}", f"pos={min(i, 10)}"]
        if s in gaz:
            feats.append("gaz")
        if i and stems[i - 1] in gaz:
            feats.append("gaz-1")
        if not w[:1].isalnum():
            feats.append("punct")
        if w[:1].isdigit():
            feats.append("digit")
        out.append(feats)
    return out


class LinearCRF:
    """Decode with the weights of a trained linear-chain CRF (exported by train/baseline.py)."""

    def __init__(self, weights: dict):
        self.tags: list[str] = weights["tags"]
        index = {t: k for k, t in enumerate(self.tags)}
        self.transitions = np.zeros((len(self.tags), len(self.tags)))
        for a, row in weights["transitions"].items():
            for b, w in row.items():
                self.transitions[index[a], index[b]] = w
        self.state: dict[str, np.ndarray] = {}
        for attr, row in weights["state"].items():
            vec = np.zeros(len(self.tags))
            for t, w in row.items():
                vec[index[t]] = w
            self.state[attr] = vec

    def emissions(self, feats: list[list[str]]) -> np.ndarray:
        out = np.zeros((len(feats), len(self.tags)))
        for i, fs in enumerate(feats):
            for f in fs:
                v = self.state.get(f)
                if v is not None:
                    out[i] += v
        return out

    def decode(self, feats: list[list[str]]) -> tuple[list[str], list[float]]:
        """Viterbi tags, and for each word the softmax of its emission scores for the chosen tag."""
        if not feats:
            return [], []
        em = self.emissions(feats)
        score = em[0].copy()
        back = np.zeros((len(feats), len(self.tags)), dtype=int)
        for i in range(1, len(feats)):
            cand = score[:, None] + self.transitions + em[i][None, :]
            back[i] = cand.argmax(0)
            score = cand.max(0)
        path = [int(score.argmax())]
        for i in range(len(feats) - 1, 0, -1):
            path.append(int(back[i, path[-1]]))
        path.reverse()
        probs = []
        for i, k in enumerate(path):
            e = em[i] - em[i].max()
            probs.append(float(math.exp(e[k]) / np.exp(e).sum()))
        return [self.tags[k] for k in path], probs


def load_skops(path: Path):
    import skops.io as sio

    if not path.is_file():
        raise ModelLoadError(f"{path}: missing; a baseline model directory needs it")
    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as e:  # a truncated or foreign file
        raise ModelLoadError(f"{path}: not a readable skops file ({e})") from None
    bad = [t for t in untrusted if not t.startswith(SAFE_TYPE_PREFIXES)]
    if bad:
        raise ModelLoadError(f"{path}: refuses to load types outside scikit-learn/numpy/scipy: {', '.join(bad)}")
    return sio.load(str(path), trusted=untrusted)


def check_baseline_dir(path: Path) -> None:
    """The classical baseline: its label set, its skops file and its CRF weights (JSON)."""
    config = path / "config.json"
    cfg = json_object(config)
    id2label = cfg.get("id2label")
    labels = [id2label.get(str(i)) for i in range(len(id2label))] if isinstance(id2label, dict) else id2label
    if labels != list(LABELS):
        raise ModelLoadError(f"{config}: id2label is {labels}, expected {list(LABELS)}")
    skops_file = path / "label_model.skops"
    if not skops_file.is_file():
        raise ModelLoadError(f"{skops_file}: missing; a baseline model directory needs it")
    crf = json_object(path / "crf.json") if (path / "crf.json").is_file() else None
    if crf is None or not {"tags", "state", "transitions"} <= set(crf):
        raise ModelLoadError(f"{path / 'crf.json'}: missing or not the CRF weights of a baseline model")



class BaselineModel(Predictor):
    """Label, `also` and span predictions of the classical candidate, in the shape Tasrih.predict gives."""

    backend = "sklearn"

    def __init__(self, label_model: dict, crf: LinearCRF, config: dict, name: str = "baseline"):
        self.name = name
        self.vectorizer = label_model["vectorizer"]
        self.label_clf = label_model["label"]
        self.also_clfs = label_model["also"]
        self.crf = crf
        self.config = config
        self.temperature = float(config.get("temperature", 1.0))

    @classmethod
    def load(cls, path: Path) -> BaselineModel:
        config_file = path / "config.json"
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"{config_file}: missing or not valid JSON ({e})") from None
        labels = [config.get("id2label", {}).get(str(i)) for i in range(len(LABELS))]
        if labels != list(LABELS):
            raise ModelLoadError(f"{config_file}: id2label is {labels}, expected {list(LABELS)}")
        crf_file = path / "crf.json"
        try:
            crf = LinearCRF(json.loads(crf_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as e:
            raise ModelLoadError(f"{crf_file}: missing or not valid CRF weights ({e})") from None
        return cls(load_skops(path / "label_model.skops"), crf, config, name=path.name)

    def label_probs(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        x = self.vectorizer.transform([basic_normalize(s) for s in sentences])
        logits = self.label_clf.decision_function(x) / self.temperature
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        order = [list(self.label_clf.classes_).index(lab) for lab in LABELS]
        also = np.stack([clf.predict_proba(x)[:, 1] if clf is not None else np.zeros(len(sentences))
                         for clf in self.also_clfs], 1)
        return p[:, order], also

    def predict(self, sentences: list[str] | str, batch_size: int = 256) -> list[dict]:
        sentences = check_sentences(sentences)
        if not sentences:
            return []
        label_p, also_p = self.label_probs(sentences)
        rows = []
        for text, lp, ap in zip(sentences, label_p, also_p):
            label = LABELS[int(lp.argmax())]
            row = {"text": text, "label": label,
                   "scores": {name: round(float(p), 4) for name, p in zip(LABELS, lp)},
                   "also": [] if label == "none" else [c for c, p in zip(CLAIMS, ap) if p >= 0.5 and c != label],
                   "actor": None, "target": None, "windows": 1}
            if label != "none":
                words = split_words(text)
                tags, probs = self.crf.decode(sentence_features(words))
                row["actor"] = spans_from_tags(tags, probs, words, text, "actor")
                row["target"] = spans_from_tags(tags, probs, words, text, "target")
            rows.append(row)
        return rows
