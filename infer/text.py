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


@dataclass(frozen=True)
class Piece:
    """A stretch of text with its offsets in the text it was cut from."""

    start: int
    end: int
    text: str


def _matched_brackets(line: str) -> set[int]:
    """Positions of openers in ``line`` that have a matching closer later in the line.

    An opener without its closer (a typo, or a quote that runs over a line
    break) must not swallow the rest of the paragraph, so it is ignored.
    """
    stack: list[int] = []
    open_of_kind = dict.fromkeys(OPENERS, 0)  # openers of each kind on the stack
    matched: set[int] = set()
    for i, ch in enumerate(line):
        if ch in OPENERS:
            stack.append(i)
            open_of_kind[ch] += 1
        elif ch in CLOSERS and open_of_kind[CLOSERS[ch]]:
            # Pop back to the nearest opener of this kind; anything above it is unmatched. Each opener
            # is popped once at most, and a closer with no opener of its kind looks at nothing, so a
            # line of a million brackets takes linear time.
            while True:
                j = stack.pop()
                open_of_kind[line[j]] -= 1
                if line[j] == CLOSERS[ch]:
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


def _split_line(line: str, offset: int) -> list[Piece]:
    matched = _matched_brackets(line)
    pieces: list[Piece] = []
    closing: list[str] = []  # closers we are waiting for, innermost last
    start = 0
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if i in matched:
            closing.append(OPENERS[ch])
        elif closing and ch == closing[-1]:
            closing.pop()
        elif ch in TERMINATORS and not closing:
            if ch == "." and _is_abbreviation_or_number(line, i):
                i += 1
                continue
            j = i + 1
            while j < n and line[j] in TRAILERS:
                j += 1
            pieces.append(Piece(start, j, line[start:j]))
            start = j
            i = j
            continue
        i += 1
    pieces.append(Piece(start, n, line[start:n]))
    out = []
    for p in pieces:
        stripped = p.text.strip()
        if stripped:
            lead = len(p.text) - len(p.text.lstrip())
            s = offset + p.start + lead
            out.append(Piece(s, s + len(stripped), stripped))
    return out


def split_sentences(text: str) -> list[Piece]:
    """Split ``text`` into sentences with offsets into ``text``.

    A sentence ends at ``.`` ``!`` ``?`` ``؟`` (with any run of them) or a line
    break, never inside «...» quotes or brackets, never in a number such as 3.5
    or after an abbreviation. Leading and trailing whitespace is left out, and
    nothing else is: joining the sentences loses, adds or reorders no
    non-space character.
    """
    sentences: list[Piece] = []
    pos = 0
    for line in re.split(r"(\r\n|\r|\n|\u2028|\u2029|\x85|\x0b|\x0c|\x1c|\x1d|\x1e)", text):
        if line and not re.fullmatch(r"\r\n|\r|\n|\u2028|\u2029|\x85|\x0b|\x0c|\x1c|\x1d|\x1e", line):
            sentences.extend(_split_line(line, pos))
        pos += len(line)
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
