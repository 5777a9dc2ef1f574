"""CAMEO actor codes from the UniversalPetrarch Arabic dictionaries (infer/gazetteer/).

The dictionaries hold lemmatised headwords without the article
(وزارة_دفاع_أميركي_ -> USAGOV); running text has articles, clitics and
feminine or plural endings (وزارة الدفاع الأميركية). Both sides are reduced to
the same rough stem before matching, so the match is approximate: a code is a
suggestion for the analyst, and ``actor_code`` stays null when nothing matches.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from infer.normalize import basic_normalize

FOLDER = Path(__file__).resolve().parent / "gazetteer"
_CODE = re.compile(r"\[([A-Z~]{3,})(?:\s+(\d{8})-\d{8})?\]")
# A code that starts with a role names no country ("GOV" for any ministry): not worth suggesting.
ROLES = {"GOV", "MIL", "REB", "OPP", "COP", "CVL", "BUS", "MED", "LEG", "JUD", "EDU", "HLH", "REF", "ELI",
         "SPY", "CRM", "LAB", "AGR", "REL", "UAF", "INS", "SEP", "ENV", "DEV", "HRI", "MOD", "RAD", "JEW", "MUS"}


def stem(word: str) -> str:
    """A rough, deterministic stem: unify letter variants, drop the article and common endings."""
    w = basic_normalize(word)
    w = re.sub("[أإآ]", "ا", w).replace("ى", "ي").replace("ة", "ه")
    w = re.sub(r"^(?:[وف]?(?:بال|كال|لل|ال))(?=..)", "", w)
    w = re.sub(r"(?:يون|يين|يه|ين|ون|ات|ه|ي)$", "", w) if len(w) > 4 else w
    return w


def stems(text: str) -> tuple[str, ...]:
    return tuple(s for s in (stem(t) for t in re.findall(r"[\w\u0610-\u061A\u064B-\u065F\u0670]+", text)) if s)


def parse_actors(text: str) -> dict[tuple[str, ...], str]:
    """Headword stems -> the entry's most recent code."""
    table: dict[tuple[str, ...], str] = {}
    head: tuple[str, ...] | None = None
    best: tuple[str, str] | None = None

    def flush():
        if head and best:
            table.setdefault(head, best[1])

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace() or not line.strip().startswith("["):
            flush()
            name = line.split("[", 1)[0].strip()
            head, best = stems(name.replace("_", " ")) or None, None
            rest = line[len(line.split("[", 1)[0]):]
        else:
            rest = line
        for code, start in _CODE.findall(rest):
            if "~" in code or code[:3] in ROLES:
                continue
            key = (start or "00000000", code)
            best = key if best is None or key > best else best
    flush()
    return table


@lru_cache(maxsize=1)
def actor_table() -> dict[tuple[str, ...], str]:
    return parse_actors((FOLDER / "actor_dict_ar_v4.txt").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def gazetteer_stems() -> frozenset[str]:
    """Every stem that occurs in a headword: a feature for the baseline span tagger."""
    return frozenset(s for key in actor_table() for s in key)


def actor_code(name: str | None, max_len: int = 6) -> str | None:
    """The code of the longest dictionary entry found inside ``name``, or None."""
    if not name:
        return None
    toks = stems(name)
    table = actor_table()
    for n in range(min(max_len, len(toks)), 0, -1):
        for i in range(len(toks) - n + 1):
            code = table.get(toks[i:i + n])
            if code:
                return code
    return None
