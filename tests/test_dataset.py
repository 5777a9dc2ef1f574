"""The shipped dataset: valid, split honestly, and pinned, so any change to it is deliberate."""

from collections import Counter
from pathlib import Path

import pytest

from infer.labels import CLAIMS
from infer.text import split_sentences
from train.cli import main
from train.data import load, load_splits
from tests.conftest import REPO, SEED_GOLD, SEED_TEXT

DATA = REPO / "data"
SPLITS = {s: DATA / f"{s}.jsonl" for s in ("train", "dev", "test", "test_v1", "dev_v1", "dev_cue")}

# Update these only together with the data card (data/README.md).
PINNED = {
    "train": {"none": 5361, "accusation": 1032, "denial": 720, "agreement": 941, "demand": 1324},
    "dev": {"none": 587, "accusation": 58, "denial": 23, "agreement": 59, "demand": 179},
    "test": {"none": 1160, "accusation": 132, "denial": 73, "agreement": 112, "demand": 252},
    "test_v1": {"none": 483, "accusation": 65, "denial": 20, "agreement": 47, "demand": 99},
    "dev_v1": {"none": 330, "accusation": 41, "denial": 16, "agreement": 43, "demand": 61},
    "dev_cue": {"none": 321, "accusation": 58, "denial": 36, "agreement": 44, "demand": 84},
}
TEST_OUTLETS = {"alwatan", "alyaum", "was"}
DEV_OUTLETS = {"almadina"}


@pytest.fixture(scope="module")
def splits():
    return load_splits(SPLITS)  # validates every record and refuses leaks between splits


def test_counts_per_split_and_label_are_pinned(splits):
    assert {name: dict(ds.labels) for name, ds in splits.items()} == PINNED


def test_issue_minimums(splits):
    assert sum(len(ds) for ds in splits.values()) >= 12000
    assert all(splits["train"].labels[c] >= 700 for c in CLAIMS)
    assert len(splits["dev"]) >= 800 and len(splits["test"]) >= 1200
    assert all(splits["test"].labels[c] >= 60 for c in CLAIMS)


def outlets(ds) -> set[str]:
    return {r.data["source"] for r in ds.records}


def test_test_and_dev_outlets_are_unseen_in_train_and_in_each_other(splits):
    train = outlets(splits["train"])
    assert outlets(splits["test"]) == TEST_OUTLETS and not train & TEST_OUTLETS
    assert outlets(splits["dev"]) == DEV_OUTLETS and not (train | TEST_OUTLETS) & DEV_OUTLETS
    assert not outlets(splits["test_v1"]) & train  # the first round's test keeps its promise too


def test_test_holds_news_and_opinion_columns():
    import json

    cands = {c["id"]: c for c in map(json.loads, open(DATA / "annotation" / "candidates.jsonl", encoding="utf-8"))}
    genres = Counter(cands[r.data["id"]]["selection"] for r in load([SPLITS["test"]]).records)
    assert set(genres) == {"whole:news", "whole:opinion"}
    assert genres["whole:opinion"] / sum(genres.values()) >= 0.15


def test_every_record_keeps_its_provenance(splits):
    for ds in splits.values():
        for r in ds.records:
            assert r.data["source"] and r.data["doc"] and r.data["id"].startswith(r.data["doc"] + "-s")


def test_validator_passes_every_shipped_file(capsys):
    files = [str(p) for p in (*SPLITS.values(), SEED_GOLD)]
    assert main(["data", "validate", *files]) == 0


def test_seed_gold_matches_the_splitter():
    gold = load([SEED_GOLD])
    assert [r.data["text"] for r in gold.records] == [p.text for p in split_sentences(SEED_TEXT.read_text("utf-8"))]


def test_dev_and_test_are_whole_articles_in_order(splits):
    for name in ("dev", "test", "test_v1", "dev_v1"):
        by_doc = Counter(r.data["doc"] for r in splits[name].records)
        for doc, n in by_doc.items():
            idx = sorted(int(r.data["id"].rsplit("-s", 1)[1]) for r in splits[name].records if r.data["doc"] == doc)
            assert idx == list(range(n)), doc
