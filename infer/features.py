"""From raw sentences to model inputs, and from word tags back to raw spans.

Spans are predicted per *word* (the first sub-word token of each word carries
the tag), and words carry their offsets in the raw sentence, so a predicted
span always satisfies ``text[start:end] == span["text"]`` whatever the
normaliser or tokenizer did.
"""

from __future__ import annotations

from dataclasses import dataclass

from infer.normalize import Normalizer
from infer.text import Piece, lone_surrogate, split_words


@dataclass
class Segment:
    """A window of a sentence's words that fits the model's maximum length."""

    sentence: int
    first_word: int
    input_ids: list[int]
    word_ids: list[int | None]  # per token: index of the word in the sentence, None for special tokens


def encode(tokenizer, normalizer: Normalizer, sentences: list[str], max_length: int, prefix: str = ""
           ) -> tuple[list[list[Piece]], list[Segment]]:
    """Split each sentence into words and its words into windows of at most ``max_length`` tokens.

    ``prefix`` (e5's "query: ") is tokenised once and put after the first special token of every
    window; its tokens belong to no word.

    Raises ValueError for a sentence that is not Unicode text (a lone surrogate).
    """
    for si, s in enumerate(sentences):
        pos = lone_surrogate(s)
        if pos is not None:
            raise ValueError(f"sentence {si} holds a lone surrogate U+{ord(s[pos]):04X} at character {pos}: "
                             f"not Unicode text")
    words = [split_words(s) for s in sentences]
    # Tokenise every word once, in one call to the fast tokenizer.
    flat = [normalizer(w.text) for ws in words for w in ws]
    pieces = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    prefix_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else []
    budget = max_length - 2 - len(prefix_ids)
    segments: list[Segment] = []
    k = 0
    for si, ws in enumerate(words):
        ids: list[int] = []
        wids: list[int | None] = []
        first = 0
        for wi in range(len(ws)):
            p = pieces[k] or [tokenizer.unk_token_id]
            k += 1
            p = p[:budget]  # a single absurdly long "word" still has to fit one window
            if ids and len(ids) + len(p) > budget:
                segments.append(_segment(tokenizer, si, first, ids, wids, prefix_ids))
                ids, wids, first = [], [], wi
            ids.extend(p)
            wids.extend([wi] * len(p))
        segments.append(_segment(tokenizer, si, first, ids, wids, prefix_ids))
    return words, segments


def _segment(tokenizer, si: int, first: int, ids: list[int], wids: list[int | None], prefix_ids: list[int]
             ) -> Segment:
    return Segment(si, first, [tokenizer.cls_token_id, *prefix_ids, *ids, tokenizer.sep_token_id],
                   [None] * (1 + len(prefix_ids)) + wids + [None])


def first_token_positions(seg: Segment) -> dict[int, int]:
    """Word index -> position of its first token in the segment."""
    pos: dict[int, int] = {}
    for i, w in enumerate(seg.word_ids):
        if w is not None and w not in pos:
            pos[w] = i
    return pos


def spans_from_tags(tags: list[str], probs: list[float], words: list[Piece], text: str, role: str,
                    min_score: float = 0.0, with_score: bool = False) -> dict | None:
    """The best-scoring BIO span of ``role`` as ``{"start", "end", "text"}`` in raw offsets.

    A span's score is the mean probability of its words' tags. Below ``min_score`` no span is given:
    a span the model is unsure of is more often wrong than right (the threshold is fitted on dev,
    train/metrics.py ``fit_span_thresholds``). ``with_score`` adds the score as ``"score"``.
    """
    best, best_score = None, 0.0
    i = 0
    while i < len(tags):
        if tags[i] in (f"B-{role}", f"I-{role}"):
            j = i + 1
            while j < len(tags) and tags[j] == f"I-{role}":
                j += 1
            score = sum(probs[i:j]) / (j - i)
            if score > best_score:
                best, best_score = (i, j), score
            i = j
        else:
            i += 1
    if best is None or best_score < min_score:
        return None
    start, end = words[best[0]].start, words[best[1] - 1].end
    span = {"start": start, "end": end, "text": text[start:end]}
    return {**span, "score": round(float(best_score), 4)} if with_score else span
