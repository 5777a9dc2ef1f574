"""The `tasrih` command as a user runs it: a real subprocess, real files, real exit codes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infer.cli import format_table
from infer.labels import LABELS
from tests.conftest import REPO, SEED_GOLD, SEED_TEXT

SUBCOMMANDS = [["train"], ["classify"], ["evaluate"], ["data", "validate"], ["data", "export-labelstudio"],
               ["data", "import-labelstudio"], ["build-local-model"], ["serve"], ["export"]]


def tasrih(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "train.cli", *args], input=stdin, capture_output=True, timeout=300)


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda s: " ".join(s))
def test_every_subcommand_explains_itself(sub):
    r = tasrih(*sub, "--help")
    assert r.returncode == 0
    assert len(r.stdout.decode()) > 300  # a description of inputs and outputs, not a bare usage line


@pytest.mark.parametrize("data, message", [
    (b"", "tasrih: error: <stdin>: empty, nothing to classify"),
    (b" \n\t \n", "tasrih: error: <stdin>: only whitespace, nothing to classify"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "tasrih: error: <stdin>: binary data (NUL bytes), not text; give a UTF-8 text "
                                   "or JSONL file"),
    ("قال الوزير".encode("cp1256"), "tasrih: error: <stdin>: not UTF-8 text (byte 0xde at offset 0); convert it "
                                     "with `iconv -t UTF-8`"),
])
def test_bad_input_gets_one_line_and_a_non_zero_exit(data, message):
    r = tasrih("classify", "-", stdin=data)
    assert r.returncode == 2
    assert r.stderr.decode().strip() == message
    assert r.stdout == b""


def test_missing_file_and_bad_model_dir(tmp_path):
    r = tasrih("classify", str(tmp_path / "nope.txt"))
    assert (r.returncode, r.stderr.decode().strip()) == (2, f"tasrih: error: {tmp_path / 'nope.txt'}: no such file")
    r = tasrih("classify", str(SEED_TEXT), "--model", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (f"tasrih: error: {tmp_path / 'config.json'}: missing; a model directory "
                                         f"needs config.json")


def test_bad_jsonl_line_stops_before_any_output(tmp_path):
    f = tmp_path / "articles.jsonl"
    f.write_text('{"id": "a", "text": "قال الوزير."}\n{"id": "b"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = tasrih("classify", str(f), "-o", str(out))
    assert r.returncode == 2
    assert r.stderr.decode().strip() == (f'tasrih: error: {f}:2: each line must be an object with a string "text" '
                                         f"(use --skip-bad to report bad lines and go on)")
    assert not out.exists()


def test_min_confidence_marks_rows_and_hides_none(tmp_path):
    """With the shipped model: every sentence comes out, the uncertain ones marked, not dropped."""
    r = tasrih("classify", str(SEED_TEXT), "--min-confidence", "0.8")
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(rows) == 12
    for row in rows:
        assert row["low_confidence"] == (row["scores"][row["label"]] < 0.8)
    assert any(row["low_confidence"] for row in rows) and not all(row["low_confidence"] for row in rows)
    r = tasrih("classify", str(SEED_TEXT), "--min-confidence", "1.5")
    assert (r.returncode, r.stderr.decode().strip()) == (
        2, "tasrih: error: --min-confidence must be between 0 and 1, got 1.5")


def test_shipped_model_gets_at_least_9_of_12_seed_labels():
    gold = [json.loads(line)["label"] for line in SEED_GOLD.read_text(encoding="utf-8").splitlines()]
    r = tasrih("classify", str(SEED_TEXT))
    assert r.returncode == 0, r.stderr.decode()
    pred = [json.loads(line)["label"] for line in r.stdout.decode().splitlines()]
    assert sum(g == p for g, p in zip(gold, pred)) >= 9


# ---- issue 11, "a user's first hour" ----------------------------------------------------------------

SHIPPED = REPO / "infer" / "default_model"


def baseline_copy(baseline_model: Path, dest: Path) -> Path:
    """A copy of a trained classical baseline, where nothing else can be harmed."""
    assert json.loads((baseline_model / "config.json").read_text())["model_type"] == "tasrih-baseline"
    return shutil.copytree(baseline_model, dest / "baseline")


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_export_of_the_classical_baseline_says_there_is_nothing_to_export_and_writes_nothing(baseline_model, tmp_path):
    model = baseline_copy(baseline_model, tmp_path)
    before = listing(model)
    for extra in ([], ["--out", str(tmp_path / "out")]):
        r = tasrih("export", "--int8", "--model", str(model), *extra)
        assert r.returncode == 2
        assert r.stderr.decode().strip() == (f"tasrih: error: {model}: the classical baseline is not a transformer "
                                             f"model: it runs as it is, there is nothing to export")
        assert listing(model) == before
        assert not (tmp_path / "out").exists()


def test_the_shipped_model_is_already_exported():
    r = tasrih("export", "--int8")
    assert (r.returncode, r.stderr.decode().strip()) == (
        2, f"tasrih: error: {SHIPPED}: already exported (model.onnx) and holds no model.safetensors to "
           f"export again; export the training run it came from")


def row(actor: str, text: str, doc: str = "d") -> dict:
    scores = dict.fromkeys(LABELS, 0.05) | {"accusation": 0.8}
    return {"doc": doc, "sentence_index": 0, "text": text, "label": "accusation", "scores": scores, "also": [],
            "actor": {"start": 0, "end": len(actor), "text": actor}, "actor_resolved": actor, "actor_code": None,
            "target": None, "windows": 1}


def test_table_cuts_long_cells_at_a_word_boundary_with_an_ellipsis():
    actor = "وزير الخارجية الروسي سيرغي لافروف"  # 33 characters, the column has 28
    text = "وأجرى وزير الخارجية الروسي سيرغي لافروف محادثات هاتفية مع نظيره الأميركي جون كيري بعد مرور ساعات"
    table = format_table([row(actor, text)], None).splitlines()
    assert table[1] == ("  0  accusation   0.80  وزير الخارجية الروسي سيرغي…  -                            "
                        "وأجرى وزير الخارجية الروسي سيرغي لافروف محادثات هاتفية مع نظيره…")
    # A single word longer than the column has no boundary to cut at.
    assert format_table([row("ا" * 40, "نص")], None).splitlines()[1].split()[3] == "ا" * 27 + "…"
    # Written whole, the columns widen to the longest cell.
    whole = format_table([row(actor, text), row("موسكو", "نص")], None, whole=True).splitlines()
    assert whole[1] == f"  0  accusation   0.80  {actor} -                            {text}"
    assert whole[2] == f"  0  accusation   0.80  {'موسكو':<33} -                            نص"


def test_a_table_written_to_a_file_keeps_every_cell_whole(tmp_path):
    r = tasrih("classify", str(SEED_TEXT))
    assert r.returncode == 0, r.stderr.decode()
    rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
    out = tmp_path / "table.txt"
    r = tasrih("classify", str(SEED_TEXT), "--format", "table", "-o", str(out))
    assert r.returncode == 0, r.stderr.decode()
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(rows) + 1 and "…" not in out.read_text(encoding="utf-8")
    for line, want in zip(lines[1:], rows):
        assert line.endswith(" " + want["text"])
        if want["actor"]:
            assert f" {want['actor']['text']} " in line
    shown = tasrih("classify", str(SEED_TEXT), "--format", "table").stdout.decode().splitlines()
    assert any(line.endswith("…") for line in shown)  # the terminal's table does cut


def test_output_into_a_missing_directory_names_it_not_a_temporary_file(tmp_path):
    r = subprocess.run([sys.executable, "-m", "train.cli", "classify", str(SEED_TEXT), "-o", "nodir/out.jsonl"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert (r.returncode, r.stderr.strip()) == (2, "tasrih: error: nodir/out.jsonl: no such directory: nodir")
    assert list(tmp_path.iterdir()) == []
    r = subprocess.run([sys.executable, "-m", "train.cli", "classify", str(SEED_TEXT), "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert (r.returncode, r.stderr.strip()) == (2, f"tasrih: error: {tmp_path}: is a directory; give -o a file name")


def test_input_that_is_mostly_not_arabic_gets_one_warning():
    english = b"The minister accused Washington of supporting terrorism.\nThe United States denied it.\n"
    r = tasrih("classify", "--sentences", "-", stdin=english)
    assert r.returncode == 0, r.stderr.decode()
    assert len(r.stdout.decode().splitlines()) == 2  # still classified: a warning, not a refusal
    assert r.stderr.decode().strip() == ("tasrih: <stdin>: most sentences (2 of 2) are not in Arabic script; tasrih "
                                         "is trained on Arabic news only, so its labels for them mean little")
    mixed = "قال الوزير إن الاتفاق صامد.\nThe minister said so.\nونفت الحكومة ذلك.\n".encode()
    r = tasrih("classify", "--sentences", "-", stdin=mixed)
    assert r.returncode == 0 and r.stderr.decode().strip() == ""
