"""Read and validate dataset files in the record format of ANNOTATION.md section 6.

Every problem is reported as ``file:line: what is wrong``; no record is ever
dropped silently: a file with a bad record is refused as a whole.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from infer.labels import CLAIMS, LABELS

REQUIRED = ("id", "doc", "text", "label", "also", "actor", "target")
NULL_WHEN_NONE = ("actor", "actor_resolved", "actor_code", "target")
ACTOR_CODE = re.compile(r"^[A-Z]{3}(?:[A-Z]{3})*$")


class DataError(Exception):
    """Invalid dataset files; ``problems`` holds every ``file:line: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__("\n".join(problems[:20]) + more)


@dataclass
class Record:
    data: dict
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Dataset:
    records: list[Record] = field(default_factory=list)

    @property
    def labels(self) -> Counter:
        return Counter(r.data["label"] for r in self.records)

    def __len__(self) -> int:
        return len(self.records)


def check_span(rec: dict, key: str) -> str | None:
    span = rec.get(key)
    if span is None:
        return None
    if not isinstance(span, dict) or set(span) != {"start", "end", "text"}:
        return f"{key} must be null or an object with start, end and text"
    s, e, t = span["start"], span["end"], span["text"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (s, e)) or not isinstance(t, str):
        return f"{key} start and end must be integers and text a string"
    if not 0 <= s < e <= len(rec["text"]):
        return f"{key} offsets {s}:{e} are outside the sentence (length {len(rec['text'])})"
    if rec["text"][s:e] != t:
        return f"{key} text {t!r} differs from text[{s}:{e}] = {rec['text'][s:e]!r}"
    return None


def check_record(rec) -> list[str]:
    """Everything wrong with one record, as messages (empty when it is valid)."""
    if not isinstance(rec, dict):
        return ["a record must be a JSON object"]
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        return [f"missing field(s): {', '.join(missing)}"]
    problems = []
    for k in ("id", "doc", "text"):
        if not isinstance(rec[k], str) or not rec[k].strip():
            problems.append(f"{k} must be a non-empty string")
    if problems:
        return problems
    label = rec["label"]
    if label not in LABELS:
        return [f"label {label!r} is not one of {', '.join(LABELS)}"]
    also = rec["also"]
    if not isinstance(also, list):
        problems.append("also must be a list")
    else:
        if any(a not in CLAIMS for a in also):
            problems.append(f"also {also} holds something that is not one of {', '.join(CLAIMS)}")
        if len(set(also)) != len(also):
            problems.append(f"also {also} has duplicates")
        if label in also:
            problems.append(f"also {also} repeats the label {label!r}")
        if label == "none" and also:
            problems.append("a none sentence must have an empty also")
    if label == "none":
        problems += [f"{k} must be null for label none" for k in NULL_WHEN_NONE if rec.get(k) is not None]
    for k in ("actor", "target"):
        msg = check_span(rec, k)
        if msg:
            problems.append(msg)
    for k in ("actor_resolved", "source"):
        if rec.get(k) is not None and not isinstance(rec[k], str):
            problems.append(f"{k} must be a string or null")
    code = rec.get("actor_code")
    if code is not None and (not isinstance(code, str) or not ACTOR_CODE.match(code)):
        problems.append(f"actor_code {code!r} is not a CAMEO-style code such as RUSGOV or IGO")
    return problems


def read_jsonl(path: Path, seen: dict[str, str] | None = None) -> tuple[list[Record], list[str]]:
    """Parse one file; return its records and the problems found in it, in line order.

    ``seen`` maps the ids of records read before (in earlier files) to where they were; a record whose
    id is already there is reported at its own line, and the ids of this file are added to it.
    """
    records, problems = [], []
    seen = {} if seen is None else seen
    try:
        raw = path.read_bytes()
    except OSError as e:
        return [], [f"{path}: cannot be read ({e.strerror})"]
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return [], [f"{path}:{line}: not UTF-8 text"]
    for n, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{path}:{n}: not valid JSON ({e.msg})")
            continue
        msgs = check_record(rec)
        problems += [f"{path}:{n}: {m}" for m in msgs]
        if not msgs:
            r = Record(rec, str(path), n)
            if rec["id"] in seen:
                problems.append(f"{r.where}: id {rec['id']!r} already used at {seen[rec['id']]}")
            seen.setdefault(rec["id"], r.where)
            records.append(r)
    return records, problems


def check_files(paths: list[Path]) -> list[tuple[Path, list[Record], list[str]]]:
    """Each file's valid records and problems; ids must also be unique across the files."""
    seen: dict[str, str] = {}
    out = []
    for path in map(Path, paths):
        records, problems = read_jsonl(path, seen)
        out.append((path, records, problems))
    return out


def load(paths: list[Path]) -> Dataset:
    """Read and validate files together; raise DataError on any problem."""
    checked = check_files(paths)
    problems = [p for _, _, errs in checked for p in errs]
    if problems:
        raise DataError(problems)
    return Dataset([r for _, records, _ in checked for r in records])


def load_splits(paths: dict[str, Path]) -> dict[str, Dataset]:
    """Load train/dev/test and refuse them before any training when they cannot give a fair result."""
    problems: list[str] = []
    splits: dict[str, Dataset] = {}
    for name, path in paths.items():
        try:
            splits[name] = load([path])
        except DataError as e:
            problems += e.problems
    if problems:
        raise DataError(problems)
    for name, ds in splits.items():
        if not len(ds):
            problems.append(f"{paths[name]}: the {name} split is empty")
    if "train" in splits and len(splits["train"]):
        missing = [lab for lab in LABELS if not splits["train"].labels[lab]]
        if missing:
            problems.append(f"{paths['train']}: no train example of {', '.join(missing)}; the model cannot learn it")
    where: dict[str, tuple[str, str]] = {}
    docs: dict[str, str] = {}
    for name, ds in splits.items():
        for r in ds.records:
            prev = where.get(r.data["text"])
            # Train comes first: a text it shares with an evaluation split is a leak. Two evaluation
            # splits may share a text (a wire service's «// انتهى //» sign-off in test and test_v1).
            if prev and prev[0] != name and "train" in (prev[0], name):
                problems.append(f"{r.where}: the same sentence text is in {prev[0]} at {prev[1]}")
            where.setdefault(r.data["text"], (name, r.where))
            d = docs.setdefault(r.data["doc"], name)
            if d != name:
                problems.append(f"{r.where}: document {r.data['doc']!r} is in both {d} and {name}")
    ids: dict[str, str] = {}
    for name, ds in splits.items():
        for r in ds.records:
            if r.data["id"] in ids and ids[r.data["id"]] != name:
                problems.append(f"{r.where}: id {r.data['id']!r} is also in {ids[r.data['id']]}")
            ids.setdefault(r.data["id"], name)
    if problems:
        raise DataError(problems)
    return splits
