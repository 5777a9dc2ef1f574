"""Text normalisation applied word by word before tokenisation.

Normalising each word on its own (instead of the whole sentence) keeps the
map from model tokens back to raw character offsets trivial: a token belongs
to a word, and a word knows its offsets in the raw sentence, whatever the
normaliser did to its letters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Tashkeel, Quranic marks, tatweel, zero-width and bidi controls: they change
# nothing in meaning and only split the vocabulary.
_DROP = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def basic_normalize(word: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", word))


class Normalizer:
    """``basic`` for the local BERT, ``arabert:<model name>`` for AraBERT checkpoints."""

    def __init__(self, spec: str = "basic"):
        self.spec = spec
        if spec == "basic":
            self._fn = basic_normalize
        elif spec.startswith("arabert:"):
            from arabert.preprocess import ArabertPreprocessor  # optional dependency, only for AraBERT

            pre = ArabertPreprocessor(spec.split(":", 1)[1])
            self._fn = lambda w: pre.preprocess(w).replace(" ", "")
        else:
            raise ValueError(f"unknown normaliser {spec!r}: use 'basic' or 'arabert:<model name>'")
        self._cached = lru_cache(maxsize=200_000)(self._normalize)

    def _normalize(self, word: str) -> str:
        out = self._fn(word)
        # A word that normalises to nothing (a lone diacritic, an emoji the
        # preprocessor drops) must still occupy a position so offsets stay aligned.
        return out if out.strip() else word

    def __call__(self, word: str) -> str:
        # Long "words" (a URL, a line of letters with no space) are rare: caching them would only let
        # a large input fill memory with entries that are never looked up again.
        return self._cached(word) if len(word) <= 64 else self._normalize(word)
