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
SPLITS = {s: DATA / f"{s}.jsonl" for s in ("train", "dev", "test")}

# Update these only together with the data card (data/README.md).
PINNED = {
    "train": {"none": 1741, "accusation": 335, "denial": 298, "agreement": 273, "demand": 382},
    "dev": {"none": 333, "accusation": 41, "denial": 14, "agreement": 43, "demand": 60},
    "test": {"none": 486, "accusation": 66, "denial": 21, "agreement": 47, "demand": 94},
}
TEST_OUTLETS = {"alwatan", "was"}


@pytest.fixture(scope="module")
def splits():
    return load_splits(SPLITS)  # validates every record and refuses leaks between splits


def test_counts_per_split_and_label_are_pinned(splits):
    assert {name: dict(ds.labels) for name, ds in splits.items()} == PINNED


def test_issue_minimums(splits):
    assert sum(len(ds) for ds in splits.values()) >= 3000
    assert all(splits["train"].labels[c] >= 250 for c in CLAIMS)
    assert len(splits["dev"]) >= 400 and len(splits["test"]) >= 600


def test_test_outlets_are_unseen_in_train(splits):
    train_outlets = {r.data["source"] for r in splits["train"].records}
    test_outlets = {r.data["source"] for r in splits["test"].records}
    assert test_outlets == TEST_OUTLETS and not train_outlets & test_outlets


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
    for name in ("dev", "test"):
        by_doc = Counter(r.data["doc"] for r in splits[name].records)
        for doc, n in by_doc.items():
            idx = sorted(int(r.data["id"].rsplit("-s", 1)[1]) for r in splits[name].records if r.data["doc"] == doc)
            assert idx == list(range(n)), doc
