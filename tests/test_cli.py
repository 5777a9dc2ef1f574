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


def baseline_copy(dest: Path) -> Path:
    """A copy of the shipped model, the classical baseline, where nothing of the repository can be harmed."""
    assert json.loads((SHIPPED / "config.json").read_text())["model_type"] == "tasrih-baseline", \
        "these tests need a classical baseline model; the shipped one no longer is"
    return shutil.copytree(SHIPPED, dest / "baseline")


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_export_of_the_classical_baseline_says_there_is_nothing_to_export_and_writes_nothing(tmp_path):
    model = baseline_copy(tmp_path)
    before = listing(model)
    for extra in ([], ["--out", str(tmp_path / "out")]):
        r = tasrih("export", "--int8", "--model", str(model), *extra)
        assert r.returncode == 2
        assert r.stderr.decode().strip() == (f"tasrih: error: {model}: the classical baseline is not a transformer "
                                             f"model: it runs as it is, there is nothing to export")
        assert listing(model) == before
        assert not (tmp_path / "out").exists()


def test_the_shipped_model_is_not_exported_either():
    r = tasrih("export", "--int8")
    assert (r.returncode, r.stderr.decode().strip()) == (
        2, f"tasrih: error: {SHIPPED}: the classical baseline is not a transformer model: it runs as it is, "
           f"there is nothing to export")


