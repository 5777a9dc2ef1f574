import re
import textwrap
import time

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
    assert texts("نفى الوزير ذلك. ورفض الطلب! هل يقبل؟ لا\n\nعنوان آخر") == [
        "نفى الوزير ذلك.", "ورفض الطلب!", "هل يقبل؟", "لا", "عنوان آخر"]
    # A single line break in mid-sentence is no end (issue 11 A); a blank line is.
    assert texts("نفى الوزير ذلك. ورفض الطلب! هل يقبل؟ لا\nعنوان آخر") == [
        "نفى الوزير ذلك.", "ورفض الطلب!", "هل يقبل؟", "لا\nعنوان آخر"]


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


# ---- line breaks inside a sentence (issue 11 A) -------------------------------------------------

def test_line_break_inside_a_quote_does_not_split_the_sentence():
    text = "قال الوزير: «لن نقبل\nبهذا الاتفاق أبداً». وأضاف أن الحكومة سترد.\n"
    assert texts(text) == ["قال الوزير: «لن نقبل\nبهذا الاتفاق أبداً».", "وأضاف أن الحكومة سترد."]
    # A final mark inside the quote at the end of a line does not end it either.
    assert texts("وقال: «لن نقبل.\nولن نتراجع» ثم غادر.") == ["وقال: «لن نقبل.\nولن نتراجع» ثم غادر."]


def test_line_break_in_mid_sentence_does_not_split_it():
    assert texts("وقال الوزير إن\nالحكومة سترد على الهجوم.\nونفى المتحدث ذلك.") == [
        "وقال الوزير إن\nالحكومة سترد على الهجوم.", "ونفى المتحدث ذلك."]
    assert texts("أعلن وزير الخارجية\r\nأن بلاده ترفض الاقتراح.") == ["أعلن وزير الخارجية\r\nأن بلاده ترفض الاقتراح."]


def test_line_breaks_that_wrapping_does_not_use_end_the_sentence():
    """Only \\n, \\r and \\r\\n are wrapping; the rest end a paragraph, and no sentence holds one
    (a JSON writer leaves U+2028 and U+0085 raw, and str.splitlines would cut the record there)."""
    assert texts("قال الوزير\u2028إن الحرب\u2029انتهت\x85نعم\x0bلا\x0cربما\x1cأبدا") == [
        "قال الوزير", "إن الحرب", "انتهت", "نعم", "لا", "ربما", "أبدا"]
    assert texts("قال «الوزير\u2028إن» الحرب انتهت.") == ["قال «الوزير", "إن» الحرب انتهت."]


def test_blank_line_ends_a_paragraph_and_headlines_stay_sentences():
    body = "فشلت موسكو وواشنطن في ضم حلب إلى نظام التهدئة. وأجرى لافروف محادثات هاتفية مع كيري."
    expected = ["فشلت موسكو وواشنطن في ضم حلب إلى نظام التهدئة.", "وأجرى لافروف محادثات هاتفية مع كيري."]
    # followed by a blank line
    assert texts("موسكو وواشنطن تفشلان في حلب\n\n" + body) == ["موسكو وواشنطن تفشلان في حلب"] + expected
    # followed directly by a paragraph, with a byline, unwrapped or wrapped
    assert texts("موسكو وواشنطن تفشلان\nموسكو - رائد جبر\n" + body) == [
        "موسكو وواشنطن تفشلان", "موسكو - رائد جبر"] + expected
    assert texts("الهدنة في سورية\n" + textwrap.fill(body, 40)) == ["الهدنة في سورية"] + [
        textwrap.fill(body, 40)[:47].strip(), textwrap.fill(body, 40)[47:].strip()]
    # a paragraph that ends without a final mark ends its sentence all the same
    assert texts("قال الوزير إن الحرب انتهت\n\nونفى المتحدث ذلك") == ["قال الوزير إن الحرب انتهت", "ونفى المتحدث ذلك"]
    # a line that ends in a comma or colon goes on
    assert texts("وقال الوزير:\n«لن نقبل».") == ["وقال الوزير:\n«لن نقبل»."]


def test_hard_wrapped_seed_article_gives_the_same_twelve_sentences():
    text = SEED_TEXT.read_text(encoding="utf-8")
    want = [p.text for p in split_sentences(text)]
    for width in (40, 70, 79):
        wrapped = textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)
        got = split_sentences(wrapped)
        assert [re.sub(r"\s+", " ", p.text) for p in got] == want, width
        assert all(wrapped[p.start:p.end] == p.text for p in got)
    # one paragraph a line, with a headline and a blank line, as scraped articles come
    got = texts("موسكو تتجنب طلباً أميركياً\n\n" + "\n".join(want[:6]) + "\n" + " ".join(want[6:]))
    assert got == ["موسكو تتجنب طلباً أميركياً"] + want


def test_stray_quotes_lines_apart_do_not_glue_the_lines_between():
    lines = ["قال «الوزير إن الحرب انتهت."] + ["وأضاف المتحدث أن الحكومة سترد على الهجوم في الوقت المناسب."] * 30 + [
        "ونفى السفير» ذلك."]
    assert texts("\n".join(lines)) == lines


_letters = "ابتثجحخدذرسشصضطظعغفقكلمنهوي"
_words = st.text(st.sampled_from(_letters), min_size=2, max_size=9)


@st.composite
def _sentences(draw):
    words = draw(st.lists(_words, min_size=1, max_size=14))
    if draw(st.booleans()) and len(words) > 1:  # a quote that holds final marks of its own
        at = draw(st.integers(1, len(words) - 1))
        quoted = draw(st.lists(_words, min_size=1, max_size=8))
        words[at:at] = ["«" + " ".join(quoted[:1]) + draw(st.sampled_from(["", ".", "!"]))] + quoted[1:-1] + [
            quoted[-1] + "»"] if len(quoted) > 1 else ["«" + quoted[0] + "»"]
    if draw(st.booleans()):
        words[draw(st.integers(0, len(words) - 1))] += "،"
    return " ".join(words) + draw(st.sampled_from([".", "!", "؟", "?", "...", "؟!", ".»"[:1]]))


def _wrap(words: list[str], width: int) -> list[str]:
    """Greedy wrapping, as editors and textwrap do: a word goes on the next line only if it does not fit."""
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w) <= width:
            lines[-1] += " " + w
        else:
            lines.append(w)
    return lines


@settings(max_examples=300, deadline=None)
@given(st.lists(_sentences(), min_size=1, max_size=8), st.integers(5, 120),
       st.sampled_from(["\n", "\r\n", "\r", " \n", "\n  "]), st.booleans())
def test_wrapping_a_paragraph_at_any_width_gives_the_same_sentences(sentences, width, newline, headline):
    wrapped = newline.join(_wrap(" ".join(sentences).split(" "), width))
    text = ("عنوان الخبر\n\n" if headline else "") + wrapped
    got = split_sentences(text)
    assert [re.sub(r"\s+", " ", p.text) for p in got] == (["عنوان الخبر"] if headline else []) + sentences
    assert [p.text for p in got][headline:] == [p.text for p in split_sentences(wrapped)]
    for p in got:
        assert text[p.start:p.end] == p.text


def test_many_lines_split_in_linear_time():
    n = 250_000
    cases = {"short lines": "كلمة\n" * (n // 5), "dotted lines": "ب.\n" * (n // 3),
             "quotes across lines": "«كلمة\n" * (n // 6) + "»\n" * (n // 12),
             "headlines": ("عنوان\n" + "كلمة " * 30 + "\n") * (n // 156), "blank lines": "كلمة.\n\n" * (n // 7)}
    for name, text in cases.items():
        t = time.time()
        pieces = split_sentences(text)
        assert pieces and time.time() - t < 20, name
        assert "".join(p.text for p in pieces).split() == text.split() or re.sub(r"\s", "", "".join(
            p.text for p in pieces)) == re.sub(r"\s", "", text), name
