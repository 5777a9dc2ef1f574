"""Evaluation metrics: label macro-F1 (the headline), per-class P/R/F1, span F1.

Label metrics come from scikit-learn; span metrics are defined here:
- exact: a predicted span is a true positive when start and end both equal the
  gold span of the same sentence; a predicted span that misses is a false
  positive, a missed gold span a false negative.
- overlap: the same counts over *words* (infer.text.split_words), so a span
  that is one word too long still earns partial credit.
"""

from __future__ import annotations

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from infer.labels import LABELS, SPAN_ROLES
from infer.text import split_words


def _prf(tp: float, fp: float, fn: float) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def label_metrics(gold: list[str], pred: list[str]) -> dict:
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(LABELS), zero_division=0)
    per_class = {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, lab in enumerate(LABELS)}
    return {
        "macro_f1": float(sum(f) / len(LABELS)),
        "accuracy": float(accuracy_score(gold, pred)),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(gold, pred, labels=list(LABELS)).tolist(),
    }


def _word_set(text: str, span: dict | None) -> set[int]:
    if not span:
        return set()
    return {i for i, w in enumerate(split_words(text)) if w.start < span["end"] and w.end > span["start"]}


def span_metrics(texts: list[str], gold: list[dict | None], pred: list[dict | None]) -> dict:
    tp = fp = fn = 0
    otp = ofp = ofn = 0
    for text, g, p in zip(texts, gold, pred):
        if g and p and (g["start"], g["end"]) == (p["start"], p["end"]):
            tp += 1
        else:
            fp += p is not None
            fn += g is not None
        gw, pw = _word_set(text, g), _word_set(text, p)
        otp += len(gw & pw)
        ofp += len(pw - gw)
        ofn += len(gw - pw)
    return {"exact": _prf(tp, fp, fn), "overlap": _prf(otp, ofp, ofn), "gold": sum(g is not None for g in gold)}


def expected_calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width confidence bins."""
    n = len(confidences)
    if not n:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if (lo < c <= hi) or (b == 0 and c == 0)]
        if idx:
            acc = sum(correct[i] for i in idx) / len(idx)
            conf = sum(confidences[i] for i in idx) / len(idx)
            total += len(idx) / n * abs(acc - conf)
    return total


def fit_temperature(probs, gold: list[int]) -> float:
    """The temperature T that minimises the negative log-likelihood of softmax(log(p) / T) on held-out data.

    Dividing logits by T keeps every argmax (labels do not change) and only
    makes the probabilities honest; log(p) equals the logits up to a constant.
    """
    import numpy as np

    logp = np.log(np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0))
    gold_idx = np.asarray(gold)
    best = (float("inf"), 1.0)
    for t in np.arange(0.2, 5.001, 0.05):
        z = logp / t
        z = z - z.max(1, keepdims=True)
        nll = -(z[np.arange(len(gold_idx)), gold_idx] - np.log(np.exp(z).sum(1))).mean()
        best = min(best, (float(nll), round(float(t), 2)))
    return best[1]


def fit_span_thresholds(gold: list[dict], scored: list[dict], step: float = 0.05) -> dict[str, float]:
    """Per role, the lowest score threshold that maximises exact span F1 on held-out data.

    ``scored``: predictions made with ``predict(..., span_scores=True)`` (every span, with its score).
    Spans under the threshold are dropped; at 0 every span is kept, as without thresholds.
    """
    texts = [g["text"] for g in gold]
    out = {}
    for role in SPAN_ROLES:
        best = (-1.0, 0.0)
        for k in range(int(round(1 / step))):
            t = round(k * step, 2)
            kept = [p[role] if p.get(role) and p[role]["score"] >= t else None for p in scored]
            f1 = span_metrics(texts, [g.get(role) for g in gold], kept)["exact"]["f1"]
            if f1 > best[0] + 1e-9:
                best = (f1, t)
        out[role] = best[1]
    return out


def evaluate_predictions(gold: list[dict], pred: list[dict]) -> dict:
    """All metrics for aligned gold records and predictions (same sentences, same order)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold records but {len(pred)} predictions")
    texts = [g["text"] for g in gold]
    out = label_metrics([g["label"] for g in gold], [p["label"] for p in pred])
    for role in SPAN_ROLES:
        out[role] = span_metrics(texts, [g.get(role) for g in gold], [p.get(role) for p in pred])
    if all("scores" in p for p in pred):
        conf = [max(p["scores"].values()) for p in pred]
        out["ece"] = expected_calibration_error(conf, [g["label"] == p["label"] for g, p in zip(gold, pred)])
    out["n_examples"] = len(gold)
    return out
