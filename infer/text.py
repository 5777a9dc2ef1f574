"""Sentence splitting and word segmentation for Arabic news (ANNOTATION.md section 1).

Everything here works on the raw text and returns character offsets into it, so
that spans found later can always be mapped back with ``text[start:end]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERMINATORS = ".!?؟"
OPENERS = {"«": "»", "(": ")", "[": "]", "{": "}", "“": "”", "‹": "›"}
CLOSERS = {v: k for k, v in OPENERS.items()}
# Characters that may trail a terminator and still belong to the sentence.
TRAILERS = set(CLOSERS) | set(TERMINATORS) | {'"', "'", "…"}

# Abbreviations whose final dot does not end a sentence. Arabic news uses
# single letters with a dot (د. = doctor, م. = engineer / AD, ص.ب = PO box).
LATIN_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "etc", "jr", "sr", "inc",
    "ltd", "co", "corp", "gen", "col", "lt", "sgt", "capt", "e.g", "i.e", "u.s",
    "u.k", "u.n", "a.m", "p.m",
}
ARABIC_ABBREVIATIONS = {"ص.ب", "ق.م", "هـ", "ه", "ت", "ج", "س"}

# A word: letters, digits, Arabic combining marks, tatweel and joiners.
_WORD_CHARS = r"\w\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200c\u200d"
WORD_RE = re.compile(rf"[{_WORD_CHARS}]+|[^{_WORD_CHARS}\s]")
_TOKEN_CHAR = re.compile(rf"[{_WORD_CHARS}.]")
_MAX_ABBREVIATION = 16  # longer than any abbreviation above
_BRACKET = re.compile("[" + re.escape("".join(OPENERS) + "".join(CLOSERS)) + "]")
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e]")
# Breaks that end a paragraph (and so a sentence) like a blank line: every line break but \n, \r and
# \r\n, the ones wrapping puts in. A JSON writer leaves U+2028 and U+0085 unescaped, and readers that
# split lines as Python's str.splitlines does would cut a record in two at one inside a sentence.
PARAGRAPH_BREAKS = {"\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"}
_NON_SPACE = re.compile(r"\S")
_FIRST_WORD = re.compile(r"\S*")
# A line that ends in one of these marks or words, or is followed by a line that starts with one of
# these words, goes on in the next line: it is no headline (prepositions, conjunctions, particles,
# relative pronouns, and the complementiser أن that reported speech goes on with).
CONTINUATION = set("،,:;؛")
NOT_LAST_WORDS = frozenset(
    "في من إلى الى على عن مع أن ان إن بأن بان لأن وأن وإن التي الذي الذين اللذين اللتين اللواتي ما لا لم لن "
    "قد و أو او ثم بل حتى منذ بين عند حول خلال بعد قبل ضد نحو لدى كما إذ إذا اذا لكن كان كانت هو هي أي كل "
    "بعض غير عبر وفي ومن وإلى وعلى وعن ومع أمام وراء دون تجاه بشأن".split())
NOT_FIRST_WORDS = frozenset("أن ان بأن بان وأن لأن التي الذي الذين اللذين اللتين اللواتي".split())
# A quote or bracket may run over line breaks, within this many characters (a long quote wrapped
# at 60 columns takes 15 lines); on a single line there is no limit.
MAX_QUOTE_ACROSS_LINES = 1000


@dataclass(frozen=True)
class Piece:
    """A stretch of text with its offsets in the text it was cut from."""

    start: int
    end: int
    text: str


def _matched_brackets(text: str, line_ends: list[int] = ()) -> set[int]:
    """Positions of openers in ``text`` that have a matching closer later in it.

    An opener without its closer (a typo, or a quote that runs into the next
    paragraph) must not swallow the rest of the paragraph, so it is ignored.
    ``text`` may hold line breaks (at ``line_ends``, ascending): a quote may run
    over them, but a pair that crosses one must lie within
    ``MAX_QUOTE_ACROSS_LINES`` characters, so that a stray opener and a stray
    closer lines apart do not glue those lines into one sentence.
    """
    stack: list[int] = []
    stack_line: list[int] = []  # the line of each opener on the stack
    open_of_kind = dict.fromkeys(OPENERS, 0)  # openers of each kind on the stack
    matched: set[int] = set()
    line = 0
    for m in _BRACKET.finditer(text):
        i, ch = m.start(), m.group()
        while line < len(line_ends) and line_ends[line] < i:
            line += 1
        if ch in OPENERS:
            stack.append(i)
            stack_line.append(line)
            open_of_kind[ch] += 1
        elif open_of_kind[CLOSERS[ch]]:
            # Pop back to the nearest opener of this kind; anything above it is unmatched. Each opener
            # is popped once at most, and a closer with no opener of its kind looks at nothing, so a
            # line of a million brackets takes linear time.
            while True:
                j = stack.pop()
                j_line = stack_line.pop()
                open_of_kind[text[j]] -= 1
                if text[j] == CLOSERS[ch]:
                    if j_line == line or i - j <= MAX_QUOTE_ACROSS_LINES:
                        matched.add(j)
                    break
    return matched


def _is_abbreviation_or_number(line: str, i: int) -> bool:
    """True when the '.' at ``line[i]`` belongs to a number or an abbreviation."""
    after = line[i + 1 : i + 2]
    if line[i - 1 : i].isdigit() and after.isdigit():
        return True  # 3.5, 1.200
    if after.isascii() and after.isalnum():
        return True  # www.spa.gov.sa, U.S.A (a missing space before Arabic text still ends a sentence)
    # The run of word characters and dots before the dot, looked at no further back than an abbreviation
    # can be long: a line of a million dotted letters must not cost a million steps per dot.
    j = i
    while j > 0 and i - j <= _MAX_ABBREVIATION and _TOKEN_CHAR.match(line[j - 1]):
        j -= 1
    if j == i or i - j > _MAX_ABBREVIATION:
        return False
    token = line[j:i].lower()
    if token in LATIN_ABBREVIATIONS or token in ARABIC_ABBREVIATIONS:
        return True
    # A single letter before the dot (د. محمد, J. Kerry) is an initial, not an end.
    return len(token) == 1 and token.isalpha()


def _split_paragraph(text: str, lines: list[tuple[int, int]]) -> list[Piece]:
    """Sentences of one paragraph: the non-blank ``lines`` (start, end of their content) of ``text``.

    A line break ends a sentence only after a headline: a whole line with no
    final mark whose break is deliberate, that is the first word of the next
    line would have fitted on it, and that does not end in a comma, colon,
    preposition or particle (nor is followed by أن, الذي...). Text wrapped at a
    width never has such a break (that word is why the line was broken), so a
    wrapped paragraph gives the sentences it gives unwrapped.
    """
    base = lines[0][0]
    para = text[base:lines[-1][1]]
    n = len(para)
    first_char: list[int] = []  # first non-space character of each line, in ``para``
    ends: list[int] = []  # end of each line's content (its line break starts there)
    length: list[int] = []  # length of each line without the spaces around it
    first_word: list[int] = []  # length of each line's first word
    joined: list[bool] = []  # the line's last or first word says that it goes on or carries on
    # The two widest lines of several words (a single word may be wider than the wrapping width): if
    # the paragraph was wrapped, no wider than the width. A line is measured against the others.
    widest = [(0, -1), (0, -1)]
    for s, e in lines:
        content = text[s:e]
        stripped = content.strip()
        first_char.append(s - base + len(content) - len(content.lstrip()))
        ends.append(e - base)
        length.append(len(stripped))
        first_word.append(_FIRST_WORD.match(stripped).end())
        joined.append(stripped[-1] in CONTINUATION or stripped.rsplit(None, 1)[-1] in NOT_LAST_WORDS)
        if len(joined) > 1 and stripped[:first_word[-1]] in NOT_FIRST_WORDS:
            joined[-2] = True
        if first_word[-1] < len(stripped) and len(stripped) > widest[1][0]:
            widest = sorted([widest[0], (len(stripped), len(length) - 1)], reverse=True)

    def headline(k: int) -> bool:
        width = widest[0][0] if widest[0][1] != k else widest[1][0]
        return not joined[k] and length[k] + 1 + first_word[k + 1] <= width

    matched = _matched_brackets(para, ends)
    pieces: list[tuple[int, int]] = []
    closing: list[str] = []  # closers we are waiting for, innermost last
    start = 0
    first = -1  # first non-space character of the sentence being read
    k = 0  # the line being read
    last_line = len(lines) - 1
    i = 0
    while i < n:
        if k < last_line and i >= ends[k]:
            # A line break (whitespace: nothing else to do with it). After a sentence-final mark the
            # sentence has already ended; otherwise only a headline line ends here.
            if not closing and first == first_char[k] and headline(k):
                pieces.append((start, i))
                start, first = i, -1
            k += 1
            i += 1
            continue
        ch = para[i]
        if first < 0 and not ch.isspace():
            first = i
        if i in matched:
            closing.append(OPENERS[ch])
        elif closing and ch == closing[-1]:
            closing.pop()
        elif ch in TERMINATORS and not closing:
            if ch == "." and _is_abbreviation_or_number(para, i):
                i += 1
                continue
            j = i + 1
            while j < n and para[j] in TRAILERS:
                j += 1
            pieces.append((start, j))
            start, first = j, -1
            i = j
            continue
        i += 1
    pieces.append((start, n))
    out = []
    for s, e in pieces:
        piece = para[s:e]
        stripped = piece.strip()
        if stripped:
            s = base + s + len(piece) - len(piece.lstrip())
            out.append(Piece(s, s + len(stripped), stripped))
    return out


def split_sentences(text: str) -> list[Piece]:
    """Split ``text`` into sentences with offsets into ``text``.

    A sentence ends at ``.`` ``!`` ``?`` ``؟`` (with any run of them), never
    inside «...» quotes or brackets, never in a number such as 3.5 or after an
    abbreviation. A blank line ends a paragraph and so a sentence, as does
    any line break other than \\n, \\r and \\r\\n (U+2028, U+2029, U+0085,
    \\x0b, \\x0c, \\x1c-\\x1e). A single line break does not end a sentence,
    so that text wrapped at any width splits as it does unwrapped, except
    after a headline: a line with no final mark that was broken on purpose
    (the next line's first word would have fitted on it). Leading and
    trailing whitespace is left out, and nothing else is: joining the
    sentences loses, adds or reorders no non-space character. Linear time.
    """
    sentences: list[Piece] = []
    lines: list[tuple[int, int]] = []  # the non-blank lines of the paragraph being read
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        if _NON_SPACE.search(text, pos, m.start()):
            lines.append((pos, m.start()))
        elif lines:  # a blank line
            sentences.extend(_split_paragraph(text, lines))
            lines = []
        if lines and m.group() in PARAGRAPH_BREAKS:
            sentences.extend(_split_paragraph(text, lines))
            lines = []
        pos = m.end()
    if _NON_SPACE.search(text, pos):
        lines.append((pos, len(text)))
    if lines:
        sentences.extend(_split_paragraph(text, lines))
    return sentences


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> int | None:
    """Position of the first lone surrogate in ``text`` (from a JSON escape such as \\ud800), or None.

    Such a string is not Unicode text: it cannot be tokenised nor written out as UTF-8.
    """
    m = _SURROGATE.search(text)
    return m.start() if m else None


def split_words(text: str) -> list[Piece]:
    """Words and single punctuation marks of ``text`` with their offsets.

    Spans are predicted on these units, so a span never starts or ends inside
    a word and never includes the quotes or brackets around a name.
    """
    return [Piece(m.start(), m.end(), m.group(0)) for m in WORD_RE.finditer(text)]
