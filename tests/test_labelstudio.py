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


# ---- tasks made in Label Studio from new text (issue 11 D) ----------------------------------------

NEW_TEXT = "😀 ونفت الوزارة التقرير جملة وتفصيلاً"


def new_text_task(task_id, start: str, end_text: str, **data) -> dict:
    """A task as Label Studio exports it when the text was pasted in: no data.id, no data.doc.

    The actor span runs from ``start`` to the end of ``end_text``, offsets in UTF-16 as Label Studio counts.
    """
    s = NEW_TEXT.index(start)
    e = NEW_TEXT.index(end_text) + len(end_text)
    task = {"data": {"text": NEW_TEXT, **data},
            "annotations": [{"id": 3, "result": [
                {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["denial"]}},
                {"from_name": "actor", "to_name": "text", "type": "labels",
                 "value": {"start": to_utf16(NEW_TEXT, s), "end": to_utf16(NEW_TEXT, e),
                           "text": NEW_TEXT[s:e], "labels": ["actor"]}}]}]}
    if task_id is not None:
        task["id"] = task_id
    return task


def import_tasks(tmp_path, tasks) -> tuple[int, list[dict] | None]:
    src, out = tmp_path / "export.json", tmp_path / "out.jsonl"
    src.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    if out.exists():
        out.unlink()
    rc = main(["data", "import-labelstudio", str(src), "--out", str(out)])
    return rc, read_jsonl(out) if out.exists() else None


def test_tasks_made_from_new_text_get_stable_ids(tmp_path):
    tasks = [new_text_task(17, "الوزارة", "الوزارة"), new_text_task(None, "الوزارة", "الوزارة"),
             new_text_task(18, "الوزارة", "الوزارة", doc="article-9")]
    rc, recs = import_tasks(tmp_path, tasks)
    assert rc == 0
    assert [(r["id"], r["doc"]) for r in recs[::2]] == [("ls-17", "ls-17"), ("ls-18", "article-9")]
    assert recs[1]["id"].startswith("ls-") and recs[1]["doc"] == recs[1]["id"]
    assert recs[0]["source"] is None and recs[0]["actor"]["text"] == "الوزارة"
    assert import_tasks(tmp_path, tasks)[1] == recs  # the same export imports to the same ids


def test_a_task_without_text_is_one_line_naming_the_field(tmp_path, capsys):
    task = new_text_task(17, "الوزارة", "الوزارة")
    del task["data"]["text"]
    rc, recs = import_tasks(tmp_path, [task])
    err = capsys.readouterr().err
    assert (rc, recs) == (2, None)
    assert err == f"tasrih: error: {tmp_path / 'export.json'}: task 0: data.text is missing\n"


def test_spaces_selected_around_a_span_are_left_out(tmp_path, capsys):
    """Selecting a word in the browser often takes the space after it (or before it) along."""
    rc, recs = import_tasks(tmp_path, [new_text_task(1, " الوزارة", "الوزارة "),
                                       new_text_task(2, "الوزارة", "الوزارة التقرير ")])
    assert rc == 0
    s = NEW_TEXT.index("الوزارة")
    assert recs[0]["actor"] == {"start": s, "end": s + 7, "text": "الوزارة"}
    assert recs[1]["actor"] == {"start": s, "end": s + len("الوزارة التقرير"), "text": "الوزارة التقرير"}
    task = new_text_task(3, " الوزارة", " الوزارة")
    task["annotations"][0]["result"][1]["value"]["end"] = task["annotations"][0]["result"][1]["value"]["start"] + 1
    rc, _ = import_tasks(tmp_path, [task])
    assert rc == 2 and "task 0: the actor span holds no word" in capsys.readouterr().err
