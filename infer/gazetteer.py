"""CAMEO actor codes from the UniversalPetrarch Arabic dictionaries (infer/gazetteer/).

The dictionaries hold lemmatised headwords without the article
(وزارة_دفاع_أميركي_ -> USAGOV); running text has articles, clitics and
feminine or plural endings (وزارة الدفاع الأميركية). Both sides are reduced to
the same rough stem before matching.

``actor_code`` answers only when one dictionary entry is the whole actor, every
word of it: a match on part of the actor is how "نقابة الصحافيين" got the code
of "الصحافي" and the Jordanian interior ministry the Afghan one, so a partial
match gives null, as does an entry that names no particular country
("وزارة الداخلية", coded AFGGOV in the dictionary). The dictionary's code is
then written the way the annotation writes it (ANNOTATION.md 4): a state or
capital that speaks is its government (RUS -> RUSGOV), one role per code
(IRNGOVLEG -> IRNLEG). Measured by ``bench/actor_code.py``.
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


# The roles the annotation writes (ANNOTATION.md 4, and REL, which the annotators use too), and the
# dictionary's other roles that mean one of them for a speaker.
ANNOTATION_ROLES = {"GOV", "MIL", "REB", "OPP", "MED", "CVL", "BUS", "LEG", "JUD", "REL"}
ROLE_AS = {"COP": "GOV", "ELI": "GOV", "PTY": "GOV", "SPY": "GOV", "UAF": "REB", "INS": "REB", "SEP": "REB"}
# Heads of codes that are no country: international bodies, and groups with no country.
INTERNATIONAL = {"IGO": "IGO", "INT": "IGO", "NGO": "NGO"}
NO_COUNTRY = ROLES | {"IMG", "PTY"}
# An entry whose every word occurs in entries of this many countries names none of them.
GENERIC_COUNTRIES = 5
_PEOPLE = re.compile(r"(?:يون|يين)$")  # اللبنانيون: a plural of a nationality is its people


@lru_cache(maxsize=1)
def generic_entries() -> frozenset[tuple[str, ...]]:
    """Country-coded entries made only of words that many countries' entries share (وزارة داخلية).

    The dictionary gives such an entry the code of one country (AFGGOV), which is right for a
    ministry of that country only; an international body (IGO) is what it is whatever its words.
    """
    countries: dict[str, set[str]] = {}
    for key, code in actor_table().items():
        for s in key:
            countries.setdefault(s, set()).add(code[:3])
    return frozenset(key for key, code in actor_table().items()
                     if code[:3] not in INTERNATIONAL and all(len(countries[s]) >= GENERIC_COUNTRIES for s in key))


def annotation_code(code: str, name: str) -> str | None:
    """The dictionary's ``code`` for the actor ``name`` as the annotation writes it, or None."""
    head, roles = code[:3], [code[i:i + 3] for i in range(3, len(code), 3)]
    if head in INTERNATIONAL:
        return INTERNATIONAL[head]
    if head in NO_COUNTRY:
        return None
    kept = [ROLE_AS.get(r, r) for r in roles if ROLE_AS.get(r, r) in ANNOTATION_ROLES]
    if kept:
        return head + kept[-1]  # the most specific role: IRNGOVLEG is the Iranian legislature
    if roles:
        return None  # only roles the annotation has no word for (EDU, HLH...): unsure
    words = basic_normalize(name).split()
    return head + ("CVL" if len(words) == 1 and _PEOPLE.search(words[0]) else "GOV")


def actor_code(name: str | None) -> str | None:
    """The code of the dictionary entry that is the whole of ``name`` (every word of it), or None."""
    if not name:
        return None
    key = stems(name)
    code = actor_table().get(key)
    if code is None or key in generic_entries():
        return None
    return annotation_code(code, name)
