"""Convert dataset records to and from Label Studio task JSON, so a team can review them there.

Label Studio counts offsets in UTF-16 code units (JavaScript strings); our
records count Unicode code points. The two differ for characters outside the
Basic Multilingual Plane (emoji), so offsets are converted both ways.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from infer.cli import InputError, plural
from infer.labels import CLAIMS, LABELS
from train.data import check_record, load

CONFIG_XML = """<View>
  <Header value="$id ($source)"/>
  <Text name="text" value="$text"/>
  <Choices name="label" toName="text" choice="single" showInline="true" required="true">
{label_choices}
  </Choices>
  <Choices name="also" toName="text" choice="multiple" showInline="true">
{also_choices}
  </Choices>
  <Labels name="actor" toName="text"><Label value="actor" background="#1f77b4"/></Labels>
  <Labels name="target" toName="text"><Label value="target" background="#d62728"/></Labels>
  <TextArea name="actor_resolved" toName="text" maxSubmissions="1" editable="true" placeholder="actor as the article names it"/>
  <TextArea name="actor_code" toName="text" maxSubmissions="1" editable="true" placeholder="CAMEO code, e.g. RUSGOV"/>
</View>
"""


def labeling_config() -> str:
    choice = '    <Choice value="{}"/>'.format
    return CONFIG_XML.format(label_choices="\n".join(map(choice, LABELS)),
                             also_choices="\n".join(map(choice, CLAIMS)))


def to_utf16(text: str, i: int) -> int:
    return len(text[:i].encode("utf-16-le")) // 2


def from_utf16(text: str, u: int) -> int:
    """Code-point index of UTF-16 offset ``u`` in ``text``."""
    count = 0
    for i, ch in enumerate(text):
        if count >= u:
            return i
        count += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def record_to_task(rec: dict) -> dict:
    text = rec["text"]
    result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [rec["label"]]}}]
    if rec["also"]:
        result.append({"from_name": "also", "to_name": "text", "type": "choices", "value": {"choices": rec["also"]}})
    for role in ("actor", "target"):
        span = rec.get(role)
        if span:
            result.append({"id": f"{rec['id']}-{role}", "from_name": role, "to_name": "text", "type": "labels",
                           "value": {"start": to_utf16(text, span["start"]), "end": to_utf16(text, span["end"]),
                                     "text": span["text"], "labels": [role]}})
    for key in ("actor_resolved", "actor_code"):
        if rec.get(key):
            result.append({"from_name": key, "to_name": "text", "type": "textarea", "value": {"text": [rec[key]]}})
    data = {"id": rec["id"], "doc": rec["doc"], "source": rec.get("source") or "", "text": text}
    return {"data": data, "annotations": [{"result": result}]}


def _field(obj, key: str, where: str):
    """``obj[key]``, or a ValueError that names the missing field (a bare KeyError says only 'id')."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be a JSON object, not {type(obj).__name__}")
    if obj.get(key) is None:
        raise ValueError(f"{where}.{key} is missing")
    return obj[key]


def task_ids(task: dict, text: str) -> tuple[str, str]:
    """The record's id and doc: the task's ``data.id`` and ``data.doc`` when it was exported by tasrih.

    A task made in Label Studio from new text has neither; it gets ids from Label Studio's task id
    (``ls-<task id>``), or from the text itself when there is none, so that importing the same export
    twice gives the same ids. Such a task is a document of its own unless ``data.doc`` says otherwise.
    """
    data = task["data"]
    rec_id = data.get("id")
    if rec_id is None or rec_id == "":
        key = task.get("id")
        rec_id = f"ls-{key}" if isinstance(key, (int, str)) and str(key).strip() else \
            "ls-" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    doc = data.get("doc")
    return str(rec_id), str(doc) if doc is not None and doc != "" else str(rec_id)


def _span(text: str, value: dict, name: str) -> dict:
    """A span from Label Studio's UTF-16 offsets, without the spaces a selection often takes in."""
    s = from_utf16(text, _field(value, "start", f"{name}.value"))
    e = from_utf16(text, _field(value, "end", f"{name}.value"))
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if s >= e:
        raise ValueError(f"the {name} span holds no word (only spaces, or empty)")
    return {"start": s, "end": e, "text": text[s:e]}


def task_to_record(task: dict) -> dict:
    data = _field(task, "data", "the task")
    text = _field(data, "text", "data")
    if not isinstance(text, str):
        raise ValueError(f"data.text must be a string, not {type(text).__name__}")
    anns = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not anns:
        raise ValueError("the task has no annotation")
    # The most recent annotation is the reviewed one.
    ann = max(anns, key=lambda a: a.get("updated_at") or a.get("created_at") or "")
    rec_id, doc = task_ids(task, text)
    rec = {"id": rec_id, "doc": doc, "source": data.get("source") or None, "text": text,
           "label": None, "also": [], "actor": None, "actor_resolved": None, "actor_code": None, "target": None}
    for r in _field(ann, "result", "annotation"):
        name, value = r.get("from_name"), r.get("value", {})
        if name == "label":
            rec["label"] = (value.get("choices") or [None])[0]
        elif name == "also":
            rec["also"] = list(value.get("choices", []))  # order kept: it follows the text
        elif name in ("actor", "target"):
            rec[name] = _span(text, value, name)
        elif name in ("actor_resolved", "actor_code"):
            rec[name] = " ".join(value.get("text", [])).strip() or None
    if rec["label"] is None:
        raise ValueError("no label was chosen")
    return rec


def run_export(args) -> int:
    ds = load([Path(f) for f in args.files])  # refuse invalid records before anything is written
    tasks = [record_to_task(r.data) for r in ds.records]
    Path(args.out).write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.config:
        Path(args.config).write_text(labeling_config(), encoding="utf-8")
    print(f"wrote {plural(len(tasks), 'Label Studio task')} to {args.out}" + (f" and the labeling config to {args.config}"
                                                                    if args.config else ""), file=sys.stderr)
    return 0


def run_import(args) -> int:
    try:
        tasks = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{args.file}: not a Label Studio JSON export ({e})") from None
    if not isinstance(tasks, list):
        raise InputError(f"{args.file}: expected a JSON list of tasks")
    records, problems = [], []
    seen: dict[str, int] = {}
    for n, task in enumerate(tasks):
        try:
            rec = task_to_record(task)
        except (KeyError, TypeError, ValueError) as e:
            problems.append(f"{args.file}: task {n}: {e if not isinstance(e, KeyError) else f'{e} is missing'}")
            continue
        msgs = check_record(rec)
        if rec["id"] in seen:
            msgs.append(f"id {rec['id']!r} is also the id of task {seen[rec['id']]}")
        seen.setdefault(rec["id"], n)
        problems += [f"{args.file}: task {n} ({rec['id']}): {m}" for m in msgs]
        records.append(rec)
    if problems:
        raise InputError("\n".join(problems))
    with open(args.out, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {plural(len(records), 'record')} to {args.out}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    e = sub.add_parser("export-labelstudio", help="records -> Label Studio tasks (and labeling config)",
                       description="Convert dataset JSONL files into a Label Studio import file: a choices "
                                   "control for the label and `also`, labels controls for the actor and target "
                                   "spans, text areas for actor_resolved and actor_code.")
    e.add_argument("files", nargs="+", help="dataset JSONL files")
    e.add_argument("--out", required=True, help="Label Studio tasks JSON to write")
    e.add_argument("--config", help="also write the matching labeling config XML here")
    e.set_defaults(func=run_export)
    i = sub.add_parser("import-labelstudio", help="Label Studio export -> records",
                       description="Convert a Label Studio JSON export (tasks with annotations) back into dataset "
                                   "records, validated like `tasrih data validate`; the latest annotation of each "
                                   "task wins. Nothing is written if any task is invalid.")
    i.add_argument("file", help="Label Studio JSON export")
    i.add_argument("--out", required=True, help="dataset JSONL to write")
    i.set_defaults(func=run_import)
