import re

from hypothesis import given, settings
from hypothesis import strategies as st

from infer.text import split_sentences, split_words
from tests.conftest import SEED_TEXT

# The first words of each sentence of the seed article, ANNOTATION.md section 7.
SEED_BEGINNINGS = [
    "فشلت موسكو وواشنطن", "وأجرى وزير الخارجية الروسي", "وتجنب بيان", "وقال بيان الخارجية",
    "وشدد على أهمية", "في غضون ذلك، أعلن غاتيلوف", "وبالتوازي مع ذلك، واصلت موسكو",
    "وأعلنت الخارجية الروسية أمس", "واتهمت «جبهة النصرة»", "وقالت الوزارة في بيان", "وأضافت أن القنصلية",
    "ودعت الوزارة",
]


def texts(s):
    return [p.text for p in split_sentences(s)]


def test_seed_article_splits_into_the_twelve_annotated_sentences():
    sents = split_sentences(SEED_TEXT.read_text(encoding="utf-8"))
    assert len(sents) == 12
    for piece, start in zip(sents, SEED_BEGINNINGS):
        assert piece.text.startswith(start)


def test_offsets_point_into_the_original():
    text = SEED_TEXT.read_text(encoding="utf-8")
    for p in split_sentences(text):
        assert text[p.start:p.end] == p.text


def test_terminators_and_line_breaks():
    assert texts("نفى الوزير ذلك. ورفض الطلب! هل يقبل؟ لا\nعنوان آخر") == [
        "نفى الوزير ذلك.", "ورفض الطلب!", "هل يقبل؟", "لا", "عنوان آخر"]


def test_no_split_inside_quotes_or_brackets():
    s = "وقال «لن نقبل. ولن نتراجع!» ثم غادر. وأضاف (راجع ص. 5 من التقرير) أمس."
    assert texts(s) == ["وقال «لن نقبل. ولن نتراجع!» ثم غادر.", "وأضاف (راجع ص. 5 من التقرير) أمس."]


def test_no_split_in_numbers_abbreviations_or_addresses():
    s = "ارتفع النمو 3.5 في المئة. وقال د. محمد إن U.S. تدعم. زوروا www.spa.gov.sa اليوم."
    assert texts(s) == ["ارتفع النمو 3.5 في المئة.", "وقال د. محمد إن U.S. تدعم.", "زوروا www.spa.gov.sa اليوم."]


def test_unclosed_quote_does_not_swallow_the_paragraph():
    assert texts("قال «لن نقبل. ثم غادر.") == ["قال «لن نقبل.", "ثم غادر."]


def test_runs_of_terminators_stay_with_their_sentence():
    assert texts("حقاً؟! نعم... انتهى") == ["حقاً؟!", "نعم...", "انتهى"]


def test_words_leave_quotes_and_punctuation_out():
    assert [w.text for w in split_words("واتهمت «جبهة النصرة» بتنفيذ الهجوم، مُشيرةً")] == [
        "واتهمت", "«", "جبهة", "النصرة", "»", "بتنفيذ", "الهجوم", "،", "مُشيرةً"]


arabic_news_chars = st.sampled_from(list("ابتثجحخدذرسشصضطظعغفقكلمنهوي ءأإآةى٠١٢٣0123456789.!?؟«»()[]،,\n\t \u200f\u0640\u064b\u064e") + ["\u200d", "😀", "a", "Z"])


@settings(max_examples=300, deadline=None)
@given(st.lists(arabic_news_chars, max_size=400).map("".join))
def test_splitting_never_loses_adds_or_reorders_characters(text):
    sents = split_sentences(text)
    joined = "".join(p.text for p in sents)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", text)
    ends = [p.start for p in sents]
    assert ends == sorted(ends)
    for p in sents:
        assert text[p.start:p.end] == p.text and p.text == p.text.strip() and p.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_splitting_any_unicode_keeps_every_non_space_character(text):
    joined = "".join(p.text for p in split_sentences(text))
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", text)
