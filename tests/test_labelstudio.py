import json

import pytest

from train.cli import main
from train.labelstudio import from_utf16, labeling_config, to_utf16
from tests.conftest import SEED_GOLD, read_jsonl, write_jsonl


def test_round_trip_keeps_every_record_exactly(tmp_path):
    tasks, config, back = tmp_path / "tasks.json", tmp_path / "config.xml", tmp_path / "back.jsonl"
    assert main(["data", "export-labelstudio", str(SEED_GOLD), "--out", str(tasks), "--config", str(config)]) == 0
    assert main(["data", "import-labelstudio", str(tasks), "--out", str(back)]) == 0
    assert read_jsonl(back) == read_jsonl(SEED_GOLD)
    exported = json.loads(tasks.read_text(encoding="utf-8"))
    controls = {r["from_name"]: r["type"] for t in exported for r in t["annotations"][0]["result"]}
    assert controls["label"] == "choices" and controls["actor"] == "labels" and controls["target"] == "labels"
    assert '<Labels name="actor" toName="text">' in config.read_text() and "<Choice value=\"demand\"/>" in labeling_config()


def test_offsets_are_utf16_in_label_studio_and_code_points_here(tmp_path):
    text = "😀 اتهمت الوزارة «جبهة النصرة» بالهجوم"
    start = text.index("جبهة")
    rec = {"id": "e-1", "doc": "e", "source": "t", "text": text, "label": "accusation", "also": [],
           "actor": None, "actor_resolved": "الوزارة", "actor_code": None,
           "target": {"start": start, "end": start + 11, "text": "جبهة النصرة"}}
    src = write_jsonl(tmp_path / "e.jsonl", [rec])
    tasks, back = tmp_path / "t.json", tmp_path / "b.jsonl"
    main(["data", "export-labelstudio", str(src), "--out", str(tasks)])
    value = json.loads(tasks.read_text())[0]["annotations"][0]["result"][1]["value"]
    assert value["start"] == start + 1  # the emoji is two UTF-16 units
    main(["data", "import-labelstudio", str(tasks), "--out", str(back)])
    assert read_jsonl(back) == [rec]
    assert from_utf16(text, to_utf16(text, start)) == start


def test_a_reviewed_task_with_a_bad_span_is_refused_whole(tmp_path, capsys):
    tasks, back = tmp_path / "t.json", tmp_path / "b.jsonl"
    main(["data", "export-labelstudio", str(SEED_GOLD), "--out", str(tasks)])
    data = json.loads(tasks.read_text())
    data[7]["annotations"][0]["result"] = [{"from_name": "label", "type": "choices", "value": {"choices": ["none"]}},
                                           {"from_name": "also", "type": "choices", "value": {"choices": ["demand"]}}]
    tasks.write_text(json.dumps(data, ensure_ascii=False))
    assert main(["data", "import-labelstudio", str(tasks), "--out", str(back)]) == 2
    assert f"{tasks}: task 7 (seed-000-s07): a none sentence must have an empty also" in capsys.readouterr().err
    assert not back.exists()


@pytest.mark.parametrize("content", ["{}", "not json"])
def test_import_of_something_else_is_a_clear_error(tmp_path, capsys, content):
    f = tmp_path / "x.json"
    f.write_text(content)
    assert main(["data", "import-labelstudio", str(f), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert capsys.readouterr().err.startswith(f"tasrih: error: {f}: ")
