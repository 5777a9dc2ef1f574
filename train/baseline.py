"""Train the classical candidate (`tasrih train model=baseline`): TF-IDF + logistic regression, CRF spans."""

from __future__ import annotations

import json
import logging
import zipfile
import time

from omegaconf import DictConfig, OmegaConf

from infer.baseline import MODEL_TYPE, BaselineModel, LinearCRF, sentence_features
from infer.labels import CLAIMS, LABELS, SPAN_TAGS
from infer.normalize import basic_normalize
from infer.text import split_words
from train.data import load_splits
from train.metrics import fit_temperature
from train.run import flat_metrics, output_dir, resolve, subsample, word_tags, write_model_card

log = logging.getLogger("tasrih.baseline")


def bio(rec: dict, words) -> list[str]:
    return [SPAN_TAGS[t] for t in word_tags(rec, words)]


def fit_label_model(records: list[dict], c: float, seed: int) -> dict:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    # Hashed n-grams keep no vocabulary: the saved model holds arrays only, a few MB instead of a few
    # hundred (a TF-IDF vocabulary of 200k n-grams serialises very verbosely).
    def hashed(analyzer: str, ngrams: tuple[int, int], bits: int):
        return make_pipeline(HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=2 ** bits,
                                               alternate_sign=False, norm=None),
                             TfidfTransformer(sublinear_tf=True))

    texts = [basic_normalize(r["text"]) for r in records]
    vectorizer = FeatureUnion([("chars", hashed("char_wb", (2, 5), 18)), ("words", hashed("word", (1, 2), 17))])
    x = vectorizer.fit_transform(texts)
    label = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
    label.fit(x, [r["label"] for r in records])
    also = []
    for claim in CLAIMS:
        y = [claim in r["also"] for r in records]
        if sum(y) < 5:  # too few examples to learn from: never predicted
            also.append(None)
            continue
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
        clf.fit(x, y)
        also.append(clf)
    return {"vectorizer": vectorizer, "label": label, "also": also}


def fit_crf(records: list[dict], c1: float, c2: float, iterations: int) -> dict:
    """Train on claim sentences (spans exist only there) and export the weights as JSON."""
    import sklearn_crfsuite

    xs, ys = [], []
    for r in records:
        if r["label"] == "none":
            continue
        words = split_words(r["text"])
        xs.append(sentence_features(words))
        ys.append(bio(r, words))
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=iterations,
                               all_possible_transitions=True)
    crf.fit(xs, ys)
    state: dict[str, dict[str, float]] = {}
    for (attr, tag), w in crf.state_features_.items():
        state.setdefault(attr, {})[tag] = round(float(w), 5)
    transitions: dict[str, dict[str, float]] = {}
    for (a, b), w in crf.transition_features_.items():
        transitions.setdefault(a, {})[b] = round(float(w), 5)
    return {"tags": sorted(crf.classes_), "state": state, "transitions": transitions}


def train_baseline(cfg: DictConfig) -> dict:
    from skops.io import dump

    from train.evaluate import evaluate_splits
    from train.report import shown

    out = output_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    paths = {"train": resolve(cfg.data.train), **{s: resolve(cfg.data[s]) for s in cfg.data.eval_splits}}
    splits = load_splits(paths)
    train_ds = subsample(splits["train"], cfg.data.train_fraction, cfg.seed)
    records = [r.data for r in train_ds.records]
    b = cfg.model.baseline
    started = time.time()
    log.info("fitting the label model on %d sentences", len(records))
    label_model = fit_label_model(records, b.C, cfg.seed)
    log.info("fitting the span CRF")
    crf_weights = fit_crf(records, b.crf_c1, b.crf_c2, b.crf_iterations)
    config = {"model_type": MODEL_TYPE, "id2label": {str(i): lab for i, lab in enumerate(LABELS)},
              "claims": list(CLAIMS), "temperature": 1.0, "name": cfg.name}
    model = BaselineModel(label_model, LinearCRF(crf_weights), config)
    if "dev" in splits:  # calibrate on dev, never on test
        dev = [r.data for r in splits["dev"].records]
        probs, _ = model.label_probs([r["text"] for r in dev])
        config["temperature"] = model.temperature = fit_temperature(probs, [LABELS.index(r["label"]) for r in dev])
    train_seconds = time.time() - started

    dump(label_model, out / "label_model.skops", compression=zipfile.ZIP_DEFLATED)
    (out / "crf.json").write_text(json.dumps(crf_weights, ensure_ascii=False), encoding="utf-8")
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    metrics = evaluate_splits(
        model, {s: (paths[s], splits[s]) for s in cfg.data.eval_splits}, out, title=f"tasrih {cfg.name}",
        extra={"train": {"steps": 0, "seconds": round(train_seconds, 1), "examples": len(records),
                         "file": shown(paths["train"]), "device": "cpu", "seed": cfg.seed,
                         "temperature": config["temperature"]}})
    write_model_card(out, cfg, metrics)
    return flat_metrics(metrics)
