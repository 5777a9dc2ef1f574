"""Every metric checked against values worked out by hand on a four-sentence fixture."""

import pytest

from infer.features import spans_from_tags
from infer.text import split_words
from train.metrics import evaluate_predictions, expected_calibration_error, fit_span_thresholds

TEXTS = ["اتهم وزير الخارجية الحوثيين", "قال الوزير إن الطقس حار", "طالب المجلس الأعلى بالإصلاح",
         "نفى الناطق التقرير"]


def span(text, s):
    i = text.index(s)
    return {"start": i, "end": i + len(s), "text": s}


GOLD = [
    {"text": TEXTS[0], "label": "accusation", "actor": span(TEXTS[0], "وزير الخارجية"),
     "target": span(TEXTS[0], "الحوثيين")},
    {"text": TEXTS[1], "label": "none", "actor": None, "target": None},
    {"text": TEXTS[2], "label": "demand", "actor": span(TEXTS[2], "المجلس الأعلى"), "target": None},
    {"text": TEXTS[3], "label": "denial", "actor": span(TEXTS[3], "الناطق"), "target": span(TEXTS[3], "التقرير")},
]
PRED = [
    {"label": "accusation", "actor": span(TEXTS[0], "وزير الخارجية"), "target": span(TEXTS[0], "الحوثيين"),
     "scores": {"accusation": 0.9}},
    {"label": "demand", "actor": span(TEXTS[1], "الوزير"), "target": None, "scores": {"demand": 0.6}},
    {"label": "demand", "actor": span(TEXTS[2], "المجلس"), "target": None, "scores": {"demand": 0.8}},
    {"label": "none", "actor": None, "target": None, "scores": {"none": 0.55}},
]


@pytest.fixture(scope="module")
def m():
    return evaluate_predictions(GOLD, PRED)


def test_label_metrics(m):
    # none: 0 of 1; accusation 1/1; denial missed; agreement absent; demand P 1/2 R 1/1 F 2/3.
    assert m["macro_f1"] == pytest.approx((0 + 1 + 0 + 0 + 2 / 3) / 5)
    assert m["accuracy"] == 0.5
    assert m["per_class"]["demand"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert m["per_class"]["denial"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["confusion_matrix"][0] == [0, 0, 0, 0, 1]  # rows are gold: none predicted demand
    assert m["confusion_matrix"][3] == [0, 0, 0, 0, 0]  # no agreement anywhere
    assert m["n_examples"] == 4


def test_actor_span_exact_and_overlap(m):
    # exact: TP 1 (s0); FP 2 (s1 spurious, s2 too short); FN 2 (s2, s3).
    assert m["actor"]["exact"] == pytest.approx({"precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3})
    # words: TP 2 (s0) + 1 (s2 المجلس); FP 1 (s1 الوزير); FN 1 (s2 الأعلى) + 1 (s3 الناطق).
    assert m["actor"]["overlap"] == pytest.approx({"precision": 3 / 4, "recall": 3 / 5, "f1": 2 / 3})
    assert m["actor"]["gold"] == 3


def test_target_span(m):
    # exact: TP 1 (s0), FN 1 (s3), no FP.
    assert m["target"]["exact"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})


def test_expected_calibration_error(m):
    # bins (0.8,0.9]: acc 1 conf .9; (0.7,0.8]: acc 1 conf .8; (0.5,0.6]: acc 0 conf .575.
    expected = 0.25 * 0.1 + 0.25 * 0.2 + 0.5 * 0.575
    assert m["ece"] == pytest.approx(expected)
    assert expected_calibration_error([0.9, 0.6, 0.8, 0.55], [True, False, True, False]) == pytest.approx(expected)


def test_misaligned_inputs_are_refused():
    with pytest.raises(ValueError, match="4 gold records but 3 predictions"):
        evaluate_predictions(GOLD, PRED[:3])


def test_span_thresholds_drop_the_spans_that_are_more_often_wrong():
    """Three sentences: a sure, right actor (0.9), an unsure, wrong one (0.4), an unsure, right one (0.6).

    Keeping all three gives 2 right of 3 predicted; from a threshold above 0.4 the wrong one goes and
    F1 is 1.0; above 0.6 a right one goes too. The lowest best threshold is the one fitted.
    """
    text = "قال الوزير إن الخطة فشلت"
    gold = [{"text": text, "actor": {"start": 4, "end": 10, "text": "الوزير"}, "target": None},
            {"text": text, "actor": None, "target": None},
            {"text": text, "actor": {"start": 4, "end": 10, "text": "الوزير"}, "target": None}]
    scored = [{"actor": {"start": 4, "end": 10, "text": "الوزير", "score": 0.9}, "target": None},
              {"actor": {"start": 4, "end": 10, "text": "الوزير", "score": 0.4}, "target": None},
              {"actor": {"start": 4, "end": 10, "text": "الوزير", "score": 0.6}, "target": None}]
    assert fit_span_thresholds(gold, scored) == {"actor": 0.45, "target": 0.0}


def test_a_span_below_its_threshold_is_not_given():
    text = "قال الوزير إن الخطة فشلت"
    words = split_words(text)
    tags = ["O", "B-actor", "O", "B-target", "I-target"]
    probs = [0.9, 0.7, 0.9, 0.5, 0.6]
    assert spans_from_tags(tags, probs, words, text, "actor", min_score=0.7)["text"] == "الوزير"
    assert spans_from_tags(tags, probs, words, text, "target", min_score=0.6) is None  # mean 0.55
    assert spans_from_tags(tags, probs, words, text, "target", with_score=True) == {
        "start": 14, "end": 24, "text": "الخطة فشلت", "score": 0.55}
