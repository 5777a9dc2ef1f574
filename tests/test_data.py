import json

import pytest

from train.cli import main
from train.data import DataError, check_record, load, load_splits
from tests.conftest import SEED_GOLD, read_jsonl, write_jsonl

GOOD = {"id": "x-s00", "doc": "x", "source": "test", "text": "واتهمت «جبهة النصرة» بتنفيذ الهجوم",
        "label": "accusation", "also": [], "actor": None, "actor_resolved": "الخارجية الروسية",
        "actor_code": "RUSGOV", "target": {"start": 8, "end": 19, "text": "جبهة النصرة"}}


def test_seed_gold_is_valid_and_matches_the_annotation_table():
    rows = read_jsonl(SEED_GOLD)
    assert [r["label"] for r in rows] == ["denial", "agreement", "demand", "demand", "demand", "denial",
                                          "accusation", "none", "accusation", "none", "none", "demand"]
    assert rows[2]["also"] == ["denial", "accusation"]
    assert [r["actor"]["text"] if r["actor"] else None for r in rows] == [
        "موسكو", "موسكو وواشنطن", "كيري", "الوزيرين", None, "غاتيلوف", "موسكو", None, None, None, None, "الوزارة"]
    assert rows[0]["actor"]["start"] > rows[0]["text"].index("موسكو")  # the second موسكو plays the role
    assert rows[8]["target"] == {"start": 8, "end": 19, "text": "جبهة النصرة"}
    assert rows[4]["actor_resolved"] == "لافروف"
    assert len(load([SEED_GOLD])) == 12


@pytest.mark.parametrize("change, message", [
    ({"label": "blame"}, "label 'blame' is not one of none, accusation, denial, agreement, demand"),
    ({"also": ["denial", "denial"]}, "also ['denial', 'denial'] has duplicates"),
    ({"also": ["accusation"]}, "also ['accusation'] repeats the label 'accusation'"),
    ({"also": ["none"]}, "also ['none'] holds something that is not one of accusation, denial, agreement, demand"),
    ({"target": {"start": 8, "end": 19, "text": "جبهة الن"}},
     "target text 'جبهة الن' differs from text[8:19] = 'جبهة النصرة'"),
    ({"target": {"start": 30, "end": 99, "text": "x"}}, "target offsets 30:99 are outside the sentence (length 34)"),
    ({"label": "none", "also": []}, "actor_resolved must be null for label none"),
    ({"actor_code": "russia"}, "actor_code 'russia' is not a CAMEO-style code such as RUSGOV or IGO"),
    ({"text": "  "}, "text must be a non-empty string"),
])
def test_each_rule_gives_its_message(change, message):
    assert message in check_record({**GOOD, **change})


def test_missing_fields_are_named():
    rec = dict(GOOD)
    del rec["also"], rec["target"]
    assert check_record(rec) == ["missing field(s): also, target"]


def test_bad_records_are_reported_with_file_and_line(tmp_path, capsys):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([json.dumps(GOOD, ensure_ascii=False), "{not json",
                            json.dumps({**GOOD, "id": "x-s01", "label": "blame"}, ensure_ascii=False),
                            json.dumps(GOOD, ensure_ascii=False)]) + "\n", encoding="utf-8")
    assert main(["data", "validate", str(f)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{f}:2: not valid JSON (Expecting property name enclosed in double quotes)",
                   f"{f}:3: label 'blame' is not one of none, accusation, denial, agreement, demand",
                   f"{f}:4: id 'x-s00' already used at {f}:1"]
    with pytest.raises(DataError):
        load([f])


def test_valid_file_passes_the_command(capsys):
    assert main(["data", "validate", str(SEED_GOLD)]) == 0
    assert "12 valid records, 0 problems" in capsys.readouterr().err


def test_non_utf8_file_is_reported(tmp_path, capsys):
    f = tmp_path / "latin.jsonl"
    f.write_bytes(b'{"id": "a"}\n\xff\xfe\n')
    assert main(["data", "validate", str(f)]) == 1
    assert capsys.readouterr().out.strip() == f"{f}:2: not UTF-8 text"


def test_splits_sharing_a_sentence_are_refused_before_training(tmp_path, seed_splits):
    dev = read_jsonl(seed_splits["dev"])
    train_row = read_jsonl(seed_splits["train"])[0]
    leak = write_jsonl(tmp_path / "dev.jsonl", dev + [dict(train_row, id="leak-1", doc="seed-000-dev")])
    with pytest.raises(DataError) as e:
        load_splits({"train": seed_splits["train"], "dev": leak})
    assert f"{leak}:5: the same sentence text is in train at {seed_splits['train']}:1" in e.value.problems


def test_label_missing_from_train_and_empty_split_are_refused(tmp_path, seed_splits):
    train = [r for r in read_jsonl(seed_splits["train"]) if r["label"] != "agreement"]
    t = write_jsonl(tmp_path / "train.jsonl", train)
    empty = tmp_path / "dev.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_splits({"train": t, "dev": empty})
    assert e.value.problems == [f"{empty}: the dev split is empty",
                                f"{t}: no train example of agreement; the model cannot learn it"]


def test_problems_come_in_line_order_duplicate_ids_included(tmp_path, capsys):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([json.dumps(GOOD, ensure_ascii=False), json.dumps(GOOD, ensure_ascii=False),
                            json.dumps({**GOOD, "id": "x-s01", "label": "blame"}, ensure_ascii=False)]) + "\n",
                 encoding="utf-8")
    assert main(["data", "validate", str(f)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{f}:2: id 'x-s00' already used at {f}:1",
                                         f"{f}:3: label 'blame' is not one of none, accusation, denial, agreement, "
                                         f"demand"]
    label = GOOD["label"]
    assert captured.err.strip() == f"{f}: 2 valid records, 2 problems  {{{label!r}: 2}}"


def test_the_summary_counts_in_the_singular_too(tmp_path, capsys):
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([json.dumps(GOOD, ensure_ascii=False), "{not json"]) + "\n", encoding="utf-8")
    assert main(["data", "validate", str(f)]) == 1
    assert capsys.readouterr().err.strip() == f"{f}: 1 valid record, 1 problem  {{{GOOD['label']!r}: 1}}"
